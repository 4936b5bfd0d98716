"""Synthetic handwritten-digit strokes, imitating a person drawing with a mouse.

The generator mimics what a user produces on the app's 280x280 drawing canvas
(Fabric.js free drawing: round caps, round joins, anti-aliased lines).  Each
digit has several template variants (the styles people actually use), which
are then randomly slanted, rotated, stretched, wobbled and jittered.

Pipeline:

1. :func:`digit_strokes` returns polylines in a unit box (y pointing down).
2. :func:`place_strokes` scales/moves them to canvas pixel coordinates.
3. :func:`render_strokes` rasterises them like the web canvas does.
4. :func:`random_canvas_digit` combines the three with random size, position
   and brush width.

Only numpy and Pillow are used.  Run ``python -m bench.handwriting [out.png]``
to write a contact sheet of random samples.
"""

from __future__ import annotations

import sys
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    "digit_strokes",
    "place_strokes",
    "render_strokes",
    "random_canvas_digit",
    "contact_sheet",
]


#: Spacing of the output points, as a fraction of the unit box.
POINT_SPACING = 0.02
#: Spacing used while building/deforming templates (finer than the output).
_DENSE_SPACING = 0.004


# --------------------------------------------------------------------------
# Geometry primitives
# --------------------------------------------------------------------------


def _pts(points: list[tuple[float, float]] | np.ndarray) -> np.ndarray:
    """Convert a list of points to an (N, 2) float array.

    Args:
        points: Sequence of (x, y) pairs.

    Returns:
        (N, 2) float64 array.
    """
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def _line(p0: tuple[float, float], p1: tuple[float, float]) -> np.ndarray:
    """Densely sampled straight segment from ``p0`` to ``p1``.

    Args:
        p0: Start point.
        p1: End point.

    Returns:
        (N, 2) array including both end points.
    """
    a, b = np.asarray(p0, float), np.asarray(p1, float)
    n = max(2, int(np.ceil(np.linalg.norm(b - a) / _DENSE_SPACING)) + 1)
    u = np.linspace(0.0, 1.0, n)[:, None]
    return a + (b - a) * u


def _spline(points: list[tuple[float, float]] | np.ndarray) -> np.ndarray:
    """Smooth curve through ``points`` (centripetal Catmull-Rom spline).

    Args:
        points: Key points the curve must pass through, in order (>= 2).

    Returns:
        (N, 2) densely sampled curve starting at the first key point and
        ending at the last one.
    """
    p = _pts(points)
    if len(p) == 2:
        return _line(p[0], p[1])
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = [p[:1]]
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        seg_len = float(np.linalg.norm(p2 - p1))
        n = max(2, int(np.ceil(seg_len / _DENSE_SPACING)) + 1)
        t0 = 0.0
        t1 = t0 + max(np.linalg.norm(p1 - p0), 1e-6) ** 0.5
        t2 = t1 + max(seg_len, 1e-6) ** 0.5
        t3 = t2 + max(np.linalg.norm(p3 - p2), 1e-6) ** 0.5
        t = np.linspace(t1, t2, n)[1:, None]
        a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        c = (t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2
        out.append(c)
    return np.vstack(out)


def _arc(
    center: tuple[float, float],
    rx: float,
    ry: float,
    t0: float,
    t1: float,
    drift: float = 0.0,
) -> np.ndarray:
    """Elliptical arc in screen coordinates (y down).

    Angles are in degrees; 0 is the right-most point, 90 the bottom, -90 the
    top, so increasing angles run clockwise on screen.

    Args:
        center: Ellipse centre.
        rx: Horizontal radius.
        ry: Vertical radius.
        t0: Start angle in degrees.
        t1: End angle in degrees (may be smaller than ``t0`` for a
            counter-clockwise arc, and may span more than 360 degrees).
        drift: Relative radius change from start to end (spiral), e.g. 0.03.

    Returns:
        (N, 2) densely sampled arc.
    """
    length = np.deg2rad(abs(t1 - t0)) * max(rx, ry)
    n = max(3, int(np.ceil(length / _DENSE_SPACING)) + 1)
    u = np.linspace(0.0, 1.0, n)
    t = np.deg2rad(t0 + (t1 - t0) * u)
    r = 1.0 + drift * u
    return np.stack([center[0] + rx * r * np.cos(t), center[1] + ry * r * np.sin(t)], axis=1)


def _join(*pieces: np.ndarray) -> np.ndarray:
    """Concatenate polyline pieces into one stroke (pen stays down).

    Args:
        *pieces: (N_i, 2) arrays; each piece should start where the previous
            one ended (a corner is formed there).

    Returns:
        (sum N_i, 2) array with duplicated joint points removed.
    """
    out = [pieces[0]]
    for piece in pieces[1:]:
        if np.linalg.norm(piece[0] - out[-1][-1]) < 1e-9:
            piece = piece[1:]
        out.append(piece)
    return np.vstack(out)


def _arc_length(stroke: np.ndarray) -> np.ndarray:
    """Cumulative arc length along a polyline.

    Args:
        stroke: (N, 2) polyline.

    Returns:
        (N,) array starting at 0.
    """
    if len(stroke) < 2:
        return np.zeros(len(stroke))
    seg = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])


