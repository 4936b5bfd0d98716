"""The Dask cluster that runs trainings: one client per process, a local cluster by default.

:func:`get_cluster` connects this process to the cluster once and keeps the
connection: to the scheduler named by ``$DASK_SCHEDULER_ADDRESS`` (Dask's own
``scheduler-address`` setting) when there is one, otherwise to a
:class:`distributed.LocalCluster` it starts on 127.0.0.1 with
``$DIGIT_STUDIO_WORKERS`` worker processes of ``$DIGIT_STUDIO_WORKER_THREADS``
threads each, and no dashboard. Worker processes live as long as the
cluster, so each keeps its compiled training steps and its copy of MNIST
from one run to the next.

Every worker that takes trainings declares the :data:`RESOURCE` resource
(``dask worker ADDRESS --resources training=1``; the local cluster gives
each worker one per thread) and every training asks for one unit, so a
worker never runs more trainings at once than it declares. The sum over
the workers is the cluster's :meth:`Cluster.capacity`, kept up to date as
workers come and go. On a cluster where no worker declares it (plain
``dask worker ADDRESS``), trainings ask for nothing and the capacity is one
training per worker, rather than a queue that never moves.

A :class:`Cluster` also routes what the scheduler tells its client: the
progress events of each training (see :mod:`core.remote`) go to the job
that registered for them, and the loss of a worker goes to every job, so
a job whose worker died can fail at once instead of being retried behind
the user's back.

Nothing here imports TensorFlow or streamlit.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

import dask.config
from distributed import Client, LocalCluster, fire_and_forget

from core.cluster_settings import (
    WORKER_DASK_CONFIG,
    local_threads,
    local_workers,
    scheduler_address,
    worker_tf_threads,
)

__all__ = [
    "PROGRESS_TOPIC",
    "RESOURCE",
    "Cluster",
    "capacity",
    "get_cluster",
    "local_threads",
    "local_workers",
    "scheduler_address",
    "shutdown",
    "start_in_background",
    "worker_tf_threads",
]

logger = logging.getLogger(__name__)

#: The worker resource a training needs one unit of.
RESOURCE = "training"
#: The event topic on which trainings report progress (one for all jobs: the scheduler keeps every topic forever).
PROGRESS_TOPIC = "digit-studio-progress"
#: Seconds between capacity refreshes besides those triggered by workers joining or leaving.
REFRESH_EVERY = 5.0
#: Seconds to wait for a scheduler to answer, and for a local cluster's workers to start.
CONNECT_TIMEOUT = 60.0


class Cluster:
    """A client connected to the training cluster, and the local cluster behind it if this process started one.

    Args:
        address: A scheduler's address; ``None`` starts a local cluster.
        workers: Worker processes of a local cluster (default :func:`local_workers`).
        threads: Threads (and :data:`RESOURCE` units) per local worker (default :func:`local_threads`).
    """

    def __init__(self, address: str | None = None, workers: int | None = None, threads: int | None = None) -> None:
        self.address = address
        self.local: LocalCluster | None = None
        self._calibrations: list[Any] = []
        if address is None:
            workers, threads = workers or local_workers(), threads or local_threads()
            env = {
                "DIGIT_STUDIO_TF_THREADS": str(worker_tf_threads(workers, threads)),
                "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
            }
            # No dashboard; the scheduler's small HTTP server (health, JSON) on a free port of 127.0.0.1, not 8787.
            # The nannies read their environment settings when they are made, here (and keep them for restarts).
            with dask.config.set(WORKER_DASK_CONFIG):
                self.local = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=threads,
                    processes=True,
                    host="127.0.0.1",
                    scheduler_port=0,
                    dashboard_address=None,
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    resources={RESOURCE: threads},
                    env=env,
                    silence_logs=logging.ERROR,
                )
            address = self.local.scheduler_address
        self._jobs: dict[str, Callable[[dict], None]] = {}
        self._lost: dict[str, Callable[[str, list], None]] = {}
        self._lock = threading.Lock()
        self._capacity = 0
        self._declared = True  # whether trainings ask for RESOURCE (False: no worker declares it)
        self._warned = False
        self.client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        self.client.subscribe_topic(PROGRESS_TOPIC, self._on_progress)
        self.client.subscribe_topic("all", self._on_scheduler_event)
        if self.local is not None:
            self.client.wait_for_workers(len(self.local.workers), timeout=CONNECT_TIMEOUT)
        self._count(self.client.scheduler_info(n_workers=-1))
        loop = self.client.loop
        assert loop is not None  # a synchronous client runs its own event loop
        self.loop = loop
        self.loop.add_callback(self._refresh_every, REFRESH_EVERY)

    @property
    def scheduler(self) -> str:
        """The scheduler's address."""
        return self.client.scheduler.address

    @property
    def running(self) -> bool:
        """Whether the client is still connected (or reconnecting)."""
        return self.client.status in ("running", "connecting")

    def capacity(self) -> int:
        """Trainings the cluster's workers can run at once (cached; never blocks)."""
        return self._capacity

    def task_resources(self) -> dict[str, int] | None:
        """What a training asks of its worker: one :data:`RESOURCE` unit, or nothing when no worker declares any."""
        return {RESOURCE: 1} if self._declared else None

    # -- routing -----------------------------------------------------------------------------

    def watch(self, job: str, on_event: Callable[[dict], None], on_worker_lost: Callable[[str, list], None]) -> None:
        """Send ``job``'s progress messages to ``on_event`` and every lost worker to ``on_worker_lost``.

        Both run on the client's event loop thread: they must be quick and must not block.
        ``on_worker_lost`` gets the worker's address and the keys it was processing.
        """
        with self._lock:
            self._jobs[job], self._lost[job] = on_event, on_worker_lost

    def unwatch(self, job: str) -> None:
        """Stop routing messages for ``job``."""
        with self._lock:
            self._jobs.pop(job, None)
            self._lost.pop(job, None)

    def _on_progress(self, event: tuple[float, Any]) -> None:
        message = event[1]
        with self._lock:
            handler = self._jobs.get(str(message.get("job"))) if isinstance(message, dict) else None
        if handler is not None:
            handler(message)

    def _on_scheduler_event(self, event: tuple[float, Any]) -> None:
        message = event[1]
        action = message.get("action") if isinstance(message, dict) else None
        if action == "remove-worker":
            with self._lock:
                handlers = list(self._lost.values())
            for handler in handlers:
                handler(str(message.get("worker")), list(message.get("processing-tasks") or ()))
        if action in ("add-worker", "remove-worker"):
            # The scheduler logs add-worker before it has registered the worker's resources.
            self.loop.call_later(0.5, self._refresh)

    # -- capacity ----------------------------------------------------------------------------

    def _count(self, info: dict) -> None:
        """Set the capacity from the scheduler's ``identity``: the declared units, else one per worker."""
        workers = list(info.get("workers", {}).values())
        declared = int(sum(w.get("resources", {}).get(RESOURCE, 0) for w in workers))
        self._declared = declared > 0 or not workers
        self._capacity = declared or len(workers)
        if not self._declared and not self._warned:
            self._warned = True
            logger.warning(
                "No worker of the cluster at %s declares --resources %s=N: each worker takes one training "
                "at a time. Start workers with `dask worker ADDRESS --resources %s=1` to choose.",
                self.address,
                RESOURCE,
                RESOURCE,
            )

    async def _refresh(self) -> None:
        try:
            self._count(await self.client.scheduler.identity(n_workers=-1))
        except Exception:  # noqa: BLE001 - keep the last count while the scheduler is unreachable
            pass

    async def _refresh_every(self, seconds: float) -> None:
        while self.client.status in ("running", "connecting", "newly-created"):
            await asyncio.sleep(seconds)
            await self._refresh()

    def warm_workers(self) -> None:
        """Have every worker import TensorFlow, load MNIST and time a short run now, in tasks of their own.

        Its first training then starts at once (a worker joining later warms up with its
        first training), and each timing tells the Train page's estimates this machine's
        speed (:mod:`core.estimate`).
        """
        from core.remote import calibrate_worker, portable, warm_up_worker

        for address in self.client.scheduler_info(n_workers=-1).get("workers", {}):
            for task in (warm_up_worker, calibrate_worker):
                future = self.client.submit(
                    portable(task),
                    key=f"digit-studio-{task.__name__.replace('_', '-')}-{uuid.uuid4().hex}",
                    workers=[address],
                    allow_other_workers=False,
                    pure=False,
                )
                if task is calibrate_worker:
                    future.add_done_callback(_calibrated)
                    self._calibrations.append(future)  # a future nobody holds is cancelled
                else:
                    fire_and_forget(future)

    def close(self) -> None:
        """Disconnect, and stop the local cluster's workers if this process started them."""
        try:
            for topic in (PROGRESS_TOPIC, "all"):  # or the scheduler reports this client's own exit to it
                self.client.unsubscribe_topic(topic)
            self.client.close(timeout=10)
        finally:
            if self.local is not None:
                self.local.close(timeout=30)


