"""Digit templates: how people draw each digit 0-9, in a unit box, before any deformation.

Coordinates: y in [0, 1] (down), x roughly [0, 0.75]. Each template takes a
random generator (which picks a style variant and jitters its key points) and
returns a list of densely sampled strokes in drawing order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from support.handwriting.geometry import arc, join, line, spline

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
    ring = arc((0.0, 0.5), rx, 0.5, start, start + direction * sweep, drift=rng.uniform(-0.03, 0.03))
    # Egg shape: narrower (or wider) at the top.
    egg = rng.uniform(-0.12, 0.12)
    ring[:, 0] *= 1.0 - egg * (0.5 - ring[:, 1]) * 2.0
    return [ring]


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
    stem = spline([(0.0, 0.0), (bottom[0] / 2 + bow, 0.5), bottom])
    strokes = []
    if "flag" in style:
        angle = np.deg2rad(rng.uniform(42.0, 65.0))
        length = rng.uniform(0.16, 0.3)
        flag_start = (-length * np.cos(angle), length * np.sin(angle))
        strokes.append(join(line(flag_start, (0.0, 0.0)), stem))
    else:
        strokes.append(stem)
    if "base" in style:
        half = rng.uniform(0.15, 0.25)
        c = bottom[0] + rng.normal(0.0, 0.03)
        y = 1.0 + rng.normal(0.0, 0.01)
        strokes.append(line((c - half, y), (c + half, y + rng.normal(0.0, 0.015))))
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
        loop = arc(c, rx, ry, 60.0, rng.uniform(320.0, 345.0))
        exit_pt = (c[0] + rx * 1.2, base_y)
        descent = spline(top + [mid, tuple(loop[0])])
        tail = spline([tuple(loop[-1]), (c[0] + rx * 1.05, base_y - 0.4 * ry), exit_pt])
        return [join(descent, loop, tail, line(exit_pt, base_end))]
    corner = j(0.02, base_y)
    descent = spline(top + [mid, corner])
    return [join(descent, line(corner, base_end))]


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
    lower = spline(
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
        return [join(line(a, b), line(b, mid), lower)]
    upper = spline(
        [
            j(0.04, rng.uniform(0.1, 0.2)),
            j(0.25 * k, 0.01),
            j(0.46 * k, 0.0),
            j(0.58 * k, 0.12),
            j(0.52 * k, 0.3),
            mid,
        ]
    )
    return [join(upper, lower)]


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
        first = join(line(top, left), line(left, bar_end))
        vertical = line(j(vx, rng.uniform(-0.02, 0.03)), j(vx + rng.normal(0.0, 0.02), 1.0))
    else:
        # Open: down-stroke on the left, bar to the right, separate vertical.
        top = j(rng.uniform(0.0, 0.1), rng.uniform(0.0, 0.08))
        left = j(0.0, bar_y)
        first = join(line(top, left), line(left, bar_end))
        vertical = line(j(vx + 0.02, rng.uniform(-0.02, 0.05)), j(vx + rng.normal(0.0, 0.02), 1.0))
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
    bowl = spline(
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
        return [join(line(bar_end, stem_top), line(stem_top, stem_bot), bowl)]
    bar_start = (stem_top[0] - 0.015, stem_top[1] + 0.005)
    return [join(line(stem_top, stem_bot), bowl), line(bar_start, bar_end)]


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
    return [spline(pts)]


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
    diagonal = spline([b, diag_mid, foot])
    pieces = []
    if rng.random() < 0.15:
        pieces.append(line((a[0], a[1] + rng.uniform(0.08, 0.14)), a))
    pieces += [line(a, b), diagonal]
    strokes = [join(*pieces)]
    if rng.random() < 0.3:
        half = rng.uniform(0.14, 0.22)
        cx = float(np.interp(mid_y, diagonal[:, 1], diagonal[:, 0]))
        y = mid_y + rng.normal(0.0, 0.02)
        strokes.append(line((cx - half, y), (cx + half, y + rng.normal(0.0, 0.01))))
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
        up = arc((cx, cross_y / 2 + 0.01), ru * k, cross_y / 2 + 0.01, s0, s0 - 380.0)
        ly = (1.0 + cross_y) / 2 - 0.01
        low = arc((cx + rng.normal(0.0, 0.02), ly), rl * k, 1.0 - ly, -90.0, -90.0 - 380.0)
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
    stroke = spline(pts)
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
        tail = spline(
            [(tail_x, ry + 0.02), (tail_x - 0.01, 0.7), (tail_x - 0.1, 0.95), (tail_x - rng.uniform(0.3, 0.45), 1.0)]
        )
    else:
        tail = spline([(tail_x, ry * rng.uniform(0.4, 0.9)), (tail_end_x + 0.01, 0.6), (tail_end_x, 1.0)])
    if rng.random() < 0.25:
        # Two strokes: the head, then the tail from the top.
        head = arc(c, rx, ry, -60.0, -60.0 - rng.uniform(375.0, 400.0), drift=rng.uniform(-0.02, 0.02))
        top = (tail_x + rng.normal(0.0, 0.01), rng.uniform(0.0, 0.08))
        return [head, join(line(top, tail[0]), tail)]
    # One stroke: start upper right, counter-clockwise round the head, up to
    # the top right, then back down into the tail.
    s0 = rng.uniform(-40.0, -10.0)
    head = arc(c, rx, ry, s0, -400.0 - rng.uniform(0.0, 20.0), drift=rng.uniform(-0.02, 0.02))
    return [join(head, line(head[-1], tail[0]), tail)]


#: The template of each digit.
TEMPLATES: dict[int, Template] = {
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
