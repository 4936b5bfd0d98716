"""Training jobs for the app's pages: each run a Dask task, watched from a light thread.

A :class:`TrainingJob` waits its turn in :data:`core.slots.SLOTS` (first
come, first served, as many at once as the cluster's workers can run),
submits :func:`core.remote.train_task` to the cluster of
:mod:`core.cluster` and records what the task reports; the page reads
:meth:`TrainingJob.snapshot` a few times a second and never blocks. The web
server's process only waits and listens: training happens in worker
processes, on this machine or others.

Given a ``train_fn``, a job instead calls it in its own thread, in this
process (tests use a fake); ``$DIGIT_STUDIO_IN_PROCESS_TRAINING=1`` makes every
job do so with ``core.training.train``, as before trainings ran on Dask (a
baseline for benchmarks, see :func:`core.slots.in_process_training`).

Nothing here imports streamlit, or TensorFlow at import time.
"""

from __future__ import annotations

import enum
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.config import TrainConfig
from core.progress import BatchUpdate, EpochUpdate, StopSignal, TrainResult
from core.slots import SLOTS, TrainingSlots, default_limit, in_process_training

__all__ = ["SLOTS", "JobState", "Snapshot", "TrainingJob", "TrainingSlots", "default_limit"]


class JobState(str, enum.Enum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """Whether the job has ended (for any reason)."""
        return self in (JobState.DONE, JobState.STOPPED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a job's progress, safe to read while it trains.

    Attributes:
        state: The job's state.
        config: What is being trained.
        queue_position: 1-based place in the queue while queued (0 once admitted, while the
            run is handed to a worker), else None.
        batches: Progress reports within epochs (one per group of batches).
        epochs: Per-epoch metrics so far.
        elapsed: Seconds since training (not queueing) started.
        eta: Estimated seconds left (None until known).
        error: A message for the user when the job failed.
        result: The training result once finished (None if it failed or was cancelled).
        running: Trainings running or being started now, this one included.
        limit: Trainings allowed at once (0 while no worker can take one).
        worker: The address of the Dask worker training this run, once it started.
    """

    state: JobState
    config: TrainConfig
    queue_position: int | None
    batches: tuple[BatchUpdate, ...]
    epochs: tuple[EpochUpdate, ...]
    elapsed: float
    eta: float | None
    error: str | None
    result: TrainResult | None
    running: int = 0
    limit: int = 0
    worker: str | None = None

    @property
    def latest(self) -> BatchUpdate | None:
        """The most recent batch report."""
        return self.batches[-1] if self.batches else None

    @property
    def fraction(self) -> float:
        """Fraction of the planned run done."""
        if self.state is JobState.DONE:
            return 1.0
        return self.latest.fraction if self.latest else 0.0


KEPT = "Your previous model is still in use."


def _friendly_error(exc: BaseException) -> str:
    from core.data import MnistUnavailableError

    if isinstance(exc, MnistUnavailableError):
        return str(exc)
    name, text = type(exc).__name__, str(exc)
    if isinstance(exc, MemoryError) or "ResourceExhausted" in name or "OOM" in text[:200]:
        return f"Training ran out of memory. Try a smaller batch size or training subset, or a narrower model. {KEPT}"
    if name in ("WorkerLost", "KilledWorker"):
        return (
            f"The worker process training this model stopped before the end ({text[:200]}); perhaps it ran "
            f"out of memory or was shut down. Press Train to try again. {KEPT}"
        )
    if isinstance(exc, ModuleNotFoundError) and exc.name in ("core", "core.remote"):
        return (
            "The training cluster's workers cannot import this project: start `dask worker` in the project's "
            f"folder with PYTHONPATH=. (see the README). {KEPT}"
        )
    if name == "CancelledError":
        return f"The training cluster dropped this run (its scheduler restarted or went away). {KEPT}"
    return f"Training failed ({name}: {text[:300]}). {KEPT}"


def _train_here(config: TrainConfig, **hooks: Any) -> TrainResult:
    from core.training import train  # TensorFlow, in this process: the in-process baseline only

    return train(config, **hooks)


class TrainingJob:
    """One training run: a Dask task on the cluster, or ``train_fn`` in a thread here.

    Args:
        config: What to train (validated on construction).
        slots: The queue limiting concurrent runs (default: the process-wide one).
        is_alive: Polled every few seconds while queued or training; when it
            returns False (the user's browser session is gone) the job stops.
        train_fn: Train in this process with this function instead of on the
            cluster (tests substitute a fake; ``core.training.train`` works too).
            Default: the cluster, or ``core.training.train`` here when
            :func:`core.slots.in_process_training` says so.
        data: Optional training data, passed to the task (or to ``train_fn``).
        finetune: A :class:`core.finetune.FineTune`: fine-tune its model on its drawings (mixed with
            MNIST) instead of training a fresh one; passed to the task (or to ``train_fn``).

    Attributes:
        id: A unique name for the run (its Dask key is ``digit-studio-train-<id>``).
        stop_signal: Set once a stop was asked for.
        abandoned: True once ``is_alive`` said the session was gone.
    """

    #: Seconds between liveness checks.
    ALIVE_EVERY = 2.0

    def __init__(
        self,
        config: TrainConfig,
        slots: TrainingSlots | None = None,
        is_alive: Callable[[], bool] | None = None,
        train_fn: Callable[..., TrainResult] | None = None,
        data: object | None = None,
        finetune: object | None = None,
    ) -> None:
        self.config = config.validate()
        self.id = uuid.uuid4().hex[:16]
        self.slots = slots or SLOTS
        self.is_alive = is_alive
        self.train_fn = train_fn if train_fn is not None or not in_process_training() else _train_here
        self.data = data
        self.finetune = finetune
        self.stop_signal = StopSignal()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._state = JobState.QUEUED
        self._batches: list[BatchUpdate] = []
        self._epochs: list[EpochUpdate] = []
        self._started: float | None = None
        self._ended: float | None = None
        self._error: str | None = None
        self._result: TrainResult | None = None
        self._worker: str | None = None
        self._last_alive_check = time.monotonic()
        self.abandoned = False
        target = self._run_here if self.train_fn is not None else self._run_on_cluster
        self._thread = threading.Thread(target=target, name=f"digit-studio-job-{self.id}", daemon=True)

    # -- control -------------------------------------------------------------

    def start(self) -> TrainingJob:
        """Start the job's thread; returns ``self``."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop training within one batch (or leave the queue if still waiting)."""
        self.stop_signal.set()
        self._wake.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; True if it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def state(self) -> JobState:
        """The current state."""
        with self._lock:
            return self._state

    # -- progress --------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """A consistent copy of the progress so far (cheap; call it freely)."""
        with self._lock:
            batches, epochs = tuple(self._batches), tuple(self._epochs)
            state, error, result, worker = self._state, self._error, self._result, self._worker
            started, ended = self._started, self._ended
        elapsed = 0.0 if started is None else (ended or time.monotonic()) - started
        eta = None
        if state is JobState.RUNNING and batches and batches[-1].fraction > 0.02:
            eta = elapsed / batches[-1].fraction * (1.0 - batches[-1].fraction)
        position = self.slots.position(self) if state is JobState.QUEUED else None
        return Snapshot(
            state,
            self.config,
            position,
            batches,
            epochs,
            elapsed,
            eta,
            error,
            result,
            running=self.slots.running,
            limit=self.slots.allowed,
            worker=worker,
        )

    def _alive(self) -> bool:
        now = time.monotonic()
        if self.is_alive is None or now - self._last_alive_check < self.ALIVE_EVERY:
            return True
        self._last_alive_check = now
        try:
            alive = bool(self.is_alive())
        except Exception:  # noqa: BLE001 - a broken check must not kill training
            alive = True
        if not alive:
            self.abandoned = True
            self.stop()
        return alive

    def cancelled(self) -> bool:
        """Whether the job should give up: a stop was asked for, or its session is gone (checked every few seconds)."""
        return self.stop_signal.is_set() or not self._alive()

    # -- hooks for what runs the training (this thread, or core.dispatch on the cluster) --

    def begin(self, worker: str | None = None) -> None:
        """Mark the queued run as started (on ``worker``, a Dask worker's address)."""
        with self._lock:
            if self._state is JobState.QUEUED:
                self._state, self._started, self._worker = JobState.RUNNING, time.monotonic(), worker

    def record_batch(self, update: BatchUpdate) -> None:
        """Keep a progress report from within an epoch."""
        with self._lock:
            self._batches.append(update)

    def record_epoch(self, update: EpochUpdate) -> None:
        """Keep an end-of-epoch report."""
        with self._lock:
            self._epochs.append(update)

    def _on_batch(self, update: BatchUpdate) -> None:
        self.record_batch(update)
        self._alive()

    def _finish(self, state: JobState, error: str | None = None, result: TrainResult | None = None) -> None:
        with self._lock:
            self._state, self._error, self._result = state, error, result
            self._ended = time.monotonic()

    def _finish_with(self, result: TrainResult) -> None:
        self._finish(JobState.STOPPED if result.stopped_early else JobState.DONE, result=result)
        if getattr(result, "model", None) is not None:
            from core.inference import warm_up  # TensorFlow: already loaded by whoever built the model

            try:  # compile inference now, after reporting, not on the Draw page's first stroke
                warm_up(result.model)
            except Exception:  # noqa: BLE001 - the Draw page would compile it anyway
                pass

    # -- in this process ---------------------------------------------------------

    def _run_here(self) -> None:
        assert self.train_fn is not None
        if not self.slots.acquire(self, cancelled=self.cancelled):
            self._finish(JobState.CANCELLED)
            return
        try:
            self.begin()
            extras = {"data": self.data, "finetune": self.finetune}
            kwargs = {name: value for name, value in extras.items() if value is not None}
            result = self.train_fn(
                self.config, on_batch=self._on_batch, on_epoch=self.record_epoch, stop=self.stop_signal, **kwargs
            )
        except BaseException as exc:  # noqa: BLE001 - report every failure to the page
            self.slots.release(self)
            self._finish(JobState.FAILED, error=_friendly_error(exc))
            return
        self.slots.release(self)
        self._finish_with(result)

    # -- on the cluster ----------------------------------------------------------

    def _run_on_cluster(self) -> None:
        from core.cluster import get_cluster
        from core.dispatch import ClusterRun

        try:
            cluster = get_cluster()
        except Exception as exc:  # noqa: BLE001 - no cluster, no run: say why
            self._finish(
                JobState.FAILED,
                error=f"Could not reach the training cluster ({type(exc).__name__}: {str(exc)[:200]}). {KEPT}",
            )
            return
        if not self.slots.acquire(self, cancelled=self.cancelled):
            self._finish(JobState.CANCELLED)
            return
        try:
            payload = ClusterRun(self, cluster, self._wake).run()
        except BaseException as exc:  # noqa: BLE001 - report every failure to the page
            self.slots.release(self)
            self._finish(JobState.FAILED, error=_friendly_error(exc))
            return
        self.slots.release(self)
        if payload is None:
            self._finish(JobState.CANCELLED)
            return
        from core.remote import unpack_result

        try:
            result = unpack_result(payload)
        except Exception as exc:  # noqa: BLE001 - e.g. a worker running other code
            self._finish(JobState.FAILED, error=_friendly_error(exc))
            return
        self._finish_with(result)
