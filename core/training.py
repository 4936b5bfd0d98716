"""Train digit classifiers fast, with live progress hooks and a stop that works.

:func:`train` feeds an in-memory ``tf.data`` pipeline (the dataset is held
once per process as a tensor; batches are gathered by index, never copied per
epoch) to a :class:`BlockTrainer`, which trains a whole block of batches per
call into the graph, so Python is not on the per-batch path. The compiled
step is kept for the next run with the same architecture, so only a
process's first run of a kind pays for tracing it. A :class:`ProgressTracker`
turns the blocks into running metrics and calls plain Python hooks. The
block loop checks a :class:`StopSignal` before every batch, so training ends
within one batch of ``stop.set()``, even in the middle of a block.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import tensorflow as tf
import keras

from core.config import TrainConfig
from core.data import load_mnist, split_validation
from core.inference import predict_proba
from core.model import build_model

__all__ = [
    "TrainConfig",
    "BatchUpdate",
    "EpochUpdate",
    "TrainResult",
    "StopSignal",
    "ProgressTracker",
    "BlockTrainer",
    "FusedAdam",
    "LearningRate",
    "copy_variables",
    "augment_batch",
    "evaluate",
    "predict_dataset",
    "scores",
    "steps_per_execution_for",
    "train",
]

Split = tuple[np.ndarray, np.ndarray]


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


class StopSignal:
    """A stop flag seen both by Python and by the graph's training loop.

    ``set()`` can be called from any thread. A training loop attaches its own
    boolean variable for the length of a run and checks it before every
    batch, so the running batch is the last.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._attached: list[tf.Variable] = []
        self._lock = threading.Lock()

    def attach(self, variable: tf.Variable) -> None:
        """Make boolean ``variable`` follow this signal (set now if the signal is)."""
        with self._lock:
            variable.assign(self._event.is_set())
            self._attached.append(variable)

    def detach(self, variable: tf.Variable) -> None:
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
    samples_per_second = 40000.0 if arch == "mlp" else 2500.0 * (16.0 / width) ** 2
    return int(np.clip(round(samples_per_second * target_seconds / batch_size), 1, 128))


# --- data pipeline ---------------------------------------------------------

_tensors: dict[int, tuple[Any, tf.Tensor]] = {}
_tensors_lock = threading.Lock()


def _as_tensor(array: np.ndarray) -> tf.Tensor:
    """One tensor per array per process (MNIST is converted once, not per run)."""
    key = id(array)
    with _tensors_lock:
        entry = _tensors.get(key)
        if entry is not None and entry[0]() is array:
            return entry[1]
        with tf.device("/CPU:0"):
            tensor = tf.constant(array)
        _tensors[key] = (weakref.ref(array), tensor)
        weakref.finalize(array, _tensors.pop, key, None)
        return tensor


def augment_batch(images: tf.Tensor, generator: tf.random.Generator, max_rotation: float = 12.0,
                  max_shift: float = 2.0, zoom: float = 0.1, max_shear: float = 0.15) -> tf.Tensor:
    """Randomly distort a batch of digits the way real handwriting varies.

    Each image gets its own rotation, shear, zoom and shift (one bilinear
    resampling) and a random stroke thickness (blend towards a 3×3 dilation
    or erosion), so a model learns thick and thin, slanted and shifted digits.

    Args:
        images: (B, 28, 28) float32 in [0, 1].
        generator: Source of randomness.
        max_rotation: Degrees either way.
        max_shift: Pixels either way.
        zoom: Relative zoom either way.
        max_shear: Shear factor either way.

    Returns:
        (B, 28, 28) float32 in [0, 1].
    """
    b = tf.shape(images)[0]
    theta = generator.uniform([b], -max_rotation, max_rotation) * (math.pi / 180.0)
    scale = generator.uniform([b], 1.0 - zoom, 1.0 + zoom)
    shear = generator.uniform([b], -max_shear, max_shear)
    dx = generator.uniform([b], -max_shift, max_shift)
    dy = generator.uniform([b], -max_shift, max_shift)
    cos, sin = tf.cos(theta) / scale, tf.sin(theta) / scale
    # Output -> input map: in = M (out - c) + c - d, with M = R(theta) Shear / scale.
    a0, a1 = cos, cos * shear - sin
    b0, b1 = sin, sin * shear + cos
    c = 14.0
    a2 = c - a0 * c - a1 * c - dx
    b2 = c - b0 * c - b1 * c - dy
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    x = images[..., None]
    x = tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=transforms, output_shape=[28, 28], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT")
    dilated = tf.nn.max_pool2d(x, 3, 1, "SAME")
    eroded = -tf.nn.max_pool2d(-x, 3, 1, "SAME")
    t = generator.uniform([b, 1, 1, 1], -0.6, 1.0)
    x = tf.where(t > 0, x + t * (dilated - x), x - t * (eroded - x))[..., 0]
    # Drawings reach the model with their strongest ink at 1; keep it so.
    peak = tf.reduce_max(x, axis=[1, 2], keepdims=True)
    return tf.clip_by_value(x / tf.maximum(peak, 1e-3), 0.0, 1.0)


