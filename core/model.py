"""Model architectures: the classic dense network and a small convnet.

Both take (N, 28, 28) float images in [0, 1] and output (N, 10) softmax
probabilities, and are compiled with Adam and sparse categorical
cross-entropy, so any of them can be trained by :mod:`core.training` and used
by :mod:`core.inference`.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from contextlib import redirect_stdout

import keras
from keras import layers

from core.config import ARCHS, Arch
from core.runtime import configure_tensorflow

configure_tensorflow()

__all__ = ["ARCHITECTURES", "build_model", "compile_model", "model_summary"]

_DESCRIPTIONS = {
    "mlp": "Dense network 784-128-64-10 with dropout (the classic tutorial model)",
    "cnn": "Convolutional network: strided conv, conv, max-pool, conv, then the output layer",
}

#: Architectures offered in the app (named by ``core.config.ARCHS``, in its order), with a one-line description each.
ARCHITECTURES: dict[str, str] = {name: _DESCRIPTIONS[name] for name in ARCHS}


def _seeds(seed: int | None) -> Iterator[int | None]:
    """A distinct seed per layer derived from ``seed`` (``None`` forever when unseeded).

    Seeding each layer, rather than calling ``keras.utils.set_random_seed``,
    leaves the process-wide random state alone: setting TensorFlow's global
    seed also clears its kernel cache, so every compiled function in the
    process (every session's inference and training steps) would be compiled
    again on its next call.
    """
    if seed is None:
        return itertools.repeat(None)
    return (seed * 1009 + i for i in itertools.count(1))


def _dense(units: int, name: str, seeds: Iterator[int | None], activation: str = "relu") -> layers.Dense:
    return layers.Dense(
        units, activation=activation, name=name, kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds))
    )


def _mlp(dropout: float, seeds: Iterator[int | None]) -> list[layers.Layer]:
    return [
        layers.Flatten(name="flatten"),
        _dense(128, "dense_128", seeds),
        layers.Dropout(dropout, seed=next(seeds), name="dropout_1"),
        _dense(64, "dense_64", seeds),
        layers.Dropout(dropout, seed=next(seeds), name="dropout_2"),
    ]


def _cnn(dropout: float, width: int, seeds: Iterator[int | None]) -> list[layers.Layer]:
    """A small convnet chosen by time to accuracy on a CPU (``python -m bench.recipes``).

    The first convolution strides (14×14 maps for a quarter of the cost of
    full resolution), one max-pool gives the shift tolerance that strided
    layers alone lack, and there is no batch normalisation: on these tiny
    tensors each extra pass over memory costs more than it saves in epochs.
    """

    def conv(filters: int, size: int, name: str, strides: int = 1, padding: str = "valid") -> layers.Conv2D:
        return layers.Conv2D(
            filters,
            size,
            strides=strides,
            padding=padding,
            activation="relu",
            name=name,
            kernel_initializer=keras.initializers.HeNormal(seed=next(seeds)),
        )

    return [
        layers.Reshape((28, 28, 1), name="add_channel"),
        conv(width, 4, "conv1", strides=2, padding="same"),  # 14×14
        conv(2 * width, 3, "conv2"),  # 12×12
        layers.MaxPooling2D(name="pool"),  # 6×6
        conv(4 * width, 3, "conv3"),  # 4×4
        layers.Flatten(name="flatten"),
        layers.Dropout(dropout, seed=next(seeds), name="dropout"),
    ]


def compile_model(
    model: keras.Model,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    steps_per_execution: int = 1,
    jit_compile: bool | str = "auto",
) -> keras.Model:
    """Compile ``model`` with Adam and sparse categorical cross-entropy.

    Args:
        model: The model to compile (in place).
        learning_rate: Adam's learning rate.
        steps_per_execution: Batches run per call into the compiled graph.
        jit_compile: Whether XLA compiles the train step (``"auto"``: Keras decides).

    Returns:
        The same model, compiled.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )
    return model


def build_model(
    arch: Arch = "cnn",
    dropout: float = 0.3,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    seed: int | None = None,
    width: int = 16,
    steps_per_execution: int = 1,
    jit_compile: bool | str = "auto",
) -> keras.Model:
    """Build and compile a digit classifier.

    Args:
        arch: ``"mlp"`` for the dense 784-128-64-10 network or ``"cnn"`` for the convnet.
        dropout: Dropout rate in [0, 0.9).
        learning_rate: Adam's learning rate, or a schedule.
        seed: Seed for weight initialisation and dropout (``None``: random); the
            process-wide random state is left alone.
        width: Filters in the CNN's first convolution; the second has twice as many, the third four times.
        steps_per_execution: Batches per compiled call (see :func:`compile_model`).
        jit_compile: XLA compilation of the train step.

    Returns:
        A compiled ``keras.Sequential`` mapping (N, 28, 28) images to (N, 10) probabilities.

    Raises:
        ValueError: Unknown architecture or dropout out of range.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    if not 0.0 <= dropout < 0.9:
        raise ValueError(f"dropout must be in [0, 0.9), got {dropout}")
    seeds = _seeds(seed)
    body = _mlp(dropout, seeds) if arch == "mlp" else _cnn(dropout, width, seeds)
    model = keras.Sequential(
        [keras.Input((28, 28), name="image"), *body, _dense(10, "probabilities", seeds, activation="softmax")],
        name=f"digit_{arch}",
    )
    return compile_model(model, learning_rate, steps_per_execution, jit_compile)


def model_summary(model: keras.Model) -> str:
    """Return Keras' layer summary of ``model`` as plain text."""
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        model.summary(line_length=90, print_fn=lambda line, line_break=True: print(line))
    return buffer.getvalue()
