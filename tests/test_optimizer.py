"""Tests for core.optimizer: FusedAdam gives Keras' Adam updates; LearningRate gives Keras' schedules."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from core.optimizer import FusedAdam, LearningRate  # noqa: E402


@pytest.mark.parametrize("step", [0, 1, 37, 100, 199, 200, 500])
def test_learning_rate_matches_keras(step):
    keras = pytest.importorskip("keras")
    cosine = LearningRate(3e-3, 200, alpha=0.05)
    expected = keras.optimizers.schedules.CosineDecay(3e-3, 200, alpha=0.05)(step)
    assert float(cosine(step)) == pytest.approx(float(expected), rel=1e-5)
    assert float(LearningRate(3e-3)(step)) == pytest.approx(3e-3)
    cosine.set(1e-3, 0)  # changed in place: now constant
    assert float(cosine(step)) == pytest.approx(1e-3)


def _model() -> keras.Model:
    """A small seeded classifier: a dense layer with bias, batch norm (non-trainable variables too), softmax."""
    init = keras.initializers.GlorotUniform(seed=7)
    return keras.Sequential(
        [
            keras.Input((12,)),
            keras.layers.Dense(16, activation="relu", kernel_initializer=init),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(5, activation="softmax", kernel_initializer=init),
        ]
    )


def _batches(steps: int) -> list[tuple[tf.Tensor, tf.Tensor]]:
    rng = np.random.default_rng(0)
    return [
        (tf.constant(rng.normal(size=(32, 12)).astype(np.float32)), tf.constant(rng.integers(0, 5, 32)))
        for _ in range(steps)
    ]


def _train(model: keras.Model, apply, batches) -> list[list[np.ndarray]]:
    """Weights after each step of training ``model`` with ``apply(gradients, variables)``."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    weights = []
    for x, y in batches:
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        variables = model.trainable_variables
        apply(tape.gradient(loss, variables), variables)
        weights.append([np.array(w) for w in model.get_weights()])
    return weights


SCHEDULES = {
    "constant": (lambda: 3e-3, lambda: 3e-3),
    "cosine, same schedule": (lambda: LearningRate(3e-3, 6, alpha=0.05), lambda: LearningRate(3e-3, 6, alpha=0.05)),
    "cosine, Keras' CosineDecay": (
        lambda: keras.optimizers.schedules.CosineDecay(3e-3, 6, alpha=0.05),
        lambda: LearningRate(3e-3, 6, alpha=0.05),
    ),
}


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf.function"])
@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_fused_adam_matches_keras_adam(schedule, compiled):
    keras_rate, fused_rate = SCHEDULES[schedule]
    batches = _batches(10)  # past the end of the 6-step decay
    reference, model = _model(), _model()
    for a, b in zip(reference.get_weights(), model.get_weights(), strict=False):
        np.testing.assert_array_equal(a, b)  # the same start

    adam = keras.optimizers.Adam(learning_rate=keras_rate())
    expected = _train(reference, adam.apply, batches)

    fused = FusedAdam(fused_rate())
    fused.build(model.trainable_variables)
    apply = fused.apply
    if compiled:  # as in BlockTrainer: the step closes over the variables
        variables = model.trainable_variables
        step = tf.function(lambda gradients: fused.apply(gradients, variables))
        apply = lambda gradients, _: step(gradients)  # noqa: E731
    got = _train(model, apply, batches)

    for step, (want, have) in enumerate(zip(expected, got, strict=False)):
        for a, b in zip(want, have, strict=False):
            assert np.allclose(b, a, rtol=1e-5, atol=1e-6), f"step {step}: max diff {np.abs(a - b).max()}"
    assert int(fused.iterations.numpy()) == int(adam.iterations.numpy()) == len(batches)
    assert any(not np.allclose(a, b) for a, b in zip(got[0], got[-1], strict=False))  # it did train


def test_fused_adam_plain_tf_variables_and_skipped_gradients():
    var, untouched = tf.Variable([1.0, -2.0]), tf.Variable([5.0])
    fused = FusedAdam(0.1)
    fused.build([var, untouched])
    assert len(fused.variables) == 1 + 2 * 2  # step counter, then m and v per variable
    fused.apply([tf.constant([0.5, -0.5]), None], [var, untouched])
    # Adam's first step moves every weight by the learning rate, against its gradient's sign.
    np.testing.assert_allclose(var.numpy(), [0.9, -1.9], rtol=1e-5)
    np.testing.assert_array_equal(untouched.numpy(), [5.0])
    assert int(fused.iterations.numpy()) == 1


def test_fused_adam_rejects_unknown_variables_and_mismatched_lengths():
    fused = FusedAdam()
    fused.build([tf.Variable([1.0])])
    with pytest.raises(ValueError, match="not built"):
        fused.apply([tf.constant([1.0])], [tf.Variable([2.0], name="stranger")])
    with pytest.raises(ValueError, match="2 gradients for 1 variables"):
        fused.apply([tf.constant([1.0]), tf.constant([1.0])], [tf.Variable([2.0])])


def test_zeroed_state_starts_over():
    """What BlockTrainer.reset does: zero every optimizer variable and the next run equals a fresh optimizer's."""
    batches = _batches(4)
    model = _model()
    start = [np.array(w) for w in model.get_weights()]
    fused = FusedAdam(LearningRate(1e-2, 4))
    fused.build(model.trainable_variables)
    first = _train(model, fused.apply, batches)
    model.set_weights(start)
    for variable in fused.variables:
        variable.assign(tf.zeros_like(variable))
    again = _train(model, fused.apply, batches)
    for a, b in zip(first[-1], again[-1], strict=False):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-8)


def test_the_learning_rate_warms_up_then_decays():
    rate = LearningRate(3e-3, decay_steps=100, alpha=0.05, warmup_steps=10)
    warming = [float(rate(step)) for step in range(10)]
    assert warming == pytest.approx([3e-3 * (s + 1) / 10 for s in range(10)])
    assert float(rate(10)) == pytest.approx(3e-3)  # the peak, where the cosine starts
    assert float(rate(55)) == pytest.approx(3e-3 * (0.95 * 0.5 + 0.05))  # halfway down the cosine
    assert float(rate(100)) == pytest.approx(3e-3 * 0.05) == float(rate(500))
    assert LearningRate(3e-3, warmup_steps=4).get_config()["warmup_steps"] == 4
