"""Tests for core.preprocess: canvas drawings to MNIST-style 28×28 digits."""

from __future__ import annotations

import numpy as np
import pytest

from core.preprocess import BOX, FIELD, canvas_to_mnist, extract_ink, naive_resize, normalize, pixel_preview
from support.handwriting import digit_strokes, place_strokes, render_strokes

CANVAS = 280


def _strokes(digit: int, seed: int = 1) -> list[np.ndarray]:
    return digit_strokes(digit, np.random.default_rng(seed))


def _aspect(strokes: list[np.ndarray]) -> float:
    points = np.vstack(strokes)
    width, height = np.ptp(points, axis=0)
    return float(width / height)


def _small_top_left(strokes, **kw) -> np.ndarray:
    """Height 60 near the top-left corner, brush 6."""
    return render_strokes(place_strokes(strokes, 6, 6, 60), width=6, **kw)


def _large_centred(strokes, **kw) -> np.ndarray:
    """Height up to 240 (fitting the canvas), centred, brush scaled the same (height / 10)."""
    height = min(240.0, 240.0 / _aspect(strokes))
    x0, y0 = (CANVAS - height * _aspect(strokes)) / 2, (CANVAS - height) / 2
    return render_strokes(place_strokes(strokes, x0, y0, height), width=height / 10, **kw)


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def _aligned(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Best correlation and smallest mean abs difference over ±1 px shifts.

    MNIST-style centring shifts by whole pixels, so the same digit drawn twice
    may land one pixel apart when its centre of mass is near a half pixel.
    """
    shifted = [np.roll(a, (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return max(_corr(s, b) for s in shifted), min(float(np.abs(s - b).mean()) for s in shifted)


# --- the normalised image ---------------------------------------------------------


@pytest.mark.parametrize("digit", range(10))
def test_output_is_mnist_like(digit):
    result = normalize(_large_centred(_strokes(digit)))
    image = result.image
    assert image is not None
    assert image.shape == (FIELD, FIELD) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert image.max() == pytest.approx(1.0, abs=1e-3)  # strongest ink is full white
    cy, cx = _centre_of_mass(image)
    assert abs(cy - 14.0) <= 0.5 and abs(cx - 14.0) <= 0.5
    rows, cols = np.nonzero(image > 0.05)
    longer = max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    assert BOX - 2 <= longer <= BOX
    # Centring never pushes ink out of the field.
    assert image.sum() == pytest.approx(result.fitted.sum(), rel=1e-5)


@pytest.mark.parametrize("digit", range(10))
def test_position_and_size_do_not_matter(digit):
    strokes = _strokes(digit)
    small = canvas_to_mnist(_small_top_left(strokes))
    large = canvas_to_mnist(_large_centred(strokes))
    corr, mad = _aligned(small, large)
    assert corr > 0.9, f"digit {digit}: correlation {corr:.3f}"
    assert mad < 0.05, f"digit {digit}: mean abs difference {mad:.3f}"


def test_naive_resize_does_depend_on_position():
    """The contrast that motivates normalisation (and shows the test above can fail)."""
    strokes = _strokes(3)
    a, b = naive_resize(_small_top_left(strokes)), naive_resize(_large_centred(strokes))
    assert a.shape == b.shape == (FIELD, FIELD) and a.dtype == np.float32
    assert _aligned(a, b)[0] < 0.5


@pytest.mark.parametrize("digit", [0, 4, 7])
def test_background_styles_agree(digit):
    strokes = _strokes(digit)
    dark = _large_centred(strokes, ink=(255, 255, 255), background=(0, 0, 0))
    light = _large_centred(strokes, ink=(20, 20, 30), background=(250, 250, 245))
    transparent = _large_centred(strokes, ink=(0, 0, 0), background=None)
    assert (transparent[..., :3] == 0).all()  # the ink is only in alpha
    results = {name: normalize(img) for name, img in (("dark", dark), ("light", light), ("transparent", transparent))}
    for name, result in results.items():
        assert result.background == name
        assert result.image is not None
    reference = results["dark"].image
    for name in ("light", "transparent"):
        assert np.abs(results[name].image - reference).mean() < 0.02
        assert _corr(results[name].image, reference) > 0.98


def test_forced_background_matches_auto():
    image = _large_centred(_strokes(2), ink=(10, 10, 10), background=(240, 240, 240))
    auto = canvas_to_mnist(image)
    forced = canvas_to_mnist(image, background="light")
    np.testing.assert_allclose(auto, forced, atol=1e-6)


# --- nothing to classify -------------------------------------------------------------


def _blank(value: int = 0, alpha: int = 255) -> np.ndarray:
    image = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    image[..., :3] = value
    image[..., 3] = alpha
    return image


@pytest.mark.parametrize("canvas", [_blank(0), _blank(255), _blank(0, alpha=0)], ids=["black", "white", "transparent"])
def test_empty_canvas(canvas):
    assert canvas_to_mnist(canvas) is None
    result = normalize(canvas)
    assert result.image is None and result.reason == "empty"
    assert result.ink.shape == (CANVAS, CANVAS)


def test_low_amplitude_noise_is_empty():
    rng = np.random.default_rng(0)
    canvas = _blank(0)
    canvas[..., :3] = rng.integers(0, 25, (CANVAS, CANVAS, 1), dtype=np.uint8)
    assert canvas_to_mnist(canvas) is None
    assert normalize(canvas).reason == "empty"


def test_sparse_speckles_are_empty():
    """Single-pixel dust (e.g. a scan) is removed before looking for a digit."""
    rng = np.random.default_rng(1)
    canvas = _blank(0)
    ys, xs = rng.integers(0, CANVAS, 40), rng.integers(0, CANVAS, 40)
    canvas[ys, xs, :3] = 255
    assert canvas_to_mnist(canvas) is None


def test_small_dot_is_too_small():
    canvas = render_strokes([np.array([[140.0, 140.0]])], width=6)
    assert canvas_to_mnist(canvas) is None
    result = normalize(canvas)
    assert result.reason == "too_small" and result.bbox is not None


def test_filled_canvas():
    canvas = _blank(255)
    assert canvas_to_mnist(canvas, background="dark") is None
    assert normalize(canvas, background="dark").reason == "filled"


def test_digit_drawn_with_a_thin_brush_is_kept():
    canvas = render_strokes(place_strokes(_strokes(1), 120, 40, 200), width=3)
    assert canvas_to_mnist(canvas) is not None


# --- intermediate steps ----------------------------------------------------------------


def test_normalize_exposes_steps():
    canvas = _large_centred(_strokes(8))
    result = normalize(canvas)
    assert result.reason is None
    top, left, bottom, right = result.bbox
    assert 0 <= top < bottom <= CANVAS and 0 <= left < right <= CANVAS
    assert result.ink.shape == (CANVAS, CANVAS) and result.ink.dtype == np.float32
    assert result.crop.shape == (bottom - top, right - left)
    assert max(result.fitted.shape) == BOX
    h, w = result.crop.shape
    assert result.fitted.shape[1] / result.fitted.shape[0] == pytest.approx(w / h, abs=0.1)  # aspect kept
    assert result.boxed.shape == (FIELD, FIELD)
    assert result.boxed.sum() == pytest.approx(result.image.sum(), rel=1e-5)  # same pixels, shifted
    for step in (result.ink, result.crop, result.fitted, result.boxed, result.image):
        assert step.min() >= 0.0 and step.max() <= 1.0


def test_extract_ink_styles():
    canvas = _large_centred(_strokes(5), ink=(0, 0, 0), background=(255, 255, 255))
    ink, style = extract_ink(canvas)
    assert style == "light"
    assert ink.dtype == np.float32 and ink.shape == (CANVAS, CANVAS)
    assert ink.max() == pytest.approx(1.0) and ink[0, 0] == 0.0


# --- input formats -------------------------------------------------------------------------


def test_rgb_grey_and_float_inputs():
    rgba = _large_centred(_strokes(6))
    expected = canvas_to_mnist(rgba)
    rgb = rgba[..., :3]
    grey = rgba[..., 0]
    np.testing.assert_allclose(canvas_to_mnist(rgb), expected, atol=1e-6)
    np.testing.assert_allclose(canvas_to_mnist(grey), expected, atol=1e-6)
    np.testing.assert_allclose(canvas_to_mnist(grey.astype(np.float32) / 255.0), expected, atol=0.02)


def test_non_square_input():
    canvas = render_strokes(place_strokes(_strokes(7), 30, 10, 100), size=(400, 130), width=10)
    image = canvas_to_mnist(canvas)
    assert image is not None and image.shape == (FIELD, FIELD)


@pytest.mark.parametrize("shape", [(28,), (10, 10, 2), (10, 10, 5), (2, 10, 10, 4), (0, 10, 4), (0, 0)])
def test_bad_shapes(shape):
    bad = np.zeros(shape, np.uint8)
    with pytest.raises(ValueError, match="shape"):
        canvas_to_mnist(bad)
    with pytest.raises(ValueError):
        naive_resize(bad)


def test_naive_resize_shape():
    out = naive_resize(_small_top_left(_strokes(9)))
    assert out.shape == (FIELD, FIELD) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    # The small digit sits in the top-left of the canvas, so in the top-left of the output.
    assert out[:10, :10].sum() > 0.9 * out.sum()


def test_pixel_preview():
    image = np.zeros((28, 28), np.float32)
    image[5, 7] = 1.0
    big = pixel_preview(image, scale=8)
    assert big.shape == (224, 224, 3) and big.dtype == np.uint8
    assert (big[5 * 8 + 1 : 6 * 8, 7 * 8 + 1 : 8 * 8] == 255).all()
    assert big[8 * 8 + 3, 9 * 8 + 3].tolist() == [0, 0, 0]  # inside a dark pixel
    assert big[0, 3].tolist() == [40, 48, 64]  # grid line
    plain = pixel_preview(image, scale=3, grid=True)  # grid only from scale 4
    assert plain.shape == (84, 84, 3) and set(np.unique(plain).tolist()) == {0, 255}
    assert pixel_preview(np.zeros((5, 6)), scale=4, grid=False).shape == (20, 24, 3)
