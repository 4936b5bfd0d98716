"""Tests for core.trainer: block sizes, the block trainer and its stop flag, copying variables, the pool."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from core import trainer as trainers  # noqa: E402
from core.model import build_model  # noqa: E402
from core.trainer import BlockTrainer, copy_variables, steps_per_execution_for  # noqa: E402


def test_steps_per_execution_bounds():
    for arch in ("mlp", "cnn"):
        for batch in (16, 128, 1024):
            for width in (4, 16, 64):
                spe = steps_per_execution_for(arch, batch, width)
                assert isinstance(spe, int) and 1 <= spe <= 128
    assert steps_per_execution_for("mlp", 16) == 128  # capped
    assert steps_per_execution_for("cnn", 1024, width=64) == 1  # at least one
    assert steps_per_execution_for("cnn", 32) >= steps_per_execution_for("cnn", 256)


def test_trainer_pool_is_bounded():
    pool = trainers.TrainerPool(per_key=2, keys=2)
    for key in ("a", "a", "a", "b", "c"):
        pool.give(key, object())
    assert sorted(pool._idle) == ["b", "c"]  # least recently used key dropped
    assert len(pool._idle["b"]) == 1
    made = pool.take("a", lambda: "new")
    assert made == "new"


def _block(k: int, batch: int, seed: int = 0) -> tuple[tf.Tensor, tf.Tensor]:
    rng = np.random.default_rng(seed)
    return (
        tf.constant(rng.random((k, batch, 28, 28), dtype=np.float32)),
        tf.constant(rng.integers(0, 10, (k, batch)).astype(np.int32)),
    )


def test_block_trainer_trains_a_block_and_honours_its_stop_flag():
    trainer = BlockTrainer(build_model("mlp", 0.0))
    start = build_model("mlp", 0.0, seed=3)
    trainer.reset(start, learning_rate=1e-2)
    done, loss_sum, hits = trainer.train_block(*_block(3, 8))
    assert done == 3 and loss_sum > 0 and 0 <= hits <= 3
    assert int(trainer.optimizer.iterations.numpy()) == 3
    assert any(not np.array_equal(a, b) for a, b in zip(trainer.model.get_weights(), start.get_weights(), strict=False))
    trainer.stop.assign(True)
    assert trainer.train_block(*_block(2, 4)) == (0, 0.0, 0.0)  # checked before every batch
    trainer.reset(start, learning_rate=1e-3)  # a fresh start: weights, optimizer state, no stop
    assert not bool(trainer.stop.numpy()) and int(trainer.optimizer.iterations.numpy()) == 0
    for a, b in zip(trainer.model.get_weights(), start.get_weights(), strict=False):
        np.testing.assert_array_equal(a, b)
    assert trainer.train_block(*_block(2, 16))[0] == 2
    assert trainer._step.experimental_get_tracing_count() == 1  # any block and batch size: one trace


def test_copy_variables_requires_matching_models():
    a, b = build_model("mlp", 0.1, seed=1), build_model("mlp", 0.1, seed=2)
    copy_variables(a, b)
    for x, y in zip(a.get_weights(), b.get_weights(), strict=False):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="do not have the same variables"):
        copy_variables(a, build_model("cnn", 0.1, width=4))


def test_a_batch_in_parts_takes_the_same_step_as_the_whole_batch():
    whole, halves = (
        BlockTrainer(build_model("cnn", 0.0, width=4)),
        BlockTrainer(build_model("cnn", 0.0, width=4), parts=3),
    )
    start = build_model("cnn", 0.0, width=4, seed=5)
    x, y = _block(2, 10)  # 10 images in parts of 4, 3 and 3
    for trainer in (whole, halves):
        trainer.reset(start, learning_rate=1e-2)
    (done_a, loss_a, hits_a), (done_b, loss_b, hits_b) = whole.train_block(x, y), halves.train_block(x, y)
    assert done_a == done_b == 2 and loss_a == pytest.approx(loss_b, rel=1e-5) and hits_a == pytest.approx(hits_b)
    for a, b in zip(whole.model.get_weights(), halves.model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
