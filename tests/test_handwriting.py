"""Tests for the synthetic handwriting generator (support.handwriting)."""

from __future__ import annotations

import numpy as np
import pytest

from support.handwriting import (
    POINT_SPACING,
    digit_strokes,
    place_strokes,
    random_canvas_digit,
    render_strokes,
)

DIGITS = list(range(10))


@pytest.mark.parametrize("digit", DIGITS)
def test_digit_strokes_shapes_and_unit_box(digit: int) -> None:
    rng = np.random.default_rng(digit)
    for _ in range(20):
        strokes = digit_strokes(digit, rng)
        assert isinstance(strokes, list) and 1 <= len(strokes) <= 3
        for s in strokes:
            assert isinstance(s, np.ndarray)
            assert s.dtype == np.float64
            assert s.ndim == 2 and s.shape[1] == 2 and s.shape[0] >= 2
            assert np.isfinite(s).all()
            steps = np.linalg.norm(np.diff(s, axis=0), axis=1)
            assert steps.max() <= 2.5 * POINT_SPACING  # densely sampled
        allp = np.vstack(strokes)
        lo, hi = allp.min(axis=0), allp.max(axis=0)
        assert (lo >= -1e-9).all() and (hi <= 1 + 1e-9).all()
        assert np.isclose((hi - lo).max(), 1.0)  # larger side fills the box


def test_one_is_narrow_and_zero_is_single_closed_stroke() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        ones = np.vstack(digit_strokes(1, rng))
        assert np.ptp(ones[:, 0]) < 0.6 * np.ptp(ones[:, 1])
        zero = digit_strokes(0, rng)
        assert len(zero) == 1
        # Start and end meet (the loop is closed / overlapping).
        assert np.linalg.norm(zero[0][0] - zero[0][-1]) < 0.35


def test_determinism_per_seed() -> None:
    for digit in DIGITS:
        a = digit_strokes(digit, np.random.default_rng(123))
        b = digit_strokes(digit, np.random.default_rng(123))
        assert len(a) == len(b)
        for sa, sb in zip(a, b, strict=False):
            np.testing.assert_array_equal(sa, sb)
    img_a, st_a = random_canvas_digit(4, np.random.default_rng(5))
    img_b, st_b = random_canvas_digit(4, np.random.default_rng(5))
    np.testing.assert_array_equal(img_a, img_b)
    for sa, sb in zip(st_a, st_b, strict=False):
        np.testing.assert_array_equal(sa, sb)


def test_different_seeds_differ() -> None:
    a = np.vstack(digit_strokes(8, np.random.default_rng(1)))
    b = np.vstack(digit_strokes(8, np.random.default_rng(2)))
    assert a.shape != b.shape or not np.allclose(a, b)


def test_invalid_digit() -> None:
    with pytest.raises(ValueError):
        digit_strokes(10, np.random.default_rng(0))


def test_place_strokes_bbox() -> None:
    strokes = digit_strokes(3, np.random.default_rng(0))
    placed = place_strokes(strokes, 30.0, 40.0, 100.0)
    allp = np.vstack(placed)
    np.testing.assert_allclose(allp.min(axis=0), [30.0, 40.0], atol=1e-9)
    assert np.isclose(np.ptp(allp[:, 1]), 100.0)
    src = np.vstack(strokes)
    # Uniform scale: aspect ratio preserved.
    assert np.isclose(np.ptp(allp[:, 0]) / 100.0, np.ptp(src[:, 0]) / np.ptp(src[:, 1]))


def test_render_opaque_and_transparent() -> None:
    # Points at pixel centres (pixel i covers [i, i + 1) like on a canvas).
    strokes = [np.array([[20.5, 20.5], [80.5, 20.5], [80.5, 80.5]])]
    img = render_strokes(strokes, size=(100, 120), width=10.0)
    assert img.shape == (120, 100, 4) and img.dtype == np.uint8
    assert (img[..., 3] == 255).all()
    assert img[20, 50, 0] == 255 and img[100, 10, 0] == 0  # ink on a line, bg far away
    # Anti-aliasing: some intermediate grey levels along the edges.
    assert ((img[..., 0] > 0) & (img[..., 0] < 255)).any()
    # Round cap: ink extends width/2 past the end point (to x = 15.5), no further.
    assert img[20, 16, 0] == 255 and 0 < img[20, 15, 0] < 255 and img[20, 14, 0] == 0
    # Line thickness: a column across the horizontal segment holds ~10 px of ink.
    assert abs(img[:60, 50, 0].astype(float).sum() / 255 - 10.0) < 0.3

    ink = (200, 100, 50)
    clear = render_strokes(strokes, size=(100, 120), width=10.0, ink=ink, background=None)
    assert clear.shape == (120, 100, 4)
    assert (clear[..., :3] == np.array(ink, dtype=np.uint8)).all()
    assert clear[20, 50, 3] == 255 and clear[100, 10, 3] == 0
    # Alpha carries the same coverage as the opaque rendering's blend.
    white = render_strokes(strokes, size=(100, 120), width=10.0)
    np.testing.assert_array_equal(clear[..., 3], white[..., 0])

    tinted = render_strokes(strokes, size=(100, 120), width=10.0, ink=ink, background=(10, 20, 30))
    np.testing.assert_array_equal(tinted[100, 10, :3], [10, 20, 30])
    np.testing.assert_array_equal(tinted[20, 50, :3], ink)


def test_render_single_point_stroke_is_a_dot() -> None:
    img = render_strokes([np.array([[50.0, 50.0]])], size=(100, 100), width=12.0)
    assert img[50, 50, 0] == 255
    assert img[..., 0].astype(bool).sum() > 80


@pytest.mark.parametrize("digit", DIGITS)
def test_random_canvas_digit_inside_and_nonempty(digit: int) -> None:
    rng = np.random.default_rng(1000 + digit)
    for _ in range(15):
        img, strokes = random_canvas_digit(digit, rng)
        assert img.shape == (280, 280, 4) and img.dtype == np.uint8
        assert (img[..., 3] == 255).all()
        allp = np.vstack(strokes)
        assert (allp >= 0).all() and (allp <= 280).all()
        ink = img[..., :3].max(axis=2)
        assert ink.max() >= 200  # light ink
        assert (ink > 128).sum() > 50  # non-empty drawing
        # Nothing touches the canvas border (brush footprint fits inside).
        border = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
        assert border.max() == 0
        height = np.ptp(allp[:, 1])
        assert 0 < height <= 250 + 1e-6


def test_random_canvas_digit_size_limits() -> None:
    rng = np.random.default_rng(3)
    for _ in range(10):
        img, strokes = random_canvas_digit(0, rng, canvas=140, min_height=60, max_height=60, min_width=4, max_width=6)
        allp = np.vstack(strokes)
        assert img.shape == (140, 140, 4)
        assert np.isclose(np.ptp(allp[:, 1]), 60.0)
        assert (allp >= 0).all() and (allp <= 140).all()


def test_small_digit_brush_is_capped() -> None:
    rng = np.random.default_rng(9)
    for _ in range(10):
        img, strokes = random_canvas_digit(8, rng, min_height=40, max_height=40, min_width=30, max_width=30)
        # Brush capped to about height / 5 = 8 px: the ink is only slightly
        # larger than the stroke bounding box.
        allp = np.vstack(strokes)
        ys, xs = np.nonzero(img[..., 0] > 0)
        assert ys.max() - ys.min() <= np.ptp(allp[:, 1]) + 8 + 2