def _resample(stroke: np.ndarray, spacing: float) -> np.ndarray:
    """Resample a polyline at (almost) uniform arc-length spacing.

    Args:
        stroke: (N, 2) polyline.
        spacing: Desired distance between consecutive points.

    Returns:
        (M, 2) polyline with the same end points; a degenerate stroke
        (zero length) becomes a single point.
    """
    s = _arc_length(stroke)
    total = float(s[-1]) if len(s) else 0.0
    if total < 1e-9:
        return stroke[:1].copy()
    n = max(2, int(np.ceil(total / spacing)) + 1)
    keep = np.concatenate([[True], np.diff(s) > 1e-12])
    s, pts = s[keep], stroke[keep]
    target = np.linspace(0.0, total, n)
    return np.stack([np.interp(target, s, pts[:, 0]), np.interp(target, s, pts[:, 1])], axis=1)


def _adjust_ends(stroke: np.ndarray, start: float, end: float) -> np.ndarray:
    """Extend (positive) or trim (negative) both ends of a stroke.

    Args:
        stroke: (N, 2) densely sampled polyline.
        start: Arc length added before the first point (negative trims).
        end: Arc length added after the last point (negative trims).

    Returns:
        The modified polyline.
    """
    s = _arc_length(stroke)
    total = float(s[-1])
    if total < 1e-6:
        return stroke
    # Never trim more than a fifth of the stroke.
    lo = min(max(-start, 0.0), 0.2 * total)
    hi = total - min(max(-end, 0.0), 0.2 * total)
    mask = (s >= lo) & (s <= hi)
    out = stroke[mask]
    if len(out) < 2:
        return stroke
    pieces = [out]
    if start > 0:
        d = out[0] - out[min(3, len(out) - 1)]
        d /= max(np.linalg.norm(d), 1e-9)
        pieces.insert(0, _line(out[0] + d * start, out[0])[:-1])
    if end > 0:
        d = out[-1] - out[max(len(out) - 4, 0)]
        d /= max(np.linalg.norm(d), 1e-9)
        pieces.append(_line(out[-1], out[-1] + d * end)[1:])
    return np.vstack(pieces)


# --------------------------------------------------------------------------
# Digit templates.  Coordinates: y in [0, 1] (down), x roughly [0, 0.75].
# Each template returns a list of densely sampled strokes.
# --------------------------------------------------------------------------

Template = Callable[[np.random.Generator], list[np.ndarray]]


