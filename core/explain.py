"""What a digit model computes inside: each layer's activations, and which pixels decided its answer.

:func:`activations` runs one 28×28 image through a model and returns what
every convolution layer and every hidden dense layer made of it;
:func:`saliency` says, pixel by pixel, how much the image pushed the model
towards a digit (gradient × input of that digit's logit above the mean of
the ten logits). Layers are found by type, not by name, in any
``Sequential`` or functional Keras model, so every model the Draw page can
pick is explained whatever its architecture; a model whose layers do not
fit raises :class:`UnsupportedModel`, whose message is meant for people.
The weights themselves are in :mod:`core.learned`.

Each model's traced functions are built on first use and kept with the
model (by weak reference: they go when the model goes), so explaining a
drawing is one call into an already traced function, never a rebuild.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers

# The one definition of "reshape (N, 28, 28) to the input the model declares" is inference's.
from core.inference import ModelLoadError, _input_adapter
from core.runtime import configure_tensorflow

configure_tensorflow()

__all__ = ["CONV_LAYERS", "UnsupportedModel", "activations", "is_prepared", "layers_problem", "saliencies", "saliency"]

#: Layers shown as activation maps (one image per filter).
CONV_LAYERS = (layers.Conv2D, layers.SeparableConv2D, layers.DepthwiseConv2D)
#: Element-wise layers that finish a layer's work (a convolution's batch norm and ReLU): its activations are
#: shown as they leave the last of these.
FINISHING_LAYERS = (
    layers.BatchNormalization,
    layers.Activation,
    layers.ReLU,
    layers.LeakyReLU,
    layers.ELU,
    layers.PReLU,
    layers.Softmax,
)

Body = Callable[[tf.Tensor], tuple[list[tf.Tensor], tf.Tensor]]


class UnsupportedModel(ValueError):
    """The model's layers do not fit the views of its insides; the message says why, for people."""


def _is_softmax(fn: object) -> bool:
    return fn is keras.activations.softmax or getattr(fn, "__name__", "") == "softmax"


def _logits(answer: layers.Dense | None, features: tf.Tensor) -> tf.Tensor:
    """The ten logits: the answer layer's output before its softmax, or log-probabilities as a fallback.

    Logits, not probabilities: a confident model's top probability is 1.0 in
    float32 and its gradient exactly zero, which would leave a blank map.
    """
    if answer is None:
        return tf.math.log(tf.maximum(features, 1e-30))
    z = keras.ops.matmul(features, answer.kernel)
    return z + answer.bias if answer.use_bias else z


def _answer_layer(chain: Sequence[layers.Layer]) -> int | None:
    """Index in ``chain`` of the dense layer whose softmax is the model's answer, if there is one."""
    for i in range(len(chain) - 1, -1, -1):
        layer = chain[i]
        if isinstance(layer, layers.Dense):
            after = chain[i + 1 :]
            linear_then_softmax = getattr(layer.activation, "__name__", "") == "linear" and any(
                _is_softmax(getattr(a, "activation", None)) or isinstance(a, layers.Softmax) for a in after
            )
            return i if _is_softmax(layer.activation) or linear_then_softmax else None
        if not isinstance(layer, (*FINISHING_LAYERS, layers.Dropout)):
            return None
    return None


def _flat_layers(model: keras.Model) -> list[layers.Layer]:
    """A Sequential model's layers in order, nested Sequential models opened up."""
    chain: list[layers.Layer] = []
    for layer in model.layers:
        if isinstance(layer, keras.Sequential):
            chain.extend(_flat_layers(layer))
        elif isinstance(layer, keras.Model):
            raise UnsupportedModel(f"its layers are wrapped in a sub-model ({layer.name}), which this view cannot open")
        else:
            chain.append(layer)
    return chain


def _sequential_body(model: keras.Sequential) -> tuple[Body, list[str]]:
    """The forward pass of a Sequential model, stopping at each shown layer's activations."""
    chain = _flat_layers(model)
    answer = _answer_layer(chain)
    end = answer if answer is not None else len(chain)
    taps: dict[int, str] = {}  # index in chain of the layer whose output is shown -> the name shown
    for i, layer in enumerate(chain[:end]):
        if isinstance(layer, (*CONV_LAYERS, layers.Dense)):
            j = i
            while j + 1 < end and isinstance(chain[j + 1], FINISHING_LAYERS):
                j += 1
            taps[j] = layer.name
    head = chain[answer] if answer is not None else None

    def body(x: tf.Tensor) -> tuple[list[tf.Tensor], tf.Tensor]:
        shown = []
        for i, layer in enumerate(chain[:end]):
            x = layer(x, training=False)
            if i in taps:
                shown.append(x)
        return shown, _logits(head, x)

    return body, list(taps.values())


