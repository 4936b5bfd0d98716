"""The compiled training loop: :class:`BlockTrainer`, and the pool that keeps trainers for reuse.

One call of :meth:`BlockTrainer.train_block` trains a whole block of batches
inside the graph, so Python is not on the per-batch path. Idle trainers are
kept in :data:`trainer_pool` by the settings that shape their graph, so only
a process's first run of a kind pays for tracing the step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from core.optimizer import FusedAdam, LearningRate

__all__ = ["BlockTrainer", "TrainerPool", "copy_variables", "steps_per_execution_for", "trainer_pool"]


def steps_per_execution_for(arch: str, batch_size: int, width: int = 16, target_seconds: float = 0.1) -> int:
    """Batches per compiled call so that one call takes about ``target_seconds`` on a 2-core CPU.

    Big enough to take Python off the per-batch path, small enough that the
    progress arrives several times a second (faster hardware only makes the
    groups quicker).

    Args:
        arch: Architecture name.
        batch_size: Batch size.
        width: CNN width.
        target_seconds: Wanted duration of one group.

    Returns:
        An integer in [1, 128].
    """
    samples_per_second = 40000.0 if arch == "mlp" else 16000.0 * (16.0 / width) ** 2
    return int(np.clip(round(samples_per_second * target_seconds / batch_size), 1, 128))


class BlockTrainer:
    """Trains a model a block of batches per call, in one compiled graph loop.

    ``model.fit`` goes back to Python (and to its data pipeline) for every
    batch, or every few with ``steps_per_execution``; here one call of
    :meth:`train_block` loops over a whole (k, batch, 28, 28) block inside the
    graph (``tf.while_loop``). The loop checks :attr:`stop` before every
    batch, so a stop takes effect within one batch even mid-block.

    The step is traced once for any block and batch size, learning rate or
    schedule (see :class:`LearningRate`): :meth:`reset` loads a new starting
    point, so one trainer serves run after run without compiling again
    (compiling costs about half a second, as long as an epoch of the dense
    network).

    Each batch is split into ``parts`` whose forward and backward passes are
    independent until their gradients are added, so TensorFlow's inter-op
    threads compute them at once, one core each (``core.runtime``): for these
    small networks that uses the cores far better than splitting every
    operation. The update is the same as for the whole batch at once.

    Args:
        model: The model to train (its variables are updated in place).
        jit_compile: XLA-compile the step. On CPU XLA makes this loop several
            times slower, and it would read the stop flag only once per block.
        parts: Parts each batch is split into (1: the batch as a whole).
    """

    def __init__(self, model: keras.Model, jit_compile: bool = False, parts: int = 1) -> None:
        self.model = model
        self.parts = max(1, int(parts))
        self.schedule = LearningRate()
        self.optimizer = FusedAdam(self.schedule)
        self.optimizer.build(model.trainable_variables)
        self.stop = tf.Variable(False, trainable=False, name="stop")
        self._step = tf.function(
            self._train_block,
            jit_compile=jit_compile,
            input_signature=[tf.TensorSpec([None, None, 28, 28], tf.float32), tf.TensorSpec([None, None], tf.int32)],
        )

    def reset(self, start: keras.Model, learning_rate: float, decay_steps: int = 0, warmup_steps: int = 0) -> None:
        """Start over: weights (and dropout seeds) from ``start``, a fresh optimizer, no stop.

        Args:
            start: A model of the same architecture (e.g. freshly built with a seed).
            learning_rate: Adam's learning rate.
            decay_steps: Cosine decay over this many batches (0: constant rate).
            warmup_steps: Linear warm-up over this many batches first (0: none).
        """
        copy_variables(start, self.model)
        for variable in self.optimizer.variables:
            variable.assign(tf.zeros_like(variable))
        self.schedule.set(learning_rate, decay_steps, warmup_steps=warmup_steps)
        self.stop.assign(False)

    def train_block(self, x: tf.Tensor, y: tf.Tensor) -> tuple[int, float, float]:
        """Train on each batch of a block, in order, until the block ends or :attr:`stop` is set.

        Args:
            x: (k, batch, 28, 28) float32 images in [0, 1].
            y: (k, batch) int32 labels.

        Returns:
            ``(batches trained, sum of their losses, sum of their accuracies)``.
        """
        done, loss_sum, hits = self._step(x, y)
        return int(done), float(loss_sum), float(hits)

    def _train_block(self, xb: tf.Tensor, yb: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        blocks = tf.shape(xb)[0]
        variables = self.model.trainable_variables

        def more(i: tf.Tensor, loss_sum: tf.Tensor, hits: tf.Tensor) -> tf.Tensor:
            return tf.logical_and(i < blocks, tf.logical_not(self.stop))

        def step(i: tf.Tensor, loss_sum: tf.Tensor, hits: tf.Tensor) -> tuple[tf.Tensor, ...]:
            x, y = xb[i], yb[i]
            n = tf.shape(y)[0]
            parts = self.parts
            # Part sizes that add up to the batch (the last batch of an epoch may be smaller).
            sizes = (n + parts - 1 - tf.range(parts)) // parts
            with tf.GradientTape() as tape:
                losses, correct = [], []
                for xp, yp in zip(tf.split(x, sizes, num=parts), tf.split(y, sizes, num=parts), strict=True):
                    probabilities = self.model(xp, training=True)
                    losses.append(tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(yp, probabilities)))
                    correct.append(tf.equal(tf.argmax(probabilities, axis=1, output_type=tf.int32), yp))
                loss = tf.add_n(losses) / tf.cast(n, tf.float32)
            self.optimizer.apply(tape.gradient(loss, variables), variables)
            accuracy = tf.reduce_mean(tf.cast(tf.concat(correct, 0), tf.float32))
            return i + 1, loss_sum + loss, hits + accuracy

        return tf.while_loop(more, step, (tf.constant(0), tf.constant(0.0), tf.constant(0.0)))


def copy_variables(source: keras.Model, target: keras.Model) -> None:
    """Copy every variable (weights, batch-norm statistics, dropout seeds) between same-shaped models.

    Raises:
        ValueError: The models' variables do not match in number or shape.
    """
    theirs, mine = source.variables, target.variables
    if len(theirs) != len(mine) or any(a.shape != b.shape for a, b in zip(theirs, mine, strict=False)):
        raise ValueError(f"{source.name} and {target.name} do not have the same variables")
    for a, b in zip(theirs, mine, strict=False):
        b.assign(a)


class TrainerPool:
    """Idle :class:`BlockTrainer` objects by the settings that shape their graph.

    A run takes a trainer for its own exclusive use and gives it back when
    done, so later runs with the same architecture, width and dropout skip
    compiling. Bounded: a few trainers per setting, a few settings.
    """

    def __init__(self, per_key: int = 2, keys: int = 6) -> None:
        self.per_key, self.keys = per_key, keys
        self._idle: dict[tuple, list[BlockTrainer]] = {}
        self._lock = threading.Lock()

    def take(self, key: tuple, build: Callable[[], BlockTrainer]) -> BlockTrainer:
        """An idle trainer for ``key``, or a new one from ``build()``."""
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop()
        return build()

    def give(self, key: tuple, trainer: BlockTrainer) -> None:
        """Return a trainer after a run (dropped if the pool is full)."""
        with self._lock:
            idle = self._idle.pop(key, [])  # re-inserted last: most recently used
            if len(idle) < self.per_key:
                idle.append(trainer)
            self._idle[key] = idle
            while len(self._idle) > self.keys:
                self._idle.pop(next(iter(self._idle)))

    def idle(self) -> int:
        """How many trainers wait for a run (compiled, ready to reuse)."""
        with self._lock:
            return sum(len(trainers) for trainers in self._idle.values())

    def clear(self) -> None:
        """Forget every idle trainer."""
        with self._lock:
            self._idle.clear()


#: The process's idle trainers, shared by every run (see :func:`core.training.train`).
trainer_pool = TrainerPool()
