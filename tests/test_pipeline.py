"""Tests for core.pipeline: augmentation, blocks of batches, the per-process tensor cache."""

from __future__ import annotations

import gc

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from core.pipeline import augment_batch, block_dataset, cached_tensor_count  # noqa: E402


def test_augment_batch_keeps_shape_and_range(synthetic_digits):
    x, _ = synthetic_digits(16, seed=3)
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


def _numbered(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Images whose pixels all hold their index, and labels equal to it: each batch says what it holds."""
    index = np.arange(count, dtype=np.uint8)
    return np.broadcast_to(index[:, None, None], (count, 28, 28)).copy(), index.copy()


def _epoch(dataset: tf.data.Dataset) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray]:
    shapes, images, labels = [], [], []
    for xb, yb in dataset:
        shapes.append(tuple(xb.shape))
        images.append(np.asarray(xb).reshape(-1, 28, 28))
        labels.append(np.asarray(yb).reshape(-1))
    return shapes, np.concatenate(images), np.concatenate(labels)


def test_blocks_cover_the_first_n_images_once_per_epoch():
    x, y = _numbered(120)
    dataset = block_dataset(x, y, n=100, batch_size=32, block=2, seed=5)
    shapes, images, labels = _epoch(dataset)
    # 3 full batches in blocks of at most 2, then the 4 images left over as a block of their own.
    assert shapes == [(2, 32, 28, 28), (1, 32, 28, 28), (1, 4, 28, 28)]
    assert sorted(labels) == list(range(100))  # images 100-119 (validation) never appear
    assert labels.dtype == np.int32 and images.dtype == np.float32
    np.testing.assert_allclose(images[:, 0, 0], labels / 255.0, rtol=1e-6)  # images and labels stay paired
    _, _, second = _epoch(dataset)
    assert sorted(second) == list(range(100)) and list(second) != list(labels)  # reshuffled every epoch
    _, _, same_seed = _epoch(block_dataset(x, y, n=100, batch_size=32, block=2, seed=5))
    assert list(same_seed) == list(labels)  # seeded: reproducible


def test_augmented_blocks_keep_labels_and_shapes(synthetic_digits):
    x, y = synthetic_digits(64, seed=2)
    plain = _epoch(block_dataset(x, y, n=64, batch_size=16, block=4, seed=1))
    augmented = _epoch(block_dataset(x, y, n=64, batch_size=16, block=4, seed=1, augment=True))
    assert augmented[0] == plain[0] and list(augmented[2]) == list(plain[2])
    assert np.abs(augmented[1] - plain[1]).mean() > 0.01
    assert augmented[1].min() >= 0.0 and augmented[1].max() <= 1.0


def test_arrays_become_tensors_once():
    x, y = _numbered(50)
    before = cached_tensor_count()
    block_dataset(x, y, n=50, batch_size=10, block=5)
    assert cached_tensor_count() == before + 2
    block_dataset(x, y, n=40, batch_size=8, block=1, augment=True)
    assert cached_tensor_count() == before + 2  # another run on the same arrays: no new copy
    del x, y
    gc.collect()
    assert cached_tensor_count() == before  # dropped with their arrays
