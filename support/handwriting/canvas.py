"""Placing unit-box strokes on the app's 280x280 drawing canvas, in canvas pixels."""

from __future__ import annotations

import numpy as np

from support.handwriting.geometry import bbox
from support.handwriting.strokes import digit_strokes


def place_strokes(strokes: list[np.ndarray], x0: float, y0: float, height: float) -> list[np.ndarray]:
    """Map unit-box strokes to canvas pixel coordinates.

    Args:
        strokes: Polylines as returned by :func:`digit_strokes`.
        x0: Canvas x of the left edge of the drawing's bounding box.
        y0: Canvas y of the top edge of the drawing's bounding box.
        height: Height of the drawing in pixels (uniform scale, so the width
            follows from the aspect ratio).

    Returns:
        New list of (K, 2) float arrays in canvas pixel coordinates.
    """
    lo, hi = bbox(strokes)
    scale = height / max(float(hi[1] - lo[1]), 1e-9)
    origin = np.array([x0, y0], dtype=np.float64)
    return [(np.asarray(s, dtype=np.float64) - lo) * scale + origin for s in strokes]


def fit_polylines(strokes: list[np.ndarray], canvas: float = 280.0, margin: float = 14.0) -> list[np.ndarray]:
    """Shift strokes so they lie inside the canvas.

    Args:
        strokes: Polylines in canvas pixel coordinates.
        canvas: Side of the square canvas in pixels.
        margin: Pixels kept clear along every edge.

    Returns:
        The strokes, all moved by the same offset (none when they already fit).
    """
    pts = np.vstack(strokes)
    lo, hi = pts.min(0), pts.max(0)
    shift = np.zeros(2)
    for axis in range(2):
        if lo[axis] < margin:
            shift[axis] = margin - lo[axis]
        elif hi[axis] > canvas - margin:
            shift[axis] = canvas - margin - hi[axis]
    return [s + shift for s in strokes]


def digit_polylines(digit: int, rng: np.random.Generator, x0: float, y0: float, height: float) -> list[np.ndarray]:
    """Realistic strokes of ``digit`` placed on the canvas.

    Args:
        digit: The digit to draw, 0-9.
        rng: Random generator.
        x0: Canvas x of the drawing's left edge.
        y0: Canvas y of the drawing's top edge.
        height: Height of the drawing in pixels.

    Returns:
        Polylines in canvas pixel coordinates (not clipped to the canvas).
    """
    return place_strokes(digit_strokes(digit, rng), x0, y0, height)


def random_digit_strokes(
    digit: int,
    rng: np.random.Generator,
    canvas: float = 280.0,
    min_height: float = 60.0,
    max_height: float = 240.0,
    margin: float = 14.0,
) -> list[np.ndarray]:
    """Strokes of ``digit`` at a random size and position inside the canvas.

    Args:
        digit: The digit to draw, 0-9.
        rng: Random generator.
        canvas: Side of the square canvas in pixels.
        min_height: Smallest drawing height in pixels.
        max_height: Largest drawing height in pixels (reduced when the digit would not fit).
        margin: Pixels kept clear along every edge.

    Returns:
        Polylines in canvas pixel coordinates, inside the canvas.
    """
    strokes = digit_strokes(digit, rng)
    pts = np.vstack(strokes)
    aspect = float(np.ptp(pts[:, 0]) / max(np.ptp(pts[:, 1]), 1e-9))
    room = canvas - 2 * margin
    height = float(rng.uniform(min_height, max_height))
    height = min(height, room, room / max(aspect, 1e-9))
    width = height * aspect
    x0 = float(rng.uniform(margin, max(margin, canvas - margin - width)))
    y0 = float(rng.uniform(margin, max(margin, canvas - margin - height)))
    return fit_polylines(place_strokes(strokes, x0, y0, height), canvas, margin)
