"""What a model learned in its first layer: the weights that read the pixels, and how training changed them.

The first convolution's filters, or a dense first layer's 784 input weights
per unit, are pictures: :func:`first_layer_pictures` draws them (red
positive, blue negative) for the model as trained and, when the run kept
them (``TrainResult.first_layer_after_epoch1``), as they were after the
first epoch, on one colour scale so the two compare, with the change
between them. :func:`first_layer_kernel` is what training keeps: a small
plain NumPy copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from core.explain import CONV_LAYERS
from core.explain_images import kernel_images, weight_grid

__all__ = ["FirstLayerPictures", "first_layer", "first_layer_kernel", "first_layer_pictures", "input_weights"]


def first_layer(model: keras.Model) -> layers.Layer | None:
    """The first convolution or dense layer of ``model`` (the one that reads the pixels), if any."""
    stack = list(model.layers)
    while stack:
        layer = stack.pop(0)
        if isinstance(layer, keras.Model):
            stack[:0] = layer.layers  # a nested model: its layers come first
        elif isinstance(layer, (*CONV_LAYERS, layers.Dense)):
            return layer
    return None


def first_layer_kernel(model: keras.Model) -> np.ndarray | None:
    """A copy of the first layer's kernel as plain NumPy (cheap to keep, and to send between processes)."""
    layer = first_layer(model)
    return None if layer is None else np.array(layer.kernel.numpy(), np.float32)


def input_weights(model: keras.Model) -> tuple[str, np.ndarray] | None:
    """The 784 input weights of each unit of a dense first layer that reads the pixels directly.

    Returns:
        ``(layer name, (784, units) kernel)``, or None when the first layer is a
        convolution or reads something else than the 784 pixels.
    """
    layer = first_layer(model)
    if not isinstance(layer, layers.Dense) or layer.kernel.shape[0] != 784:
        return None
    return layer.name, np.asarray(layer.kernel.numpy())


@dataclass(frozen=True)
class FirstLayerPictures:
    """A model's first-layer weights as pictures.

    Attributes:
        name: The layer's name.
        is_conv: Whether these are convolution filters (else dense units' 784 weights).
        count: Filters or units.
        size: (height, width) of each weight image (e.g. (3, 3) or (28, 28)).
        final: The weights as trained, one cell per filter or unit.
        after_epoch1: The same after the first epoch, on the same colour scale (None if not kept).
        difference: ``final`` minus ``after_epoch1``, on its own scale (None if not kept).
        change: How far the weights moved from the first epoch to the end, relative to their size
            (‖final − after_epoch1‖ / ‖after_epoch1‖; None if not kept).
    """

    name: str
    is_conv: bool
    count: int
    size: tuple[int, int]
    final: np.ndarray
    after_epoch1: np.ndarray | None = None
    difference: np.ndarray | None = None
    change: float | None = None


def first_layer_pictures(model: keras.Model, after_epoch1: np.ndarray | None = None) -> FirstLayerPictures | None:
    """Pictures of ``model``'s first-layer weights, and of their change since the first epoch.

    Args:
        model: A trained digit model.
        after_epoch1: That layer's kernel after the first epoch, if kept; ignored when its
            shape differs from the model's.

    Returns:
        The pictures, or None when the first layer's weights are not images (no such layer,
        a convolution over several channels, a dense layer on something else than pixels).
    """
    layer = first_layer(model)
    kernel = first_layer_kernel(model)
    images = None if kernel is None else kernel_images(kernel)
    if layer is None or kernel is None or images is None:
        return None
    is_conv = kernel.ndim == 4
    columns, cell = 8, 28  # 8 cells of ~28 pixels: under 240 pixels wide, never shrunk in a quarter of the page
    early = kernel_images(after_epoch1) if after_epoch1 is not None and after_epoch1.shape == kernel.shape else None
    limit = float(np.abs(images).max() if early is None else max(np.abs(images).max(), np.abs(early).max()))
    pictures = FirstLayerPictures(
        layer.name, is_conv, len(images), images.shape[1:], weight_grid(images, columns=columns, cell=cell, limit=limit)
    )
    if early is None:
        return pictures
    change = float(np.linalg.norm(images - early) / max(float(np.linalg.norm(early)), 1e-12))
    return FirstLayerPictures(
        pictures.name,
        is_conv,
        pictures.count,
        pictures.size,
        pictures.final,
        after_epoch1=weight_grid(early, columns=columns, cell=cell, limit=limit),
        difference=weight_grid(images - early, columns=columns, cell=cell),
        change=change,
    )
