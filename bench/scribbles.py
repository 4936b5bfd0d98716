"""Things people upload or draw that are not digits, for the "is this a digit?" signal.

Each generator returns ``(image, background)`` ready for
``core.preprocess.normalize``: uploads of pure noise and of blurry blotches,
and canvas drawings of scattered dots, a random scribble, random straight
lines and a grid. They are drawn like :mod:`support.handwriting` draws digits
(the same anti-aliased round brush on a 280×280 canvas).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter

from core.preprocess import Background
from support.handwriting import render_strokes

__all__ = ["NON_DIGITS", "non_digit"]

CANVAS = 280


def _noise_upload(rng: np.random.Generator) -> tuple[np.ndarray, Background]:
    side = int(rng.integers(150, 500))
    rgb = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    return np.dstack([rgb, np.full((side, side), 255, np.uint8)]), "auto"


def _blotches(rng: np.random.Generator) -> tuple[np.ndarray, Background]:
    small = Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8))
    grey = np.asarray(small.resize((300, 300), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(4)))
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)]), "auto"


def _dots(rng: np.random.Generator) -> tuple[np.ndarray, Background]:
    dots = [rng.uniform(10, CANVAS - 10, (1, 2)) for _ in range(int(rng.integers(20, 300)))]
    return render_strokes(dots, width=float(rng.uniform(4, 20))), "dark"


def _scribble(rng: np.random.Generator) -> tuple[np.ndarray, Background]:
    walk = np.cumsum(rng.normal(0, rng.uniform(5, 30), (int(rng.integers(30, 300)), 2)), axis=0)
    walk = (walk - walk.min(0)) / np.ptp(walk, axis=0).clip(1) * rng.uniform(100, CANVAS - 20) + 10
    return render_strokes([walk], width=float(rng.uniform(4, 30))), "dark"


def _lines(rng: np.random.Generator) -> tuple[np.ndarray, Background]:
    lines = [rng.uniform(5, CANVAS - 5, (2, 2)) for _ in range(int(rng.integers(4, 15)))]
    return render_strokes(lines, width=float(rng.uniform(4, 25))), "dark"


def _grid(rng: np.random.Generator) -> tuple[np.ndarray, Background]:
    count = int(rng.integers(3, 9))
    step = (CANVAS - 20) / count
    ticks = [10 + k * step for k in range(count + 1)]
    lines = [np.array([[t, 10], [t, CANVAS - 10]]) for t in ticks]
    lines += [np.array([[10, t], [CANVAS - 10, t]]) for t in ticks]
    return render_strokes(lines, width=float(rng.uniform(4, 15))), "dark"


#: Kind of non-digit -> generator of one example.
NON_DIGITS: dict[str, Callable[[np.random.Generator], tuple[np.ndarray, Background]]] = {
    "noise photo": _noise_upload,
    "blotches photo": _blotches,
    "dots": _dots,
    "scribble": _scribble,
    "random lines": _lines,
    "grid": _grid,
}


def non_digit(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, Background]:
    """One random example of a kind of non-digit.

    Args:
        kind: A key of :data:`NON_DIGITS`.
        rng: Random generator.

    Returns:
        ``(image, background)``: an RGBA uint8 image and the background style
        the Draw page would use for it (``"dark"`` for the canvas, ``"auto"``
        for uploads).
    """
    return NON_DIGITS[kind](rng)
