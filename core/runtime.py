"""TensorFlow process settings for Digit Studio.

TensorFlow's thread pools are process-wide and fixed once the first operation
runs, so they are set here, right after TensorFlow is imported.

The app leaves one CPU core for the web server: TensorFlow gets ``cores - 1``
intra-op and inter-op threads (one each on a 2-core machine). Besides keeping
the Draw page responsive while someone trains, this makes the small networks
of this app train faster: their operations are too small to gain from being
split across threads, and with two inter-op threads the ~150 small operations
of a training step bounce between cores (the dense network's step is about 20%
faster with one; ``python -m bench.training`` measures it).
``DIGIT_STUDIO_TF_THREADS`` overrides the count (0 = TensorFlow's defaults:
all cores).
"""

from __future__ import annotations

import os

__all__ = ["configure_tensorflow", "default_threads"]

_configured: int | None = None


def default_threads() -> int:
    """Intra- and inter-op threads to use: ``$DIGIT_STUDIO_TF_THREADS`` or one less than the cores (at least 1)."""
    raw = os.environ.get("DIGIT_STUDIO_TF_THREADS", "")
    try:
        return max(0, int(raw))
    except ValueError:
        return max(1, (os.cpu_count() or 2) - 1)


def configure_tensorflow() -> int:
    """Apply the thread setting once per process (later calls are no-ops).

    Returns:
        The thread count in force for each pool (0 = TensorFlow's defaults).
    """
    global _configured
    if _configured is not None:
        return _configured
    import tensorflow as tf

    threads = default_threads()
    try:
        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already ran an operation: keep what it has
        threads = tf.config.threading.get_intra_op_parallelism_threads()
    _configured = threads
    return threads
