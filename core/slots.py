"""The app's training queue: first come, first served, as many at once as the cluster can run.

Dask itself would accept every training at once and hold the surplus in
the queues of the workers it assigned them to, on submission: a run could
wait there behind a long one while another worker falls idle, and nothing
would tell its user where they stand. So the app's server holds the queue
instead: a job is submitted only when a :class:`TrainingSlots` admits it,
in arrival order, while fewer trainings run than the cluster's workers can
take (:func:`core.cluster.capacity`, which follows workers as they join and
leave), and the page shows the job's place in the line. Placing the
trainings, and running no more of them on a worker than it declares, stays
Dask's job (worker resources, see :mod:`core.cluster`).

Nothing here imports TensorFlow or streamlit.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable

__all__ = ["SLOTS", "TrainingSlots", "default_limit", "in_process_training", "pinned_limit"]


def in_process_training() -> bool:
    """Whether ``$DIGIT_STUDIO_IN_PROCESS_TRAINING`` (``1``) asks for trainings in this process: a baseline.

    For benchmarks only (``python -m bench.workshop --series``): trainings run in a
    thread of the web server's own process, as they did before they ran on Dask,
    half the cores at once, and no cluster is started.
    """
    return os.environ.get("DIGIT_STUDIO_IN_PROCESS_TRAINING", "").strip().lower() in ("1", "true", "yes", "on")


def pinned_limit() -> int | None:
    """``$DIGIT_STUDIO_MAX_TRAININGS`` (at least 1) when set to a number, else ``None``."""
    try:
        return max(1, int(os.environ["DIGIT_STUDIO_MAX_TRAININGS"]))
    except (KeyError, ValueError):
        return None


def default_limit() -> int:
    """Trainings at once without a cluster to ask: ``$DIGIT_STUDIO_MAX_TRAININGS`` or half the cores (at least 1)."""
    pinned = pinned_limit()
    return pinned if pinned is not None else max(1, (os.cpu_count() or 2) // 2)


class TrainingSlots:
    """A first-come-first-served limit on how many trainings run at once.

    Args:
        limit: Trainings allowed at once; ``None`` follows ``capacity``.
        capacity: Called (often, so it must be quick) for the limit when none is pinned.

    Attributes:
        limit: The pinned limit, or ``None``. Set it to pin another (tests do).
    """

    def __init__(self, limit: int | None = None, capacity: Callable[[], int] | None = None) -> None:
        self.limit: int | None = None if limit is None else max(1, limit)
        self.capacity = capacity or default_limit
        self._cond = threading.Condition()
        self._running: set[object] = set()
        self._waiting: deque[object] = deque()

    @property
    def allowed(self) -> int:
        """Trainings allowed at once now: the pinned limit, else the capacity (0: none can run yet)."""
        if self.limit is not None:
            return self.limit
        try:
            return max(0, int(self.capacity()))
        except Exception:  # noqa: BLE001 - a failing count admits nobody new, and says so
            return 0

    def acquire(self, ticket: object, cancelled: Callable[[], bool] = lambda: False, poll: float = 0.1) -> bool:
        """Wait for a free slot in arrival order.

        Args:
            ticket: Any object identifying the caller.
            cancelled: Polled while waiting; when it returns True the caller leaves the queue.
            poll: Seconds between checks of ``cancelled`` (and of a changing capacity).

        Returns:
            True once admitted, False if cancelled while waiting.
        """
        with self._cond:
            self._waiting.append(ticket)
            try:
                while not (self._waiting[0] is ticket and len(self._running) < self.allowed):
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
        """0 when ``ticket`` holds a slot, n >= 1 for n-th in the queue, None otherwise."""
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


def _cluster_capacity() -> int:
    if in_process_training():
        return default_limit()
    from core.cluster import capacity

    return capacity()


#: The process-wide queue of the app's trainings.
SLOTS = TrainingSlots(pinned_limit(), capacity=_cluster_capacity)
