"""The in-memory training data pipeline: cached tensors, augmentation, blocks of batches.

The training images are held once per process as a tensor (converted on
first use, dropped with their array); every run gathers its batches from it
by index, so no run copies the data set, and hands them to the trainer a
block of batches at a time.
"""

from __future__ import annotations

import math
import threading
import weakref
from typing import Any

import numpy as np
import tensorflow as tf

__all__ = ["augment_batch", "block_dataset", "cached_tensor_count"]

# One tensor per array per process, keyed by id(array); the weak reference tells a live array from a reused id.
_tensors: dict[int, tuple[Any, tf.Tensor]] = {}
_tensors_lock = threading.Lock()


def _as_tensor(array: np.ndarray) -> tf.Tensor:
    """One tensor per array per process (MNIST is converted once, not per run)."""
    key = id(array)
    with _tensors_lock:
        entry = _tensors.get(key)
        if entry is not None and entry[0]() is array:
            return entry[1]
        with tf.device("/CPU:0"):
            tensor = tf.constant(array)
        _tensors[key] = (weakref.ref(array), tensor)
        weakref.finalize(array, _tensors.pop, key, None)
        return tensor


def cached_tensor_count() -> int:
    """How many arrays this process holds as tensors (one per data set, however many runs use it)."""
    with _tensors_lock:
        return len(_tensors)


def augment_batch(
    images: tf.Tensor,
    generator: tf.random.Generator,
    max_rotation: float = 12.0,
    max_shift: float = 2.0,
    zoom: float = 0.1,
    max_shear: float = 0.15,
    closing: float = 0.25,
) -> tf.Tensor:
    """Randomly distort a batch of digits the way real handwriting varies.

    Each image gets its own rotation, shear, zoom and shift (one bilinear
    resampling) and a random stroke thickness (blend towards a 3×3 dilation
    or erosion), and a quarter of them get their narrow loops filled, so a model
    learns thick and thin, slanted and shifted digits, and those drawn with a brush
    too wide for their size.

    Args:
        images: (B, 28, 28) float32 in [0, 1].
        generator: Source of randomness.
        max_rotation: Degrees either way.
        max_shift: Pixels either way.
        zoom: Relative zoom either way.
        max_shear: Shear factor either way.
        closing: Fraction of the digits whose narrow loops and gaps are filled, as by a
            wide brush (a morphological closing by 3 or 5 px).

    Returns:
        (B, 28, 28) float32 in [0, 1].
    """
    b = tf.shape(images)[0]
    theta = generator.uniform([b], -max_rotation, max_rotation) * (math.pi / 180.0)
    scale = generator.uniform([b], 1.0 - zoom, 1.0 + zoom)
    shear = generator.uniform([b], -max_shear, max_shear)
    dx = generator.uniform([b], -max_shift, max_shift)
    dy = generator.uniform([b], -max_shift, max_shift)
    cos, sin = tf.cos(theta) / scale, tf.sin(theta) / scale
    # Output -> input map: in = M (out - c) + c - d, with M = R(theta) Shear / scale.
    a0, a1 = cos, cos * shear - sin
    b0, b1 = sin, sin * shear + cos
    c = 14.0
    a2 = c - a0 * c - a1 * c - dx
    b2 = c - b0 * c - b1 * c - dy
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    x = images[..., None]
    x = tf.raw_ops.ImageProjectiveTransformV3(
        images=x,
        transforms=transforms,
        output_shape=[28, 28],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    dilated = tf.nn.max_pool2d(x, 3, 1, "SAME")
    eroded = -tf.nn.max_pool2d(-x, 3, 1, "SAME")
    t = generator.uniform([b, 1, 1, 1], -0.6, 1.0)
    x = tf.where(t > 0, x + t * (dilated - x), x - t * (eroded - x))
    # A wide brush on a small digit fills its narrow loops and gaps, and the stroke-width step
    # (core.stroke) thins the strokes again but cannot open them: a closing (dilate, then erode)
    # draws the same. One digit in four, by 3 or 5 px.
    closed3 = -tf.nn.max_pool2d(-dilated, 3, 1, "SAME")
    dilated5 = tf.nn.max_pool2d(x, 5, 1, "SAME")
    closed5 = -tf.nn.max_pool2d(-dilated5, 5, 1, "SAME")
    u = generator.uniform([b, 1, 1, 1])
    x = tf.where(u < closing / 2, tf.maximum(x, closed5), tf.where(u < closing, tf.maximum(x, closed3), x))[..., 0]
    # Drawings reach the model with their strongest ink at 1; keep it so.
    peak = tf.reduce_max(x, axis=[1, 2], keepdims=True)
    return tf.clip_by_value(x / tf.maximum(peak, 1e-3), 0.0, 1.0)


def block_dataset(
    x: np.ndarray, y: np.ndarray, n: int, batch_size: int, block: int, seed: int = 0, augment: bool = False
) -> tf.data.Dataset:
    """Blocks of ``block`` batches of the first ``n`` images of ``x``, reshuffled every epoch.

    ``x`` and ``y`` are the whole arrays (e.g. straight from ``load_mnist``):
    they become tensors once per process and batches are gathered from them by
    index, so no run copies the data set. Each element is one block shaped
    (k, batch, 28, 28), k <= ``block``; a last, smaller batch (when ``n`` is
    not a multiple of ``batch_size``) comes as a block of its own, so every
    image is seen once per epoch, as with ``model.fit``.

    Args:
        x: (N, 28, 28) uint8 images, N >= ``n``.
        y: (N,) labels.
        n: Train on the first ``n`` images.
        batch_size: Images per batch.
        block: Batches per block (per call into the training graph).
        seed: Seed of the shuffling (and, ``seed + 1``, of the augmentation).
        augment: Distort every batch with :func:`augment_batch`.

    Returns:
        A dataset of ``(images, labels)`` blocks: (k, batch, 28, 28) float32 in
        [0, 1] and (k, batch) int32. Iterate it once per epoch.
    """
    images, labels = _as_tensor(x), _as_tensor(y)
    full = (n // batch_size) * batch_size
    shuffler = tf.random.Generator.from_seed(seed)

    def epoch_blocks(_: tf.Tensor) -> tf.data.Dataset:
        order = tf.argsort(shuffler.uniform([n]))  # a new permutation every epoch
        blocks = tf.data.Dataset.from_tensor_slices(tf.reshape(order[:full], [-1, batch_size])).batch(block)
        if full < n:
            blocks = blocks.concatenate(tf.data.Dataset.from_tensors(tf.reshape(order[full:], [1, n - full])))
        return blocks

    def gather(idx: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(tf.gather(images, idx), tf.float32) / 255.0, tf.cast(tf.gather(labels, idx), tf.int32)

    # The training subset is a prefix of the arrays; gather by index, a block at a time.
    ds = tf.data.Dataset.range(1).flat_map(epoch_blocks).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    if augment:
        generator = tf.random.Generator.from_seed(seed + 1)

        def distort(xb: tf.Tensor, yb: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            flat = augment_batch(tf.reshape(xb, [-1, 28, 28]), generator)
            return tf.reshape(flat, tf.shape(xb)), yb

        ds = ds.map(distort)
    return ds.prefetch(2)
