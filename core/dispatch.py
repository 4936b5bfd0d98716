"""Following one training on the Dask cluster, from submission to its result.

A :class:`ClusterRun` submits :func:`core.remote.train_task` for a job that
the queue has admitted, then, in the job's thread, waits for the first of:
the result, a stop, the job's session going away, or the loss of the
worker training it. Progress messages reach it on the client's event loop
(routed by :class:`core.cluster.Cluster`) and go straight into the job.

When a worker process dies mid-run Dask would quietly start the run again
on another worker (up to ``distributed.scheduler.allowed-failures`` times),
from scratch, while the page showed the old progress. A run is one
person's attempt: the job fails at once, with a message, and the user
presses Train again. The scheduler's ``remove-worker`` event says which
worker left; should it be missed, a second ``started`` message from the
same run says the same.

Nothing here imports TensorFlow or streamlit.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from distributed import Event

from core.cluster import Cluster
from core.remote import decode_update, portable, stop_event_name, train_task

if TYPE_CHECKING:
    from core.jobs import TrainingJob

__all__ = ["ClusterRun", "WorkerLost", "task_key"]


class WorkerLost(RuntimeError):
    """The worker process training a run went away before the run ended."""


def task_key(job: str) -> str:
    """The Dask key of job ``job``'s training task."""
    return f"digit-studio-train-{job}"


class ClusterRun:
    """Submits one job's training and follows it to the end.

    Args:
        job: The job (its ``id``, ``config``, ``data``, ``finetune``, ``stop_signal``, and the
            ``begin``/``record_batch``/``record_epoch``/``cancelled`` hooks).
        cluster: The connected cluster.
        wake: Set by anyone with news for the job's thread (the job's ``stop()`` does).
    """

    #: Seconds between checks, at most (a stop, the result or a lost worker wake the thread at once).
    POLL = 0.25

    def __init__(self, job: TrainingJob, cluster: Cluster, wake: threading.Event) -> None:
        self.job, self.cluster, self.wake = job, cluster, wake
        self.key = task_key(job.id)
        self.worker: str | None = None
        self.lost: str | None = None
        self._lock = threading.Lock()

    def run(self) -> dict | None:
        """Train on the cluster.

        Returns:
            The task's :func:`core.remote.pack_result` payload, or None if the
            job was stopped before a worker started it.

        Raises:
            WorkerLost: The worker died (or left) mid-run.
            Exception: Whatever the task raised (re-raised from the worker).
        """
        self.cluster.watch(self.job.id, self._on_message, self._on_worker_lost)
        try:
            return self._follow()
        finally:
            self.cluster.unwatch(self.job.id)

    def _follow(self) -> dict | None:
        client = self.cluster.client
        stop = Event(stop_event_name(self.job.id), client=client)
        # Data and a fine-tune's model and drawings go to the cluster as data, not inside the task graph.
        data, finetune = (
            client.scatter([extra], hash=False)[0] if extra is not None else None
            for extra in (self.job.data, getattr(self.job, "finetune", None))
        )
        future = client.submit(
            portable(train_task),
            self.job.id,
            self.job.config.to_dict(),
            data,
            finetune,
            key=self.key,
            pure=False,
            resources=self.cluster.task_resources(),
        )
        future.add_done_callback(lambda _: self.wake.set())
        stop_sent = False
        try:
            while not future.done():
                self._check_worker()
                if self.job.cancelled() and not stop_sent:
                    stop.set()  # the task's watcher turns this into the trainer's stop flag
                    stop_sent = True
                if stop_sent and self.worker is None:
                    future.cancel()  # not started: nothing to keep (should it start now, it stops at once)
                    return None
                self.wake.wait(self.POLL)
                self.wake.clear()
            self._check_worker()
            payload = future.result()
        except BaseException:
            # Left set: a retry Dask may already have started elsewhere ends at its first batch.
            stop.set()
            future.cancel()
            raise
        if stop_sent:
            try:
                stop.clear()  # the scheduler forgets a cleared event once nobody waits on it
            except Exception:  # noqa: BLE001 - the scheduler is gone, and the event with it
                pass
        return payload

    def _check_worker(self) -> None:
        if self.lost is not None:
            raise WorkerLost(f"worker {self.lost} left the cluster")

    # -- on the client's event loop: quick, never blocking --------------------------------

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("kind")
        if kind == "started":
            with self._lock:
                first = self.worker is None
                if first:
                    self.worker = str(message.get("worker"))
                else:
                    self.lost = self.worker  # Dask started the run again: its first worker died
            if first:
                self.job.begin(self.worker)
            self.wake.set()
        elif kind in ("batch", "epoch") and self.worker is not None and self.lost is None:
            update = decode_update(message)
            (self.job.record_batch if kind == "batch" else self.job.record_epoch)(update)

    def _on_worker_lost(self, worker: str, keys: list) -> None:
        with self._lock:
            if self.worker is not None and worker == self.worker:
                self.lost = worker
        self.wake.set()
