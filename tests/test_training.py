"""Tests for core.training.train: tiny training runs, stopping, reuse of the compiled step.

The parts have their own tests: test_config, test_progress, test_pipeline, test_optimizer, test_trainer.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from core import trainer as trainers  # noqa: E402
from core.inference import predict_proba  # noqa: E402
from core.training import BatchUpdate, EpochUpdate, StopSignal, TrainConfig, train  # noqa: E402


@pytest.fixture(scope="module")
def synthetic_data(synthetic_digits):
    """400 training images (the last 100 are validation) and 60 test images."""
    return synthetic_digits(400, seed=0), synthetic_digits(60, seed=1)


# --- training runs ------------------------------------------------------------------------


def test_one_epoch_on_synthetic_data(synthetic_data):
    batches: list[BatchUpdate] = []
    epochs: list[EpochUpdate] = []
    config = TrainConfig(
        arch="cnn", width=4, epochs=1, batch_size=32, val_size=100, augment=True, schedule="cosine", seed=1
    )
    result = train(config, on_batch=batches.append, on_epoch=epochs.append, data=synthetic_data, steps_per_execution=2)
    n_batches = math.ceil(300 / 32)  # 400 images minus 100 for validation
    assert batches and len(batches) <= n_batches
    assert batches[-1].batch == n_batches and batches[-1].batches == n_batches
    assert [b.batch for b in batches] == sorted(b.batch for b in batches)
    assert all(b.epoch == 0 and b.epochs == 1 and math.isfinite(b.loss) for b in batches)
    assert result.batch_history == batches
    assert len(epochs) == 1 and epochs[0].complete
    assert math.isfinite(epochs[0].val_loss) and 0.0 <= epochs[0].val_accuracy <= 1.0
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(result.history[key]) == 1
    assert result.history["val_accuracy"][0] == epochs[0].val_accuracy
    assert result.stopped_early is False and result.epochs_completed == pytest.approx(1.0)
    assert result.test_probabilities.shape == (60, 10)
    np.testing.assert_allclose(result.test_probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert 0.0 <= result.test_accuracy <= 1.0 and math.isfinite(result.test_loss)
    assert result.samples_per_second > 0 and result.config is config


def test_mlp_learns_synthetic_digits(synthetic_data):
    config = TrainConfig(arch="mlp", epochs=3, batch_size=16, val_size=100, learning_rate=3e-3, seed=0)
    result = train(config, data=synthetic_data)
    assert len(result.history["loss"]) == 3
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.test_accuracy > 0.8


def test_one_epoch_on_real_mnist_subset(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    subset = ((x_train[:2500], y_train[:2500]), (x_test[:500], y_test[:500]))
    epochs: list[EpochUpdate] = []
    config = TrainConfig(arch="mlp", epochs=1, batch_size=32, dropout=0.1, learning_rate=3e-3, val_size=500, seed=0)
    result = train(config, on_epoch=epochs.append, data=subset)
    assert len(result.history["loss"]) == 1 and len(epochs) == 1
    assert result.test_probabilities.shape == (500, 10)
    assert result.test_accuracy > 0.75  # 2000 images, one epoch: about 0.86, far above chance (0.1)
    assert epochs[0].val_accuracy > 0.75


def test_stop_from_hook_after_first_group(synthetic_data):
    stop = StopSignal()
    seen: list[BatchUpdate] = []
    epochs_seen: list[EpochUpdate] = []

    def on_batch(update: BatchUpdate) -> None:
        seen.append(update)
        stop.set()

    config = TrainConfig(arch="mlp", epochs=3, batch_size=32, val_size=100, seed=0)
    result = train(
        config, on_batch=on_batch, on_epoch=epochs_seen.append, stop=stop, data=synthetic_data, steps_per_execution=2
    )
    assert stop.is_set()
    assert result.stopped_early is True
    assert result.epochs_completed < 1.0 and result.epochs_completed < config.epochs
    assert len(seen) == 1 and seen[0].batch == 2
    assert len(result.history["loss"]) <= 1
    assert all(not e.complete for e in epochs_seen)
    out = predict_proba(result.model, np.zeros((2, 28, 28), np.float32))
    assert out.shape == (2, 10)
    assert result.test_probabilities.shape == (60, 10)


def test_stop_with_plain_event(synthetic_data):
    stop = threading.Event()
    config = TrainConfig(arch="mlp", epochs=2, batch_size=32, val_size=100)
    result = train(config, on_batch=lambda u: stop.set(), stop=stop, data=synthetic_data, steps_per_execution=1)
    assert result.stopped_early is True and result.epochs_completed < 1.0


def test_stop_before_start_runs_no_step(synthetic_data):
    stop = StopSignal()
    stop.set()
    calls: list[object] = []
    config = TrainConfig(arch="mlp", epochs=2, batch_size=32, val_size=100)
    result = train(config, on_batch=calls.append, on_epoch=calls.append, stop=stop, data=synthetic_data)
    assert calls == [] and result.batch_history == []
    assert result.history["loss"] == []
    assert result.stopped_early is True and result.epochs_completed == 0.0
    assert result.model.optimizer.iterations.numpy() == 0
    assert result.test_probabilities.shape == (60, 10)


def test_invalid_config_raises_before_training(synthetic_data):
    with pytest.raises(ValueError, match="Epochs"):
        train(TrainConfig(epochs=0), data=synthetic_data)


# --- the reused training step ------------------------------------------------------------


def _trainers_for(config: TrainConfig) -> list:
    return trainers.trainer_pool._idle.get((config.arch, config.width, config.dropout, False, 1), [])


def test_compiled_step_is_reused_and_runs_stay_reproducible(synthetic_data):
    trainers.trainer_pool.clear()
    config = TrainConfig(arch="mlp", epochs=2, batch_size=32, val_size=100, dropout=0.25, seed=4)
    first = train(config, data=synthetic_data, steps_per_execution=3)
    (trainer,) = _trainers_for(config)
    # Another learning rate, schedule and batch size: the same compiled step serves.
    other = train(
        TrainConfig(
            arch="mlp",
            epochs=1,
            batch_size=16,
            val_size=100,
            dropout=0.25,
            seed=9,
            learning_rate=3e-3,
            schedule="cosine",
        ),
        data=synthetic_data,
    )
    again = train(config, data=synthetic_data, steps_per_execution=3)
    assert _trainers_for(config) == [trainer] and trainer._step.experimental_get_tracing_count() == 1
    # Reset restores everything a fresh build has: weights, dropout seeds, optimizer state.
    np.testing.assert_allclose(again.test_probabilities, first.test_probabilities, rtol=1e-5, atol=1e-6)
    assert again.history == first.history
    assert not np.allclose(other.test_probabilities, first.test_probabilities)
    # Each run hands back a model of its own, not the pooled trainer's.
    assert len({id(first.model), id(again.model), id(trainer.model)}) == 3
    for a, b in zip(again.model.get_weights(), trainer.model.get_weights(), strict=False):
        np.testing.assert_array_equal(a, b)


def test_failed_run_does_not_return_its_trainer(synthetic_data):
    trainers.trainer_pool.clear()
    config = TrainConfig(arch="mlp", epochs=1, batch_size=32, val_size=100, dropout=0.35)

    def broken_hook(update: BatchUpdate) -> None:
        raise RuntimeError("hook failed")

    with pytest.raises(RuntimeError, match="hook failed"):
        train(config, on_batch=broken_hook, data=synthetic_data)
    assert _trainers_for(config) == []
    assert train(config, data=synthetic_data).epochs_completed == 1.0  # a fresh trainer next time


def test_every_name_is_still_importable_from_core_training():
    from core import config, metrics, optimizer, pipeline, progress, trainer, training

    homes = {
        "TrainConfig": config,
        "train": training,
        "TrainResult": progress,
        "BatchUpdate": progress,
        "EpochUpdate": progress,
        "StopSignal": progress,
        "ProgressTracker": progress,
        "BlockTrainer": trainer,
        "FusedAdam": optimizer,
        "LearningRate": optimizer,
        "copy_variables": trainer,
        "augment_batch": pipeline,
        "evaluate": metrics,
        "predict_dataset": metrics,
        "scores": metrics,
        "steps_per_execution_for": trainer,
    }
    assert sorted(training.__all__) == sorted(homes)
    for name, home in homes.items():
        assert getattr(training, name) is getattr(home, name), name
