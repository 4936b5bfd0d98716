"""Stroke-width normalisation: make a drawing's pen as thick, for its size, as MNIST's.

A person draws with one brush width whatever the size of the digit, so a
small digit drawn with a wide brush has strokes far thicker, for its size,
than MNIST's, and a large one drawn with a fine brush has hairlines. Fitted
into MNIST's 20 px box, those strokes are 6 px wide, or half a pixel, where
MNIST's are about 2.3 px: a model trained on MNIST has seen neither.

:func:`stroke_width` estimates the width of a drawing's strokes from its ink
area ``A`` and outline length ``P`` (the total variation of the ink, which
anti-aliasing does not disturb), modelling the ink as one stroke with round
ends: ``A = w·L + π·w²/4`` and ``P = 2·L + π·w``. That is exact for a straight
stroke, a ring or a dot, and within a few per cent for digits whose strokes
do not run into each other (more where a wide brush fills a digit's loops).

:func:`normalize_stroke` redraws the strokes at an MNIST width. On a copy whose
longer side is :data:`WORK` px it takes the signed distance to the ink's
outline (exact Euclidean distances, numpy only) and moves the whole outline
in (thinning) or out (thickening) by one distance, so every stroke keeps its
centre line and becomes as wide as the next. Thinning is measured as it goes
and stops before a stroke would vanish (see :func:`_search`). Drawings whose
strokes are already as wide as MNIST's commonly are pass through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = [
    "MNIST_STROKE",
    "MNIST_STROKE_RANGE",
    "STROKE_TARGET",
    "WORK",
    "Outline",
    "Stroke",
    "distance_to",
    "euler_number",
    "normalize_stroke",
    "stroke_width",
]

#: MNIST's median stroke width in its 20 px box: :func:`stroke_width` of the 60,000
#: training digits, each taken through the same crop and resize as a drawing.
#: Percentiles 2/10/25/50/75/90/98: 1.46, 1.71, 1.97, 2.33, 2.79, 3.29, 4.09 px
#: (mean 2.44; the 10,000 test digits: median 2.37).
MNIST_STROKE = 2.33
#: MNIST's 2nd to 98th percentiles: drawings with strokes in this range are left
#: exactly as they are, so normalisation does not touch an MNIST-like digit.
MNIST_STROKE_RANGE = (1.46, 4.09)
#: The width strokes outside that range are brought to: MNIST's 90th percentile, bold
#: but common. Thinning is the lossy direction (where a wide brush filled a loop, the
#: loop does not come back), and thinning no further than this read best: on
#: ``python -m bench.drawings`` drawings with a brush 25-50% of the digit's height,
#: the default run's CNN read 91-96% and the MLP 87-92% at this target, 90% and 84-85%
#: at the median.
STROKE_TARGET = 3.29
#: Longer side, in pixels, of the copy the strokes are redrawn on: four times the 20 px
#: box, fine enough that the final resize anti-aliases the new outline.
WORK = 64
_BOX = 20  # MNIST's box, the scale the widths above are measured in
_INK = 0.2  # ink that counts as drawn when boxing the digit (as core.preprocess does)
_PRECISION = 1 / 32  # the outline-shift search stops within this fraction of its first guess
_LOST = 1.5  # box shrinking more than the thinning by this (work px) means a stroke vanished
_PROGRESS = 0.5  # short of the target, thinning must have gone at least half the way
_MIN_WIDTH = 1.0  # the thinnest strokes thinning leaves, in pixels of the 20 px box


@dataclass(frozen=True)
class Stroke:
    """The stroke-width step of one drawing.

    Attributes:
        image: The drawing redrawn at the target width, cropped to its ink
            (about :data:`WORK` px on the longer side), or the input crop
            itself when no change was needed.
        before: The drawing's stroke width (:func:`stroke_width`), in pixels
            of the 20 px box the digit is fitted into.
        after: The width of ``image``'s strokes, the same way (``before``
            when nothing changed).
        changed: Whether the strokes were redrawn.
    """

    image: np.ndarray
    before: float
    after: float
    changed: bool


def stroke_width(ink: np.ndarray) -> float:
    """Estimate the stroke width of an ink map, in its own pixels.

    Args:
        ink: (H, W) float ink map in [0, 1] (anti-aliased edges welcome).

    Returns:
        The width ``w`` of the round-ended stroke with the same ink area and
        outline length; 0 for an empty map.
    """
    ink = np.asarray(ink, np.float32)
    area = float(ink.sum())
    if area <= 0:
        return 0.0
    # Outline length = total variation, with gradients on the 2×2 cells between
    # pixels (rotation-fair, and a one-pixel line counts both its edges).
    p = np.zeros((ink.shape[0] + 2, ink.shape[1] + 2), np.float32)
    p[1:-1, 1:-1] = ink
    dx, dy = p[:, 1:] - p[:, :-1], p[1:] - p[:-1]
    gx, gy = dx[:-1] + dx[1:], dy[:, :-1] + dy[:, 1:]
    perimeter = 0.5 * float(np.sqrt(gx * gx + gy * gy).sum())
    # Solve A = w·P/2 - π·w²/4 for w (the smaller root); a disc has P² = 4πA.
    return (perimeter - np.sqrt(max(perimeter * perimeter - 4 * np.pi * area, 0.0))) / np.pi


def distance_to(mask: np.ndarray, limit: float | None = None) -> np.ndarray:
    """Euclidean distance from every pixel to the nearest ``True`` pixel of ``mask``.

    Exact (Meijster-style): distances along each row first, then the nearest
    row point for every column, over row offsets up to ``limit``.

    Args:
        mask: (H, W) bool array.
        limit: Distances up to this are exact; farther pixels get some value
            above it (``inf`` when no ``True`` pixel is in range). ``None``: all exact.

    Returns:
        (H, W) float32 distances, 0 on the mask.
    """
    h, w = mask.shape
    cols = np.arange(w, dtype=np.float32)
    # Along rows: distance to the nearest True pixel left or right.
    left = np.maximum.accumulate(np.where(mask, cols, -np.inf), axis=1)
    right = np.minimum.accumulate(np.where(mask, cols, np.inf)[:, ::-1], axis=1)[:, ::-1]
    g2 = np.minimum(cols - left, right - cols) ** 2
    reach = h - 1 if limit is None else min(h - 1, int(np.ceil(limit)))
    best = g2.copy()
    for k in range(1, reach + 1):
        k2 = np.float32(k * k)
        np.minimum(best[k:], g2[:-k] + k2, out=best[k:])
        np.minimum(best[:-k], g2[k:] + k2, out=best[:-k])
    return np.sqrt(best, dtype=np.float32)


def _resize_longer(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    pil = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F")
    out = np.clip(np.asarray(pil.resize(size, Image.Resampling.LANCZOS), dtype=np.float32), 0.0, 1.0)
    peak = float(out.max(initial=0.0))
    return out / peak if peak > 0 else out


def _crop_to_ink(image: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(image.max(axis=1) > _INK), np.flatnonzero(image.max(axis=0) > _INK)
    if rows.size == 0:
        return image
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def euler_number(mask: np.ndarray) -> int:
    """Pieces minus holes of a binary image (8-connected ink), from its 2×2 pixel patterns.

    Gray's bit-quad count: a 2×2 window with one inked pixel is a convex
    corner, with three a concave one, and the two diagonal patterns join two
    corners; the Euler number is their signed sum over four.

    Args:
        mask: (H, W) bool array.

    Returns:
        The number of connected pieces of ink minus the number of holes in them.
    """
    p = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), np.int8)
    p[1:-1, 1:-1] = mask
    a, b, c, d = p[:-1, :-1], p[:-1, 1:], p[1:, :-1], p[1:, 1:]
    count = a + b + c + d
    diagonal = (count == 2) & (a == d)
    return int((np.sum(count == 1) - np.sum(count == 3) - 2 * np.sum(diagonal)) // 4)


def _measure(image: np.ndarray) -> tuple[float, float]:
    """Longer side of an ink map's box, and its stroke width relative to a 20 px box."""
    rows, cols = np.flatnonzero(image.max(axis=1) > _INK), np.flatnonzero(image.max(axis=0) > _INK)
    if rows.size == 0:
        return 0.0, 0.0
    side = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    return float(side), stroke_width(image) * _BOX / side