def _calibrated(future: Any) -> None:
    """Give a worker's calibration run to the Train page's estimator."""
    try:
        timing = future.result()
    except Exception:  # noqa: BLE001 - a worker that could not calibrate: the estimates keep the reference speed
        logger.info("A worker's calibration run failed", exc_info=True)
        return
    if timing:
        from core.config import TrainConfig
        from core.estimate import estimator

        estimator.calibrate(TrainConfig(**timing["config"]), timing["seconds"])


_cluster: Cluster | None = None
_cluster_lock = threading.Lock()


def get_cluster() -> Cluster:
    """This process's :class:`Cluster`, connected (or started) on first use.

    A new connection is made when the wanted scheduler changed (``$DASK_SCHEDULER_ADDRESS``
    set or unset since) or the old one was closed.

    Raises:
        OSError: The scheduler cannot be reached (or the local cluster did not start) in time.
    """
    global _cluster
    with _cluster_lock:
        wanted = scheduler_address()
        if _cluster is not None and (_cluster.address != wanted or not _cluster.running):
            _close_quietly(_cluster)
            _cluster = None
        if _cluster is None:
            _cluster = Cluster(wanted)
            try:
                _cluster.warm_workers()
            except Exception:  # noqa: BLE001 - only a head start: trainings warm their workers anyway
                logger.info("Could not warm the workers up", exc_info=True)
        return _cluster


