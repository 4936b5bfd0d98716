"""core.novelty: the "is this a digit?" signal, without TensorFlow (probabilities are given)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.scribbles import NON_DIGITS, non_digit
from core.novelty import MANY_PIECES, digit_doubt, ink_pattern, not_a_digit
from core.preprocess import normalize
from support.handwriting import random_canvas_digit

ROOT = Path(__file__).resolve().parent.parent
SURE = np.eye(10, dtype=np.float32)[8] * 0.997 + 0.0003  #: "99.7% sure it is an 8"
UNSURE = np.full(10, 0.1, np.float32)


def _drawn_digits(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = [normalize(random_canvas_digit(i % 10, rng)[0], "dark", stroke=False).image for i in range(count)]
    return np.stack([image for image in images if image is not None])


def _non_digits(kind: str, count: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = [normalize(*non_digit(kind, rng), stroke=False).image for _ in range(count)]
    return np.stack([image for image in images if image is not None])


def test_pieces_are_8_connected() -> None:
    image = np.zeros((28, 28), np.float32)
    image[2:6, 2:6] = 1  # a block
    image[6, 6] = image[7, 7] = 1  # a diagonal tail touching it corner to corner: same piece
    image[20:24, 3:5] = 1  # a second piece
    image[10, 20] = 0.4  # too faint to count
    pattern = ink_pattern(image)
    assert pattern.pieces.tolist() == [2]
    assert pattern.ink[0] == pytest.approx((16 + 2 + 8) / 784)


def test_a_snake_is_one_piece() -> None:
    """A long winding stroke takes many passes to label: it must still come out as one."""
    image = np.zeros((28, 28), np.float32)
    for row in range(1, 27, 2):
        image[row, 1:27] = 1
        image[row + 1, 26 if row % 4 == 1 else 1] = 1
    assert ink_pattern(image).pieces.tolist() == [1]


def test_drawn_digits_are_not_flagged_even_when_the_model_is_unsure() -> None:
    digits = _drawn_digits(60)
    assert not not_a_digit(digits, np.tile(SURE, (len(digits), 1))).any()
    assert not_a_digit(digits, np.tile(UNSURE, (len(digits), 1))).mean() < 0.05


@pytest.mark.parametrize("kind, share", [("noise photo", 1.0), ("blotches photo", 1.0), ("dots", 0.8)])
def test_noise_is_flagged_however_sure_the_model_is(kind: str, share: float) -> None:
    """Dots are flagged unless a few of them merge into a digit-like handful of pieces."""
    images = _non_digits(kind, 12)
    assert not_a_digit(images, np.tile(SURE, (len(images), 1))).mean() >= share


def test_the_unsure_tier_needs_both_an_unsure_model_and_unusual_ink() -> None:
    image = np.zeros((28, 28), np.float32)
    for left in (4, 12, 20):  # three short bars: three pieces
        image[8:20, left : left + 3] = 1
    assert not not_a_digit(image, SURE)[0] and not_a_digit(image, UNSURE)[0]
    assert "3 separate marks" in digit_doubt(image, UNSURE)


def test_doubts_explain_themselves() -> None:
    assert digit_doubt(_drawn_digits(1)[0], SURE) is None
    assert "texture or noise" in digit_doubt(_non_digits("noise photo", 1)[0], SURE)
    dots = _non_digits("dots", 5)
    pieces = ink_pattern(dots).pieces
    assert "separate marks" in digit_doubt(dots[int(np.argmax(pieces >= MANY_PIECES))], SURE)


def test_every_kind_of_non_digit_can_be_generated() -> None:
    rng = np.random.default_rng(3)
    for kind in NON_DIGITS:
        image, background = non_digit(kind, rng)
        assert image.ndim == 3 and image.shape[2] == 4 and background in ("auto", "dark")


def test_text_and_novelty_stay_light() -> None:
    code = (
        "import json, sys\nimport core.text, core.novelty\n"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras', 'streamlit') if m in sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_the_ink_is_judged_as_drawn_not_as_redrawn_by_the_stroke_step():
    from core.preprocess import ink_as_drawn

    canvas, background = non_digit("dots", np.random.default_rng(5))
    result = normalize(canvas, background)
    np.testing.assert_array_equal(
        ink_as_drawn(result, canvas, background), normalize(canvas, background, stroke=False).image
    )