class Outline:
    """A digit's outline as a signed distance map, to redraw it moved in or out.

    Args:
        ink: (H, W) float ink map in [0, 1], padded with room for any thickening.
        reach: The farthest the outline will be moved (px): distances beyond
            it are not needed, which saves most of the distance transform.
        inwards: Whether it will be moved inwards (thinning) or outwards.
    """

    def __init__(self, ink: np.ndarray, reach: float, inwards: bool) -> None:
        mask = ink >= 0.5
        # Distance to the outline, > 0 inside, refined to a fraction of a pixel
        # next to the outline, where the anti-aliased ink tells where it passes.
        if inwards:
            self.sdf = np.where(mask, distance_to(~mask, reach + 2) - 1.0, 0.0) + (ink - 0.5)
        else:
            self.sdf = np.where(mask, 1.0, 1.0 - distance_to(mask, reach + 2)) + (ink - 0.5)

    def redraw(self, shift: float) -> np.ndarray:
        """The ink with the outline moved in by ``shift`` px (out when negative), anti-aliased."""
        return np.clip(self.sdf - np.float32(shift - 0.5), 0.0, 1.0)


def normalize_stroke(
    crop: np.ndarray, target: float = STROKE_TARGET, keep: tuple[float, float] = MNIST_STROKE_RANGE
) -> Stroke:
    """Bring a digit's strokes to ``target`` width relative to MNIST's 20 px box.

    Strokes whose width is in ``keep`` are left as they are; finer ones are
    thickened and bolder ones thinned to ``target``.

    Args:
        crop: (H, W) float ink map in [0, 1], cropped to the digit's ink.
        target: Stroke width to reach, in pixels of the 20 px box the digit
            will be fitted into.
        keep: Widths (same unit) left as they are: the range of MNIST's own digits.

    Returns:
        A :class:`Stroke`; its ``image`` goes on to be fitted into the box.
    """
    work = _resize_longer(crop, WORK)
    side = max(work.shape)
    width = stroke_width(work)
    before = width * _BOX / side
    if keep[0] <= before <= keep[1]:
        return Stroke(crop, before, before, False)
    # The box holds the strokes' extent plus one width (half a width beyond
    # each end's centre line): a width t in a box of (side - width + t) px.
    extent = max(side - width, 0.25 * side)
    guess = (width - max(target * extent / (_BOX - target), 1.0)) / 2  # > 0 thins, < 0 thickens
    reach = 1.5 * abs(guess)
    margin = 2 if guess > 0 else int(np.ceil(reach)) + 2
    outline = Outline(np.pad(work, margin), reach, inwards=guess > 0)
    shift, image = _search(outline, guess, width, target)
    if shift == 0.0:
        return Stroke(crop, before, before, False)
    image = _crop_to_ink(image)
    return Stroke(image, before, _measure(image)[1], True)


