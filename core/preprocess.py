"""Turn a drawing (canvas RGBA, photo or scan) into a 28×28 MNIST-style digit.

MNIST digits were size-normalised to fit a 20×20 box (aspect ratio kept,
anti-aliased) and then placed in a 28×28 field so that their centre of mass
sits at the centre. Measured on the training set, the centre of mass is at
pixel (14.0, 14.0) with a spread of ±0.3 px, the longer side of the ink is
20 px, and the pen strokes are 1.5-4.1 px wide in that box (2.3 px median).
:func:`canvas_to_mnist` does the same to a canvas drawing, and first redraws
strokes far bolder or finer than that for the digit's size at an MNIST width
(:mod:`core.stroke`); a model trained on MNIST then sees drawings the way it
saw its training data, wherever, however large and with whatever brush the
person drew.

:func:`normalize` returns every intermediate step, for the Draw page's
"How the app sees it" panel; :func:`naive_resize` is the approach it is
compared with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageFilter

from core.stroke import Stroke, normalize_stroke

__all__ = [
    "ink_as_drawn",
    "Normalization",
    "canvas_to_mnist",
    "extract_ink",
    "naive_resize",
    "normalize",
    "pixel_preview",
    "BOX",
    "FIELD",
    "CENTRE",
]

BOX = 20  #: the longer side of the digit, in pixels, after fitting
FIELD = 28  #: the output image's side
CENTRE = 14.0  #: where MNIST's centre of mass lies (row and column)

_INK_THRESHOLD = 0.2  # ink value that counts as "drawn" when locating the digit
_MIN_CONTRAST = 40.0 / 255.0  # weaker contrast than this is noise, not ink
_MAX_INK_FRACTION = 0.6  # more of the image inked than this is not one digit

Background = Literal["auto", "dark", "light", "transparent"]


@dataclass(frozen=True)
class Normalization:
    """Every step from a drawing to the model's input.

    Attributes:
        image: The final (28, 28) float32 image in [0, 1], white digit on black,
            or ``None`` when there is nothing to classify (see ``reason``).
        reason: ``None`` when ``image`` is set; otherwise ``"empty"`` (no ink,
            or only noise), ``"too_small"`` (a stray dot) or ``"filled"`` (ink
            everywhere: not a single digit).
        ink: (H, W) float32 ink map of the whole input, 1 = full ink.
        bbox: ``(top, left, bottom, right)`` of the ink (exclusive ends), or ``None``.
        crop: The ink cropped to ``bbox``.
        stroke: The stroke-width step (:class:`core.stroke.Stroke`): the crop
            with its strokes brought to an MNIST width, or ``None`` when the
            step was switched off.
        fitted: The stroke step's image (or the crop) scaled so its longer
            side is 20 px (aspect kept).
        boxed: ``fitted`` pasted in the middle of a 28×28 field (before centring).
        background: The background style that was detected or given.
    """

    image: np.ndarray | None
    reason: str | None
    ink: np.ndarray
    bbox: tuple[int, int, int, int] | None = None
    crop: np.ndarray | None = None
    fitted: np.ndarray | None = None
    boxed: np.ndarray | None = None
    background: str = "auto"
    stroke: Stroke | None = None


def _as_rgba(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"expected an (H, W, 4) RGBA or (H, W, 3) RGB image, got shape {image.shape}")
    if image.dtype != np.uint8:
        if np.issubdtype(image.dtype, np.floating) and image.max(initial=0) <= 1.0:
            image = image * 255.0
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.shape[2] == 3:
        image = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return image


def _border(values: np.ndarray) -> np.ndarray:
    return np.concatenate([values[0], values[-1], values[1:-1, 0], values[1:-1, -1]])


def extract_ink(image: np.ndarray, background: Background = "auto") -> tuple[np.ndarray, str]:
    """Map an image to ink intensity in [0, 1], whatever its background style.

    Args:
        image: (H, W, 4) RGBA, (H, W, 3) RGB or (H, W) grey, uint8 (or float in [0, 1]).
        background: ``"auto"`` decides from the image border: a mostly
            transparent border means the alpha channel carries the ink;
            otherwise the border's median brightness is the background and
            ink is whatever differs from it (light ink on dark or dark on
            light). ``"dark"``, ``"light"`` or ``"transparent"`` force a style.

    Returns:
        ``(ink, style)``: float32 (H, W) ink map scaled so the strongest ink is
        1 (all zeros when contrast is too weak to be ink), and the style used.
    """
    rgba = _as_rgba(image)
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    style: str = background
    if style == "auto":
        style = "transparent" if np.median(_border(alpha)) < 0.5 else "opaque"
    if style == "transparent":
        ink = alpha
    else:
        rgb = rgba[..., :3].astype(np.float32) / 255.0
        # Composite any translucency over black, then take luminance.
        lum = (rgb @ np.array([0.299, 0.587, 0.114], np.float32)) * alpha
        if style == "dark":
            bg = float(min(np.median(_border(lum)), 0.5))
        elif style == "light":
            bg = float(max(np.median(_border(lum)), 0.5))
        else:
            bg = float(np.median(_border(lum)))
            style = "dark" if bg < 0.5 else "light"
        ink = lum - bg if style == "dark" else bg - lum
    ink = np.clip(ink, 0.0, None)
    peak = float(ink.max(initial=0.0))
    if peak < _MIN_CONTRAST:
        return np.zeros(ink.shape, np.float32), style
    # Stretch so full ink is 1; drop the faint haze of photos and anti-aliasing.
    ink = np.clip((ink / peak - 0.1) / 0.9, 0.0, 1.0)
    return ink.astype(np.float32), style


def _ink_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _clean_mask(ink: np.ndarray) -> np.ndarray:
    """Binary ink mask with isolated specks (noise, scan dust) removed."""
    mask = ink > _INK_THRESHOLD
    bbox = _ink_bbox(mask)
    if min(ink.shape) < 64 or bbox is None:
        return mask
    # A 3×3 median is all zeros away from the ink, so filter only around it.
    top, left = max(0, bbox[0] - 2), max(0, bbox[1] - 2)
    bottom, right = min(mask.shape[0], bbox[2] + 2), min(mask.shape[1], bbox[3] + 2)
    pil = Image.fromarray(mask[top:bottom, left:right].astype(np.uint8) * 255)
    cleaned = np.zeros_like(mask)
    cleaned[top:bottom, left:right] = np.asarray(pil.filter(ImageFilter.MedianFilter(3))) > 127
    return cleaned


def _is_dot(mask: np.ndarray, bbox: tuple[int, int, int, int], shape: tuple[int, int]) -> bool:
    """A stray click: tiny, or a small round filled blob."""
    top, left, bottom, right = bbox
    h, w = bottom - top, right - left
    long_side, short_side = max(h, w), min(h, w)
    scale = min(shape)
    if long_side < max(3, 0.06 * scale):
        return True
    fill = mask[top:bottom, left:right].mean()
    return long_side < 0.15 * scale and short_side > 0.7 * long_side and fill > 0.6


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Anti-aliased resize of a float image to ``size`` = (width, height)."""
    pil = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F")
    return np.clip(np.asarray(pil.resize(size, Image.Resampling.LANCZOS), dtype=np.float32), 0.0, 1.0)


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = float(image.sum())
    idx = np.arange(image.shape[0], dtype=np.float32)
    return float(image.sum(axis=1) @ idx) / total, float(
        image.sum(axis=0) @ np.arange(image.shape[1], dtype=np.float32)
    ) / total


