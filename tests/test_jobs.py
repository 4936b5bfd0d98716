"""Tests for core.jobs: the first-come-first-served training queue and background jobs.

Every job here uses a fake ``train_fn`` that waits on events, so no model is
trained (TensorFlow is imported by core.jobs, but never runs).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from core.charts import loss_curve
from core.data import MnistUnavailableError
from core.jobs import JobState, TrainingJob, TrainingSlots, default_limit
from core.training import BatchUpdate, EpochUpdate, TrainConfig, TrainResult

CONFIG = TrainConfig(arch="mlp", epochs=2)
TIMEOUT = 10.0  # generous upper bound for anything that should happen "at once"


def wait_for(predicate, timeout: float = TIMEOUT) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


def _result(config: TrainConfig, stopped: bool = False) -> TrainResult:
    return TrainResult(
        model=None,
        config=config,
        history={"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []},
        test_loss=0.1,
        test_accuracy=0.9,
        stopped_early=stopped,
        epochs_completed=1.0,
        duration=0.1,
        samples_per_second=1.0,
    )


class FakeTrain:
    """A stand-in for core.training.train that reports progress and blocks until released.

    ``started`` is set when it begins; it sends one batch and one epoch report,
    then waits for ``release`` (or for the job's stop signal) before returning.
    """

    def __init__(self, error: BaseException | None = None) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.error = error
        self.kwargs: dict = {}

    def __call__(self, config, on_batch, on_epoch, stop, **kwargs):
        self.kwargs = kwargs
        self.started.set()
        if self.error is not None:
            raise self.error
        on_batch(BatchUpdate(0, config.epochs, 1, 4, 2.0, 0.3, 0.01))
        on_epoch(EpochUpdate(0, config.epochs, 1.0, 0.5, 0.9, 0.6, 0.02))
        while not (self.release.is_set() or stop.is_set()):
            on_batch(BatchUpdate(0, config.epochs, 2, 4, 1.5, 0.4, 0.02))
            time.sleep(0.005)
        return _result(config, stopped=stop.is_set())


# --- TrainingSlots ----------------------------------------------------------------------


def test_slots_admit_at_most_limit_in_fifo_order():
    slots = TrainingSlots(limit=2)
    tickets = [f"job{i}" for i in range(5)]
    admitted: list[str] = []
    lock = threading.Lock()

    def worker(ticket: str) -> None:
        assert slots.acquire(ticket, poll=0.01)
        with lock:
            admitted.append(ticket)

    threads = []
    for ticket in tickets:  # arrive one after the other, in a known order
        thread = threading.Thread(target=worker, args=(ticket,), daemon=True)
        thread.start()
        threads.append(thread)
        wait_for(lambda t=ticket: slots.position(t) is not None)

    wait_for(lambda: len(admitted) == 2)
    assert admitted == ["job0", "job1"]
    assert slots.running == 2 and slots.waiting == 3
    assert [slots.position(t) for t in tickets] == [0, 0, 1, 2, 3]
    assert slots.position("stranger") is None

    slots.release("job1")
    wait_for(lambda: len(admitted) == 3)
    assert admitted[-1] == "job2"
    assert [slots.position(t) for t in tickets[2:]] == [0, 1, 2]
    assert slots.running == 2

    slots.release("job0")
    slots.release("job2")
    wait_for(lambda: len(admitted) == 5)
    assert admitted == tickets
    slots.release("job3")
    slots.release("job4")
    slots.release("job4")  # releasing twice is harmless
    assert slots.running == 0 and slots.waiting == 0
    for thread in threads:
        thread.join(TIMEOUT)


def test_slots_cancelled_waiter_leaves_queue():
    slots = TrainingSlots(limit=1)
    assert slots.acquire("first")
    cancel = threading.Event()
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(slots.acquire("second", cancel.is_set, poll=0.01)))
    thread.start()
    wait_for(lambda: slots.position("second") == 1)
    cancel.set()
    thread.join(TIMEOUT)
    assert outcome == [False]
    assert slots.position("second") is None and slots.waiting == 0 and slots.running == 1


def test_slots_limit_at_least_one(monkeypatch):
    assert TrainingSlots(0).limit == 1
    monkeypatch.setenv("DIGIT_STUDIO_MAX_TRAININGS", "3")
    assert default_limit() == 3
    monkeypatch.setenv("DIGIT_STUDIO_MAX_TRAININGS", "zero")
    assert default_limit() >= 1
    monkeypatch.setenv("DIGIT_STUDIO_MAX_TRAININGS", "-2")
    assert default_limit() == 1


# --- TrainingJob ----------------------------------------------------------------------------


def test_job_states_queued_running_done():
    slots = TrainingSlots(limit=1)
    blocker, fake = FakeTrain(), FakeTrain()
    first = TrainingJob(CONFIG, slots=slots, train_fn=blocker).start()
    wait_for(blocker.started.is_set)
    assert first.state is JobState.RUNNING

    job = TrainingJob(CONFIG, slots=slots, train_fn=fake, data=("x", "y")).start()
    wait_for(lambda: job.snapshot().queue_position == 1)
    snap = job.snapshot()
    assert snap.state is JobState.QUEUED and snap.elapsed == 0.0 and snap.fraction == 0.0 and snap.eta is None

    blocker.release.set()
    wait_for(fake.started.is_set)
    wait_for(lambda: job.snapshot().batches)
    snap = job.snapshot()
    assert snap.state is JobState.RUNNING and snap.queue_position is None
    assert snap.latest.batch in (1, 2) and len(snap.epochs) == 1
    assert fake.kwargs == {"data": ("x", "y")}  # data is passed through to train_fn

    fake.release.set()
    assert job.join(TIMEOUT)
    snap = job.snapshot()
    assert snap.state is JobState.DONE and snap.state.finished
    assert snap.result is not None and snap.result.test_accuracy == 0.9
    assert snap.error is None and snap.fraction == 1.0 and snap.elapsed > 0.0
    assert first.join(TIMEOUT) and first.state is JobState.DONE
    assert slots.running == 0


def test_stop_while_running_gives_stopped():
    fake = FakeTrain()
    job = TrainingJob(CONFIG, slots=TrainingSlots(1), train_fn=fake).start()
    wait_for(fake.started.is_set)
    job.stop()
    assert job.join(TIMEOUT)
    assert job.state is JobState.STOPPED and job.snapshot().result is not None


def test_stop_while_queued_cancels():
    slots = TrainingSlots(limit=1)
    blocker, never = FakeTrain(), FakeTrain()
    TrainingJob(CONFIG, slots=slots, train_fn=blocker).start()
    wait_for(blocker.started.is_set)
    job = TrainingJob(CONFIG, slots=slots, train_fn=never).start()
    wait_for(lambda: job.snapshot().queue_position == 1)
    job.stop()
    assert job.join(TIMEOUT)
    snap = job.snapshot()
    assert snap.state is JobState.CANCELLED and snap.result is None
    assert not never.started.is_set()
    assert slots.waiting == 0
    blocker.release.set()


@pytest.mark.parametrize(
    "error, words",
    [
        (MemoryError(), "out of memory"),
        (RuntimeError("ResourceExhausted: OOM when allocating tensor"), "out of memory"),
        (MnistUnavailableError("MNIST_DIR=/nowhere is not a directory."), "MNIST_DIR=/nowhere"),
        (ValueError("something odd"), "something odd"),
    ],
)
def test_failures_are_reported(error, words):
    slots = TrainingSlots(1)
    job = TrainingJob(CONFIG, slots=slots, train_fn=FakeTrain(error=error)).start()
    assert job.join(TIMEOUT)
    snap = job.snapshot()
    assert snap.state is JobState.FAILED and snap.result is None
    assert words in snap.error
    assert slots.running == 0  # the slot is given back


def test_dead_session_stops_running_job(monkeypatch):
    monkeypatch.setattr(TrainingJob, "ALIVE_EVERY", 0.01)
    alive = threading.Event()
    alive.set()
    fake = FakeTrain()
    job = TrainingJob(CONFIG, slots=TrainingSlots(1), is_alive=alive.is_set, train_fn=fake).start()
    wait_for(fake.started.is_set)
    time.sleep(0.05)
    assert job.state is JobState.RUNNING and not job.abandoned
    alive.clear()  # the browser tab is gone
    assert job.join(TIMEOUT)
    assert job.abandoned and job.state is JobState.STOPPED


def test_dead_session_leaves_queue(monkeypatch):
    monkeypatch.setattr(TrainingJob, "ALIVE_EVERY", 0.01)
    slots = TrainingSlots(limit=1)
    blocker = FakeTrain()
    TrainingJob(CONFIG, slots=slots, train_fn=blocker).start()
    wait_for(blocker.started.is_set)
    job = TrainingJob(CONFIG, slots=slots, is_alive=lambda: False, train_fn=FakeTrain()).start()
    assert job.join(TIMEOUT)
    assert job.state is JobState.CANCELLED and job.abandoned
    blocker.release.set()


def test_broken_liveness_check_does_not_kill_training(monkeypatch):
    monkeypatch.setattr(TrainingJob, "ALIVE_EVERY", 0.0)

    def broken() -> bool:
        raise RuntimeError("session lookup failed")

    fake = FakeTrain()
    job = TrainingJob(CONFIG, slots=TrainingSlots(1), is_alive=broken, train_fn=fake).start()
    wait_for(fake.started.is_set)
    time.sleep(0.05)
    fake.release.set()
    assert job.join(TIMEOUT)
    assert job.state is JobState.DONE and not job.abandoned


def test_the_in_process_baseline_trains_in_this_process_without_a_cluster(monkeypatch):
    """``DIGIT_STUDIO_IN_PROCESS_TRAINING=1`` (a benchmark's baseline): trainings as before Dask, no cluster."""
    import core.training
    from core import cluster, slots

    monkeypatch.setenv("DIGIT_STUDIO_IN_PROCESS_TRAINING", "1")
    fake = FakeTrain()
    monkeypatch.setattr(core.training, "train", fake)
    assert slots.in_process_training() and slots._cluster_capacity() == default_limit()
    job = TrainingJob(CONFIG, slots=TrainingSlots(capacity=slots._cluster_capacity)).start()
    wait_for(fake.started.is_set)
    assert job.state is JobState.RUNNING and job.snapshot().worker is None  # no Dask worker: here
    fake.release.set()
    assert job.join(TIMEOUT) and job.state is JobState.DONE
    monkeypatch.setattr(cluster, "_starter", None)
    cluster.start_in_background()
    assert cluster._starter is None  # nothing started: no worker processes beside the server
    monkeypatch.setenv("DIGIT_STUDIO_IN_PROCESS_TRAINING", "0")
    assert not slots.in_process_training() and TrainingJob(CONFIG).train_fn is None  # the cluster, by default


def test_invalid_config_is_rejected_on_construction():
    with pytest.raises(ValueError):
        TrainingJob(TrainConfig(epochs=0), slots=TrainingSlots(1), train_fn=FakeTrain())


# --- loss_curve -------------------------------------------------------------------------------


def _running_means(groups: list[list[float]], epoch: int = 0, batches: int | None = None) -> list[BatchUpdate]:
    """Reports as Keras makes them: the mean of all batch losses so far in the epoch."""
    seen: list[float] = []
    total = batches or sum(len(g) for g in groups)
    updates = []
    for group in groups:
        seen.extend(group)
        mean = float(np.mean(seen))
        updates.append(BatchUpdate(epoch, 2, len(seen), total, mean, 1.0 - mean / 10, 0.0))
    return updates


def test_loss_curve_recovers_group_values():
    groups = [[2.0, 2.0], [1.0, 1.0, 1.0], [0.5]]  # groups of different sizes
    x, y = loss_curve(_running_means(groups), smoothing=0.0)
    np.testing.assert_allclose(y, [2.0, 1.0, 0.5], atol=1e-9)
    np.testing.assert_allclose(x, [2 / 6, 5 / 6, 1.0])


def test_loss_curve_resets_each_epoch_and_smooths():
    updates = _running_means([[3.0], [1.0]], epoch=0) + _running_means([[0.8], [0.4]], epoch=1)
    x, y = loss_curve(updates, smoothing=0.0)
    np.testing.assert_allclose(y, [3.0, 1.0, 0.8, 0.4], atol=1e-9)
    np.testing.assert_allclose(x, [0.5, 1.0, 1.5, 2.0])
    _, smooth = loss_curve(updates, smoothing=0.5)
    np.testing.assert_allclose(smooth, [3.0, 2.0, 1.4, 0.9], atol=1e-9)
    _, accuracy = loss_curve(updates, key="accuracy", smoothing=0.0)
    np.testing.assert_allclose(accuracy, [0.7, 0.9, 0.92, 0.96], atol=1e-9)


def test_loss_curve_skips_repeats_and_nan():
    updates = _running_means([[2.0], [1.0]])
    updates.insert(1, updates[0])  # the same report twice
    updates.append(BatchUpdate(0, 2, 3, 3, float("nan"), 0.5, 0.0))
    x, y = loss_curve(updates, smoothing=0.0)
    np.testing.assert_allclose(y, [2.0, 1.0])
    empty_x, empty_y = loss_curve([])
    assert empty_x.shape == (0,) and empty_y.shape == (0,)


def test_loss_curve_thins_a_long_run_evenly_keeping_both_ends():
    updates = _running_means([[1.0 / (k + 1)] for k in range(1000)])
    full_x, full_y = loss_curve(updates, smoothing=0.0)
    x, y = loss_curve(updates, smoothing=0.0, max_points=50)
    assert len(x) == 50 and np.all(np.diff(x) > 0)
    assert (x[0], x[-1], y[-1]) == (full_x[0], full_x[-1], full_y[-1])
    assert set(x) <= set(full_x)  # points of the curve, not new ones
    short_x, _ = loss_curve(updates[:10], smoothing=0.0, max_points=50)
    assert len(short_x) == 10  # a short curve is left whole
