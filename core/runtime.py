"""TensorFlow process settings for Digit Studio: how a process spreads its work over the cores.

TensorFlow's thread pools are process-wide and fixed once the first operation
runs, so they are set here, right after TensorFlow is imported.

The networks trained here are small: one convolution on a batch of 64 digits
is too little work to split across threads (``intra-op`` parallelism gains
little and bounces short operations between cores). So each operation runs on
one thread, and a process uses its ``N`` cores by running ``N`` independent
operations at once (``inter-op`` threads): the trainer splits each CNN batch
into ``N`` parts whose forward and backward passes are independent until
their gradients are added (:func:`training_parts`, ``core.trainer``). On a
2-core CPU that trains the default run 1.4× faster than one thread, where
splitting every convolution over two threads gained under 15%
(``python -m bench.recipes``).

``DIGIT_STUDIO_TF_THREADS=N`` sets ``N`` (0: TensorFlow's own defaults, as
``python -m core.train`` uses); by default it is every core, and the app's
local Dask workers each get their share of the cores (``core.cluster``),
running at a lower CPU priority than the web server so drawing stays quick
while someone trains (:func:`lower_priority`). With the benchmarks' in-process
baseline (``DIGIT_STUDIO_IN_PROCESS_TRAINING``) the web server trains itself,
as before trainings moved to Dask, and keeps its old setting: one core less
than the machine has.
"""

from __future__ import annotations

import os

__all__ = ["configure_tensorflow", "default_threads", "lower_priority", "training_parts"]

_configured: int | None = None
#: Niceness of training worker processes (``$DIGIT_STUDIO_WORKER_NICE``): the web server runs at 0.
WORKER_NICE = 10


def default_threads() -> int:
    """Threads to use: ``$DIGIT_STUDIO_TF_THREADS``, else every core (one less when the web server trains itself)."""
    raw = os.environ.get("DIGIT_STUDIO_TF_THREADS", "")
    try:
        return max(0, int(raw))
    except ValueError:
        from core.slots import in_process_training

        cores = os.cpu_count() or 2
        return max(1, cores - 1) if in_process_training() else cores


def configure_tensorflow() -> int:
    """Apply the thread setting once per process (later calls are no-ops).

    Returns:
        The thread count in force (0 = TensorFlow's defaults): inter-op threads,
        each operation running on one.
    """
    global _configured
    if _configured is not None:
        return _configured
    import tensorflow as tf

    threads = default_threads()
    try:
        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already ran an operation: keep what it has
        threads = tf.config.threading.get_inter_op_parallelism_threads()
    _configured = threads
    return threads


def training_parts() -> int:
    """Parts a training batch is split into, computed at once: the threads in force (every core for TF's defaults)."""
    return configure_tensorflow() or (os.cpu_count() or 1)


def lower_priority() -> int:
    """Lower this process's CPU priority to ``$DIGIT_STUDIO_WORKER_NICE`` (default 10): a training worker's.

    On Linux a niceness belongs to each thread (and new threads inherit their
    creator's), so every thread of the process is lowered, the Dask worker's
    own included. Never raises a priority; a no-op where nice is unavailable.

    Returns:
        The calling thread's niceness now.
    """
    try:
        target = min(19, max(0, int(os.environ.get("DIGIT_STUDIO_WORKER_NICE", WORKER_NICE))))
    except ValueError:
        target = WORKER_NICE
    try:
        tasks = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tasks = [0]
    for tid in tasks:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < target:
                os.setpriority(os.PRIO_PROCESS, tid, target)
        except (AttributeError, OSError):  # no such call here, a thread that ended, or not allowed
            continue
    try:
        return os.getpriority(os.PRIO_PROCESS, 0)
    except (AttributeError, OSError):
        return 0