def _jit(rng: np.random.Generator, scale: float = 0.02) -> Callable[[float, float], tuple[float, float]]:
    """Make a key-point jitter function.

    Args:
        rng: Random generator.
        scale: Standard deviation of the jitter (unit-box fraction).

    Returns:
        ``j(x, y)`` returning the point moved by a small random offset.
    """

    def j(x: float, y: float) -> tuple[float, float]:
        dx, dy = rng.normal(0.0, scale, 2)
        return (x + float(dx), y + float(dy))

    return j


def _zero(rng: np.random.Generator) -> list[np.ndarray]:
    """'0': an ellipse drawn in one stroke, usually overlapping a little.

    Args:
        rng: Random generator.

    Returns:
        One stroke.
    """
    rx = rng.uniform(0.26, 0.38)
    start = rng.uniform(-135.0, -45.0) if rng.random() < 0.85 else rng.uniform(-45.0, 0.0)
    direction = -1.0 if rng.random() < 0.7 else 1.0  # counter-clockwise is most common
    sweep = 360.0 + rng.uniform(12.0, 45.0)
    arc = _arc((0.0, 0.5), rx, 0.5, start, start + direction * sweep, drift=rng.uniform(-0.03, 0.03))
    # Egg shape: narrower (or wider) at the top.
    egg = rng.uniform(-0.12, 0.12)
    arc[:, 0] *= 1.0 - egg * (0.5 - arc[:, 1]) * 2.0
    return [arc]


def _one(rng: np.random.Generator) -> list[np.ndarray]:
    """'1': plain stick, with a flag, with a base, or both.

    Args:
        rng: Random generator.

    Returns:
        One or two strokes.
    """
    style = rng.choice(["plain", "flag", "flag_base", "base"], p=[0.45, 0.3, 0.17, 0.08])
    bottom = (float(rng.normal(0.0, 0.02)), 1.0)
    bow = float(rng.normal(0.0, 0.012))
    stem = _spline([(0.0, 0.0), (bottom[0] / 2 + bow, 0.5), bottom])
    strokes = []
    if "flag" in style:
        angle = np.deg2rad(rng.uniform(42.0, 65.0))
        length = rng.uniform(0.16, 0.3)
        flag_start = (-length * np.cos(angle), length * np.sin(angle))
        strokes.append(_join(_line(flag_start, (0.0, 0.0)), stem))
    else:
        strokes.append(stem)
    if "base" in style:
        half = rng.uniform(0.15, 0.25)
        c = bottom[0] + rng.normal(0.0, 0.03)
        y = 1.0 + rng.normal(0.0, 0.01)
        strokes.append(_line((c - half, y), (c + half, y + rng.normal(0.0, 0.015))))
    return strokes


def _two(rng: np.random.Generator) -> list[np.ndarray]:
    """'2': rounded top, diagonal, flat base; sharp corner or small loop.

    Args:
        rng: Random generator.

    Returns:
        One stroke.
    """
    j = _jit(rng, 0.015)
    w = rng.uniform(0.62, 0.78)
    top = [
        j(0.03, rng.uniform(0.18, 0.3)),
        j(0.18 * w / 0.7, 0.04),
        j(0.4 * w / 0.7, 0.0),
        j(0.62 * w / 0.7, 0.1),
        j(0.66 * w / 0.7, 0.28),
    ]
    # Diagonal: straight-ish or concave (bulging towards bottom-right).
    bulge = rng.uniform(0.0, 0.06)
    mid = j(0.42 * w / 0.7 + bulge, 0.56)
    base_y = 1.0
    base_end = j(w + rng.uniform(-0.02, 0.08), base_y + rng.normal(0.0, 0.015))
    if rng.random() < 0.3:
        # Loop at the bottom-left corner (clockwise), then the base.
        r = rng.uniform(0.11, 0.15)
        rx, ry = r * rng.uniform(0.9, 1.25), r * rng.uniform(0.75, 0.95)
        c = (rx, base_y - ry * 0.9)
        loop = _arc(c, rx, ry, 60.0, rng.uniform(320.0, 345.0))
        exit_pt = (c[0] + rx * 1.2, base_y)
        descent = _spline(top + [mid, tuple(loop[0])])
        tail = _spline([tuple(loop[-1]), (c[0] + rx * 1.05, base_y - 0.4 * ry), exit_pt])
        return [_join(descent, loop, tail, _line(exit_pt, base_end))]
    corner = j(0.02, base_y)
    descent = _spline(top + [mid, corner])
    return [_join(descent, _line(corner, base_end))]


