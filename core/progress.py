"""Progress of a training run: the updates hooks receive, the result, the stop signal and the tracker.

Plain Python (no TensorFlow at import), so a job server can pass these
around, and stop runs, without loading a model library.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from core.config import TrainConfig

if TYPE_CHECKING:
    import keras
    import numpy as np

__all__ = ["BatchUpdate", "EpochUpdate", "ProgressTracker", "StopSignal", "TrainResult"]


@dataclass(frozen=True)
class BatchUpdate:
    """Progress within an epoch, sent to ``on_batch`` hooks.

    Attributes:
        epoch: 0-based epoch index.
        epochs: Planned number of epochs.
        batch: Batches done in this epoch.
        batches: Batches per epoch.
        loss: Running mean training loss of this epoch.
        accuracy: Running mean training accuracy of this epoch.
        elapsed: Seconds since training started.
    """

    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float
    accuracy: float
    elapsed: float

    @property
    def fraction(self) -> float:
        """Fraction of the whole run done, in [0, 1]."""
        return min(1.0, (self.epoch + self.batch / max(1, self.batches)) / max(1, self.epochs))


@dataclass(frozen=True)
class EpochUpdate:
    """Metrics at the end of an epoch, sent to ``on_epoch`` hooks.

    Attributes:
        epoch: 0-based epoch index.
        epochs: Planned number of epochs.
        loss: Mean training loss over the epoch.
        accuracy: Mean training accuracy over the epoch.
        val_loss: Validation loss (``nan`` without a validation set or when stopped mid-epoch).
        val_accuracy: Validation accuracy (likewise).
        elapsed: Seconds since training started.
        complete: ``False`` when the epoch was cut short by a stop.
    """

    epoch: int
    epochs: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    elapsed: float
    complete: bool = True


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        model: The trained model (as trained so far, if stopped).
        config: The configuration used.
        history: Per-epoch lists: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.
        test_loss: Loss on the 10,000 test images.
        test_accuracy: Accuracy on the test images.
        stopped_early: Whether a stop ended the run before the last epoch.
        epochs_completed: Epochs done, fractional when stopped mid-epoch.
        duration: Wall-clock seconds of the training loop (validation included).
        samples_per_second: Training throughput.
        batch_history: Every batch report, in order.
        test_probabilities: (N, 10) test-set probabilities (for confusion matrices and galleries).
        first_layer_after_epoch1: The first layer's kernel (plain NumPy) when the first epoch ended,
            to show how training changed it; None if that epoch was cut short.
        finetune: For a fine-tune, its before-and-after report (``core.finetune.FineTuneReport`` as a dict).
    """

    model: keras.Model
    config: TrainConfig
    history: dict[str, list[float]]
    test_loss: float
    test_accuracy: float
    stopped_early: bool
    epochs_completed: float
    duration: float
    samples_per_second: float
    batch_history: list[BatchUpdate] = field(default_factory=list)
    test_probabilities: np.ndarray | None = None
    first_layer_after_epoch1: np.ndarray | None = None
    finetune: dict[str, Any] | None = None


class _Flag(Protocol):
    """What :class:`StopSignal` needs of an attached variable (e.g. a boolean ``tf.Variable``)."""

    def assign(self, value: bool) -> Any: ...


class StopSignal:
    """A stop flag seen both by Python and by the graph's training loop.

    ``set()`` can be called from any thread. A training loop attaches its own
    boolean variable for the length of a run and checks it before every
    batch, so the running batch is the last. Anything with ``assign(bool)``
    can be attached: this module never needs TensorFlow.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._attached: list[_Flag] = []
        self._lock = threading.Lock()

    def attach(self, variable: _Flag) -> None:
        """Make boolean ``variable`` follow this signal (set now if the signal is)."""
        with self._lock:
            variable.assign(self._event.is_set())
            self._attached.append(variable)

    def detach(self, variable: _Flag) -> None:
        """Stop updating ``variable``."""
        with self._lock:
            self._attached = [v for v in self._attached if v is not variable]

    def set(self) -> None:
        """Ask training to stop."""
        with self._lock:
            self._event.set()
            for variable in self._attached:
                variable.assign(True)

    def is_set(self) -> bool:
        """Whether a stop was asked for."""
        return self._event.is_set()


class ProgressTracker:
    """Turns block results into running metrics, hook calls and a history.

    Args:
        batches: Batches per epoch.
        epochs: Planned epochs.
        on_batch: Called with a :class:`BatchUpdate` after each block of batches.
        on_epoch: Called with an :class:`EpochUpdate` after each epoch (also a
            partial one, cut short by a stop).
        validate: Returns validation ``(loss, accuracy)``; called after each full epoch.
    """

    def __init__(
        self,
        batches: int,
        epochs: int,
        on_batch: Callable[[BatchUpdate], None] | None = None,
        on_epoch: Callable[[EpochUpdate], None] | None = None,
        validate: Callable[[], tuple[float, float]] | None = None,
    ) -> None:
        self.batches, self.epochs = batches, epochs
        self.on_batch, self.on_epoch, self.validate = on_batch, on_epoch, validate
        self.history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
        self.batch_history: list[BatchUpdate] = []
        self.started = time.perf_counter()
        self.epoch = 0
        self.batch = 0  # batches done in the current epoch
        self.batches_done = 0  # in all
        self.partial_epoch = False
        self._loss_sum = self._hits = 0.0

    def begin_epoch(self, epoch: int) -> None:
        """Start counting epoch ``epoch`` (0-based)."""
        self.epoch, self.batch = epoch, 0
        self._loss_sum = self._hits = 0.0

    def add_block(self, done: int, loss_sum: float, hits: float) -> None:
        """Record a block: ``done`` batches whose losses and accuracies sum to ``loss_sum`` and ``hits``."""
        self.batch += done
        self.batches_done += done
        self._loss_sum += loss_sum
        self._hits += hits
        loss, accuracy = self._running()
        update = BatchUpdate(
            self.epoch,
            self.epochs,
            min(self.batch, self.batches),
            self.batches,
            loss,
            accuracy,
            time.perf_counter() - self.started,
        )
        self.batch_history.append(update)
        if self.on_batch is not None:
            self.on_batch(update)

    def end_epoch(self) -> None:
        """Close the current epoch: validate it if it is complete, record it, call the hook."""
        if self.batch == 0:
            return  # stopped before the epoch trained anything: nothing to report
        complete = self.batch >= self.batches
        self.partial_epoch = not complete
        val_loss, val_accuracy = self.validate() if complete and self.validate is not None else (math.nan, math.nan)
        loss, accuracy = self._running()
        values = {"loss": loss, "accuracy": accuracy, "val_loss": val_loss, "val_accuracy": val_accuracy}
        for key, value in values.items():
            self.history[key].append(value)
        if self.on_epoch is not None:
            self.on_epoch(
                EpochUpdate(
                    self.epoch, self.epochs, elapsed=time.perf_counter() - self.started, complete=complete, **values
                )
            )

    @property
    def epochs_completed(self) -> float:
        """Epochs trained, fractional when the last one was cut short."""
        partial = 1 - self.batch / self.batches if self.partial_epoch else 0
        return max(0.0, len(self.history["loss"]) - partial)

    def _running(self) -> tuple[float, float]:
        return (self._loss_sum / self.batch, self._hits / self.batch) if self.batch else (math.nan, math.nan)
