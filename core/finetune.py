"""Teach a model someone's handwriting: fine-tune it on their drawings mixed with MNIST.

A fine-tune is a training like any other (a :class:`core.jobs.TrainingJob`,
queued, a Dask task with progress and Stop, stored as a run of the person)
that starts from a given model instead of fresh weights and trains on a mix:

- the person's drawings, every fourth held out (at least one) to measure the
  result on drawings it never trained on; the rest repeated so they make about
  a quarter of every batch;
- a random sample of MNIST's training images (the other three quarters), so
  the model keeps what it knew;
- with augmentation (rotations, shifts, zoom, shear, stroke thickness), so the
  repeated drawings come out different every time.

The held-out drawings are the run's validation set (their accuracy is charted
per epoch), and :func:`fine_tune` scores both models, before and after, on
them and on the MNIST test set, so what was learnt and what was forgotten
show side by side (the run's ``finetune`` report, :class:`FineTuneReport`).

What travels to the worker (:class:`FineTune`) is plain data: the starting
model's architecture (Keras JSON) and weights, and the drawings. Importing
this module loads no TensorFlow; :meth:`StartModel.of`, :meth:`StartModel.build`
and :func:`fine_tune` do.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from core.config import TrainConfig

__all__ = ["MIN_DRAWINGS", "FineTune", "FineTuneReport", "StartModel", "fine_tune", "finetune_config", "held_out"]

#: Drawings a person needs before a fine-tune.
MIN_DRAWINGS = 10
#: One drawing in this many is held out.
HOLD_OUT_EVERY = 4
#: MNIST training images mixed in.
MNIST_IMAGES = 3000
#: The share of each batch that is the person's (repeated) drawings.
DRAWINGS_SHARE = 0.25


@dataclass(frozen=True)
class StartModel:
    """A model to start from, as plain data: its Keras architecture (JSON) and weights.

    Attributes:
        architecture: ``model.to_json()``.
        weights: ``model.get_weights()``.
    """

    architecture: str
    weights: list[np.ndarray]

    @classmethod
    def of(cls, model: Any) -> StartModel:
        """The start of a fine-tune from a Keras model (left untouched: it may be in use elsewhere)."""
        return cls(model.to_json(), [np.array(w) for w in model.get_weights()])

    def build(self) -> Any:
        """A new Keras model with this architecture and these weights."""
        import keras

        model = keras.models.model_from_json(self.architecture)
        model.set_weights(self.weights)
        return model


@dataclass(frozen=True)
class FineTune:
    """What turns a training into a fine-tune: the model to start from, and the person's drawings.

    Attributes:
        start: The model to fine-tune.
        images: (N, 28, 28) uint8, the person's drawings, oldest first.
        labels: (N,) their digits.
        base: What the starting model is called (e.g. ``Bundled default model``), for the report.
        mnist_images: MNIST training images mixed in.
    """

    start: StartModel
    images: np.ndarray
    labels: np.ndarray
    base: str = ""
    mnist_images: int = MNIST_IMAGES

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.shape[1:] != (28, 28) or len(self.images) != len(self.labels):
            raise ValueError(f"drawings must be (N, 28, 28) uint8 with N labels, got {self.images.shape}")
        if len(self.images) < MIN_DRAWINGS:
            raise ValueError(f"a fine-tune needs at least {MIN_DRAWINGS} drawings, got {len(self.images)}")


@dataclass(frozen=True)
class FineTuneReport:
    """Before and after a fine-tune (plain data: it is stored with the run).

    Attributes:
        base: The starting model's name.
        drawings: The person's drawings used in all.
        held_out: How many of them were held out (never trained on).
        before: Accuracy of the starting model: ``held_out`` (on the held-out drawings) and ``mnist`` (test set).
        after: The same for the fine-tuned model.
    """

    base: str
    drawings: int
    held_out: int
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-able dict (:meth:`from_dict` reads it back)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FineTuneReport:
        """A report from :meth:`to_dict`'s dict."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def held_out(n: int) -> np.ndarray:
    """Which of ``n`` drawings are held out: every fourth (the 4th, 8th, …), at least one (the last).

    Returns:
        (n,) bool.
    """
    mask = (np.arange(n) % HOLD_OUT_EVERY) == HOLD_OUT_EVERY - 1
    if n and not mask.any():
        mask[-1] = True
    return mask


def _architecture(model: Any) -> tuple[str, int, float]:
    """``(arch, width, dropout)`` of a model: a CNN (its first convolution's filters) or a dense network."""
    kinds = {type(layer).__name__: layer for layer in reversed(model.layers)}  # the first of each kind
    dropout = float(getattr(kinds.get("Dropout"), "rate", 0.0))
    if "Conv2D" in kinds:
        return "cnn", int(kinds["Conv2D"].filters), dropout
    return "mlp", TrainConfig().width, dropout


