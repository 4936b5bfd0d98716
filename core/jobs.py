"""Background training jobs for the app: a worker thread per run and a shared queue.

A :class:`TrainingJob` runs :func:`core.training.train` in its own thread and
records progress; the page reads :meth:`TrainingJob.snapshot` a few times a
second and never blocks. :data:`SLOTS`, a process-wide
:class:`TrainingSlots`, caps how many trainings run at once (default: half
the CPU cores, at least one; ``DIGIT_STUDIO_MAX_TRAININGS`` overrides), so
a room full of people pressing Train on a small machine queue up first come,
first served, and each sees their place in the queue.

Nothing here imports streamlit.
"""

from __future__ import annotations

import enum
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from core.inference import warm_up
from core.training import BatchUpdate, EpochUpdate, StopSignal, TrainConfig, TrainResult, train

__all__ = ["JobState", "Snapshot", "TrainingJob", "TrainingSlots", "SLOTS", "default_limit"]


def default_limit() -> int:
    """Concurrent trainings allowed: ``$DIGIT_STUDIO_MAX_TRAININGS`` or half the cores (at least 1)."""
    try:
        return max(1, int(os.environ["DIGIT_STUDIO_MAX_TRAININGS"]))
    except (KeyError, ValueError):
        return max(1, (os.cpu_count() or 2) // 2)


class TrainingSlots:
    """A first-come-first-served limit on how many trainings run at once.

    Args:
        limit: Trainings allowed to run concurrently.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._cond = threading.Condition()
        self._running: set[object] = set()
        self._waiting: deque[object] = deque()

    def acquire(self, ticket: object, cancelled: Callable[[], bool] = lambda: False, poll: float = 0.1) -> bool:
        """Wait for a free slot in arrival order.

        Args:
            ticket: Any object identifying the caller.
            cancelled: Polled while waiting; when it returns True the caller leaves the queue.
            poll: Seconds between checks of ``cancelled``.

        Returns:
            True once admitted, False if cancelled while waiting.
        """
        with self._cond:
            self._waiting.append(ticket)
            try:
                while not (self._waiting[0] is ticket and len(self._running) < self.limit):
                    if cancelled():
                        return False
                    self._cond.wait(poll)
                self._running.add(ticket)
                return True
            finally:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._cond.notify_all()

    def release(self, ticket: object) -> None:
        """Give back the slot held by ``ticket`` (no-op if it holds none)."""
        with self._cond:
            self._running.discard(ticket)
            self._cond.notify_all()

    def position(self, ticket: object) -> int | None:
        """0 when ``ticket`` is running, n >= 1 for n-th in the queue, None otherwise."""
        with self._cond:
            if ticket in self._running:
                return 0
            try:
                return self._waiting.index(ticket) + 1
            except ValueError:
                return None

    @property
    def running(self) -> int:
        """How many trainings hold a slot now."""
        with self._cond:
            return len(self._running)

    @property
    def waiting(self) -> int:
        """How many trainings are queued."""
        with self._cond:
            return len(self._waiting)


SLOTS = TrainingSlots(default_limit())


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
        queue_position: 1-based place in the queue while queued, else None.
        batches: Progress reports within epochs (one per group of batches).
        epochs: Per-epoch metrics so far.
        elapsed: Seconds since training (not queueing) started.
        eta: Estimated seconds left (None until known).
        error: A message for the user when the job failed.
        result: The training result once finished (None if it failed or was cancelled).
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


def _friendly_error(exc: BaseException) -> str:
    from core.data import MnistUnavailableError

    if isinstance(exc, MnistUnavailableError):
        return str(exc)
    name = type(exc).__name__
    if isinstance(exc, MemoryError) or "ResourceExhausted" in name or "OOM" in str(exc)[:200]:
        return ("Training ran out of memory. Try a smaller batch size or training subset, "
                "or a narrower model. Your previous model is still in use.")
    return f"Training failed ({name}: {str(exc)[:300]}). Your previous model is still in use."


class TrainingJob:
    """One training run in a background thread.

    Args:
        config: What to train (validated on construction).
        slots: The queue limiting concurrent runs (default: the process-wide one).
        is_alive: Polled every few seconds while queued or training; when it
            returns False (the user's browser session is gone) the job stops.
        train_fn: The training function (tests substitute a fake).
        data: Optional training data passed through to ``train_fn``.
    """

    #: Seconds between liveness checks.
    ALIVE_EVERY = 2.0

    def __init__(self, config: TrainConfig, slots: TrainingSlots | None = None,
                 is_alive: Callable[[], bool] | None = None,
                 train_fn: Callable[..., TrainResult] = train, data: object | None = None) -> None:
        self.config = config.validate()
        self.slots = slots or SLOTS
        self.is_alive = is_alive
        self.train_fn = train_fn
        self.data = data
        self.stop_signal = StopSignal()
        self._lock = threading.Lock()
        self._state = JobState.QUEUED
        self._batches: list[BatchUpdate] = []
        self._epochs: list[EpochUpdate] = []
        self._started: float | None = None
        self._ended: float | None = None
        self._error: str | None = None
        self._result: TrainResult | None = None
        self._last_alive_check = time.monotonic()
        self.abandoned = False
        self._thread = threading.Thread(target=self._run, name="digit-studio-training", daemon=True)

    # -- control -------------------------------------------------------------

    def start(self) -> "TrainingJob":
        """Start the worker thread; returns ``self``."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop training within one batch (or leave the queue if still waiting)."""
        self.stop_signal.set()

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
            state, error, result = self._state, self._error, self._result
            started, ended = self._started, self._ended
        elapsed = 0.0 if started is None else (ended or time.monotonic()) - started
        eta = None
        if state is JobState.RUNNING and batches and batches[-1].fraction > 0.02:
            eta = elapsed / batches[-1].fraction * (1.0 - batches[-1].fraction)
        position = self.slots.position(self) if state is JobState.QUEUED else None
        return Snapshot(state, self.config, position, batches, epochs, elapsed, eta, error, result)

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
            self.stop_signal.set()
        return alive

    def _on_batch(self, update: BatchUpdate) -> None:
        with self._lock:
            self._batches.append(update)
        self._alive()

    def _on_epoch(self, update: EpochUpdate) -> None:
        with self._lock:
            self._epochs.append(update)

    def _finish(self, state: JobState, error: str | None = None, result: TrainResult | None = None) -> None:
        with self._lock:
            self._state, self._error, self._result = state, error, result
            self._ended = time.monotonic()

    def _run(self) -> None:
        admitted = self.slots.acquire(self, cancelled=lambda: self.stop_signal.is_set() or not self._alive())
        if not admitted:
            self._finish(JobState.CANCELLED)
            return
        result = None
        try:
            with self._lock:
                self._state, self._started = JobState.RUNNING, time.monotonic()
            kwargs = {"data": self.data} if self.data is not None else {}
            result = self.train_fn(self.config, on_batch=self._on_batch, on_epoch=self._on_epoch,
                                   stop=self.stop_signal, **kwargs)
            self._finish(JobState.STOPPED if result.stopped_early else JobState.DONE, result=result)
        except BaseException as exc:  # noqa: BLE001 - report every failure to the page
            self._finish(JobState.FAILED, error=_friendly_error(exc))
        finally:
            self.slots.release(self)
        if result is not None and getattr(result, "model", None) is not None:
            try:  # compile inference now, after reporting, not on the Draw page's first stroke
                warm_up(result.model)
            except Exception:  # noqa: BLE001 - the Draw page would compile it anyway
                pass
