"""Tests for core.step_images: the Draw page's steps drawn at one scale (no model, no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from core.preprocess import FIELD, normalize, pixel_preview
from core.step_images import BACKDROP, BOX_OUTLINE, SCALE, step_tiles, tile_size
from support.handwriting import digit_polylines, fit_polylines, render_strokes


def drawing(digit: int = 7, x0: float = 60, y0: float = 40, height: float = 150, brush: float = 18) -> np.ndarray:
    """A mouse-drawn digit on the 280×280 canvas, as the canvas sends it (RGBA, white on black)."""
    strokes = fit_polylines(digit_polylines(digit, np.random.default_rng(digit), x0, y0, height), margin=12)
    return render_strokes(strokes, width=brush)


def content_box(tile: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of what is not backdrop in a tile (exclusive ends)."""
    rows, cols = np.nonzero((tile != BACKDROP).any(axis=2))
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


@pytest.mark.parametrize(
    "canvas",
    [
        drawing(7),  # mid-sized, towards the top left
        drawing(1, 200, 150, 80),  # a small 1 in the corner: a tall, thin crop
        drawing(3, 30, 30, 220, brush=6),  # large with a fine brush: the stroke step thickens it
        drawing(0, 20, 20, 240, brush=40),  # large and bold
    ],
)
def test_every_step_is_a_tile_of_one_size_with_the_digit_in_one_place(canvas: np.ndarray) -> None:
    result = normalize(canvas, "dark")
    tiles = step_tiles(result, canvas)
    side = tile_size()
    steps = [tiles.drawing, tiles.crop, tiles.stroke, tiles.fitted, tiles.boxed]
    assert tiles.stroke is not None  # the stroke step runs by default (changed or kept)
    assert {t.shape for t in steps} == {(side, side, 3)} and {t.dtype for t in steps} == {np.dtype(np.uint8)}
    # From the crop on, the digit fills exactly the box the fitted digit takes in the 28×28 field.
    h, w = result.fitted.shape
    top, left = (FIELD - h) // 2 * SCALE, (FIELD - w) // 2 * SCALE
    expected = (top, left, top + h * SCALE, left + w * SCALE)
    assert content_box(tiles.crop) == content_box(tiles.stroke) == content_box(tiles.fitted) == expected
    # The last tile is the field itself, pixel by pixel, with the same digit where the fitted one was.
    np.testing.assert_array_equal(tiles.boxed, pixel_preview(result.boxed, SCALE))
    np.testing.assert_array_equal(
        tiles.fitted[expected[0] : expected[2], expected[1] : expected[3]], pixel_preview(result.fitted, SCALE)
    )


def test_the_crop_is_the_ink_scaled_not_redrawn() -> None:
    canvas = drawing(4)
    result = normalize(canvas, "dark")
    tiles = step_tiles(result, canvas)
    top, left, bottom, right = content_box(tiles.crop)
    shown = tiles.crop[top:bottom, left:right, 0].astype(np.float32) / 255.0
    assert np.allclose(tiles.crop[top:bottom, left:right, 0], tiles.crop[top:bottom, left:right, 2])  # grey
    # Where the crop has ink, so does its tile (compared on a coarse grid, which resizing keeps).
    coarse = (result.crop.shape[0] // 8, result.crop.shape[1] // 8)
    ink = result.crop[: coarse[0] * 8, : coarse[1] * 8].reshape(coarse[0], 8, coarse[1], 8).mean(axis=(1, 3))
    seen = np.asarray(
        [
            [
                shown[int((i + 0.5) / coarse[0] * shown.shape[0]), int((j + 0.5) / coarse[1] * shown.shape[1])]
                for j in range(coarse[1])
            ]
            for i in range(coarse[0])
        ]
    )
    assert np.corrcoef(ink.ravel(), seen.ravel())[0, 1] > 0.8


def test_the_drawing_is_framed_where_the_crop_was_taken() -> None:
    canvas = drawing(1, 200, 150, 80)  # ink in the bottom-right corner
    result = normalize(canvas, "dark")
    tile = step_tiles(result, canvas).drawing
    frame = np.nonzero((tile == BOX_OUTLINE).all(axis=2))
    scale = tile_size() / canvas.shape[0]
    top, left, bottom, right = result.bbox
    assert abs(frame[0].min() - top * scale) <= 1 and abs(frame[0].max() - bottom * scale) <= 2
    assert abs(frame[1].min() - left * scale) <= 1 and abs(frame[1].max() - right * scale) <= 2
    assert frame[0].min() > 0.4 * tile_size() and frame[1].min() > 0.6 * tile_size()  # bottom-right, as drawn


def test_a_wide_upload_is_fitted_into_its_tile_and_grey_and_transparent_drawings_work() -> None:
    photo = np.full((120, 300, 3), 235, np.uint8)  # dark ink on light paper, wider than tall
    photo[30:90, 140:150] = 20
    result = normalize(photo)
    tile = step_tiles(result, photo).drawing
    assert tile.shape == (tile_size(), tile_size(), 3)
    top, _, bottom, _ = content_box(tile)
    assert (bottom - top) == pytest.approx(tile_size() * 120 / 300, abs=2)  # the paper, letterboxed
    grey = photo[..., 0]
    assert step_tiles(normalize(grey), grey).drawing.shape == tile.shape
    transparent = np.zeros((280, 280, 4), np.uint8)
    transparent[60:220, 130:145] = (255, 255, 255, 255)
    result = normalize(transparent)
    assert step_tiles(result, transparent).crop.shape == tile.shape


def test_other_scales_and_a_drawing_without_a_digit() -> None:
    canvas = drawing(2)
    tiles = step_tiles(normalize(canvas, "dark"), canvas, scale=3)
    assert tiles.boxed.shape == (tile_size(3), tile_size(3), 3) == (84, 84, 3)
    tiles = step_tiles(normalize(canvas, "dark", stroke=False), canvas)
    assert tiles.stroke is None
    empty = np.zeros((280, 280, 4), np.uint8)
    with pytest.raises(ValueError, match="no digit"):
        step_tiles(normalize(empty, "dark"), empty)
