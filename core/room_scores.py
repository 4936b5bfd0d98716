"""The room's leaderboard: every participant's runs scored on the room's drawings, beside MNIST.

Scoring loads a model and classifies the room's drawings, which must never
hold up a page, let alone someone's strokes on the Draw page. So a page only
*asks* (:meth:`Scoreboard.score`): the answer is whatever is known now, and
what is missing is queued for one background thread, which scores one model
at a time and then rests as long as it worked (at most half of one core).

What is cached is each model's answer for each drawing, so a new drawing
costs every model one more answer, not a rescore, and hiding a drawing costs
nothing: a score for any version of the room's set is counted from the
answers. A few loaded models are kept (most recently used) for the next
round; the answers of many more.

Importing this module loads no TensorFlow; the background thread does, on
its first model.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.room_schema import RoomRun, RoomSet

__all__ = ["Score", "Scoreboard", "board_rows", "shared_scoreboard"]

logger = logging.getLogger(__name__)

#: Classifies (N, 28, 28) uint8 drawings with the model in a file: (N,) digits.
Predict = Callable[[Path, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Score:
    """A model's score on a room's set as far as it is known.

    Attributes:
        correct: Drawings it classified right, of those scored.
        scored: Drawings scored so far.
        total: Drawings in the set.
        problem: Why it cannot be scored (its file is gone or unreadable), or None.
    """

    correct: int
    scored: int
    total: int
    problem: str | None = None

    @property
    def accuracy(self) -> float | None:
        """Right answers among the drawings scored so far (None before any)."""
        return self.correct / self.scored if self.scored else None

    @property
    def complete(self) -> bool:
        """Whether every drawing of the set is scored."""
        return self.scored == self.total


class ModelPredictor:
    """The default :data:`Predict`: loads models with ``core.inference`` (a few kept loaded) and classifies.

    Args:
        keep: Models kept loaded, most recently used.
    """

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._models: collections.OrderedDict[Path, Any] = collections.OrderedDict()

    def __call__(self, path: Path, images: np.ndarray) -> np.ndarray:
        from core.inference import load_model, predict_proba  # TensorFlow, in the scoring thread only

        model = self._models.pop(path, None)
        if model is None:
            model = load_model(path, warm=False)  # no single-image (XLA) trace: these are batches
        self._models[path] = model
        while len(self._models) > self.keep:
            self._models.popitem(last=False)
        x = images.astype(np.float32) / 255.0
        if len(x) == 1:  # a batch of one would take the single-image path and compile it
            x = np.concatenate([x, np.zeros_like(x)])
        return predict_proba(model, x)[: len(images)].argmax(axis=1)


class Scoreboard:
    """Scores models on rooms' sets in a background thread and remembers each model's answer per drawing.

    Args:
        predict: Classifies drawings with a model file (default: :class:`ModelPredictor`).
        rest: After each model, the thread sleeps ``rest`` times as long as it worked.
        max_models: Models whose answers are remembered (least recently asked forgotten first).
        max_queue: Models waiting at most; asking for more waits for the next refresh.
    """

    def __init__(
        self, predict: Predict | None = None, rest: float = 1.0, max_models: int = 256, max_queue: int = 64
    ) -> None:
        self._predict = predict or ModelPredictor()
        self.rest, self.max_models, self.max_queue = rest, max_models, max_queue
        self._answers: collections.OrderedDict[Path, dict[int, int]] = collections.OrderedDict()
        self._problems: dict[Path, str] = {}
        self._complete: dict[tuple[Path, int, int], Score] = {}  # (model, room, version) -> its whole score
        self._queue: collections.deque[tuple[Path, np.ndarray, np.ndarray]] = collections.deque()
        self._busy: set[Path] = set()  # queued or being scored
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def score(self, model_path: Path, test_set: RoomSet) -> Score:
        """What is known of the model's score on ``test_set``; queues the drawings it has not answered.

        Never waits for a model: a page can call this on every refresh.

        Args:
            model_path: The model's file.
            test_set: The room's set (``RoomDrawings.test_set``).

        Returns:
            The score so far.
        """
        path = Path(model_path)
        done = (path, test_set.room, test_set.version)
        with self._cond:
            if path in self._problems:
                return Score(0, 0, len(test_set.ids), self._problems[path])
            if done in self._complete:  # counted once per version: every viewer's refresh asks again
                return self._complete[done]
            answers = self._answers.get(path, {})
            if path in self._answers:
                self._answers.move_to_end(path)
            known = np.array([i in answers for i in test_set.ids.tolist()], bool)
            got = np.array([answers.get(i, -1) for i in test_set.ids.tolist()], np.int64)
            correct = int((got[known] == test_set.labels[known]).sum())
            if not known.all() and path not in self._busy and len(self._queue) < self.max_queue:
                self._queue.append((path, test_set.ids[~known], test_set.images[~known]))
                self._busy.add(path)
                self._start()
                self._cond.notify()
            score = Score(correct, int(known.sum()), len(test_set.ids))
            if score.complete and test_set.room:
                self._complete[done] = score
                while len(self._complete) > 4 * self.max_models:
                    del self._complete[next(iter(self._complete))]
        return score

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or being scored (tests); False if still busy after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="digit-studio-room-scores", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                path, ids, images = self._queue.popleft()
            started = time.monotonic()
            try:
                digits = np.asarray(self._predict(path, images)).astype(np.int64)
            except Exception as exc:  # noqa: BLE001 - a gone or broken file is this model's problem, not the thread's
                logger.info("Room scores: %s cannot be scored: %s", path.name, exc)
                self._finish(path, problem="its model cannot be read")
            else:
                self._finish(path, answers=dict(zip(ids.tolist(), digits.tolist(), strict=True)))
            time.sleep(min(5.0, (time.monotonic() - started) * self.rest))  # leave the CPU to the people drawing

    def _finish(self, path: Path, answers: dict[int, int] | None = None, problem: str | None = None) -> None:
        with self._cond:
            if problem is not None:
                self._problems[path] = problem
            else:
                self._answers.setdefault(path, {}).update(answers or {})
                self._answers.move_to_end(path)
                while len(self._answers) > self.max_models:
                    self._answers.popitem(last=False)
            self._busy.discard(path)
            self._cond.notify_all()


def board_rows(runs: list[RoomRun], scores: list[Score]) -> list[dict[str, Any]]:
    """The leaderboard's rows, best on the room's drawings first.

    Args:
        runs: The runs (nickname, settings, MNIST accuracy).
        scores: Their scores on the room's set, in the same order.

    Returns:
        One dict a row: ``Who``, ``Run``, ``MNIST test``, ``Room drawings``, ``Gap`` (points of
        accuracy lost on people's drawings), ``Scored`` (e.g. ``"40 of 42"``); accuracies are
        fractions, None while unknown.
    """
    ranked = sorted(
        zip(runs, scores, strict=True),
        key=lambda pair: (pair[1].accuracy is None, -(pair[1].accuracy or 0.0), -pair[0].test_accuracy),
    )
    rows = []
    for run, score in ranked:
        room = score.accuracy
        rows.append(
            {
                "Who": run.nickname,
                "Run": run.label,
                "MNIST test": run.test_accuracy,
                "Room drawings": room,
                "Gap": None if room is None else run.test_accuracy - room,
                "Scored": score.problem or f"{score.scored} of {score.total}",
            }
        )
    return rows


_SHARED: list[Scoreboard] = []
_SHARING = threading.Lock()


def shared_scoreboard() -> Scoreboard:
    """The process's scoreboard (one scoring thread for every room and session)."""
    with _SHARING:
        if not _SHARED:
            _SHARED.append(Scoreboard())
        return _SHARED[0]
