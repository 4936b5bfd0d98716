"""Settings of the training cluster, from the environment: which scheduler, how many local workers and threads.

Nothing here imports TensorFlow, streamlit or a Dask client.
"""

from __future__ import annotations

import os

import dask

__all__ = ["local_threads", "local_workers", "scheduler_address", "worker_tf_threads"]


#: Dask's nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (``distributed.nanny.pre-spawn-environ``,
#: distributed 2026.8) so that idle workers hand freed memory back to the system at once. A training frees
#: and reallocates its tensors at every batch, and with that threshold the default run took about 1.5× as
#: long as in a plain process (``python -m bench.estimate``). The local cluster's workers start without it;
#: ``dask worker`` gets the same through Dask's own setting :data:`WORKER_ENVIRON_VARIABLE` (README).
WORKER_DASK_CONFIG: dict[str, None] = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
#: The environment variable form of :data:`WORKER_DASK_CONFIG`, for ``dask worker``.
WORKER_ENVIRON_VARIABLE = ("DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON", "{'MALLOC_TRIM_THRESHOLD_': None}")
#: A trim threshold below this many bytes slows training down (see :data:`WORKER_DASK_CONFIG`).
SLOW_TRIM_THRESHOLD = 64 * 2**20


def _int_env(name: str, default: int, low: int = 1) -> int:
    try:
        return max(low, int(os.environ[name]))
    except (KeyError, ValueError):
        return default


def local_workers() -> int:
    """Worker processes of the local cluster: ``$DIGIT_STUDIO_WORKERS`` or half the cores (at least 1)."""
    return _int_env("DIGIT_STUDIO_WORKERS", max(1, (os.cpu_count() or 2) // 2))


def local_threads() -> int:
    """Trainings each local worker runs at once: ``$DIGIT_STUDIO_WORKER_THREADS`` or 1."""
    return _int_env("DIGIT_STUDIO_WORKER_THREADS", 1)


def worker_tf_threads(workers: int, threads: int) -> int:
    """TensorFlow threads per local worker: the machine's cores, shared out (at least 1).

    Workers train at a lower CPU priority than the web server (``core.runtime.lower_priority``),
    so they take every core the server leaves idle and give one back the moment it needs it.
    ``$DIGIT_STUDIO_TF_THREADS``, when set, applies to the workers as to the server.
    """
    return _int_env("DIGIT_STUDIO_TF_THREADS", max(1, (os.cpu_count() or 2) // max(1, workers * threads)), 0)


def scheduler_address() -> str | None:
    """The scheduler to use: ``$DASK_SCHEDULER_ADDRESS`` as it is now, else Dask's ``scheduler-address`` setting."""
    return os.environ.get("DASK_SCHEDULER_ADDRESS") or dask.config.get("scheduler-address", None) or None


def slow_memory_trimming() -> bool:
    """Whether this process was started with a small ``MALLOC_TRIM_THRESHOLD_`` (as Dask's nanny does by default)."""
    try:
        return int(os.environ["MALLOC_TRIM_THRESHOLD_"]) < SLOW_TRIM_THRESHOLD
    except (KeyError, ValueError):
        return False
