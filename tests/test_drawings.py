"""core.drawings and core.contribution: a person's labelled drawings, checked, capped, rate-limited and forgotten."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from core.contribution import (
    CANVAS_SIDE,
    Refused,
    as_uint8,
    canvas_thumbnail,
    check_contribution,
    check_label,
)
from core.drawings import WINDOW, Drawing, DrawingLimits, Drawings
from core.preprocess import canvas_to_mnist
from core.store import DB_FILE, Store
from core.store_limits import StoreLimits
from support.handwriting import random_canvas_digit

ALICE, BOB = "a" * 32, "b" * 32


class Clock:
    def __init__(self, now: float = 1_000_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def handwritten(digit: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A generated canvas drawing of ``digit``: the 28×28 the model sees and the 64×64 canvas, both uint8."""
    rgba, _ = random_canvas_digit(digit, np.random.default_rng(seed))
    image = canvas_to_mnist(rgba)
    assert image is not None
    return as_uint8(image), canvas_thumbnail(rgba)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    s = Store(tmp_path, StoreLimits(retention_days=30), clock)
    yield s
    s.close()


@pytest.fixture
def drawings(store) -> Drawings:
    return Drawings(store, DrawingLimits(per_person=5, per_minute=3))


def test_a_drawing_is_kept_with_its_label_and_what_the_model_said(drawings, clock) -> None:
    image, canvas = handwritten(7)
    added = drawings.add(ALICE, image, canvas, 7, predicted=1, confidence=0.62, model="Bundled default model")
    [kept] = drawings.of(ALICE)
    assert isinstance(kept, Drawing) and kept.id == added.id and kept.created == clock.now
    assert (kept.label, kept.predicted, kept.confidence, kept.model) == (7, 1, 0.62, "Bundled default model")
    assert np.array_equal(kept.image, image) and np.array_equal(kept.canvas, canvas)
    assert kept.image.shape == (28, 28) and kept.canvas.shape == (CANVAS_SIDE, CANVAS_SIDE)
    images, labels = drawings.arrays(ALICE)
    assert images.dtype == np.uint8 and images.shape == (1, 28, 28) and labels.tolist() == [7]
    again = drawings.get(ALICE, added.id)
    assert again is not None and again.id == added.id and np.array_equal(again.canvas, canvas)


def test_owners_are_kept_apart(drawings, clock) -> None:
    image, canvas = handwritten(3)
    mine = drawings.add(ALICE, image, canvas, 3)
    assert drawings.of(BOB) == [] and drawings.get(BOB, mine.id) is None
    assert not drawings.delete(BOB, mine.id) and drawings.count(ALICE) == 1
    before = drawings.version(ALICE)
    assert drawings.delete(ALICE, mine.id) and drawings.count(ALICE) == 0
    assert drawings.version(ALICE) != before and not drawings.delete(ALICE, mine.id)


@pytest.mark.parametrize("label", [-1, 10, 3.0, "3", True, None, np.float32(2)])
def test_a_label_must_be_an_int_from_0_to_9(drawings, label) -> None:
    image, canvas = handwritten(3)
    with pytest.raises(Refused, match="one digit, 0 to 9"):
        drawings.add(ALICE, image, canvas, label)
    assert check_label(np.int64(4)) == 4 and drawings.count(ALICE) == 0


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((28, 28), np.float32), "28×28 greyscale image of bytes"),
        (np.zeros((32, 32), np.uint8), "28×28 greyscale image of bytes"),
        (np.zeros((28, 28, 3), np.uint8), "28×28 greyscale image of bytes"),
        ([[0] * 28] * 28, "28×28 greyscale image of bytes"),
        (np.zeros((28, 28), np.uint8), "no digit"),
        (np.full((28, 28), 255, np.uint8), "mostly ink"),
    ],
)
def test_a_drawing_must_be_one_digit_of_the_right_shape(drawings, image, message) -> None:
    _, canvas = handwritten(3)
    with pytest.raises(Refused, match=message):
        drawings.add(ALICE, image, canvas, 3)