def _functional_body(model: keras.Model) -> tuple[Body, list[str]]:
    """The same for a functional model: a sub-model whose outputs are the shown layers' activations."""
    graph = [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)]
    consumers: dict[int, list[layers.Layer]] = {}
    try:
        for layer in graph:
            if isinstance(layer, keras.Model):
                raise UnsupportedModel(
                    f"its layers are wrapped in a sub-model ({layer.name}), which this view cannot open"
                )
            for tensor in keras.tree.flatten(layer.input):
                consumers.setdefault(id(tensor), []).append(layer)
        output = model.outputs[0]
        producer = {id(layer.output): layer for layer in graph}
    except (AttributeError, ValueError) as exc:  # a layer used twice has no single input or output
        raise UnsupportedModel(f"its graph has layers that are used more than once ({exc})") from None

    def finished(tensor):
        while len(nexts := consumers.get(id(tensor), [])) == 1 and isinstance(nexts[0], FINISHING_LAYERS):
            tensor = nexts[0].output
        return tensor

    answer = producer.get(id(output))
    while isinstance(answer, FINISHING_LAYERS):  # e.g. Dense -> Softmax: walk back to the dense layer
        answer = producer.get(id(answer.input))
    linear = getattr(getattr(answer, "activation", None), "__name__", "") == "linear"
    if not isinstance(answer, layers.Dense) or not (_is_softmax(answer.activation) or linear):
        answer = None
    names, tensors = [], []
    for layer in graph:
        if isinstance(layer, (*CONV_LAYERS, layers.Dense)) and layer is not answer:
            names.append(layer.name)
            tensors.append(finished(layer.output))
    sub = keras.Model(model.inputs, [*tensors, answer.input if answer is not None else output])

    def body(x: tf.Tensor) -> tuple[list[tf.Tensor], tf.Tensor]:
        *shown, features = sub(x, training=False)
        return list(shown), _logits(answer, features)

    return body, names


class _Explainer:
    """A model's traced functions: its shown activations, and its logits' gradients with respect to the input.

    Args:
        model: A digit model (28×28 in, ten probabilities out).

    Attributes:
        names: The shown layers' names, in the model's order.
        problem: Why no activations can be shown (``None`` when they can).
    """

    def __init__(self, model: keras.Model) -> None:
        try:
            adapt = _input_adapter(model)
        except ModelLoadError as exc:
            raise UnsupportedModel(str(exc)) from None
        self.names: list[str] = []
        self.problem: str | None = None
        try:
            build = _sequential_body if isinstance(model, keras.Sequential) else _functional_body
            body, self.names = build(model)
        except UnsupportedModel as exc:
            self.problem = f"The layers of this model cannot be shown: {exc}."
            body = self._whole_model(model)
        if not self.names and self.problem is None:
            kinds = ", ".join(sorted({type(layer).__name__ for layer in model.layers}))
            self.problem = (
                f"This model has no convolution or hidden dense layer to show (its layers: {kinds}); "
                "the map of which pixels decided still works."
            )
        image = tf.TensorSpec([1, 28, 28], tf.float32)

        def forward(x: tf.Tensor) -> list[tf.Tensor]:
            return body(adapt(x))[0]

        def gradients(x: tf.Tensor, digits: tf.Tensor) -> tuple[list[tf.Tensor], tf.Tensor]:
            # One row per digit: the rows are independent (inference mode), so one backward
            # pass gives every digit's gradient at once.
            rows = tf.tile(x, [tf.shape(digits)[0], 1, 1])
            with tf.GradientTape() as tape:
                tape.watch(rows)
                shown, z = body(adapt(rows))
                target = tf.gather(z, digits, batch_dims=1) - tf.reduce_mean(z, axis=1)
            grad = tape.gradient(target, rows)
            return [s[:1] for s in shown], grad * rows

        # Not XLA-compiled: that would cost every new model (each session's run) seconds of CPU
        # at its first view, for no gain per stroke (python -m bench.explain).
        self.forward = tf.function(forward, input_signature=[image])
        self.gradients = tf.function(gradients, input_signature=[image, tf.TensorSpec([None], tf.int32)])

    @staticmethod
    def _whole_model(model: keras.Model) -> Body:
        """A body that shows nothing and takes log-probabilities for logits (for models that cannot be opened)."""

        held = weakref.ref(model)  # the explainer is the model's entry's value: it must not keep the model alive

        def body(x: tf.Tensor) -> tuple[list[tf.Tensor], tf.Tensor]:
            live = held()
            if live is None:  # only while tracing, which runs with the model at hand
                raise ReferenceError("the model of this explainer is gone")
            return [], _logits(None, live(x, training=False))

        return body


