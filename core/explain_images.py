"""Pictures of a network's insides: activation maps in grids, unit strips, weights, saliency overlays.

Plain NumPy (no TensorFlow at import): :mod:`core.explain` computes the
numbers, this module turns them into ``uint8`` images (grey for activations,
RGB where colour carries a sign) that a page shows
pixel for pixel (enlarged by repeating pixels, never smoothed), so each
picture is one small lossless PNG rather than dozens of tiny ones.
"""

from __future__ import annotations

import functools
import math
import struct
import zlib

import numpy as np

__all__ = [
    "diverging",
    "grey",
    "kernel_images",
    "map_grid",
    "png_bytes",
    "saliency_overlay",
    "unit_strip",
    "weight_grid",
]

#: Colour of the lines between the cells of a grid (dark blue-grey, apart from both black and white cells).
GRID_LINE = np.array([70, 80, 100], np.uint8)
GRID_LINE_GREY = np.uint8(70)  #: the same lines in grey pictures
POSITIVE = np.array([255, 75, 75], np.float32)  #: red: a weight or pixel pushing up
NEGATIVE = np.array([60, 140, 255], np.float32)  #: blue: pushing down


def grey(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``values`` scaled from [low, high] to grey levels, ``uint8`` (brighter = larger)."""
    span = high - low if high > low else 1.0
    level = np.clip((np.asarray(values, np.float32) - low) * (255.0 / span) + 0.5, 0.0, 255.0).astype(np.uint8)
    return level


def diverging(values: np.ndarray, limit: float) -> np.ndarray:
    """Signed ``values`` as RGB ``uint8``: black at 0, red towards ``+limit``, blue towards ``-limit``."""
    v = np.clip(np.asarray(values, np.float32) / (limit if limit > 0 else 1.0), -1.0, 1.0)[..., None]
    rgb = np.where(v > 0, v * POSITIVE, -v * NEGATIVE)
    return (rgb + 0.5).astype(np.uint8)


def _enlarge(image: np.ndarray, scale: int) -> np.ndarray:
    return image.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else image


@functools.lru_cache(maxsize=64)
def _layout(n: int, h: int, w: int, scale: int, columns: int) -> np.ndarray:
    """For each pixel of a grid of ``n`` (h, w) cells enlarged ``scale``×, the index of its value.

    Values are numbered cell by cell, row by row (``n·h·w`` of them); ``n·h·w``
    itself stands for the one-pixel lines around the cells. Made once per
    layout: a picture is then a single gather, however many cells it has.
    """
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    ch, cw = h * scale, w * scale
    out = np.full((rows * (ch + 1) + 1, columns * (cw + 1) + 1), n * h * w, np.int32)
    inside = (np.arange(ch)[:, None] // scale) * w + np.arange(cw)[None, :] // scale
    for i in range(n):
        r, c = divmod(i, columns)
        out[1 + r * (ch + 1) : (r + 1) * (ch + 1), 1 + c * (cw + 1) : (c + 1) * (cw + 1)] = i * h * w + inside
    out.flags.writeable = False
    return out


def _grid(colours: np.ndarray, columns: int, scale: int) -> np.ndarray:
    """(N, h, w) grey or (N, h, w, 3) RGB cells enlarged ``scale``× side by side, ``columns`` a row, lines between."""
    n, h, w = colours.shape[:3]
    line = GRID_LINE if colours.ndim == 4 else GRID_LINE_GREY
    palette = np.concatenate(
        [colours.reshape(n * h * w, *colours.shape[3:]), np.reshape(line, (1, *colours.shape[3:]))]
    )
    return np.take(palette, _layout(n, h, w, scale, columns), axis=0)


def _scale_for(side: int, cell: int) -> int:
    """The whole-pixel enlargement that brings a ``side``-pixel image nearest to ``cell`` pixels."""
    return max(1, round(cell / max(1, side)))


def map_grid(maps: np.ndarray, columns: int = 16, cell: int = 44) -> np.ndarray:
    """A convolution layer's activation maps as one grid image, one cell per filter.

    One brightness scale for the whole layer (black = the layer's lowest value,
    or 0; white = its highest), so a bright cell is a filter that responded
    strongly and a black one a filter this drawing left silent.

    Args:
        maps: (H, W, C) activations of one image.
        columns: Cells per row.
        cell: Rough cell size in pixels (maps are enlarged by a whole factor).

    Returns:
        (H, W) grey ``uint8`` image (grey, not RGB: a third of the bytes to send).
    """
    maps = np.asarray(maps, np.float32)
    low = min(0.0, float(maps.min()))
    colours = grey(np.moveaxis(maps, -1, 0), low, float(maps.max()))
    return _grid(colours, columns, _scale_for(max(maps.shape[:2]), cell))


def unit_strip(values: np.ndarray, columns: int = 32, cell: int = 14) -> np.ndarray:
    """A dense layer's activations as a grid of squares, one per unit (brighter = more active).

    Args:
        values: (units,) activations of one image.
        columns: Squares per row.
        cell: Square size in pixels.

    Returns:
        (H, W) grey ``uint8`` image.
    """
    values = np.asarray(values, np.float32).reshape(-1)
    low = min(0.0, float(values.min()))
    return _grid(grey(values, low, float(values.max())).reshape(-1, 1, 1), columns, cell)


def kernel_images(kernel: np.ndarray) -> np.ndarray | None:
    """A first layer's weights as one small image per filter or unit, when they are pictures.

    Args:
        kernel: A ``Conv2D`` kernel (kh, kw, 1, filters), or a ``Dense`` kernel
            (784, units) reading the 28×28 pixels directly.

    Returns:
        (filters, kh, kw) or (units, 28, 28) float32 images; None for any other
        shape (a convolution over several channels, a dense layer on something else).
    """
    kernel = np.asarray(kernel, np.float32)
    if kernel.ndim == 4 and kernel.shape[2] == 1:
        return np.ascontiguousarray(np.moveaxis(kernel[:, :, 0, :], -1, 0))
    if kernel.ndim == 2 and kernel.shape[0] == 784:
        return np.ascontiguousarray(kernel.T.reshape(-1, 28, 28))
    return None


def weight_grid(images: np.ndarray, columns: int = 16, cell: int = 44, limit: float | None = None) -> np.ndarray:
    """Weight images side by side in red (positive) and blue (negative) on black (zero).

    Args:
        images: (N, h, w) weights, e.g. from :func:`kernel_images`.
        columns: Cells per row.
        cell: Rough cell size in pixels.
        limit: The weight shown at full colour (default: the largest magnitude); pass
            the same one to two grids to compare them.

    Returns:
        RGB ``uint8`` image.
    """
    images = np.asarray(images, np.float32)
    limit = float(np.abs(images).max()) if limit is None else limit
    return _grid(diverging(images, limit), columns, _scale_for(max(images.shape[1:]), cell))


def saliency_overlay(image: np.ndarray, saliency: np.ndarray, scale: int = 8, limit: float | None = None) -> np.ndarray:
    """A saliency map over the digit: the ink in grey, red where a pixel pushed towards the digit, blue against.

    Args:
        image: (28, 28) input in [0, 1].
        saliency: (28, 28) map (larger = pushed more towards the digit).
        scale: Enlargement.
        limit: The saliency shown at full colour (default: the map's largest magnitude).

    Returns:
        (28·scale, 28·scale, 3) RGB ``uint8`` image.
    """
    s = np.asarray(saliency, np.float32)
    limit = float(np.abs(s).max()) if limit is None else limit
    colour = np.where((s > 0)[..., None], POSITIVE, NEGATIVE)
    strength = np.clip(np.abs(s) / (limit if limit > 0 else 1.0), 0.0, 1.0)[..., None]
    ink = np.clip(np.asarray(image, np.float32), 0.0, 1.0)[..., None] * 110.0  # dim grey: the colour stands out
    blended = ink * (1.0 - strength) + colour * strength
    return _enlarge((np.clip(blended, 0, 255) + 0.5).astype(np.uint8), scale)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(picture: np.ndarray) -> bytes:
    """A grey or RGB ``uint8`` picture as a lossless PNG file, written fast.

    Pillow tries every PNG row filter to save bytes, which costs several
    milliseconds per picture; these pictures are big flat areas that the
    fastest zlib setting alone shrinks 15-fold, and the page sends several
    per stroke. Pass the bytes to ``st.image``, which then sends them as they are.

    Args:
        picture: (H, W) grey or (H, W, 3) RGB ``uint8``.

    Returns:
        The PNG file's bytes.
    """
    picture = np.ascontiguousarray(picture, np.uint8)
    if not (picture.ndim == 2 or picture.ndim == 3 and picture.shape[2] == 3):
        raise ValueError(f"expected an (H, W) grey or (H, W, 3) RGB picture, got shape {picture.shape}")
    h, w = picture.shape[:2]
    channels = 1 if picture.ndim == 2 else 3
    rows = np.zeros((h, 1 + channels * w), np.uint8)  # each row starts with its filter type, 0 = none
    rows[:, 1:] = picture.reshape(h, -1)
    header = struct.pack(">IIBBBBB", w, h, 8, 0 if channels == 1 else 2, 0, 0, 0)  # 8 bits, grey or RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
        + _chunk(b"IEND", b"")
    )