def _search(outline: Outline, guess: float, width: float, target: float) -> tuple[float, np.ndarray]:
    """Move the outline until the strokes have ``target`` relative width.

    ``guess`` (px, > 0 thins) assumes strokes of the estimated ``width`` (px)
    that do not overlap; where they do (a small digit drawn with a wide brush)
    the width is overestimated and the guess would thin too far. So the shift
    grows in steps up to 1.5 guesses, measuring the redrawn image each time,
    and the step that gets there is halved down to 1/32 of the guess.
    Thinning stops before a stroke vanishes: while every stroke is there,
    moving the outline in by ``s`` shrinks the digit's box by exactly ``2s``
    (its extreme strokes' ends move in), and the number of pieces minus holes
    never grows (holes may open, strokes must not be cut).

    Returns:
        ``(shift, image)``; shift 0 when the strokes are best left as they are
        (even the first step loses a stroke, or a filled blob, as wide as its
        box at any size, thins no nearer the target).
    """
    start = outline.redraw(0.0)
    side, first = _measure(start)
    sign = 1.0 if guess > 0 else -1.0

    def gap(shift: float, euler: int) -> tuple[float | None, int]:
        """Width still to go (> 0: not there yet), ``None`` if a stroke was lost; and the Euler number."""
        image = outline.redraw(shift)
        box, relative = _measure(image)
        if sign < 0:
            return target - relative, euler
        now = euler_number(image > 0.5)
        lost = box < side - 2 * shift - _LOST or now > euler
        return (None if lost else relative - target), now

    euler = euler_number(start > 0.5)
    done, done_gap = 0.0, sign * (first - target)
    steps = {guess * k for k in (1.0, 1.25, 1.5)}
    if guess > 0:  # thinned strokes stay a pixel of the 20 px box wide, even if the "width" is a blob's
        steps = {min(shift, (width - _MIN_WIDTH * WORK / _BOX) / 2) for shift in steps}
    for shift in sorted(steps, key=abs):
        left, now = gap(shift, euler)
        if left is not None and left > 0:
            done, done_gap, euler = shift, left, now
            continue
        low, high, reached = done, shift, left is not None
        while abs(high - low) > abs(guess) * _PRECISION:
            middle = (low + high) / 2
            left, now = gap(middle, euler)
            if left is not None and left > 0:
                low, done_gap = middle, left
            else:
                high, reached = middle, left is not None
        if reached:
            return high, outline.redraw(high)
        done = low
        break
    # Out of reach: keep the best width found if it is a real step towards the target.
    if done == 0.0 or done_gap > _PROGRESS * sign * (first - target):
        return 0.0, start
    return done, outline.redraw(done)
