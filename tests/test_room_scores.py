"""core.room_scores: runs scored on a room's set in the background, each answer cached, never waited for."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from core.room_schema import RoomRun, RoomSet
from core.room_scores import ModelPredictor, Score, Scoreboard, board_rows

WAIT = 60.0  #: seconds a background score may take on a busy machine


def room_set(labels: list[int], version: int = 1, first_id: int = 1) -> RoomSet:
    """A set whose image ``i`` holds its own label in pixel (0, 0), so a fake model can read it."""
    images = np.zeros((len(labels), 28, 28), np.uint8)
    images[:, 0, 0] = labels
    ids = np.arange(first_id, first_id + len(labels), dtype=np.int64)
    return RoomSet(ids, images, np.array(labels, np.uint8), version)


class FakeModels:
    """Models by file name: ``right`` reads every label, ``sevens`` answers 7, ``broken`` cannot be read."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, path: Path, images: np.ndarray) -> np.ndarray:
        self.gate.wait(WAIT)
        self.calls.append((path.name, len(images)))
        if path.name == "broken":
            raise OSError("truncated")
        return images[:, 0, 0].astype(np.int64) if path.name == "right" else np.full(len(images), 7)


@pytest.fixture
def models() -> FakeModels:
    return FakeModels()


@pytest.fixture
def board(models) -> Scoreboard:
    return Scoreboard(models, rest=0.0)


def test_a_score_is_never_waited_for_and_arrives_in_the_background(board, models) -> None:
    models.gate.clear()  # the model takes its time
    first = board.score(Path("right"), room_set([1, 2, 7]))
    assert (first.scored, first.total, first.accuracy, first.complete) == (0, 3, None, False)
    models.gate.set()
    assert board.idle(WAIT)
    assert board.score(Path("right"), room_set([1, 2, 7])) == Score(3, 3, 3)
    assert board.score(Path("sevens"), room_set([1, 2, 7])).scored == 0
    assert board.idle(WAIT) and board.score(Path("sevens"), room_set([1, 2, 7])).accuracy == pytest.approx(1 / 3)


def test_answers_are_cached_per_drawing_so_a_new_drawing_costs_one_answer_and_hiding_none(board, models) -> None:
    board.score(Path("sevens"), room_set([7, 1]))
    assert board.idle(WAIT)
    grown = room_set([7, 1, 7], version=2)  # a third drawing was shared
    assert board.score(Path("sevens"), grown).scored == 2
    assert board.idle(WAIT) and board.score(Path("sevens"), grown) == Score(2, 3, 3)
    hidden = RoomSet(grown.ids[1:], grown.images[1:], grown.labels[1:], 3)  # the presenter hid the first
    assert board.score(Path("sevens"), hidden) == Score(1, 2, 2)
    assert models.calls == [("sevens", 2), ("sevens", 1)]


def test_an_unreadable_model_is_reported_not_retried(board, models) -> None:
    board.score(Path("broken"), room_set([1]))
    assert board.idle(WAIT)
    for _ in range(2):
        score = board.score(Path("broken"), room_set([1]))
        assert score.problem == "its model cannot be read" and score.accuracy is None
    assert models.calls == [("broken", 1)]


def test_the_queue_is_bounded(models) -> None:
    board = Scoreboard(models, rest=0.0, max_queue=2)
    models.gate.clear()
    for name in ("a", "b", "c", "d", "e"):
        board.score(Path(name), room_set([1]))
    models.gate.set()
    assert board.idle(WAIT)
    assert len(models.calls) <= 3  # one being scored, two waiting; the others are asked for at the next refresh


def test_board_rows_rank_by_the_room_and_show_the_gap() -> None:
    def run(nickname: str, accuracy: float) -> RoomRun:
        return RoomRun(nickname, 1, "cnn", 3, 0.3, False, accuracy, Path(nickname))

    runs = [run("Ana", 0.99), run("Bo", 0.97), run("Cy", 0.95)]
    rows = board_rows(runs, [Score(6, 10, 10), Score(9, 10, 10), Score(0, 0, 10)])
    assert [r["Who"] for r in rows] == ["Bo", "Ana", "Cy"]
    assert rows[0]["Gap"] == pytest.approx(0.07) and rows[0]["Scored"] == "10 of 10"
    assert rows[2]["Room drawings"] is None and rows[2]["Gap"] is None


def test_a_real_model_is_scored_on_a_room_set(tmp_path) -> None:
    """The default predictor loads a saved Keras model and classifies the set as core.inference does."""
    from core.inference import predict_proba
    from core.model import build_model
    from tests.test_drawings import handwritten

    model = build_model("mlp", 0.0)
    path = tmp_path / "run.keras"
    model.save(path)
    labels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3]
    images = np.stack([handwritten(d, i)[0] for i, d in enumerate(labels)])
    found = RoomSet(np.arange(len(labels)), images, np.array(labels, np.uint8), 1)
    expected = predict_proba(model, images.astype(np.float32) / 255).argmax(1)
    board = Scoreboard(ModelPredictor(keep=1), rest=0.0)
    board.score(path, found)
    assert board.idle(WAIT)
    score = board.score(path, found)
    assert score.complete and score.correct == int((expected == np.array(labels)).sum())
    one = RoomSet(found.ids[:1] + 100, images[:1], found.labels[:1], 2)  # a set of one drawing
    board.score(path, one)
    assert board.idle(WAIT) and board.score(path, one).scored == 1


def test_a_complete_score_is_counted_once_per_room_version(board, models) -> None:
    found = RoomSet(room_set([7, 1]).ids, room_set([7, 1]).images, room_set([7, 1]).labels, 4, room=9)
    board.score(Path("sevens"), found)
    assert board.idle(WAIT)
    first = board.score(Path("sevens"), found)
    assert first == Score(1, 2, 2) and board.score(Path("sevens"), found) is first  # kept, not counted again
    later = RoomSet(found.ids[:1], found.images[:1], found.labels[:1], 5, room=9)  # version 5: one drawing hidden
    assert board.score(Path("sevens"), later) == Score(1, 1, 1)
    assert models.calls == [("sevens", 2)]
