"""What a person may add to their collection of drawings: a checked digit, its label, and the canvas beside it.

A contribution is the 28×28 image the model saw (uint8, white digit on black,
as :func:`core.preprocess.canvas_to_mnist` makes it, times 255), the drawing
itself at 64×64 (uint8 ink, white on black: :func:`canvas_thumbnail`) and a
label 0–9. :func:`check_contribution` refuses anything else with a
:class:`Refused` whose message can be shown as it is: a wrong shape or type,
no ink, a canvas full of ink, or ink unlike any single digit (many separate
marks or a patch of texture, as :mod:`core.novelty` tells them).

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from core.novelty import MANY_PIECES, SOLID, TEXTURE_GREY, TEXTURE_INK, ink_pattern
from core.preprocess import Background, extract_ink

__all__ = ["CANVAS_SIDE", "IMAGE_SIDE", "Refused", "as_uint8", "canvas_thumbnail", "check_contribution", "check_label"]

IMAGE_SIDE = 28  #: the model's input: 28×28
CANVAS_SIDE = 64  #: the drawing kept beside it: 64×64
MIN_INK_PIXELS = 6  #: solid ink pixels (of 784) a digit has at least; MNIST's thinnest 1s have over 20
MAX_INK_SHARE = 0.6  #: more of the 28×28 solid ink than this is not one digit


class Refused(ValueError):
    """A contribution that is not kept; its message says why, in words for the person."""


def as_uint8(image: np.ndarray) -> np.ndarray:
    """A float image in [0, 1] (what the model saw) as uint8 0–255, rounded.

    Args:
        image: Floats in [0, 1] (values outside are clipped).

    Returns:
        The same shape, uint8.
    """
    return np.round(np.clip(np.asarray(image, np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)


def canvas_thumbnail(image: np.ndarray, background: Background = "auto") -> np.ndarray:
    """The drawing (a canvas or a photo) as its ink, white on black, padded square and shrunk to 64×64.

    Args:
        image: (H, W, 4) RGBA, (H, W, 3) RGB or (H, W) grey, as the Draw page has it.
        background: Its background style (see :func:`core.preprocess.extract_ink`).

    Returns:
        (64, 64) uint8.
    """
    ink, _ = extract_ink(image, background)
    h, w = ink.shape
    side = max(h, w)
    square = np.zeros((side, side), np.float32)
    square[(side - h) // 2 : (side - h) // 2 + h, (side - w) // 2 : (side - w) // 2 + w] = ink
    small = Image.fromarray(square, mode="F").resize((CANVAS_SIDE, CANVAS_SIDE), Image.Resampling.BOX)
    return as_uint8(np.asarray(small))


def check_label(label: Any) -> int:
    """``label`` as an int 0–9 (an int, or a NumPy integer).

    Raises:
        Refused: Anything else (a bool, a float, a string, a number out of range).
    """
    if isinstance(label, bool) or not isinstance(label, int | np.integer) or not 0 <= int(label) <= 9:
        raise Refused("The label must be one digit, 0 to 9.")
    return int(label)


def _check_array(array: Any, side: int, what: str) -> np.ndarray:
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.shape != (side, side):
        shape = getattr(array, "shape", None)
        dtype = getattr(array, "dtype", type(array).__name__)
        raise Refused(f"{what} must be a {side}×{side} greyscale image of bytes (uint8), not {shape} {dtype}.")
    return np.ascontiguousarray(array)


def check_image(image: Any) -> np.ndarray:
    """The 28×28 the model saw, if it holds one digit.

    Args:
        image: (28, 28) uint8, white digit on black.

    Returns:
        The image (contiguous).

    Raises:
        Refused: The wrong shape or type, no ink, a field full of ink, or ink unlike one digit.
    """
    image = _check_array(image, IMAGE_SIDE, "The digit")
    x = image.astype(np.float32) / 255.0
    solid = int((x >= SOLID).sum())
    if solid < MIN_INK_PIXELS:
        raise Refused("There is no digit in this drawing: draw one first.")
    if solid > MAX_INK_SHARE * x.size:
        raise Refused("This drawing is mostly ink: clear the canvas and draw a single digit.")
    pattern = ink_pattern(x)
    if pattern.pieces[0] >= MANY_PIECES:
        raise Refused(f"This is {int(pattern.pieces[0])} separate marks, not one digit: draw a single digit.")
    if pattern.ink[0] > TEXTURE_INK and pattern.grey[0] > TEXTURE_GREY:
        raise Refused("This looks like a patch of texture or noise, not a digit: draw a single digit.")
    return image


def check_contribution(image: Any, canvas: Any, label: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Check a whole contribution: the digit, the canvas beside it, the label.

    Args:
        image: (28, 28) uint8, the model's input (see :func:`check_image`).
        canvas: (64, 64) uint8, the drawing (see :func:`canvas_thumbnail`).
        label: The digit it is, 0–9.

    Returns:
        ``(image, canvas, label)``, checked.

    Raises:
        Refused: Any part is wrong; the message says which and why.
    """
    label = check_label(label)
    return check_image(image), _check_array(canvas, CANVAS_SIDE, "The drawing"), label