def _fit(crop: np.ndarray) -> np.ndarray:
    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    fitted = _resize(crop, size)
    peak = float(fitted.max(initial=0.0))
    return fitted / peak if peak > 0 else fitted


def _place(fitted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (boxed, final): centred by bounding box, then by centre of mass."""
    h, w = fitted.shape
    boxed = np.zeros((FIELD, FIELD), np.float32)
    top, left = (FIELD - h) // 2, (FIELD - w) // 2
    boxed[top : top + h, left : left + w] = fitted
    cy, cx = _centre_of_mass(fitted)
    # Integer shift (as MNIST did), clamped so no ink leaves the field.
    row = int(np.clip(round(CENTRE - cy), 0, FIELD - h))
    col = int(np.clip(round(CENTRE - cx), 0, FIELD - w))
    final = np.zeros((FIELD, FIELD), np.float32)
    final[row : row + h, col : col + w] = fitted
    return boxed, final


def ink_as_drawn(result: Normalization, image: np.ndarray, background: Background = "auto") -> np.ndarray | None:
    """The 28×28 of ``image`` without the stroke-width step (``result.image`` when that step changed nothing).

    ``core.novelty`` judges the ink pattern as drawn: redrawing the strokes at MNIST's
    width would make noise look tidier than it is.

    Args:
        result: ``normalize(image, background)``.
        image: The drawing it came from.
        background: As given to :func:`normalize`.

    Returns:
        A (28, 28) float32 image, or None when there is no digit.
    """
    if result.image is None or result.stroke is None or not result.stroke.changed:
        return result.image
    return normalize(image, background, stroke=False).image


def normalize(image: np.ndarray, background: Background = "auto", stroke: bool = True) -> Normalization:
    """Normalise a drawing the way MNIST digits were, keeping every step.

    Args:
        image: (H, W, 4) RGBA canvas image of any size (RGB or grey also work).
        background: Background style; ``"auto"`` detects it (see :func:`extract_ink`).
        stroke: Bring the strokes to an MNIST width for the digit's size
            (:func:`core.stroke.normalize_stroke`) before fitting.

    Returns:
        A :class:`Normalization`; its ``image`` is ``None`` when there is no
        digit to classify, with ``reason`` saying why.
    """
    ink, style = extract_ink(image, background)
    mask = _clean_mask(ink)
    bbox = _ink_bbox(mask)
    if bbox is None:
        return Normalization(None, "empty", ink, background=style)
    if mask.mean() > _MAX_INK_FRACTION:
        return Normalization(None, "filled", ink, bbox, background=style)
    if _is_dot(mask, bbox, ink.shape):
        return Normalization(None, "too_small", ink, bbox, background=style)
    top, left, bottom, right = bbox
    crop = ink[top:bottom, left:right]
    strokes = normalize_stroke(crop) if stroke else None
    fitted = _fit(crop if strokes is None else strokes.image)
    boxed, final = _place(fitted)
    return Normalization(final, None, ink, bbox, crop, fitted, boxed, style, strokes)


def canvas_to_mnist(rgba: np.ndarray, background: Background = "auto", stroke: bool = True) -> np.ndarray | None:
    """Convert a canvas image into the 28×28 input an MNIST model expects.

    Finds the background (opaque dark with light ink, opaque light with dark
    ink, or transparent with the ink in alpha), crops to the ink, brings the
    strokes to an MNIST width for the digit's size, scales the longer side to
    20 px with anti-aliasing, centres it in 28×28 and shifts it so the centre
    of mass is at the centre.

    Args:
        rgba: (H, W, 4) uint8 canvas image of any size.
        background: Background style, ``"auto"`` to detect it.
        stroke: Normalise the stroke width (``False``: only crop, fit and centre).

    Returns:
        (28, 28) float32 in [0, 1], white digit on black; ``None`` when there
        is no ink (empty canvas, only noise, a stray dot, or a filled canvas).
    """
    return normalize(rgba, background, stroke).image


def naive_resize(rgba: np.ndarray, background: Background = "auto") -> np.ndarray:
    """Squash the whole canvas to 28×28 without cropping or centring.

    This is what a tutorial script does; the Draw page shows it beside
    :func:`canvas_to_mnist` to explain why normalisation matters.

    Args:
        rgba: (H, W, 4) uint8 canvas image.
        background: Background style, ``"auto"`` to detect it.

    Returns:
        (28, 28) float32 in [0, 1], white ink on black.
    """
    ink, _ = extract_ink(rgba, background)
    return _resize(ink, (FIELD, FIELD))


def pixel_preview(image: np.ndarray, scale: int = 8, grid: bool = True) -> np.ndarray:
    """Enlarge a small float image so each pixel is a visible square.

    Args:
        image: (H, W) floats in [0, 1].
        scale: Screen pixels per image pixel.
        grid: Draw faint lines between pixels.

    Returns:
        (H*scale, W*scale, 3) uint8 RGB image.
    """
    grey = (np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    big = np.repeat(np.repeat(grey, scale, axis=0), scale, axis=1)
    rgb = np.stack([big, big, big], axis=-1)
    if grid and scale >= 4:
        line = np.array([40, 48, 64], np.uint8)
        rgb[::scale, :, :] = np.maximum(rgb[::scale, :, :], line)
        rgb[:, ::scale, :] = np.maximum(rgb[:, ::scale, :], line)
    return rgb
