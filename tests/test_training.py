"""Tests for core.training: tiny training runs, stopping, augmentation (TrainConfig: tests/test_config.py)."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from core.inference import predict_proba  # noqa: E402
from core import training  # noqa: E402
from core.training import (  # noqa: E402
    BatchUpdate,
    EpochUpdate,
    LearningRate,
    StopSignal,
    TrainConfig,
    augment_batch,
    scores,
    steps_per_execution_for,
    train,
)


def _synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Easy, learnable 'digits': class k is a bright 4×4 block at a class-specific spot, plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n).astype(np.uint8)
    x = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(y):
        row, col = 4 + 8 * (label // 4), 2 + 6 * (label % 4)
        x[i, row:row + 4, col:col + 4] = 255
    return x, y


@pytest.fixture(scope="module")
def synthetic_data():
    """400 training images (the last 100 are validation) and 60 test images."""
    return _synthetic(400, seed=0), _synthetic(60, seed=1)


# --- helpers -----------------------------------------------------------------------------


def test_steps_per_execution_bounds():
    for arch in ("mlp", "cnn"):
        for batch in (16, 128, 1024):
            for width in (4, 16, 64):
                spe = steps_per_execution_for(arch, batch, width)
                assert isinstance(spe, int) and 1 <= spe <= 128
    assert steps_per_execution_for("mlp", 16) == 128  # capped
    assert steps_per_execution_for("cnn", 1024, width=64) == 1  # at least one
    assert steps_per_execution_for("cnn", 32) >= steps_per_execution_for("cnn", 256)


def test_batch_update_fraction():
    assert BatchUpdate(0, 4, 5, 10, 1.0, 0.5, 1.0).fraction == pytest.approx(0.125)
    assert BatchUpdate(3, 4, 10, 10, 1.0, 0.5, 1.0).fraction == 1.0
    assert BatchUpdate(0, 1, 0, 0, 1.0, 0.5, 1.0).fraction == 0.0


def test_scores():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], np.float32)
    loss, accuracy = scores(probabilities, np.array([0, 1, 1]))
    assert accuracy == pytest.approx(2 / 3)
    assert loss == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3, rel=1e-5)
    assert all(math.isnan(v) for v in scores(np.zeros((0, 10)), np.zeros(0)))


def test_augment_batch_keeps_shape_and_range():
    x, _ = _synthetic(16, seed=3)
    images = tf.constant(x.astype(np.float32) / 255.0)
    images = tf.concat([images, tf.zeros((1, 28, 28))], axis=0)  # an empty image must not become NaN
    out = augment_batch(images, tf.random.Generator.from_seed(0)).numpy()
    assert out.shape == (17, 28, 28) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_allclose(out[:16].max(axis=(1, 2)), 1.0, atol=1e-5)  # strongest ink stays 1
    assert out[16].max() == 0.0
    assert np.abs(out[:16] - images.numpy()[:16]).mean() > 0.01  # it did change the images
    again = augment_batch(images, tf.random.Generator.from_seed(0)).numpy()
    np.testing.assert_allclose(again, out, atol=1e-6)  # seeded: reproducible


# --- training runs ------------------------------------------------------------------------


def test_one_epoch_on_synthetic_data(synthetic_data):
    batches: list[BatchUpdate] = []
    epochs: list[EpochUpdate] = []
    config = TrainConfig(arch="cnn", width=4, epochs=1, batch_size=32, val_size=100, augment=True,
                         schedule="cosine", seed=1)
    result = train(config, on_batch=batches.append, on_epoch=epochs.append, data=synthetic_data,
                   steps_per_execution=2)
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
    result = train(config, on_batch=on_batch, on_epoch=epochs_seen.append, stop=stop, data=synthetic_data,
                   steps_per_execution=2)
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


def test_stop_signal_variable_follows_event():
    stop, variable = StopSignal(), tf.Variable(True)
    stop.attach(variable)
    assert not stop.is_set() and not bool(variable.numpy())
    stop.set()
    assert stop.is_set() and bool(variable.numpy())
    late, late_variable = StopSignal(), tf.Variable(False)
    late.set()
    late.attach(late_variable)
    assert bool(late_variable.numpy())  # attached after set(): starts True
    detached, left_alone = StopSignal(), tf.Variable(False)
    detached.attach(left_alone)
    detached.detach(left_alone)
    detached.set()
    assert not bool(left_alone.numpy())  # detached: left alone


# --- learning rate and the reused training step ----------------------------------------


@pytest.mark.parametrize("step", [0, 1, 37, 100, 199, 200, 500])
def test_learning_rate_matches_keras(step):
    keras = pytest.importorskip("keras")
    cosine = LearningRate(3e-3, 200, alpha=0.05)
    expected = keras.optimizers.schedules.CosineDecay(3e-3, 200, alpha=0.05)(step)
    assert float(cosine(step)) == pytest.approx(float(expected), rel=1e-5)
    assert float(LearningRate(3e-3)(step)) == pytest.approx(3e-3)
    cosine.set(1e-3, 0)  # changed in place: now constant
    assert float(cosine(step)) == pytest.approx(1e-3)


def _trainers_for(config: TrainConfig) -> list:
    return training._trainers._idle.get((config.arch, config.width, config.dropout, False), [])


def test_compiled_step_is_reused_and_runs_stay_reproducible(synthetic_data):
    training._trainers.clear()
    config = TrainConfig(arch="mlp", epochs=2, batch_size=32, val_size=100, dropout=0.25, seed=4)
    first = train(config, data=synthetic_data, steps_per_execution=3)
    (trainer,) = _trainers_for(config)
    # Another learning rate, schedule and batch size: the same compiled step serves.
    other = train(TrainConfig(arch="mlp", epochs=1, batch_size=16, val_size=100, dropout=0.25, seed=9,
                              learning_rate=3e-3, schedule="cosine"), data=synthetic_data)
    again = train(config, data=synthetic_data, steps_per_execution=3)
    assert _trainers_for(config) == [trainer] and trainer._step.experimental_get_tracing_count() == 1
    # Reset restores everything a fresh build has: weights, dropout seeds, optimizer state.
    np.testing.assert_allclose(again.test_probabilities, first.test_probabilities, rtol=1e-5, atol=1e-6)
    assert again.history == first.history
    assert not np.allclose(other.test_probabilities, first.test_probabilities)
    # Each run hands back a model of its own, not the pooled trainer's.
    assert len({id(first.model), id(again.model), id(trainer.model)}) == 3
    for a, b in zip(again.model.get_weights(), trainer.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_failed_run_does_not_return_its_trainer(synthetic_data):
    training._trainers.clear()
    config = TrainConfig(arch="mlp", epochs=1, batch_size=32, val_size=100, dropout=0.35)

    def broken_hook(update: BatchUpdate) -> None:
        raise RuntimeError("hook failed")

    with pytest.raises(RuntimeError, match="hook failed"):
        train(config, on_batch=broken_hook, data=synthetic_data)
    assert _trainers_for(config) == []
    assert train(config, data=synthetic_data).epochs_completed == 1.0  # a fresh trainer next time


def test_trainer_pool_is_bounded():
    pool = training._TrainerPool(per_key=2, keys=2)
    for key in ("a", "a", "a", "b", "c"):
        pool.give(key, object())
    assert sorted(pool._idle) == ["b", "c"]  # least recently used key dropped
    assert len(pool._idle["b"]) == 1
    made = pool.take("a", lambda: "new")
    assert made == "new"
