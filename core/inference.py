"""Load digit models and turn images into class probabilities, fast.

A single drawing must be classified in a few milliseconds. ``model.predict``
builds a data pipeline on every call and costs tens of milliseconds; a direct
call of a traced ``tf.function`` costs well under one. :func:`predict_proba`
traces one such function per model (thread-safe, reused by every caller).
"""

from __future__ import annotations

import os
import threading
import weakref
import zipfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from core.runtime import configure_tensorflow

configure_tensorflow()

__all__ = ["ModelLoadError", "load_model", "predict_proba", "warm_up"]


class ModelLoadError(RuntimeError):
    """A model file is missing, corrupt, or is not a digit classifier."""


_lock = threading.Lock()
_compiled: weakref.WeakKeyDictionary[keras.Model, _Compiled] = weakref.WeakKeyDictionary()


def _input_adapter(model: keras.Model) -> Callable[[tf.Tensor], tf.Tensor]:
    """Reshape (N, 28, 28) batches to whatever input layout the model declares."""
    shape = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else (28, 28)
    if shape == (28, 28):
        return lambda x: x
    if shape == (28, 28, 1):
        return lambda x: x[..., None]
    if shape == (784,):
        return lambda x: tf.reshape(x, (-1, 784))
    raise ModelLoadError(f"the model expects inputs of shape {shape}, not 28×28 digit images")


def _check_output(model: keras.Model) -> None:
    out = getattr(model, "outputs", None)
    if out and tuple(out[0].shape[1:]) != (10,):
        raise ModelLoadError(f"the model outputs shape {tuple(out[0].shape[1:])}, not 10 digit classes")


class _Compiled:
    """A model's traced inference function, for one image (the Draw page) and batches alike.

    Not XLA-compiled: XLA gained under 0.1 ms of 0.7 ms per drawing on a 2-core
    CPU, cost about 11 MB more per model in use, and TensorFlow never frees what
    it compiles (its compilation cache has no eviction): every model ever used
    (each picked saved model, each person's runs) kept about 2 MB for the life
    of the process (``python -m bench.models``).
    """

    def __init__(self, model: keras.Model) -> None:
        adapt = _input_adapter(model)
        # A weak reference: these functions are the value of the model's entry in a
        # WeakKeyDictionary, and a value that held its key would keep every model ever
        # used alive. The traced graphs hold the model's variables, not the model.
        held = weakref.ref(model)

        def call(x: tf.Tensor) -> tf.Tensor:
            live = held()
            if live is None:  # only while tracing, which runs with the model at hand
                raise ReferenceError("the model of these inference functions is gone")
            return live(adapt(x), training=False)

        self.function = tf.function(call, input_signature=[tf.TensorSpec([None, 28, 28], tf.float32)])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.function(tf.constant(x)))


def _compiled_call(model: keras.Model) -> _Compiled:
    fn = _compiled.get(model)
    if fn is not None:
        return fn
    with _lock:
        fn = _compiled.get(model)
        if fn is None:
            fn = _compiled[model] = _Compiled(model)
    return fn


def predict_proba(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Class probabilities for a batch of digit images.

    Uses a direct (traced) model call, not ``model.predict``: about a
    millisecond for one image. Safe to call from several threads at once on a
    model that is not being trained.

    Args:
        model: A digit model (input 28×28, output 10 probabilities).
        images: (N, 28, 28) or (28, 28) floats in [0, 1], white digit on black.

    Returns:
        (N, 10) float32 probabilities, rows summing to 1.
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"expected images of shape (N, 28, 28), got {x.shape}")
    if len(x) == 0:
        return np.zeros((0, 10), np.float32)
    fn = _compiled_call(model)
    if len(x) <= 4096:
        return fn(x)
    return np.concatenate([fn(x[i : i + 4096]) for i in range(0, len(x), 4096)])


def warm_up(model: keras.Model) -> keras.Model:
    """Trace the inference function once so the first real call is fast.

    Args:
        model: The model to warm up.

    Returns:
        The same model.
    """
    predict_proba(model, np.zeros((1, 28, 28), np.float32))
    return model


def load_model(path: str | os.PathLike[str], warm: bool = True) -> keras.Model:
    """Load a ``.keras`` digit model, checked and (unless ``warm`` is False) warmed up.

    Args:
        path: The model file.
        warm: Trace both inference functions now (:func:`warm_up`). Code that only ever
            classifies batches (the room's scores) passes False: the single-image function
            is compiled with XLA, which costs time it would never win back.

    Returns:
        The loaded model, ready for :func:`predict_proba`.

    Raises:
        ModelLoadError: The file is missing, truncated or not a Keras file, or
            the model does not map 28×28 images to 10 classes.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"No model file {path.name} (it may have been deleted).")
    if not zipfile.is_zipfile(path):
        raise ModelLoadError(f"{path.name} is not a Keras model file (it may be truncated or of another format).")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for bad files
        # The file's name is enough: the server's folders are nobody's business.
        reason = f"{type(exc).__name__}: {exc}".replace(str(path.parent), "…")
        raise ModelLoadError(f"{path.name} could not be loaded as a Keras model: {reason}") from None
    if not isinstance(model, keras.Model):
        raise ModelLoadError(f"{path.name} does not hold a Keras model.")
    _check_output(model)
    _input_adapter(model)
    if not warm:
        return model
    try:
        return warm_up(model)
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f"{path.name} loaded but cannot classify a 28×28 image: {exc}") from None