def _dataset(x: np.ndarray, y: np.ndarray, n: int, batch_size: int, block: int,
             config: TrainConfig) -> tf.data.Dataset:
    """Blocks of ``block`` batches of the first ``n`` images of ``x``, reshuffled every epoch.

    ``x`` and ``y`` are the whole arrays (e.g. straight from ``load_mnist``):
    they become tensors once per process and batches are gathered from them by
    index, so no run copies the data set. Each element is one block shaped
    (k, batch, 28, 28), k <= ``block``; a last, smaller batch (when ``n`` is
    not a multiple of ``batch_size``) comes as a block of its own, so every
    image is seen once per epoch, as with ``model.fit``.
    """
    images, labels = _as_tensor(x), _as_tensor(y)
    full = (n // batch_size) * batch_size
    shuffler = tf.random.Generator.from_seed(config.seed)

    def epoch_blocks(_: tf.Tensor) -> tf.data.Dataset:
        order = tf.argsort(shuffler.uniform([n]))  # a new permutation every epoch
        blocks = tf.data.Dataset.from_tensor_slices(tf.reshape(order[:full], [-1, batch_size])).batch(block)
        if full < n:
            blocks = blocks.concatenate(tf.data.Dataset.from_tensors(tf.reshape(order[full:], [1, n - full])))
        return blocks

    def gather(idx: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(tf.gather(images, idx), tf.float32) / 255.0, tf.cast(tf.gather(labels, idx), tf.int32)

    # The training subset is a prefix of the arrays; gather by index, a block at a time.
    ds = tf.data.Dataset.range(1).flat_map(epoch_blocks).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    if config.augment:
        generator = tf.random.Generator.from_seed(config.seed + 1)

        def augment(xb: tf.Tensor, yb: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            flat = augment_batch(tf.reshape(xb, [-1, 28, 28]), generator)
            return tf.reshape(flat, tf.shape(xb)), yb

        ds = ds.map(augment)
    return ds.prefetch(2)


class FusedAdam(keras.optimizers.Adam):
    """Keras' Adam, with each variable's update done by TensorFlow's fused kernel.

    Keras computes Adam's update with about a dozen small operations per
    variable; ``ResourceApplyAdam`` computes the identical update (same
    bias-corrected step size, epsilon added to sqrt(v)) in one. Slots, step
    counter and learning-rate schedules stay Keras'. For the small networks
    trained here, per-operation overhead is most of a step's time.
    """

    def update_step(self, gradient: tf.Tensor, variable: Any, learning_rate: Any) -> None:
        """Apply one Adam update to ``variable``."""
        if self.amsgrad or keras.backend.backend() != "tensorflow":
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle, v=self._velocities[index].handle,
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), step),
            lr=tf.cast(learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype), beta2=tf.cast(self.beta_2, dtype),
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype), use_locking=False)
        return None


class LearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """A constant or cosine-decayed learning rate whose settings are variables.

    Gives the same values as a constant or as
    ``keras.optimizers.schedules.CosineDecay(initial, decay_steps, alpha)``,
    but the settings live in variables, so a compiled training step is reused
    by the next run whatever its learning rate, schedule or length.

    Args:
        initial: The learning rate at step 0.
        decay_steps: Steps over which the cosine decays (0: constant).
        alpha: Floor of the decay, as a fraction of ``initial``.
    """

    def __init__(self, initial: float = 1e-3, decay_steps: int = 0, alpha: float = 0.05) -> None:
        self.initial = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="initial_learning_rate")
        self.decay_steps = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="decay_steps")
        self.alpha = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="alpha")
        self.set(initial, decay_steps, alpha)

    def set(self, initial: float, decay_steps: int = 0, alpha: float = 0.05) -> None:
        """Change the settings (takes effect at the next step)."""
        self.initial.assign(float(initial))
        self.decay_steps.assign(float(decay_steps))
        self.alpha.assign(float(alpha))

    def __call__(self, step: Any) -> tf.Tensor:
        """The learning rate at optimizer step ``step``."""
        steps = self.decay_steps
        fraction = tf.minimum(tf.cast(step, tf.float32), steps) / tf.maximum(steps, 1.0)
        cosine = (1.0 - self.alpha) * 0.5 * (1.0 + tf.cos(math.pi * fraction)) + self.alpha
        return self.initial * tf.where(steps > 0.0, cosine, 1.0)

    def get_config(self) -> dict[str, float]:
        """The current settings."""
        return {"initial": float(self.initial.numpy()), "decay_steps": int(self.decay_steps.numpy()),
                "alpha": float(self.alpha.numpy())}


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

    Args:
        model: The model to train (its variables are updated in place).
        jit_compile: XLA-compile the step. On CPU XLA makes this loop several
            times slower, and it would read the stop flag only once per block.
    """

    def __init__(self, model: keras.Model, jit_compile: bool = False) -> None:
        self.model = model
        self.schedule = LearningRate()
        self.optimizer = FusedAdam(self.schedule)
        self.optimizer.build(model.trainable_variables)
        self.stop = tf.Variable(False, trainable=False, name="stop")
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy()
        self._step = tf.function(self._train_block, jit_compile=jit_compile, input_signature=[
            tf.TensorSpec([None, None, 28, 28], tf.float32), tf.TensorSpec([None, None], tf.int32)])

    def reset(self, start: keras.Model, learning_rate: float, decay_steps: int = 0) -> None:
        """Start over: weights (and dropout seeds) from ``start``, a fresh optimizer, no stop.

        Args:
            start: A model of the same architecture (e.g. freshly built with a seed).
            learning_rate: Adam's learning rate.
            decay_steps: Cosine decay over this many batches (0: constant rate).
        """
        copy_variables(start, self.model)
        for variable in self.optimizer.variables:
            variable.assign(tf.zeros_like(variable))
        self.schedule.set(learning_rate, decay_steps)
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
            with tf.GradientTape() as tape:
                probabilities = self.model(x, training=True)
                loss = self.loss_fn(y, probabilities)
            self.optimizer.apply(tape.gradient(loss, variables), variables)
            correct = tf.equal(tf.argmax(probabilities, axis=1, output_type=tf.int32), y)
            return i + 1, loss_sum + loss, hits + tf.reduce_mean(tf.cast(correct, tf.float32))

        return tf.while_loop(more, step, (tf.constant(0), tf.constant(0.0), tf.constant(0.0)))


def copy_variables(source: keras.Model, target: keras.Model) -> None:
    """Copy every variable (weights, batch-norm statistics, dropout seeds) between same-shaped models.

    Raises:
        ValueError: The models' variables do not match in number or shape.
    """
    theirs, mine = source.variables, target.variables
    if len(theirs) != len(mine) or any(a.shape != b.shape for a, b in zip(theirs, mine)):
        raise ValueError(f"{source.name} and {target.name} do not have the same variables")
    for a, b in zip(theirs, mine):
        b.assign(a)


class _TrainerPool:
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

    def clear(self) -> None:
        """Forget every idle trainer."""
        with self._lock:
            self._idle.clear()


_trainers = _TrainerPool()


def predict_dataset(model: keras.Model, x: np.ndarray, chunk: int = 2000) -> np.ndarray:
    """Probabilities for uint8 images ``x``, in chunks (no float copy of the whole set).

    Args:
        model: A digit model.
        x: (N, 28, 28) uint8 images.
        chunk: Images per call.

    Returns:
        (N, 10) float32 probabilities.
    """
    if len(x) == 0:
        return np.zeros((0, 10), np.float32)
    return np.concatenate([predict_proba(model, x[i:i + chunk].astype(np.float32) / 255.0)
                           for i in range(0, len(x), chunk)])


def scores(probabilities: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Cross-entropy loss and accuracy of ``probabilities`` against labels ``y``; ``(nan, nan)`` if empty."""
    if len(y) == 0:
        return float("nan"), float("nan")
    labels = np.asarray(y, dtype=np.int64)
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    return float(-np.log(picked).mean()), float((probabilities.argmax(1) == labels).mean())


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Loss and accuracy of ``model`` on uint8 images ``x`` with labels ``y``.

    Args:
        model: A digit model.
        x: (N, 28, 28) uint8 images.
        y: (N,) labels.

    Returns:
        ``(loss, accuracy)``; ``(nan, nan)`` for an empty set.
    """
    return scores(predict_dataset(model, x), y)


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

    def __init__(self, batches: int, epochs: int,
                 on_batch: Callable[[BatchUpdate], None] | None = None,
                 on_epoch: Callable[[EpochUpdate], None] | None = None,
                 validate: Callable[[], tuple[float, float]] | None = None) -> None:
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
        update = BatchUpdate(self.epoch, self.epochs, min(self.batch, self.batches), self.batches, loss, accuracy,
                             time.perf_counter() - self.started)
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
            self.on_epoch(EpochUpdate(self.epoch, self.epochs, elapsed=time.perf_counter() - self.started,
                                      complete=complete, **values))

    @property
    def epochs_completed(self) -> float:
        """Epochs trained, fractional when the last one was cut short."""
        partial = 1 - self.batch / self.batches if self.partial_epoch else 0
        return max(0.0, len(self.history["loss"]) - partial)

    def _running(self) -> tuple[float, float]:
        return (self._loss_sum / self.batch, self._hits / self.batch) if self.batch else (math.nan, math.nan)


def train(config: TrainConfig,
          on_batch: Callable[[BatchUpdate], None] | None = None,
          on_epoch: Callable[[EpochUpdate], None] | None = None,
          stop: StopSignal | threading.Event | None = None,
          data: tuple[Split, Split] | None = None,
          steps_per_execution: int | None = None,
          jit_compile: bool = False) -> TrainResult:
    """Train a fresh model as ``config`` says, reporting progress as it goes.

    The model is built (and seeded) fresh for every run; the compiled training
    step that trains it is kept between runs with the same architecture,
    width and dropout (see :class:`BlockTrainer`).

    Args:
        config: What to train.
        on_batch: Hook called after each block of batches (several per second).
        on_epoch: Hook called after each epoch, with validation metrics.
        stop: Set it (from any thread) to end training; a :class:`StopSignal`
            ends it within one batch, a plain ``threading.Event`` within one
            block. The model is kept as trained so far.
        data: ``((x_train, y_train), (x_test, y_test))`` uint8 arrays; default
            :func:`core.data.load_mnist`. The validation set is the last
            ``config.val_size`` training images.
        steps_per_execution: Batches per block, i.e. per call into the graph
            (default: about 0.1 s of work, so progress is reported several times a second).
        jit_compile: XLA-compile the block step (see :class:`BlockTrainer`).

    Returns:
        A :class:`TrainResult` with the model, history and test metrics.

    Raises:
        ValueError: The config is invalid.
        core.data.MnistUnavailableError: No data and MNIST cannot be found.
    """
    config.validate()
    (x_all, y_all), (x_test, y_test) = data if data is not None else load_mnist()
    val_size = min(config.val_size, len(x_all) - 1)
    (x_train, y_train), validation = split_validation(x_all, y_all, val_size, config.train_size)
    batch_size = min(config.batch_size, len(x_train))
    batches = math.ceil(len(x_train) / batch_size)
    block = steps_per_execution or steps_per_execution_for(config.arch, batch_size, config.width)
    block = max(1, min(block, batches))
    model = build_model(config.arch, config.dropout, config.learning_rate, seed=config.seed, width=config.width)
    key = (config.arch, config.width, config.dropout, jit_compile)
    trainer = _trainers.take(key, lambda: BlockTrainer(build_model(config.arch, config.dropout, width=config.width),
                                                       jit_compile=jit_compile))
    trainer.reset(model, config.learning_rate, batches * config.epochs if config.schedule == "cosine" else 0)
    signal = stop if isinstance(stop, StopSignal) else None
    if signal is not None:
        signal.attach(trainer.stop)
    stopped = stop.is_set if stop is not None else (lambda: False)
    progress = ProgressTracker(batches, config.epochs, on_batch, on_epoch,
                               validate=(lambda: evaluate(trainer.model, *validation)) if len(validation[0]) else None)
    try:
        started = time.perf_counter()
        blocks = _dataset(x_all, y_all, len(x_train), batch_size, block, config)
        for epoch in range(config.epochs):
            if stopped():
                break
            progress.begin_epoch(epoch)
            for x, y in blocks:
                progress.add_block(*trainer.train_block(x, y))
                if stopped():
                    break
            progress.end_epoch()
        duration = time.perf_counter() - started
        test_probabilities = predict_dataset(trainer.model, x_test)
        copy_variables(trainer.model, model)
    finally:
        if signal is not None:
            signal.detach(trainer.stop)
    _trainers.give(key, trainer)  # only after a run that did not fail
    test_loss, test_accuracy = scores(test_probabilities, y_test)
    return TrainResult(
        model=model, config=config, history=progress.history, test_loss=test_loss, test_accuracy=test_accuracy,
        stopped_early=bool(stopped() and progress.epochs_completed < config.epochs),
        epochs_completed=float(progress.epochs_completed), duration=duration,
        samples_per_second=progress.batches_done * batch_size / max(duration, 1e-9),
        batch_history=progress.batch_history, test_probabilities=test_probabilities,
    )