def _three(rng: np.random.Generator) -> list[np.ndarray]:
    """'3': two bumps open on the left, or flat top with a lower bowl.

    Args:
        rng: Random generator.

    Returns:
        One stroke.
    """
    j = _jit(rng, 0.015)
    w = rng.uniform(0.6, 0.72)
    k = w / 0.66
    mid = j(rng.uniform(0.18, 0.32) * k, rng.uniform(0.42, 0.5))
    lower = _spline(
        [
            mid,
            j(0.48 * k, mid[1] + 0.04),
            j(0.64 * k, mid[1] + 0.2),
            j(0.6 * k, 0.88),
            j(0.35 * k, 1.0),
            j(rng.uniform(0.0, 0.06), rng.uniform(0.82, 0.9)),
        ]
    )
    if rng.random() < 0.25:
        # Flat-top (Z-like) 3.
        a = j(0.02, 0.0)
        b = j(0.62 * k, 0.01)
        return [_join(_line(a, b), _line(b, mid), lower)]
    upper = _spline(
        [
            j(0.04, rng.uniform(0.1, 0.2)),
            j(0.25 * k, 0.01),
            j(0.46 * k, 0.0),
            j(0.58 * k, 0.12),
            j(0.52 * k, 0.3),
            mid,
        ]
    )
    return [_join(upper, lower)]


def _four(rng: np.random.Generator) -> list[np.ndarray]:
    """'4': open top (L + vertical) or closed (triangle + vertical).

    Args:
        rng: Random generator.

    Returns:
        Two strokes.
    """
    j = _jit(rng, 0.012)
    bar_y = rng.uniform(0.58, 0.7)
    vx = rng.uniform(0.45, 0.58)
    bar_end = j(vx + rng.uniform(0.12, 0.25), bar_y + rng.normal(0.0, 0.02))
    if rng.random() < 0.5:
        # Closed: diagonal from the top of the vertical down-left, then the bar.
        top = j(vx - 0.02, 0.0)
        left = j(0.0, bar_y)
        first = _join(_line(top, left), _line(left, bar_end))
        vertical = _line(j(vx, rng.uniform(-0.02, 0.03)), j(vx + rng.normal(0.0, 0.02), 1.0))
    else:
        # Open: down-stroke on the left, bar to the right, separate vertical.
        top = j(rng.uniform(0.0, 0.1), rng.uniform(0.0, 0.08))
        left = j(0.0, bar_y)
        first = _join(_line(top, left), _line(left, bar_end))
        vertical = _line(j(vx + 0.02, rng.uniform(-0.02, 0.05)), j(vx + rng.normal(0.0, 0.02), 1.0))
    return [first, vertical]


