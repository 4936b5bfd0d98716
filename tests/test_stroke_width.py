"""Tests for core.stroke: a drawing's strokes brought to an MNIST width for its size."""

from __future__ import annotations

import numpy as np
import pytest

from core.preprocess import FIELD, canvas_to_mnist, normalize
from core.stroke import (
    MNIST_STROKE_RANGE,
    STROKE_TARGET,
    WORK,
    Stroke,
    distance_to,
    euler_number,
    normalize_stroke,
    stroke_width,
)
from support.handwriting import digit_strokes, place_strokes, render_strokes


def _ink(strokes: list[np.ndarray], width: float, size: tuple[int, int] = (280, 280)) -> np.ndarray:
    return render_strokes(strokes, size=size, width=width)[..., 0].astype(np.float32) / 255.0


def _digit(digit: int, height: float, brush: float, seed: int = 1) -> np.ndarray:
    """A canvas with ``digit`` drawn ``height`` px tall with a ``brush`` px brush, at (40, 40)."""
    return render_strokes(place_strokes(digit_strokes(digit, np.random.default_rng(seed)), 40, 40, height), width=brush)


def _aligned(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Best correlation and smallest mean abs difference over ±1 px shifts (centring moves whole pixels)."""
    shifted = [np.roll(a, (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    corr = max(float(np.corrcoef(s.ravel(), b.ravel())[0, 1]) for s in shifted)
    return corr, min(float(np.abs(s - b).mean()) for s in shifted)


# --- the estimator ------------------------------------------------------------------------


@pytest.mark.parametrize("width", [2, 3, 5, 10, 20, 40])
@pytest.mark.parametrize("angle", [0, 20, 45, 70])
def test_width_of_a_straight_stroke(width, angle):
    t = np.deg2rad(angle)
    half = 100 * np.array([np.cos(t), np.sin(t)])
    ink = _ink([np.stack([140 - half, 140 + half])], width)
    assert stroke_width(ink) == pytest.approx(width, rel=0.1, abs=0.3)


def test_width_of_a_dot_a_ring_and_a_curve():
    assert stroke_width(_ink([np.array([[140.0, 140.0]])], 60)) == pytest.approx(60, rel=0.15)
    theta = np.linspace(0, 2 * np.pi, 400)
    ring = np.stack([140 + 80 * np.cos(theta), 140 + 80 * np.sin(theta)], axis=1)
    assert stroke_width(_ink([ring], 12)) == pytest.approx(12, rel=0.05)
    wave = np.stack([np.linspace(30, 250, 300), 140 + 60 * np.sin(np.linspace(0, 3 * np.pi, 300))], axis=1)
    assert stroke_width(_ink([wave], 8)) == pytest.approx(8, rel=0.05)


def test_width_does_not_depend_on_scale():
    """The same digit at two sizes, brush scaled alike: the same width relative to its size."""
    strokes = digit_strokes(5, np.random.default_rng(3))
    small = _ink(place_strokes(strokes, 20, 20, 80), 8)
    large = _ink(place_strokes(strokes, 20, 20, 240), 24)
    assert stroke_width(large) / stroke_width(small) == pytest.approx(3.0, rel=0.05)


def test_width_of_nothing():
    assert stroke_width(np.zeros((10, 10), np.float32)) == 0.0


# --- the tools under it ----------------------------------------------------------------------


def test_distance_to_is_exact():
    rng = np.random.default_rng(0)
    mask = rng.random((23, 31)) < 0.03
    mask[5, 7] = True
    ys, xs = np.nonzero(mask)
    rows, cols = np.indices(mask.shape)
    brute = np.sqrt(((rows[..., None] - ys) ** 2 + (cols[..., None] - xs) ** 2).min(axis=-1))
    np.testing.assert_allclose(distance_to(mask), brute, atol=1e-5)
    limited = distance_to(mask, limit=4)
    near = brute <= 4
    np.testing.assert_allclose(limited[near], brute[near], atol=1e-5)
    assert (limited[~near] > 4).all()  # beyond the limit: only "farther than that"


@pytest.mark.parametrize(
    ("pixels", "expected"),
    [
        ([], 0),
        ([(slice(2, 7), slice(2, 7))], 1),  # a square
        ([(slice(2, 7), slice(2, 7)), (slice(10, 12), slice(10, 12))], 2),  # two pieces
    ],
)
def test_euler_number(pixels, expected):
    mask = np.zeros((14, 14), bool)
    for where in pixels:
        mask[where] = True
    assert euler_number(mask) == expected
    if expected:
        mask[4, 4] = False  # a hole in the square
        assert euler_number(mask) == expected - 1
    diagonal = np.eye(5, dtype=bool)  # touching corners join (8-connected ink)
    assert euler_number(diagonal) == 1


# --- the step ------------------------------------------------------------------------------


@pytest.mark.parametrize("digit", range(10))
def test_thin_and_thick_give_the_same_digit(digit):
    """The same strokes drawn with a fine and a wide brush look alike after normalisation.

    Not identical: where the wide brush filled a small loop (the 2's curl) no
    thinning brings the loop back.
    """
    thin, thick = _digit(digit, 80, 4), _digit(digit, 80, 24)
    corr, mad = _aligned(canvas_to_mnist(thin), canvas_to_mnist(thick))
    assert corr > 0.88, f"digit {digit}: correlation {corr:.3f}"
    assert mad < 0.06, f"digit {digit}: mean abs difference {mad:.3f}"
    # Without the step they differ a lot: the test above can fail.
    assert _aligned(canvas_to_mnist(thin, stroke=False), canvas_to_mnist(thick, stroke=False))[0] < 0.7


@pytest.mark.parametrize("digit", [0, 3, 8])
def test_hairline_and_wide_brush_on_a_large_digit(digit):
    thin, thick = _digit(digit, 200, 2), _digit(digit, 200, 40)
    assert _aligned(canvas_to_mnist(thin), canvas_to_mnist(thick))[0] > 0.85


@pytest.mark.parametrize(("height", "brush"), [(200, 2), (240, 1), (80, 24), (150, 3)])
def test_strokes_reach_the_target_width(height, brush):
    step = normalize(_digit(4, height, brush)).stroke
    assert isinstance(step, Stroke) and step.changed
    assert not MNIST_STROKE_RANGE[0] <= step.before <= MNIST_STROKE_RANGE[1]
    assert step.after == pytest.approx(STROKE_TARGET, abs=0.5)
    assert max(step.image.shape) <= WORK + 2 * 24  # redrawn on the small working copy


def test_strokes_that_fill_the_digit_are_thinned_as_far_as_they_go():
    """Brush half the digit's height: the strokes run together; thinning stops before one vanishes."""
    step = normalize(_digit(4, 60, 30)).stroke
    assert step.changed and step.before > 6 and STROKE_TARGET - 0.5 < step.after < 0.8 * step.before


def test_hairline_is_kept_and_thickened():
    canvas = _digit(7, 250, 1)
    image = canvas_to_mnist(canvas)
    assert image is not None and image.shape == (FIELD, FIELD)
    assert image.max() == pytest.approx(1.0, abs=1e-3)
    plain = canvas_to_mnist(canvas, stroke=False)
    assert (image > 0.5).sum() > 1.5 * (plain > 0.5).sum()  # visibly bolder


@pytest.mark.parametrize("brush", [100, 160])
def test_a_filled_blob_stays_a_blob(brush):
    canvas = render_strokes([np.array([[140.0, 140.0], [150.0, 145.0]])], width=brush)
    result = normalize(canvas)
    assert result.image is not None
    filled = result.image > 0.5
    rows, cols = np.nonzero(filled)
    box = (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
    assert box >= 16 * 16 and filled.sum() > 0.7 * box  # a large, solid shape
    np.testing.assert_allclose(result.image, canvas_to_mnist(canvas, stroke=False), atol=0.05)


@pytest.mark.parametrize(("height", "brush"), [(40, 40), (40, 36), (50, 30), (40, 4), (250, 1)])
@pytest.mark.parametrize("digit", range(10))
def test_extreme_brushes_never_empty(digit, height, brush):
    result = normalize(_digit(digit, height, brush))
    assert result.image is not None and result.stroke is not None
    image = result.image
    assert image.shape == (FIELD, FIELD) and image.min() >= 0 and image.max() == pytest.approx(1.0, abs=1e-3)
    assert image.sum() >= 10  # at least a 20 px line
    inked = image > 0.5
    rows, cols = np.nonzero(inked)
    box = (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
    assert inked.sum() < 0.9 * box or box < 12  # not a speck of the drawing blown up into a square


def test_stroke_step_can_be_switched_off():
    canvas = _digit(2, 60, 30)
    assert normalize(canvas, stroke=False).stroke is None
    assert normalize(canvas).stroke.changed
    assert not np.allclose(canvas_to_mnist(canvas), canvas_to_mnist(canvas, stroke=False))


def test_widths_like_mnist_pass_through_untouched():
    crop = _ink(place_strokes(digit_strokes(6, np.random.default_rng(2)), 4, 4, 150), 16, size=(130, 175))
    step = normalize_stroke(crop)
    assert MNIST_STROKE_RANGE[0] <= step.before <= MNIST_STROKE_RANGE[1]
    assert not step.changed and step.image is crop and step.after == step.before


# --- MNIST's own digits -----------------------------------------------------------------------


def test_mnist_digits_unchanged(mnist):
    """Real MNIST test digits: the step leaves almost all exactly as they were.

    The few with strokes bolder or finer than 98% of MNIST's are redrawn, and
    stay the same digit: thinned strokes lie inside the old ones, the old
    strokes inside thickened ones.
    """
    _, (x_test, _) = mnist
    digits = x_test[np.random.default_rng(0).choice(len(x_test), 500, replace=False)]
    changed, differences = 0, []
    for digit in digits:
        result = normalize(digit)
        plain = canvas_to_mnist(digit, stroke=False)
        differences.append(float(np.abs(result.image - plain).mean()))
        if not result.stroke.changed:
            np.testing.assert_array_equal(result.image, plain)
            continue
        changed += 1
        new, old = (result.image, plain) if result.stroke.after < result.stroke.before else (plain, result.image)
        inside = [
            (np.roll(old, shift, (0, 1)) > 0.1)[new > 0.5].mean()
            for shift in ((0, 0), (0, 1), (1, 0), (1, 1), (0, -1), (-1, 0), (-1, -1))
        ]
        assert max(inside) > 0.85, (result.stroke, inside)
    assert changed <= 0.08 * len(digits)  # MNIST's own 2nd-98th percentile widths pass through
    assert np.mean(differences) < 0.01
