"""One digit's strokes: a glyph template, randomly slanted, rotated, stretched and wobbled."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from support.handwriting.geometry import adjust_ends, arc_length, normalize, resample
from support.handwriting.glyphs import TEMPLATES

#: Spacing of the output points, as a fraction of the unit box.
POINT_SPACING = 0.02


def _smooth_field(rng: np.random.Generator, amplitude: float) -> Callable[[np.ndarray], np.ndarray]:
    """Random smooth 2-D displacement field (sum of a few plane waves).

    Args:
        rng: Random generator.
        amplitude: Approximate maximal displacement.

    Returns:
        Function mapping an (N, 2) array of points to displaced points.
    """
    n_waves = 3
    freqs = rng.normal(0.0, 1.0, (2, n_waves, 2))
    freqs *= (rng.uniform(0.4, 1.3, (2, n_waves)) / np.linalg.norm(freqs, axis=2))[..., None]
    phases = rng.uniform(0.0, 2 * np.pi, (2, n_waves))
    amps = rng.uniform(0.3, 1.0, (2, n_waves))
    amps *= amplitude / amps.sum(axis=1, keepdims=True)

    def apply(p: np.ndarray) -> np.ndarray:
        out = p.copy()
        for axis in range(2):
            arg = 2 * np.pi * (p @ freqs[axis].T) + phases[axis]
            out[:, axis] += (amps[axis] * np.sin(arg)).sum(axis=1)
        return out

    return apply


def _stroke_wobble(stroke: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Small smooth wobble along one stroke (hand tremor / mouse jitter).

    Args:
        stroke: (N, 2) polyline.
        rng: Random generator.
        amplitude: Maximal displacement.

    Returns:
        Displaced polyline.
    """
    s = arc_length(stroke)
    out = stroke.copy()
    for axis in range(2):
        for _ in range(2):
            wavelength = rng.uniform(0.25, 0.8)
            out[:, axis] += amplitude / 2 * np.sin(2 * np.pi * s / wavelength + rng.uniform(0, 2 * np.pi))
    return out


def digit_strokes(digit: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Strokes of one handwritten digit, as a person would draw it with a mouse.

    Style varies with ``rng``: several template variants per digit (1 plain
    or with flag and/or base; 2 with sharp corner or loop; 3 round or
    flat-topped; 4 open or closed; 5 in one or two strokes; 7 with or without
    crossbar/tick; 8 as one crossing stroke or two loops; 9 with straight or
    curved tail; 0 as a single, slightly overlapping ellipse), plus random
    slant (shear +-0.25), rotation (+-10 degrees), aspect change, smooth
    wobble and start/end jitter.

    Args:
        digit: The digit to draw, 0-9.
        rng: Random generator; the same seed gives the same strokes.

    Returns:
        List of polylines in drawing order, each an (K, 2) float64 array of
        (x, y) points with y pointing down.  The drawing's bounding box fills
        [0, 1] x [0, 1] along its larger side (aspect ratio preserved, the
        narrow side centred).  Points are spaced about 2% of the box apart.

    Raises:
        ValueError: If ``digit`` is not in 0-9.
    """
    if digit not in TEMPLATES:
        raise ValueError(f"digit must be 0-9, got {digit!r}")
    strokes = TEMPLATES[int(digit)](rng)
    strokes = normalize(strokes)

    # Affine: aspect change, slant (shear), rotation -- about the centre.
    aspect = np.exp(rng.uniform(-0.18, 0.18))
    rot_deg = rng.uniform(-10.0, 10.0)
    shear = rng.uniform(-0.25, 0.25)
    # Slant and rotation add up; keep the overall lean natural (people lean
    # right more than left): about -12 to +20 degrees off vertical.
    lean = np.rad2deg(np.arctan(shear)) + rot_deg
    if lean > 20.0 or lean < -12.0:
        shear = float(np.tan(np.deg2rad(np.clip(lean, -12.0, 20.0) - rot_deg)))
    theta = np.deg2rad(rot_deg)
    scale_mat = np.diag([aspect, 1.0])
    shear_mat = np.array([[1.0, -shear], [0.0, 1.0]])  # positive: leans right
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    mat = rot @ shear_mat @ scale_mat
    center = np.array([0.5, 0.5])
    strokes = [(s - center) @ mat.T + center for s in strokes]

    field = _smooth_field(rng, rng.uniform(0.01, 0.03))
    strokes = [field(s) for s in strokes]
    strokes = [_stroke_wobble(s, rng, rng.uniform(0.0, 0.012)) for s in strokes]
    strokes = [adjust_ends(s, rng.uniform(-0.012, 0.03), rng.uniform(-0.012, 0.03)) for s in strokes]

    strokes = normalize(strokes)
    strokes = [resample(s, POINT_SPACING) for s in strokes]
    return normalize(strokes)
