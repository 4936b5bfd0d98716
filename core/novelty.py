"""Is this a digit at all? A cheap check of the ink pattern, beside the model's answer.

A classifier trained on digits always names a digit: pure noise can come out
as "99.7% sure it is an 8". Three statistics of the normalised 28×28 image
tell most non-digits apart, because MNIST's 60,000 training digits almost
never show them:

- **pieces**: 8-connected pieces of solid ink. A digit is one stroke or a few
  (99.98% of training digits have at most 4); dots, speckle and blotches
  break into many.
- **ink**: the share of the 28×28 field covered by solid ink. Digits cover
  4-27% of it; a block of texture fitted into the 20×20 box covers up to 51%.
- **grey**: the share of touched pixels that are grey rather than solid. A
  stroke is solid with grey edges; noise averaged down is grey throughout.

An image is flagged when its pattern is unlike any digit (five or more
pieces, or a large grey texture), or when the model is unsure *and* the pattern
is unusual (three or more pieces, or heavy ink). ``python -m bench.hostile``
measures how often real digits are flagged (MNIST test set, synthetic canvas
drawings) and how often noise and scribbles are caught.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["InkPattern", "digit_doubt", "ink_pattern", "not_a_digit"]

SOLID = 0.5  #: pixel value from which a pixel counts as solid ink
TOUCHED = 0.1  #: pixel value from which a pixel counts as touched at all
MANY_PIECES = 5  #: this many pieces is unlike any digit
TEXTURE_INK, TEXTURE_GREY = 0.25, 0.7  #: this much ink, this grey, is a texture, not strokes
UNSURE_BELOW = 0.8  #: with a top probability under this...
SOME_PIECES, HEAVY_INK = 3, 0.2  #: ...this many pieces or this much ink is suspicious


@dataclass(frozen=True)
class InkPattern:
    """Ink statistics of a batch of 28×28 images, one value per image.

    Attributes:
        ink: (N,) share of the field that is solid ink (``>= SOLID``).
        grey: (N,) share of touched pixels (``> TOUCHED``) that are not solid
            ink (``< 1 - TOUCHED``).
        pieces: (N,) number of 8-connected pieces of solid ink.
    """

    ink: np.ndarray
    grey: np.ndarray
    pieces: np.ndarray


def _pieces(mask: np.ndarray) -> np.ndarray:
    """8-connected components per image: each pixel takes its neighbours' smallest label until stable."""
    h, w = mask.shape[1:]
    background = np.int32(h * w)
    labels = np.where(mask, np.arange(h * w, dtype=np.int32).reshape(1, h, w), background)
    for _ in range(h * w):  # a label travels at least one pixel per pass
        padded = np.pad(labels, ((0, 0), (1, 1), (1, 1)), constant_values=background)
        smallest = labels
        for dy in range(3):
            for dx in range(3):
                smallest = np.minimum(smallest, padded[:, dy : dy + h, dx : dx + w])
        smallest = np.where(mask, smallest, background)
        if np.array_equal(smallest, labels):
            break
        labels = smallest
    # A piece is the set of pixels that kept their own index as the label.
    own = labels == np.arange(h * w, dtype=np.int32).reshape(1, h, w)
    return own.sum(axis=(1, 2))


def ink_pattern(images: np.ndarray) -> InkPattern:
    """The ink statistics of normalised digit images.

    Args:
        images: (N, 28, 28) or (28, 28) floats in [0, 1], white digit on black
            (``canvas_to_mnist`` output, or MNIST divided by 255).

    Returns:
        An :class:`InkPattern` with (N,) arrays.
    """
    x = np.asarray(images, dtype=np.float32)
    x = x[None] if x.ndim == 2 else x
    solid = x >= SOLID
    touched = x > TOUCHED
    grey = (touched & (x < 1.0 - TOUCHED)).sum(axis=(1, 2)) / np.maximum(touched.sum(axis=(1, 2)), 1)
    return InkPattern(ink=solid.mean(axis=(1, 2)), grey=grey, pieces=_pieces(solid))


def not_a_digit(images: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Which images are probably not digits, whatever the model says.

    Args:
        images: (N, 28, 28) or (28, 28) normalised images (see :func:`ink_pattern`).
        probs: (N, 10) or (10,) class probabilities for them.

    Returns:
        (N,) bool, True where the image is flagged.
    """
    pattern = ink_pattern(images)
    top = np.atleast_2d(probs).max(axis=1)
    unlike = (pattern.pieces >= MANY_PIECES) | ((pattern.ink > TEXTURE_INK) & (pattern.grey > TEXTURE_GREY))
    unusual = (pattern.pieces >= SOME_PIECES) | (pattern.ink > HEAVY_INK)
    return unlike | ((top < UNSURE_BELOW) & unusual)


def digit_doubt(image: np.ndarray, probs: np.ndarray) -> str | None:
    """Why one image is probably not a digit, as a sentence for the page; ``None`` if it may well be.

    Args:
        image: (28, 28) normalised image.
        probs: (10,) class probabilities for it.

    Returns:
        A short explanation, or ``None`` when the image is not flagged.
    """
    if not not_a_digit(image, probs)[0]:
        return None
    pattern = ink_pattern(image)
    pieces, ink = int(pattern.pieces[0]), float(pattern.ink[0])
    if ink > TEXTURE_INK and pattern.grey[0] > TEXTURE_GREY:
        what = "a patch of texture or noise rather than pen strokes"
    elif pieces >= SOME_PIECES:
        what = f"{pieces} separate marks, where a digit is one stroke or a few"
    else:
        what = f"ink over {ink:.0%} of the square, more than almost any digit"
    return f"This does not look like a handwritten digit: it is {what}."
