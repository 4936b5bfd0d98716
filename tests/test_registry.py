"""core.registry and core.run_records: a person's training is found again, stored when it ends, shown the same after."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from core.charts import LIVE_POINTS, loss_curve
from core.config import APP_DEFAULTS
from core.registry import Busy, Trainings
from core.run_records import SavedResult, config_from, record_of, run_from
from core.store import Store
from core.store_limits import StoreLimits

ALICE, BOB = "a" * 32, "b" * 32
LABELS = np.arange(100) % 10
TIMEOUT = 10.0


class FakeModel:
    def save(self, path) -> None:
        Path(path).write_bytes(b"keras zip")


def fake_result(stopped: bool = False) -> SimpleNamespace:
    probabilities = np.eye(10)[LABELS] * 0.9 + 0.01
    probabilities[:3] = np.eye(10)[(LABELS[:3] + 1) % 10]  # three confident mistakes
    batches = [
        SimpleNamespace(
            epoch=e, epochs=2, batch=b, batches=300, loss=1.0 / (b + e * 300), accuracy=0.5 + b / 1000, elapsed=0.0
        )
        for e in range(2)
        for b in range(1, 301)
    ]
    return SimpleNamespace(
        model=FakeModel(),
        config=APP_DEFAULTS,
        test_loss=0.12,
        test_accuracy=0.97,
        history={
            "loss": [0.5, 0.3],
            "accuracy": [0.8, 0.9],
            "val_loss": [0.4, float("nan")],
            "val_accuracy": [0.85, float("nan")],
        },
        stopped_early=stopped,
        epochs_completed=1.5 if stopped else 2.0,
        duration=3.0,
        samples_per_second=1000.0,
        batch_history=batches,
        test_probabilities=probabilities,
    )


class FakeJob:
    """A training job that ends when told to (``finish``), with a given outcome."""

    def __init__(self, config, is_alive) -> None:
        self.config, self.is_alive = config, is_alive
        self.ended, self.stopped = threading.Event(), False
        self.outcome, self.result, self.error = "done", fake_result(), None

    def start(self):
        return self

    def stop(self) -> None:
        self.stopped = True
        self.ended.set()

    def join(self, timeout=None) -> bool:
        return self.ended.wait(timeout)

    def finish(self, outcome: str = "done", error: str | None = None) -> None:
        self.outcome, self.error = outcome, error
        self.result = fake_result(stopped=outcome == "stopped") if outcome in ("done", "stopped") else None
        self.ended.set()

    @property
    def state(self):
        return SimpleNamespace(value=self.outcome if self.ended.is_set() else "running")

    def snapshot(self):
        return SimpleNamespace(state=self.state, result=self.result, error=self.error, elapsed=1.0)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path, StoreLimits())
    yield s
    s.close()


@pytest.fixture
def trainings(store):
    return Trainings(store, make_job=FakeJob, test_labels=lambda: LABELS)


def test_a_training_is_begun_in_the_store_and_stored_when_it_ends(trainings, store):
    training = trainings.start(ALICE, APP_DEFAULTS)
    assert training.number == 1 and training.running and store.run(ALICE, 1).state == "running"
    assert trainings.get(ALICE) is training and trainings.get(BOB) is None
    training.job.finish("done")
    assert training.stored.wait(TIMEOUT) and training.outcome == "done" and training.model is training.job.result.model
    stored = store.run(ALICE, 1)
    assert stored.state == "done" and stored.model_path.read_bytes() == b"keras zip"
    assert stored.record.metrics["test_accuracy"] == 0.97
    assert np.trace(np.asarray(stored.record.confusion)) == 97


def test_only_one_training_per_person_at_a_time(trainings):
    first = trainings.start(ALICE, APP_DEFAULTS)
    with pytest.raises(Busy):
        trainings.start(ALICE, APP_DEFAULTS)
    other = trainings.start(BOB, APP_DEFAULTS)  # someone else may
    first.job.finish("done")
    assert first.stored.wait(TIMEOUT)
    second = trainings.start(ALICE, APP_DEFAULTS)
    assert second.number == 2
    for training in (other, second):
        training.job.finish("done")
        assert training.stored.wait(TIMEOUT)


@pytest.mark.parametrize("outcome", ["failed", "cancelled"])
def test_a_training_that_produced_nothing_leaves_no_run(trainings, store, outcome):
    training = trainings.start(ALICE, APP_DEFAULTS)
    training.job.finish(outcome, error="out of memory" if outcome == "failed" else None)
    assert training.stored.wait(TIMEOUT)
    assert training.outcome == outcome and store.runs(ALICE) == []
    assert training.error == ("out of memory" if outcome == "failed" else None)


def test_forgetting_stops_the_training_and_stores_nothing(trainings, store):
    training = trainings.start(ALICE, APP_DEFAULTS)
    store.forget(ALICE)
    trainings.forget(ALICE)
    assert training.job.stopped and training.stored.wait(TIMEOUT)
    assert training.outcome == "forgotten" and trainings.get(ALICE) is None and store.runs(ALICE) == []
    assert list(store.runs_folder.iterdir()) == []


def test_any_watching_session_keeps_a_training_alive(trainings):
    first_tab, reloaded_tab = [True], [True]
    training = trainings.start(ALICE, APP_DEFAULTS, is_alive=lambda: first_tab[0])
    training.watch(lambda: reloaded_tab[0])
    first_tab[0] = False  # the tab that started it was reloaded
    assert training.job.is_alive()
    reloaded_tab[0] = False
    assert not training.job.is_alive()
    training.job.finish("done")
    assert training.stored.wait(TIMEOUT)


def test_a_stored_run_reads_like_the_trained_one(trainings, store):
    training = trainings.start(ALICE, APP_DEFAULTS)
    training.job.finish("stopped")
    assert training.stored.wait(TIMEOUT)
    original = training.job.result
    run = run_from(store.run(ALICE, 1))
    r = run.result
    assert isinstance(r, SavedResult) and run.state == "stopped" and run.label == "Run 1 · CNN · 97.0% (stopped)"
    assert (r.config, r.test_accuracy, r.test_loss, r.epochs_completed) == (APP_DEFAULTS, 0.97, 0.12, 1.5)
    assert r.history["val_loss"][1] != r.history["val_loss"][1]  # NaN, as trained
    assert r.misclassified == 3 and [(m.true, m.predicted) for m in r.mistakes] == [(0, 1), (1, 2), (2, 3)]
    x, y = loss_curve(original.batch_history, "loss", max_points=LIVE_POINTS)
    assert r.curve["loss"]["epoch"] == x.tolist() and r.curve["loss"]["value"] == y.tolist()
    assert run.keras_bytes() == b"keras zip"  # the stored file, no model loaded
    assert run_from(store.run(ALICE, 1), model=original.model).result.model is original.model


def test_record_of_keeps_plain_json_data():
    record = record_of(fake_result(), LABELS)
    assert record.config == APP_DEFAULTS.to_dict() and record.metrics["stopped_early"] is False
    assert len(record.mistakes) == 3 and isinstance(record.confusion[0][0], int)
    assert record_of(fake_result(), None).confusion is None


def test_a_stored_config_with_unknown_fields_still_loads():
    assert config_from({**APP_DEFAULTS.to_dict(), "from_the_future": 1}) == APP_DEFAULTS


def test_sessions_asking_at_once_share_one_store_and_one_registry(tmp_path):
    from core.registry import shared_trainings
    from core.store import open_store

    found: list[tuple] = []
    threads = [
        threading.Thread(target=lambda: found.append((open_store(tmp_path), shared_trainings(tmp_path))))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert len(found) == 8 and len({id(s) for s, _ in found}) == 1 and len({id(r) for _, r in found}) == 1
    assert found[0][1].store is found[0][0]
