"""The Draw page's "How the app sees it": every step of the normalisation drawn at one scale.

Each step of :func:`core.preprocess.normalize` has an image of its own size:
the canvas (280 px), the crop (as large as the ink), the stroke-width step
(64 px on its longer side), the fitted digit (20 px) and the 28×28 field. Shown
as they come, the crop came out larger than the rest and the eye could not
follow one digit through the steps. Here every step is a square tile of the
same size, drawn in the 28×28 field's geometry: from the crop on, the digit
fills exactly the box where the fitted digit sits in the field, so it keeps
its size and place from one tile to the next. What lies outside a step's own
image is a neutral backdrop, so the field's margin appears only in the last
tile. Plain NumPy and Pillow, no streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.preprocess import FIELD, Normalization, pixel_preview

__all__ = ["BACKDROP", "BOX_OUTLINE", "SCALE", "StepTiles", "step_tiles", "tile_size"]

#: Pixels per pixel of the 28×28 field: a tile is ``28 * SCALE`` px square (224 px: shown at a
#: column's width, it is mostly scaled down, so the pixel grid stays sharp).
SCALE = 8
#: Colour around a step's image inside its tile (a dark blue-grey, apart from the images' black).
BACKDROP = np.array([49, 51, 63], np.uint8)
#: Colour of the frame on the drawing around the ink that the next step crops to.
BOX_OUTLINE = np.array([255, 75, 75], np.uint8)


@dataclass(frozen=True)
class StepTiles:
    """One square RGB ``uint8`` tile per step, all ``tile_size(scale)`` px square.

    Attributes:
        drawing: The whole drawing, fitted into the tile, the crop's box framed.
        crop: The ink cropped to its box.
        stroke: The stroke-width step's image (None when the step was not run).
        fitted: The digit fitted into 20 px, pixel by pixel.
        boxed: The fitted digit in the 28×28 field, centred by its box, pixel by pixel.
    """

    drawing: np.ndarray
    crop: np.ndarray
    stroke: np.ndarray | None
    fitted: np.ndarray
    boxed: np.ndarray


def tile_size(scale: int = SCALE) -> int:
    """The side of a tile in pixels: the 28×28 field at ``scale`` px a pixel."""
    return FIELD * scale


def step_tiles(result: Normalization, drawing: np.ndarray, scale: int = SCALE) -> StepTiles:
    """The steps of one normalisation, each drawn as a tile of the same size and scale.

    Args:
        result: ``core.preprocess.normalize(drawing, ...)`` with a digit found (``result.image`` set).
        drawing: The drawing it came from: (H, W, 4) RGBA, (H, W, 3) RGB or (H, W) grey, ``uint8``.
        scale: Screen pixels per pixel of the 28×28 field.

    Returns:
        A :class:`StepTiles`.

    Raises:
        ValueError: If ``result`` holds no digit.
    """
    if result.crop is None or result.fitted is None or result.boxed is None or result.bbox is None:
        raise ValueError("the normalisation found no digit: there are no steps to draw")
    side = tile_size(scale)
    h, w = result.fitted.shape
    # Where the fitted digit sits in the 28×28 field (as core.preprocess places it), in tile pixels.
    top, left = (FIELD - h) // 2 * scale, (FIELD - w) // 2 * scale
    place = (top, left, h * scale, w * scale)
    stroke = None if result.stroke is None else _smooth_tile(result.stroke.image, place, side)
    fitted = _backdrop(side)
    fitted[top : top + h * scale, left : left + w * scale] = pixel_preview(result.fitted, scale)
    return StepTiles(
        drawing=_drawing_tile(drawing, result.bbox, side),
        crop=_smooth_tile(result.crop, place, side),
        stroke=stroke,
        fitted=fitted,
        boxed=pixel_preview(result.boxed, scale),
    )


def _backdrop(side: int) -> np.ndarray:
    return np.broadcast_to(BACKDROP, (side, side, 3)).copy()


def _smooth_tile(image: np.ndarray, place: tuple[int, int, int, int], side: int) -> np.ndarray:
    """A grey float image resized (anti-aliased) into the box ``place`` = (top, left, height, width) of a tile."""
    top, left, height, width = place
    pil = Image.fromarray(np.clip(np.asarray(image, np.float32), 0.0, 1.0) * 255.0, mode="F")
    grey = np.asarray(pil.resize((width, height), Image.Resampling.LANCZOS), np.float32)
    tile = _backdrop(side)
    tile[top : top + height, left : left + width] = np.clip(grey + 0.5, 0, 255).astype(np.uint8)[..., None]
    return tile


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """RGB ``uint8`` of a grey, RGB or RGBA drawing (transparent parts over black, as the canvas shows them)."""
    image = np.asarray(image)
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2).astype(np.uint8)
    rgb = image[..., :3].astype(np.float32)
    if image.shape[2] == 4:
        rgb *= image[..., 3:4].astype(np.float32) / 255.0
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def _drawing_tile(drawing: np.ndarray, bbox: tuple[int, int, int, int], side: int) -> np.ndarray:
    """The whole drawing fitted into a tile (centred), with a frame around the ink's box ``bbox``."""
    rgb = _as_rgb(drawing)
    rows, cols = rgb.shape[:2]
    factor = side / max(rows, cols)
    height, width = max(1, round(rows * factor)), max(1, round(cols * factor))
    small = np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.LANCZOS))
    tile = _backdrop(side)
    top, left = (side - height) // 2, (side - width) // 2
    tile[top : top + height, left : left + width] = small
    y0, x0, y1, x1 = bbox  # (top, left, bottom, right) in the drawing's pixels, bottom and right exclusive
    y0, y1 = top + int(y0 * factor), top + min(height, max(int(y0 * factor) + 2, round(y1 * factor))) - 1
    x0, x1 = left + int(x0 * factor), left + min(width, max(int(x0 * factor) + 2, round(x1 * factor))) - 1
    tile[y0 : y1 + 1, [x0, x1]] = BOX_OUTLINE
    tile[[y0, y1], x0 : x1 + 1] = BOX_OUTLINE
    return tile