_starter: threading.Thread | None = None
_starter_lock = threading.Lock()


def start_in_background() -> None:
    """Connect to the cluster (starting the local one) in a thread of its own, once per process.

    The app calls it on every page view, so the workers are up, with TensorFlow imported,
    by the time someone presses Train. Errors are left for the first training to report.
    Nothing is started when trainings run in this process (:func:`core.slots.in_process_training`).
    """
    global _starter
    from core.slots import in_process_training

    with _starter_lock:
        if _starter is not None or in_process_training():
            return
        _starter = threading.Thread(target=_start_quietly, name="digit-studio-cluster-start", daemon=True)
        _starter.start()


def _start_quietly() -> None:
    try:
        get_cluster()
    except Exception:  # noqa: BLE001 - the first training will say what is wrong
        logger.warning("Could not start or reach the training cluster", exc_info=True)


def capacity() -> int:
    """Trainings the cluster can run at once, without connecting.

    Before any connection: what the local cluster would offer, or 0 when a scheduler
    address is set (its workers are unknown until connected).
    """
    current = _cluster
    if current is not None and current.running:
        return current.capacity()
    return 0 if scheduler_address() else local_workers() * local_threads()


def _close_quietly(cluster: Cluster) -> None:
    try:
        cluster.close()
    except Exception:  # noqa: BLE001 - closing what is already gone
        pass


def shutdown() -> None:
    """Close this process's connection and any local cluster it started (also run at exit)."""
    global _cluster, _starter
    with _cluster_lock:
        if _cluster is not None:
            _close_quietly(_cluster)
            _cluster = None
        _starter = None  # the next page view starts it again


atexit.register(shutdown)