def _five(rng: np.random.Generator) -> list[np.ndarray]:
    """'5': stem + open bowl, with the top bar drawn last or first.

    Args:
        rng: Random generator.

    Returns:
        One or two strokes.
    """
    j = _jit(rng, 0.012)
    w = rng.uniform(0.6, 0.72)
    k = w / 0.68
    stem_top = j(0.1 * k, 0.0)
    stem_bot = j(0.06 * k, rng.uniform(0.4, 0.48))
    bowl = _spline(
        [
            stem_bot,
            j(0.32 * k, stem_bot[1] - 0.07),
            j(0.58 * k, stem_bot[1] + 0.0),
            j(0.68 * k, 0.7),
            j(0.55 * k, 0.93),
            j(0.3 * k, 1.0),
            j(rng.uniform(0.0, 0.05), rng.uniform(0.86, 0.93)),
        ]
    )
    bar_end = j(w, rng.uniform(-0.03, 0.02))
    if rng.random() < 0.4:
        # One stroke: bar right-to-left, down the stem, round the bowl.
        return [_join(_line(bar_end, stem_top), _line(stem_top, stem_bot), bowl)]
    bar_start = (stem_top[0] - 0.015, stem_top[1] + 0.005)
    return [_join(_line(stem_top, stem_bot), bowl), _line(bar_start, bar_end)]


def _six(rng: np.random.Generator) -> list[np.ndarray]:
    """'6': curved descender into a closed bottom loop.

    Args:
        rng: Random generator.

    Returns:
        One stroke.
    """
    j = _jit(rng, 0.012)
    w = rng.uniform(0.55, 0.7)
    k = w / 0.65
    loop_top = rng.uniform(0.45, 0.55)
    pts = [
        j(0.6 * k, rng.uniform(0.0, 0.05)),
        j(0.3 * k, 0.12),
        j(0.08 * k, 0.42),
        j(0.03 * k, 0.7),
        j(0.16 * k, 0.93),
        j(0.38 * k, 1.0),
        j(0.6 * k, 0.9),
        j(0.64 * k, loop_top + 0.2),
        j(0.4 * k, loop_top),
        j(0.15 * k, loop_top + 0.1),
        (0.0, loop_top + 0.3),
    ]
    return [_spline(pts)]


def _seven(rng: np.random.Generator) -> list[np.ndarray]:
    """'7': bar + diagonal; optional crossbar and optional start tick.

    Args:
        rng: Random generator.

    Returns:
        One or two strokes.
    """
    j = _jit(rng, 0.012)
    w = rng.uniform(0.58, 0.75)
    a = j(0.0, 0.0)
    b = j(w, rng.normal(0.0, 0.02))
    foot = j(max(0.08, w - rng.uniform(0.34, 0.52)), 1.0)  # keep the diagonal steep
    sag = rng.uniform(-0.02, 0.06)  # positive: diagonal bulges to the right
    mid_y = 0.5
    diag_mid = (b[0] + (foot[0] - b[0]) * mid_y + sag, mid_y)
    diagonal = _spline([b, diag_mid, foot])
    pieces = []
    if rng.random() < 0.15:
        pieces.append(_line((a[0], a[1] + rng.uniform(0.08, 0.14)), a))
    pieces += [_line(a, b), diagonal]
    strokes = [_join(*pieces)]
    if rng.random() < 0.3:
        half = rng.uniform(0.14, 0.22)
        cx = float(np.interp(mid_y, diagonal[:, 1], diagonal[:, 0]))
        y = mid_y + rng.normal(0.0, 0.02)
        strokes.append(_line((cx - half, y), (cx + half, y + rng.normal(0.0, 0.01))))
    return strokes