def finetune_config(model: Any, drawings: int, seed: int = 0) -> TrainConfig:
    """The settings of a fine-tune of ``model`` on ``drawings`` drawings: a short, gentle, augmented run.

    Args:
        model: The starting model (its layers name ``arch``, ``width`` and ``dropout``, for the record).
        drawings: How many drawings the person has.
        seed: Seed of the shuffling, the augmentation and the MNIST sample.

    Returns:
        A valid config: 2 epochs, batch 64, learning rate 3e-4 (cosine), augmentation on, the held-out
        drawings as the validation set, and the mix's size as ``train_size``.
    """
    arch, width, dropout = _architecture(model)
    (low_dropout, high_dropout), (low_width, high_width) = TrainConfig.LIMITS["dropout"], TrainConfig.LIMITS["width"]
    keep = int(held_out(drawings).sum())
    return TrainConfig(
        arch=arch,  # type: ignore[arg-type]  # one of ARCHS
        epochs=2,
        batch_size=64,
        dropout=min(max(dropout, low_dropout), high_dropout),
        learning_rate=3e-4,
        schedule="cosine",
        augment=True,
        seed=seed,
        train_size=len(_mix_order(drawings - keep, MNIST_IMAGES)),
        val_size=keep,
        width=int(min(max(width, low_width), high_width)),  # (only names it: the model keeps its own)
    ).validate()


def _copies(trained: int, mnist: int) -> int:
    """How many times each trained-on drawing is repeated so they make :data:`DRAWINGS_SHARE` of the mix."""
    return max(1, math.ceil(DRAWINGS_SHARE * mnist / (1.0 - DRAWINGS_SHARE) / max(trained, 1)))


def _mix_order(trained: int, mnist: int) -> np.ndarray:
    """Indices into ``[mnist sample, trained drawings]`` making the mix (each drawing repeated)."""
    return np.concatenate([np.arange(mnist), mnist + np.tile(np.arange(trained), _copies(trained, mnist))])


def mixed_data(spec: FineTune, mnist: tuple[np.ndarray, np.ndarray], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The fine-tune's training arrays: the mix, then the held-out drawings (the validation set) last.

    Args:
        spec: The fine-tune.
        mnist: MNIST's training ``(images, labels)`` (the first 50,000 are sampled: the rest is its validation set).
        seed: Seed of the sample.

    Returns:
        ``(x, y)``: uint8 images and labels.
    """
    x_mnist, y_mnist = mnist
    pool = min(len(x_mnist), 50000)
    sample = np.random.default_rng(seed).choice(pool, size=min(spec.mnist_images, pool), replace=False)
    keep = held_out(len(spec.images))
    x = np.concatenate([x_mnist[sample], spec.images[~keep]])
    y = np.concatenate([y_mnist[sample], spec.labels[~keep]]).astype(np.uint8)
    order = _mix_order(int((~keep).sum()), len(sample))
    return (
        np.concatenate([x[order], spec.images[keep]]),
        np.concatenate([y[order], spec.labels[keep].astype(np.uint8)]),
    )


def _accuracy(model: Any, images: np.ndarray, labels: np.ndarray) -> float:
    from core.metrics import predict_dataset

    return float(np.mean(predict_dataset(model, images).argmax(1) == labels)) if len(images) else math.nan


def fine_tune(
    config: TrainConfig,
    finetune: FineTune,
    on_batch: Callable[..., None] | None = None,
    on_epoch: Callable[..., None] | None = None,
    stop: threading.Event | Any = None,
    data: Any = None,
) -> Any:
    """Fine-tune ``finetune.start`` as ``config`` says, through :func:`core.training.train`; score before and after.

    Args:
        config: From :func:`finetune_config` (its ``train_size`` and ``val_size`` are set here to fit the mix).
        finetune: The model to start from and the drawings.
        on_batch: As for ``train``.
        on_epoch: As for ``train`` (validation: the held-out drawings).
        stop: As for ``train``.
        data: MNIST as ``((x_train, y_train), (x_test, y_test))``; default :func:`core.data.load_mnist`.

    Returns:
        The run's :class:`core.progress.TrainResult`, its ``finetune`` the :class:`FineTuneReport` as a dict.
    """
    from core.data import load_mnist
    from core.training import train

    (x_train, y_train), (x_test, y_test) = data if data is not None else load_mnist()
    x, y = mixed_data(finetune, (x_train, y_train), config.seed)
    keep = held_out(len(finetune.images))
    x_held, y_held = finetune.images[keep], finetune.labels[keep]
    config = replace(config, train_size=len(x) - len(x_held), val_size=len(x_held)).validate()
    start = finetune.start.build()
    before = {"held_out": _accuracy(start, x_held, y_held), "mnist": _accuracy(start, x_test, y_test)}
    result = train(config, on_batch, on_epoch, stop, data=((x, y), (x_test, y_test)), start=start)
    after = {"held_out": _accuracy(result.model, x_held, y_held), "mnist": float(result.test_accuracy)}
    report = FineTuneReport(finetune.base, len(finetune.images), len(x_held), before, after)
    result.finetune = report.to_dict()
    return result
