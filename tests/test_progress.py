"""Tests for core.progress: batch and epoch updates, the stop signal and the progress tracker (no TensorFlow)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.progress import BatchUpdate, EpochUpdate, ProgressTracker, StopSignal

ROOT = Path(__file__).resolve().parent.parent


def test_batch_update_fraction():
    assert BatchUpdate(0, 4, 5, 10, 1.0, 0.5, 1.0).fraction == pytest.approx(0.125)
    assert BatchUpdate(3, 4, 10, 10, 1.0, 0.5, 1.0).fraction == 1.0
    assert BatchUpdate(0, 1, 0, 0, 1.0, 0.5, 1.0).fraction == 0.0


# --- StopSignal -------------------------------------------------------------------------------


def test_stop_signal_variable_follows_event():
    tf = pytest.importorskip("tensorflow")
    stop, variable = StopSignal(), tf.Variable(True)
    stop.attach(variable)
    assert not stop.is_set() and not bool(variable.numpy())
    stop.set()
    assert stop.is_set() and bool(variable.numpy())
    late, late_variable = StopSignal(), tf.Variable(False)
    late.set()
    late.attach(late_variable)
    assert bool(late_variable.numpy())  # attached after set(): starts True
    detached, left_alone = StopSignal(), tf.Variable(False)
    detached.attach(left_alone)
    detached.detach(left_alone)
    detached.set()
    assert not bool(left_alone.numpy())  # detached: left alone


class _Flag:
    """Anything with ``assign`` can follow a stop signal."""

    def __init__(self) -> None:
        self.values: list[bool] = []

    def assign(self, value: bool) -> None:
        self.values.append(value)


def test_stop_signal_is_duck_typed_and_thread_safe():
    stop, flags = StopSignal(), [_Flag() for _ in range(3)]
    for flag in flags:
        stop.attach(flag)
    stop.detach(flags[2])
    setter = threading.Thread(target=stop.set)
    setter.start()
    setter.join(timeout=10)
    assert stop.is_set()
    assert flags[0].values == [False, True] and flags[1].values == [False, True]
    assert flags[2].values == [False]


# --- ProgressTracker ---------------------------------------------------------------------------


def test_tracker_reports_blocks_and_epochs():
    batches: list[BatchUpdate] = []
    epochs: list[EpochUpdate] = []
    validations: list[int] = []

    def validate() -> tuple[float, float]:
        validations.append(1)
        return 0.5, 0.75

    tracker = ProgressTracker(batches=5, epochs=2, on_batch=batches.append, on_epoch=epochs.append, validate=validate)
    for epoch in range(2):
        tracker.begin_epoch(epoch)
        tracker.add_block(3, loss_sum=3.0, hits=1.5)
        tracker.add_block(2, loss_sum=1.0, hits=1.5)
        tracker.end_epoch()
    assert [(b.epoch, b.batch, b.batches) for b in batches] == [(0, 3, 5), (0, 5, 5), (1, 3, 5), (1, 5, 5)]
    assert batches[0].loss == pytest.approx(1.0) and batches[0].accuracy == pytest.approx(0.5)
    assert batches[1].loss == pytest.approx(0.8) and batches[1].accuracy == pytest.approx(0.6)
    assert tracker.batch_history == batches and tracker.batches_done == 10
    assert len(validations) == 2 and all(e.complete for e in epochs)
    assert tracker.history == {
        "loss": [pytest.approx(0.8)] * 2,
        "accuracy": [pytest.approx(0.6)] * 2,
        "val_loss": [0.5, 0.5],
        "val_accuracy": [0.75, 0.75],
    }
    assert (epochs[1].epoch, epochs[1].epochs, epochs[1].val_accuracy) == (1, 2, 0.75)
    assert tracker.epochs_completed == 2.0
    assert all(0.0 <= b.elapsed <= e.elapsed for b, e in zip(batches[1::2], epochs, strict=False))


def test_tracker_partial_epoch_is_not_validated():
    epochs: list[EpochUpdate] = []
    tracker = ProgressTracker(batches=4, epochs=3, on_epoch=epochs.append, validate=lambda: pytest.fail("validated"))
    tracker.begin_epoch(0)
    tracker.add_block(1, loss_sum=2.0, hits=0.25)
    tracker.end_epoch()
    assert len(epochs) == 1 and not epochs[0].complete
    assert math.isnan(epochs[0].val_loss) and math.isnan(epochs[0].val_accuracy)
    assert tracker.partial_epoch and tracker.epochs_completed == pytest.approx(0.25)


def test_tracker_epoch_without_batches_reports_nothing():
    calls: list[object] = []
    tracker = ProgressTracker(batches=4, epochs=1, on_batch=calls.append, on_epoch=calls.append)
    tracker.begin_epoch(0)
    tracker.end_epoch()
    assert calls == [] and tracker.history["loss"] == [] and tracker.epochs_completed == 0.0


def test_progress_does_not_import_tensorflow():
    code = (
        "import json, sys\n"
        "from core.progress import ProgressTracker, StopSignal, TrainResult\n"
        "stop = StopSignal(); stop.set()\n"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