def _eight(rng: np.random.Generator) -> list[np.ndarray]:
    """'8': one S-and-back stroke (either direction) or two stacked loops.

    Args:
        rng: Random generator.

    Returns:
        One or two strokes.
    """
    j = _jit(rng, 0.012)
    w = rng.uniform(0.5, 0.65)
    k = w / 0.6
    cross_y = rng.uniform(0.42, 0.5)
    if rng.random() < 0.2:
        # Two loops ("snowman"), upper one smaller.
        ru = rng.uniform(0.2, 0.25)
        rl = rng.uniform(0.26, 0.32)
        cx = 0.3 * k
        s0 = rng.uniform(-120.0, -60.0)
        up = _arc((cx, cross_y / 2 + 0.01), ru * k, cross_y / 2 + 0.01, s0, s0 - 380.0)
        ly = (1.0 + cross_y) / 2 - 0.01
        low = _arc((cx + rng.normal(0.0, 0.02), ly), rl * k, 1.0 - ly, -90.0, -90.0 - 380.0)
        return [up, low]
    pts = [
        j(0.5 * k, 0.08),
        j(0.3 * k, 0.0),
        j(0.08 * k, 0.1),
        j(0.12 * k, cross_y - 0.15),
        (0.3 * k, cross_y),
        j(0.55 * k, cross_y + 0.12),
        j(0.6 * k, 0.83),
        j(0.35 * k, 1.0),
        j(0.05 * k, 0.85),
        j(0.08 * k, cross_y + 0.13),
        (0.3 * k, cross_y),
        j(0.5 * k, cross_y - 0.15),
        j(0.55 * k, 0.08),
        j(0.42 * k, -0.005),
    ]
    stroke = _spline(pts)
    if rng.random() < 0.4:
        stroke[:, 0] = 0.6 * k - stroke[:, 0]  # mirrored: starts top-left going right
    return [stroke]


def _nine(rng: np.random.Generator) -> list[np.ndarray]:
    """'9': closed head plus a straight or curved tail (one or two strokes).

    Args:
        rng: Random generator.

    Returns:
        One or two strokes.
    """
    w = rng.uniform(0.5, 0.66)
    head_h = rng.uniform(0.4, 0.5)
    rx, ry = w / 2, head_h / 2
    c = (rx, ry)
    style = rng.random()
    tail_x = c[0] + rx * rng.uniform(0.85, 1.0)
    tail_end_x = tail_x + rng.normal(-0.03, 0.03)
    if style < 0.3:
        # Curved tail hooking to the left at the bottom.
        tail = _spline(
            [(tail_x, ry + 0.02), (tail_x - 0.01, 0.7), (tail_x - 0.1, 0.95), (tail_x - rng.uniform(0.3, 0.45), 1.0)]
        )
    else:
        tail = _spline([(tail_x, ry * rng.uniform(0.4, 0.9)), (tail_end_x + 0.01, 0.6), (tail_end_x, 1.0)])
    if rng.random() < 0.25:
        # Two strokes: the head, then the tail from the top.
        head = _arc(c, rx, ry, -60.0, -60.0 - rng.uniform(375.0, 400.0), drift=rng.uniform(-0.02, 0.02))
        top = (tail_x + rng.normal(0.0, 0.01), rng.uniform(0.0, 0.08))
        return [head, _join(_line(top, tail[0]), tail)]
    # One stroke: start upper right, counter-clockwise round the head, up to
    # the top right, then back down into the tail.
    s0 = rng.uniform(-40.0, -10.0)
    head = _arc(c, rx, ry, s0, -400.0 - rng.uniform(0.0, 20.0), drift=rng.uniform(-0.02, 0.02))
    return [_join(head, _line(head[-1], tail[0]), tail)]


_TEMPLATES: dict[int, Template] = {
    0: _zero,
    1: _one,
    2: _two,
    3: _three,
    4: _four,
    5: _five,
    6: _six,
    7: _seven,
    8: _eight,
    9: _nine,
}


# --------------------------------------------------------------------------
# Random deformations
# --------------------------------------------------------------------------


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
    s = _arc_length(stroke)
    out = stroke.copy()
    for axis in range(2):
        for _ in range(2):
            wavelength = rng.uniform(0.25, 0.8)
            out[:, axis] += amplitude / 2 * np.sin(2 * np.pi * s / wavelength + rng.uniform(0, 2 * np.pi))
    return out


