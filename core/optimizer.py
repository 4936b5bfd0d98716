"""Adam, fused: the optimizer of :class:`core.trainer.BlockTrainer`, and its learning-rate schedule.

Built on public TensorFlow and Keras APIs only: :class:`FusedAdam` keeps its
own moment variables and step counter and updates each variable with
``tf.raw_ops.ResourceApplyAdam``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf

__all__ = ["FusedAdam", "LearningRate"]


class FusedAdam:
    """Adam with each variable's update done by TensorFlow's fused kernel.

    Keras' Adam computes the update with about a dozen small operations per
    variable; ``ResourceApplyAdam`` computes the identical update (same
    bias-corrected step size, epsilon added to sqrt(v)) in one. For the small
    networks trained here, per-operation overhead is most of a step's time.
    The results equal ``keras.optimizers.Adam`` with the same settings.

    Args:
        learning_rate: A rate, or a schedule called with the 0-based step
            (e.g. :class:`LearningRate`).
        beta_1: Decay of the first-moment (mean) estimates.
        beta_2: Decay of the second-moment (uncentred variance) estimates.
        epsilon: Added to sqrt(v) in the denominator (Keras' default).
    """

    def __init__(
        self,
        learning_rate: float | Callable[[tf.Tensor], Any] = 1e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
    ) -> None:
        self.learning_rate = learning_rate
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.iterations = tf.Variable(0, trainable=False, dtype=tf.int64, name="iterations")
        self._slots: dict[int, tuple[tf.Variable, tf.Variable]] = {}
        self._built_for: list[Any] = []  # keeps the variables alive, so their ids stay theirs

    @property
    def variables(self) -> list[tf.Variable]:
        """The optimizer's state: the step counter, then each variable's first and second moments."""
        return [self.iterations, *(slot for pair in self._slots.values() for slot in pair)]

    def build(self, variables: Sequence[Any]) -> None:
        """Create zeroed moment variables for each of ``variables`` (call once, outside a ``tf.function``)."""
        for variable in variables:
            if id(variable) in self._slots:
                continue
            name = variable.name.replace("/", "_").replace(":", "_")
            self._slots[id(variable)] = (
                tf.Variable(tf.zeros(variable.shape, variable.dtype), trainable=False, name=f"{name}_m"),
                tf.Variable(tf.zeros(variable.shape, variable.dtype), trainable=False, name=f"{name}_v"),
            )
            self._built_for.append(variable)

    def apply(self, gradients: Sequence[tf.Tensor | None], variables: Sequence[Any]) -> None:
        """Take one Adam step: update each variable with its gradient (``None``: left alone), then count the step.

        Args:
            gradients: One per variable, in the same order.
            variables: The variable objects given to :meth:`build` (Keras or
                ``tf.Variable``); a ``tf.function`` should close over them, not
                take them as arguments (it would see stand-ins).

        Raises:
            ValueError: A variable was not built for, or the lengths differ.
        """
        if len(gradients) != len(variables):
            raise ValueError(f"{len(gradients)} gradients for {len(variables)} variables")
        rate = self.learning_rate(self.iterations) if callable(self.learning_rate) else self.learning_rate
        # The step's shared scalars once, not per variable: for these small networks every
        # operation's dispatch costs about as much as its arithmetic.
        shared: dict[tf.DType, dict[str, tf.Tensor]] = {}
        t = tf.cast(self.iterations + 1, tf.float32)
        for gradient, variable in zip(gradients, variables, strict=False):
            if gradient is None:
                continue
            slots = self._slots.get(id(variable))
            if slots is None:
                raise ValueError(f"FusedAdam was not built for variable {variable.name}")
            m, v = slots
            dtype = variable.dtype
            if dtype not in shared:
                beta_1, beta_2 = tf.constant(self.beta_1, dtype), tf.constant(self.beta_2, dtype)
                step = tf.cast(t, dtype)
                shared[dtype] = dict(
                    beta1_power=tf.pow(beta_1, step),
                    beta2_power=tf.pow(beta_2, step),
                    lr=tf.cast(rate, dtype),
                    beta1=beta_1,
                    beta2=beta_2,
                    epsilon=tf.constant(self.epsilon, dtype),
                )
            tf.raw_ops.ResourceApplyAdam(
                var=_handle(variable),
                m=m.handle,
                v=v.handle,
                grad=tf.cast(gradient, dtype),
                use_locking=False,
                **shared[dtype],
            )
        self.iterations.assign_add(1)


def _handle(variable: Any) -> tf.Tensor:
    """The resource handle of a ``tf.Variable`` or of the ``tf.Variable`` inside a Keras variable."""
    return variable.handle if isinstance(variable, tf.Variable) else variable.value.handle


class LearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate with an optional linear warm-up, then constant or cosine-decayed.

    After ``warmup_steps`` of linear warm-up (from ``initial / warmup_steps``)
    it gives the same values as a constant or as
    ``keras.optimizers.schedules.CosineDecay(initial, decay_steps - warmup_steps, alpha)``,
    but the settings live in variables, so a compiled training step is reused
    by the next run whatever its learning rate, schedule or length.

    Args:
        initial: The learning rate after the warm-up (and at the start of the decay).
        decay_steps: Steps of the whole run, warm-up included, over which the rate
            decays (0: constant).
        alpha: Floor of the decay, as a fraction of ``initial``.
        warmup_steps: Steps of linear warm-up (0: none). Adam's first steps,
            taken with barely estimated moments, are the ones a high rate spoils.
    """

    def __init__(self, initial: float = 1e-3, decay_steps: int = 0, alpha: float = 0.05, warmup_steps: int = 0) -> None:
        self.initial = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="initial_learning_rate")
        self.decay_steps = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="decay_steps")
        self.alpha = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="alpha")
        self.warmup_steps = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="warmup_steps")
        self.set(initial, decay_steps, alpha, warmup_steps)

    def set(self, initial: float, decay_steps: int = 0, alpha: float = 0.05, warmup_steps: int = 0) -> None:
        """Change the settings (takes effect at the next step)."""
        self.initial.assign(float(initial))
        self.decay_steps.assign(float(decay_steps))
        self.alpha.assign(float(alpha))
        self.warmup_steps.assign(float(warmup_steps))

    def __call__(self, step: Any) -> tf.Tensor:
        """The learning rate at optimizer step ``step``."""
        step = tf.cast(step, tf.float32)
        warm, steps = self.warmup_steps, self.decay_steps
        warming = tf.where(warm > 0.0, tf.minimum(1.0, (step + 1.0) / tf.maximum(warm, 1.0)), 1.0)
        fraction = tf.clip_by_value((step - warm) / tf.maximum(steps - warm, 1.0), 0.0, 1.0)
        cosine = (1.0 - self.alpha) * 0.5 * (1.0 + tf.cos(math.pi * fraction)) + self.alpha
        return self.initial * warming * tf.where(steps > 0.0, cosine, 1.0)

    def get_config(self) -> dict[str, float]:
        """The current settings."""
        return {
            "initial": float(self.initial.numpy()),
            "decay_steps": int(self.decay_steps.numpy()),
            "alpha": float(self.alpha.numpy()),
            "warmup_steps": int(self.warmup_steps.numpy()),
        }