def test_many_separate_marks_or_texture_are_not_a_digit() -> None:
    _, canvas = handwritten(3)
    dots = np.zeros((28, 28), np.uint8)
    dots[4:24:5, 4:24:5] = 255  # 16 separate dots
    with pytest.raises(Refused, match="separate marks"):
        check_contribution(dots, canvas, 3)
    noise = np.random.default_rng(0).integers(0, 256, (28, 28)).astype(np.uint8)
    noise[:4], noise[-4:] = 0, 0
    with pytest.raises(Refused):
        check_contribution(noise, canvas, 3)


def test_the_canvas_must_be_64_by_64_bytes(drawings) -> None:
    image, _ = handwritten(5)
    with pytest.raises(Refused, match="64×64"):
        drawings.add(ALICE, image, np.zeros((280, 280), np.uint8), 5)


def test_canvas_thumbnail_of_a_canvas_and_of_a_photo() -> None:
    rgba, _ = random_canvas_digit(2, np.random.default_rng(1))
    small = canvas_thumbnail(rgba)
    assert small.shape == (64, 64) and small.dtype == np.uint8 and small.max() > 200 and small[0, 0] == 0
    photo = np.full((90, 40, 3), 230, np.uint8)  # dark ink on light paper, not square
    photo[20:70, 18:22] = 20
    thumb = canvas_thumbnail(photo)
    assert thumb.shape == (64, 64) and thumb.max() > 100 and thumb[:, :10].max() == 0  # ink white, padded square


def test_a_person_keeps_at_most_the_cap(drawings, clock) -> None:
    for i in range(5):
        clock.now += WINDOW  # outside the rate limit's window
        drawings.add(ALICE, *handwritten(i, seed=i), i)
    clock.now += WINDOW
    with pytest.raises(Refused, match="as many as one person may keep"):
        drawings.add(ALICE, *handwritten(5), 5)
    assert drawings.count(ALICE) == 5
    drawings.add(BOB, *handwritten(5), 5)  # the cap is per person
    drawings.delete(ALICE, drawings.of(ALICE)[0].id)
    drawings.add(ALICE, *handwritten(5), 5)
    assert drawings.count(ALICE) == 5


def test_a_person_adds_at_most_so_many_a_minute(drawings, clock) -> None:
    image, canvas = handwritten(1)
    for _ in range(3):
        drawings.add(ALICE, image, canvas, 1)
        clock.now += 1.0
    with pytest.raises(Refused, match="in the last minute"):
        drawings.add(ALICE, image, canvas, 1)
    drawings.add(BOB, image, canvas, 1)  # others are not held back
    clock.now += WINDOW
    drawings.add(ALICE, image, canvas, 1)
    assert drawings.count(ALICE) == 4


def test_limits_come_from_the_environment() -> None:
    limits = DrawingLimits.from_env({"DIGIT_STUDIO_MAX_DRAWINGS": "50", "DIGIT_STUDIO_DRAWINGS_PER_MINUTE": "6"})
    assert (limits.per_person, limits.per_minute) == (50, 6)
    assert DrawingLimits.from_env({"DIGIT_STUDIO_MAX_DRAWINGS": "lots"}) == DrawingLimits()


def test_forget_my_data_deletes_the_drawings(store, drawings) -> None:
    drawings.add(ALICE, *handwritten(4), 4)
    drawings.add(BOB, *handwritten(4), 4)
    assert store.has_data(ALICE)
    store.forget(ALICE)
    assert drawings.of(ALICE) == [] and not store.has_data(ALICE) and drawings.count(BOB) == 1
    assert drawings.forget(BOB) == 1 and drawings.count(BOB) == 0


def test_retention_removes_old_drawings_at_start_up(store, drawings, clock) -> None:
    drawings.add(ALICE, *handwritten(6), 6)
    clock.now += 31 * 86400.0
    drawings.add(BOB, *handwritten(6), 6)
    store.start_up()
    assert drawings.count(ALICE) == 0 and drawings.count(BOB) == 1


def test_a_database_from_before_drawings_gains_the_table(tmp_path, clock) -> None:
    db = sqlite3.connect(tmp_path / DB_FILE)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);INSERT INTO meta VALUES ('schema_version', '1');"
    )
    db.close()
    store = Store(tmp_path, clock=clock)
    try:
        Drawings(store).add(ALICE, *handwritten(8), 8)
        assert Drawings(store).count(ALICE) == 1
    finally:
        store.close()