def _bbox(strokes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box of all stroke points.

    Args:
        strokes: List of (K, 2) polylines.

    Returns:
        (min_xy, max_xy) arrays of shape (2,).
    """
    allp = np.vstack(strokes)
    return allp.min(axis=0), allp.max(axis=0)


def _normalize(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """Fit strokes into the unit box, aspect preserved, narrow axis centred.

    Args:
        strokes: List of (K, 2) polylines.

    Returns:
        Strokes scaled so the larger bounding-box side is 1 and the box
        lies in [0, 1] x [0, 1], centred along the shorter side.
    """
    lo, hi = _bbox(strokes)
    size = hi - lo
    scale = 1.0 / max(float(size.max()), 1e-9)
    offset = (1.0 - size * scale) / 2.0
    return [(s - lo) * scale + offset for s in strokes]


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


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
    if digit not in _TEMPLATES:
        raise ValueError(f"digit must be 0-9, got {digit!r}")
    strokes = _TEMPLATES[int(digit)](rng)
    strokes = _normalize(strokes)

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
    strokes = [_adjust_ends(s, rng.uniform(-0.012, 0.03), rng.uniform(-0.012, 0.03)) for s in strokes]

    strokes = _normalize(strokes)
    strokes = [_resample(s, POINT_SPACING) for s in strokes]
    return _normalize(strokes)


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
    lo, hi = _bbox(strokes)
    scale = height / max(float(hi[1] - lo[1]), 1e-9)
    origin = np.array([x0, y0], dtype=np.float64)
    return [(np.asarray(s, dtype=np.float64) - lo) * scale + origin for s in strokes]


def render_strokes(
    strokes: list[np.ndarray],
    size: tuple[int, int] = (280, 280),
    width: float = 18.0,
    ink: tuple[int, int, int] = (255, 255, 255),
    background: tuple[int, int, int] | None = (0, 0, 0),
) -> np.ndarray:
    """Rasterise canvas-coordinate strokes like the web drawing canvas.

    Lines get round caps and round joins and are anti-aliased: they are drawn
    at 4x resolution (PIL lines plus a disc at every vertex) and box-filtered
    down, so each pixel holds its exact-ish ink coverage.

    Args:
        strokes: Polylines in pixel coordinates (as from :func:`place_strokes`);
            a pixel (i, j) covers [i, i+1) x [j, j+1) like on an HTML canvas.
        size: Output (width, height) in pixels.
        width: Brush width in pixels.
        ink: Ink RGB colour.
        background: Background RGB colour, or None for a transparent
            background.

    Returns:
        (H, W, 4) uint8 RGBA image.  With ``background=None`` RGB is the ink
        colour everywhere and alpha is the ink coverage; otherwise alpha is 255
        and the ink is blended over the background colour.
    """
    ss = 4
    w_px, h_px = int(size[0]), int(size[1])
    mask = Image.new("L", (w_px * ss, h_px * ss), 0)
    draw = ImageDraw.Draw(mask)
    line_w = max(1, int(round(width * ss)))
    r = line_w / 2.0
    for stroke in strokes:
        pts = np.asarray(stroke, dtype=np.float64).reshape(-1, 2) * ss - 0.5
        if len(pts) == 0:
            continue
        if len(pts) > 1:
            draw.line([tuple(p) for p in pts], fill=255, width=line_w)
        # PIL's ellipse box is inclusive on both sides: shrink by half a pixel
        # so the disc has the true diameter.
        for x, y in pts:
            draw.ellipse([x - r + 0.5, y - r + 0.5, x + r - 0.5, y + r - 0.5], fill=255)
    small = mask.resize((w_px, h_px), Image.BOX)
    cov = np.asarray(small, dtype=np.float64) / 255.0
    ink_arr = np.asarray(ink, dtype=np.float64)
    out = np.empty((h_px, w_px, 4), dtype=np.uint8)
    if background is None:
        out[..., :3] = np.asarray(ink, dtype=np.uint8)
        out[..., 3] = np.asarray(small, dtype=np.uint8)
    else:
        bg = np.asarray(background, dtype=np.float64)
        rgb = bg * (1.0 - cov[..., None]) + ink_arr * cov[..., None]
        out[..., :3] = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
        out[..., 3] = 255
    return out


def random_canvas_digit(
    digit: int,
    rng: np.random.Generator,
    canvas: int = 280,
    min_height: float = 40,
    max_height: float = 250,
    min_width: float = 6,
    max_width: float = 30,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Draw a digit at a random size, position and brush width on a canvas.

    Args:
        digit: Digit to draw, 0-9.
        rng: Random generator.
        canvas: Side of the square canvas in pixels.
        min_height: Smallest drawing height in pixels.
        max_height: Largest drawing height in pixels (reduced if the digit,
            including the brush, would not fit).
        min_width: Smallest brush width in pixels.
        max_width: Largest brush width in pixels (also capped at about a
            fifth of the drawing height so small digits stay legible).

    Returns:
        (image, strokes): an opaque (canvas, canvas, 4) uint8 RGBA image with
        light ink on black, and the strokes in canvas pixel coordinates (the
        brush footprint lies fully inside the canvas).
    """
    strokes = digit_strokes(digit, rng)
    lo, hi = _bbox(strokes)
    aspect = float((hi[0] - lo[0]) / max(hi[1] - lo[1], 1e-9))  # width / height

    height = float(rng.uniform(min_height, max_height))
    brush_hi = min(max_width, height / 5.0)
    brush = float(rng.uniform(min(min_width, brush_hi), brush_hi))
    # Shrink the drawing if it (plus the brush margin) does not fit.
    room = canvas - brush - 3.0
    height = min(height, room, room / max(aspect, 1e-9))
    brush = min(brush, max(height / 5.0, 1.0))
    draw_w = height * aspect

    margin = brush / 2.0 + 1.5
    x0 = float(rng.uniform(margin, max(margin, canvas - margin - draw_w)))
    y0 = float(rng.uniform(margin, max(margin, canvas - margin - height)))
    placed = place_strokes(strokes, x0, y0, height)

    level = int(rng.integers(215, 256))
    tint = rng.integers(-12, 1, 3)
    ink = tuple(int(v) for v in np.clip(level + tint, 0, 255))
    image = render_strokes(placed, size=(canvas, canvas), width=brush, ink=ink, background=(0, 0, 0))
    return image, placed


def contact_sheet(seed: int = 0, samples: int = 12, cell: int = 56, canvas: int = 280) -> Image.Image:
    """Grid of random samples: one row per digit 0-9.

    Args:
        seed: Seed for the random generator.
        samples: Number of samples (columns) per digit.
        cell: Side of each cell in pixels (each canvas is downscaled to it).
        canvas: Canvas size each sample is drawn on.

    Returns:
        RGB PIL image of (10 * (cell + 2)) rows by (samples * (cell + 2)) columns.
    """
    rng = np.random.default_rng(seed)
    pad = 2
    sheet = Image.new("RGB", (samples * (cell + pad) + pad, 10 * (cell + pad) + pad), (90, 60, 60))
    for d in range(10):
        for i in range(samples):
            img, _ = random_canvas_digit(d, rng, canvas=canvas)
            tile = Image.fromarray(img[..., :3], "RGB").resize((cell, cell), Image.LANCZOS)
            sheet.paste(tile, (pad + i * (cell + pad), pad + d * (cell + pad)))
    return sheet


def main(argv: list[str] | None = None) -> int:
    """Write a contact sheet PNG.

    Usage: ``python -m bench.handwriting [out.png] [seed] [cell_px]``.

    Args:
        argv: Command-line arguments (without the program name).

    Returns:
        Process exit code.
    """
    args = sys.argv[1:] if argv is None else argv
    out = args[0] if len(args) > 0 else "/tmp/handwriting_sheet.png"
    seed = int(args[1]) if len(args) > 1 else 0
    cell = int(args[2]) if len(args) > 2 else 56
    contact_sheet(seed=seed, cell=cell).save(out)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
