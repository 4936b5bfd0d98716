"""Polyline primitives for drawing digits: segments, splines, arcs, and their upkeep.

Every function works on (N, 2) float arrays of (x, y) points, y pointing down
(screen coordinates). The builders sample densely (:data:`DENSE_SPACING`) so
that templates can be deformed smoothly before the final resampling.
"""

from __future__ import annotations

import numpy as np

#: Spacing used while building/deforming templates (finer than the output), unit-box fraction.
DENSE_SPACING = 0.004


def _pts(points: list[tuple[float, float]] | np.ndarray) -> np.ndarray:
    """Convert a list of points to an (N, 2) float array.

    Args:
        points: Sequence of (x, y) pairs.

    Returns:
        (N, 2) float64 array.
    """
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def line(p0: tuple[float, float], p1: tuple[float, float]) -> np.ndarray:
    """Densely sampled straight segment from ``p0`` to ``p1``.

    Args:
        p0: Start point.
        p1: End point.

    Returns:
        (N, 2) array including both end points.
    """
    a, b = np.asarray(p0, float), np.asarray(p1, float)
    n = max(2, int(np.ceil(np.linalg.norm(b - a) / DENSE_SPACING)) + 1)
    u = np.linspace(0.0, 1.0, n)[:, None]
    return a + (b - a) * u


def spline(points: list[tuple[float, float]] | np.ndarray) -> np.ndarray:
    """Smooth curve through ``points`` (centripetal Catmull-Rom spline).

    Args:
        points: Key points the curve must pass through, in order (>= 2).

    Returns:
        (N, 2) densely sampled curve starting at the first key point and
        ending at the last one.
    """
    p = _pts(points)
    if len(p) == 2:
        return line(p[0], p[1])
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = [p[:1]]
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        seg_len = float(np.linalg.norm(p2 - p1))
        n = max(2, int(np.ceil(seg_len / DENSE_SPACING)) + 1)
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


def arc(
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
    n = max(3, int(np.ceil(length / DENSE_SPACING)) + 1)
    u = np.linspace(0.0, 1.0, n)
    t = np.deg2rad(t0 + (t1 - t0) * u)
    r = 1.0 + drift * u
    return np.stack([center[0] + rx * r * np.cos(t), center[1] + ry * r * np.sin(t)], axis=1)


def join(*pieces: np.ndarray) -> np.ndarray:
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


def arc_length(stroke: np.ndarray) -> np.ndarray:
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


def resample(stroke: np.ndarray, spacing: float) -> np.ndarray:
    """Resample a polyline at (almost) uniform arc-length spacing.

    Args:
        stroke: (N, 2) polyline.
        spacing: Desired distance between consecutive points.

    Returns:
        (M, 2) polyline with the same end points; a degenerate stroke
        (zero length) becomes a single point.
    """
    s = arc_length(stroke)
    total = float(s[-1]) if len(s) else 0.0
    if total < 1e-9:
        return stroke[:1].copy()
    n = max(2, int(np.ceil(total / spacing)) + 1)
    keep = np.concatenate([[True], np.diff(s) > 1e-12])
    s, pts = s[keep], stroke[keep]
    target = np.linspace(0.0, total, n)
    return np.stack([np.interp(target, s, pts[:, 0]), np.interp(target, s, pts[:, 1])], axis=1)


def adjust_ends(stroke: np.ndarray, start: float, end: float) -> np.ndarray:
    """Extend (positive) or trim (negative) both ends of a stroke.

    Args:
        stroke: (N, 2) densely sampled polyline.
        start: Arc length added before the first point (negative trims).
        end: Arc length added after the last point (negative trims).

    Returns:
        The modified polyline.
    """
    s = arc_length(stroke)
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
        pieces.insert(0, line(out[0] + d * start, out[0])[:-1])
    if end > 0:
        d = out[-1] - out[max(len(out) - 4, 0)]
        d /= max(np.linalg.norm(d), 1e-9)
        pieces.append(line(out[-1], out[-1] + d * end)[1:])
    return np.vstack(pieces)


def bbox(strokes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box of all stroke points.

    Args:
        strokes: List of (K, 2) polylines.

    Returns:
        (min_xy, max_xy) arrays of shape (2,).
    """
    allp = np.vstack(strokes)
    return allp.min(axis=0), allp.max(axis=0)


def normalize(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """Fit strokes into the unit box, aspect preserved, narrow axis centred.

    Args:
        strokes: List of (K, 2) polylines.

    Returns:
        Strokes scaled so the larger bounding-box side is 1 and the box
        lies in [0, 1] x [0, 1], centred along the shorter side.
    """
    lo, hi = bbox(strokes)
    size = hi - lo
    scale = 1.0 / max(float(size.max()), 1e-9)
    offset = (1.0 - size * scale) / 2.0
    return [(s - lo) * scale + offset for s in strokes]