_lock = threading.Lock()
_explainers: weakref.WeakKeyDictionary[keras.Model, _Explainer] = weakref.WeakKeyDictionary()


def _explainer(model: keras.Model) -> _Explainer:
    """The model's explainer, built on first use (once, even with several threads asking)."""
    found = _explainers.get(model)
    if found is None:
        with _lock:
            found = _explainers.get(model)
            if found is None:
                found = _explainers[model] = _Explainer(model)
    return found


def is_prepared(model: keras.Model) -> bool:
    """Whether ``model``'s functions are built already (else the next call builds them, which takes seconds)."""
    return model in _explainers


def _image(image: np.ndarray) -> tf.Tensor:
    x = np.asarray(image, np.float32)
    if x.shape != (28, 28):
        raise ValueError(f"expected one (28, 28) image, got shape {x.shape}")
    return tf.constant(x[None])


def _named(names: Sequence[str], shown: Sequence[tf.Tensor]) -> dict[str, np.ndarray]:
    return {name: np.asarray(t)[0] for name, t in zip(names, shown, strict=False)}


def layers_problem(model: keras.Model) -> str | None:
    """Why ``model``'s layers cannot be shown, for people; None when :func:`activations` works.

    Raises:
        UnsupportedModel: The model does not read 28×28 images at all.
    """
    return _explainer(model).problem


def activations(model: keras.Model, image: np.ndarray) -> dict[str, np.ndarray]:
    """What each convolution and hidden dense layer of ``model`` makes of one image.

    A layer's activations are taken where its own work ends: after the batch
    normalisation and activation that directly follow it, if any.

    Args:
        model: A digit model (Sequential or functional).
        image: (28, 28) floats in [0, 1], white digit on black.

    Returns:
        The layer's name -> its activations, in the model's order: (H, W, filters)
        for a convolution, (units,) for a dense layer. The output layer is not
        included (its answer is the ten probabilities).

    Raises:
        UnsupportedModel: The model's layers cannot be shown (the message says why).
    """
    explainer = _explainer(model)
    if explainer.problem is not None:
        raise UnsupportedModel(explainer.problem)
    return _named(explainer.names, explainer.forward(_image(image)))


def saliencies(
    model: keras.Model, image: np.ndarray, digits: Sequence[int]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Saliency maps for several digits and the activations, in one pass (what the Draw page needs per stroke).

    Args:
        model: A digit model.
        image: (28, 28) floats in [0, 1].
        digits: The digits to explain (e.g. the answer and the runner-up).

    Returns:
        ``(activations, maps)``: the activations as :func:`activations` gives them
        (empty when the model's layers cannot be shown) and (len(digits), 28, 28) maps.

    Raises:
        UnsupportedModel: The model does not read 28×28 images.
    """
    explainer = _explainer(model)
    shown, maps = explainer.gradients(_image(image), tf.constant(list(digits), tf.int32))
    return _named(explainer.names, shown), np.asarray(maps)


def saliency(model: keras.Model, image: np.ndarray, digit: int) -> np.ndarray:
    """How much each pixel pushed ``model`` towards ``digit``: gradient × input.

    The gradient is that of the digit's logit above the mean of the ten logits
    (pushing every digit up at once does not count), times the pixel's value:
    blank pixels are exactly 0, and setting a pixel of large positive
    saliency to black lowers the digit's score by about that much.

    Args:
        model: A digit model.
        image: (28, 28) floats in [0, 1].
        digit: 0–9.

    Returns:
        (28, 28) float32 map; larger = pushed more towards ``digit``, negative = against it.
    """
    if not 0 <= int(digit) <= 9:
        raise ValueError(f"digit must be 0-9, got {digit}")
    return saliencies(model, image, [int(digit)])[1][0]
