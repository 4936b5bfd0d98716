"""The Draw page's "Inside the network" view as data: every picture it shows for one drawing, ready to lay out.

:func:`inside_view` makes, in one call into the model's traced functions
(:mod:`core.explain`), the saliency maps of the answer and the runner-up
over the digit, one grid of activation maps per convolution layer, one strip
of squares per hidden dense layer, and, for a network whose first layer is
dense, the input weights of its most active units as 28×28 pictures
(:mod:`core.explain_images`). The page only places them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np

from core.explain import layers_problem, saliencies
from core.explain_images import map_grid, saliency_overlay, unit_strip, weight_grid
from core.learned import input_weights

__all__ = ["InsideView", "LayerPicture", "UnitPicture", "inside_view", "shape_label"]

TOP_UNITS = 8  #: most active first-layer units whose input weights are shown


@dataclass(frozen=True)
class LayerPicture:
    """One shown layer.

    Attributes:
        name: The layer's name in the model.
        shape: Its activations' shape for one image: (H, W, filters) or (units,).
        picture: Grey ``uint8``: a grid of maps (convolution) or of squares (dense).
    """

    name: str
    shape: tuple[int, ...]
    picture: np.ndarray

    @property
    def is_conv(self) -> bool:
        """Whether these are a convolution's maps (else a dense layer's units)."""
        return len(self.shape) == 3


@dataclass(frozen=True)
class UnitPicture:
    """A first-layer unit and the 784 input weights it looks at.

    Attributes:
        unit: The unit's index in its layer.
        activation: Its activation for the drawing.
        picture: The weights as a 28×28 picture (red positive, blue negative), enlarged.
    """

    unit: int
    activation: float
    picture: np.ndarray


@dataclass(frozen=True)
class InsideView:
    """Everything the view shows for one drawing.

    Attributes:
        digits: The answer and the runner-up.
        confidences: The model's probabilities for them.
        overlays: One saliency picture per digit (the digit in grey, red = pushed towards it, blue = against).
        saliency: The raw (2, 28, 28) maps.
        layers: The shown layers, in the model's order.
        units_layer: The dense first layer whose units are in ``units`` (None when there are none).
        units: Its most active units, most active first.
        problem: Why the layers cannot be shown (the saliency maps still are), or None.
    """

    digits: tuple[int, int]
    confidences: tuple[float, float]
    overlays: list[np.ndarray]
    saliency: np.ndarray
    layers: list[LayerPicture] = field(default_factory=list)
    units_layer: str | None = None
    units: list[UnitPicture] = field(default_factory=list)
    problem: str | None = None


def shape_label(shape: tuple[int, ...]) -> str:
    """``(14, 14, 32)`` -> ``"14×14 × 32 filters"``; ``(128,)`` -> ``"128 units"``."""
    if len(shape) == 3:
        return f"{shape[0]}×{shape[1]} × {shape[2]} filters"
    return f"{shape[0]} units" if len(shape) == 1 else "×".join(map(str, shape))


def _layer_picture(name: str, values: np.ndarray) -> LayerPicture:
    if values.ndim == 3:
        columns = 16 if values.shape[-1] > 16 else 8
        return LayerPicture(name, values.shape, map_grid(values, columns=columns, cell=48))
    return LayerPicture(name, values.shape, unit_strip(values.reshape(-1), columns=32))


def _top_units(model: keras.Model, shown: dict[str, np.ndarray], count: int) -> tuple[str | None, list[UnitPicture]]:
    weights = input_weights(model)
    if weights is None or weights[0] not in shown:
        return None, []
    name, kernel = weights
    values = shown[name]
    order = np.argsort(-values, kind="stable")[:count]
    limit = float(np.abs(kernel[:, order]).max()) if len(order) else 1.0
    return name, [
        UnitPicture(int(u), float(values[u]), weight_grid(kernel[:, u].reshape(1, 28, 28), cell=84, limit=limit))
        for u in order
    ]


def inside_view(model: keras.Model, image: np.ndarray, probabilities: np.ndarray, units: int = TOP_UNITS) -> InsideView:
    """All the pictures of the "Inside the network" view for one drawing.

    Args:
        model: The model that read the drawing.
        image: The (28, 28) input it read.
        probabilities: Its (10,) answer for it (the page has it already).
        units: How many of a dense first layer's most active units to picture.

    Returns:
        An :class:`InsideView`; its ``problem`` says why no layers are shown
        when the model's layers do not fit.

    Raises:
        core.explain.UnsupportedModel: The model does not read 28×28 images.
    """
    probs = np.asarray(probabilities, np.float32).reshape(-1)
    order = np.argsort(-probs, kind="stable")
    digits = (int(order[0]), int(order[1]))
    shown, maps = saliencies(model, image, digits)
    limit = float(np.abs(maps).max())  # one colour scale for both maps: their strengths compare
    overlays = [saliency_overlay(image, m, scale=8, limit=limit) for m in maps]
    pictures = [_layer_picture(name, values) for name, values in shown.items()]
    units_layer, top = _top_units(model, shown, units)
    return InsideView(
        digits=digits,
        confidences=(float(probs[digits[0]]), float(probs[digits[1]])),
        overlays=overlays,
        saliency=maps,
        layers=pictures,
        units_layer=units_layer,
        units=top,
        problem=layers_problem(model),
    )
