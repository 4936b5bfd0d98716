"""Train digit classifiers fast, with live progress hooks and a stop that works.

:func:`train` puts the pieces together: the in-memory data pipeline
(:mod:`core.pipeline`) feeds blocks of batches to a pooled, already compiled
:class:`~core.trainer.BlockTrainer` (:mod:`core.trainer`, with
:mod:`core.optimizer`), a :class:`~core.progress.ProgressTracker` turns the
blocks into running metrics and hook calls, and :mod:`core.metrics` scores
the validation and test sets. The block loop checks a
:class:`~core.progress.StopSignal` before every batch, so training ends
within one batch of ``stop.set()``, even in the middle of a block.

Every name that used to live here can still be imported from here.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import keras
import numpy as np
import tensorflow as tf

from core.config import TrainConfig
from core.data import load_mnist, split_validation
from core.learned import first_layer_kernel
from core.metrics import evaluate, predict_dataset, scores
from core.model import build_model
from core.optimizer import FusedAdam, LearningRate
from core.pipeline import augment_batch, block_dataset
from core.progress import (
    BatchUpdate,
    EpochUpdate,
    ProgressTracker,
    StopSignal,
    TrainResult,
)
from core.runtime import training_parts
from core.trainer import (
    BlockTrainer,
    copy_variables,
    steps_per_execution_for,
    trainer_pool,
)

__all__ = [
    "BatchUpdate",
    "BlockTrainer",
    "EpochUpdate",
    "FusedAdam",
    "LearningRate",
    "ProgressTracker",
    "StopSignal",
    "TrainConfig",
    "TrainResult",
    "augment_batch",
    "copy_variables",
    "evaluate",
    "predict_dataset",
    "scores",
    "steps_per_execution_for",
    "train",
]

Split = tuple[np.ndarray, np.ndarray]

#: Fraction of a cosine run spent warming the learning rate up (``python -m bench.recipes`` compares).
WARMUP = 0.1


def train(
    config: TrainConfig,
    on_batch: Callable[[BatchUpdate], None] | None = None,
    on_epoch: Callable[[EpochUpdate], None] | None = None,
    stop: StopSignal | threading.Event | None = None,
    data: tuple[Split, Split] | None = None,
    steps_per_execution: int | None = None,
    jit_compile: bool = False,
    start: keras.Model | None = None,
) -> TrainResult:
    """Train a fresh model (or go on training ``start``) as ``config`` says, reporting progress as it goes.

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
        start: Train a copy of this model (a fine-tune, :mod:`core.finetune`) instead of a fresh one;
            ``config``'s architecture settings then only name it. ``start`` itself is left untouched.

    Returns:
        A :class:`TrainResult` with the model, history and test metrics.

    Raises:
        ValueError: The config is invalid.
        core.data.MnistUnavailableError: No data and MNIST cannot be found.
    """
    config.validate()
    (x_all, y_all), (x_test, y_test) = data if data is not None else load_mnist()
    (x_train, _), validation = split_validation(x_all, y_all, min(config.val_size, len(x_all) - 1), config.train_size)
    batch_size = min(config.batch_size, len(x_train))
    batches = math.ceil(len(x_train) / batch_size)
    block = max(1, min(steps_per_execution or steps_per_execution_for(config.arch, batch_size, config.width), batches))
    # A convnet's batch is computed in parts at once, one core each; the dense network's steps are too
    # small to gain (python -m bench.recipes).
    parts = training_parts() if config.arch == "cnn" else 1
    if start is None:
        model = build_model(config.arch, config.dropout, config.learning_rate, seed=config.seed, width=config.width)
        key: tuple = (config.arch, config.width, config.dropout, jit_compile, parts)
    else:  # a trainer per architecture: any model's, whatever build_model makes today
        model = _copy_of(start)
        key = ("start", hashlib.sha1(start.to_json().encode()).hexdigest(), jit_compile, parts)
    trainer = trainer_pool.take(
        key,
        lambda: BlockTrainer(
            build_model(config.arch, config.dropout, width=config.width) if start is None else _copy_of(start),
            jit_compile=jit_compile,
            parts=parts,
        ),
    )
    steps = batches * config.epochs
    cosine = config.schedule == "cosine"
    trainer.reset(model, config.learning_rate, steps if cosine else 0, round(WARMUP * steps) if cosine else 0)
    stopped = stop.is_set if stop is not None else (lambda: False)
    after_epoch1: list[np.ndarray | None] = []

    def epoch_ended(update: EpochUpdate) -> None:
        if update.epoch == 0 and update.complete:
            after_epoch1.append(first_layer_kernel(trainer.model))  # a small copy, to compare with the end
        if on_epoch is not None:
            on_epoch(update)

    with _following(stop, trainer.stop):
        progress = ProgressTracker(
            batches,
            config.epochs,
            on_batch,
            epoch_ended,
            validate=(lambda: evaluate(trainer.model, *validation)) if len(validation[0]) else None,
        )
        started = time.perf_counter()
        blocks = block_dataset(x_all, y_all, len(x_train), batch_size, block, config.seed, config.augment)
        _run_epochs(trainer, blocks, progress, config.epochs, stopped)
        duration = time.perf_counter() - started
        test_probabilities = predict_dataset(trainer.model, x_test)
        copy_variables(trainer.model, model)
    trainer_pool.give(key, trainer)  # only after a run that did not fail
    test_loss, test_accuracy = scores(test_probabilities, y_test)
    return TrainResult(
        model=model,
        config=config,
        history=progress.history,
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        stopped_early=bool(stopped() and progress.epochs_completed < config.epochs),
        epochs_completed=float(progress.epochs_completed),
        duration=duration,
        samples_per_second=progress.batches_done * batch_size / max(duration, 1e-9),
        batch_history=progress.batch_history,
        test_probabilities=test_probabilities,
        first_layer_after_epoch1=after_epoch1[0] if after_epoch1 else None,
    )


def _copy_of(model: keras.Model) -> keras.Model:
    """A new model with ``model``'s architecture and variables."""
    copy = keras.models.clone_model(model)
    copy_variables(model, copy)
    return copy


def _run_epochs(
    trainer: BlockTrainer,
    blocks: Iterable[tuple[tf.Tensor, tf.Tensor]],
    progress: ProgressTracker,
    epochs: int,
    stopped: Callable[[], bool],
) -> None:
    """Train ``epochs`` passes over ``blocks``, reporting each block, until done or ``stopped()``."""
    for epoch in range(epochs):
        if stopped():
            break
        progress.begin_epoch(epoch)
        for x, y in blocks:
            progress.add_block(*trainer.train_block(x, y))
            if stopped():
                break
        progress.end_epoch()


@contextmanager
def _following(stop: StopSignal | threading.Event | None, flag: tf.Variable) -> Iterator[None]:
    """While inside, the graph's ``flag`` follows ``stop`` (a :class:`StopSignal`; other stops are polled)."""
    signal = stop if isinstance(stop, StopSignal) else None
    if signal is not None:
        signal.attach(flag)
    try:
        yield
    finally:
        if signal is not None:
            signal.detach(flag)
