"""Tests for core.data: IDX/npz loading, caching, error messages, validation split."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from core import data
from core.data import IDX_NAMES, MnistUnavailableError, load_mnist, read_idx, split_validation, write_idx

N_TRAIN, N_TEST = 12, 5


@pytest.fixture
def clean_cache():
    """Start and end with an empty load_mnist cache (MNIST_DIR changes per test)."""
    data.clear_cache()
    yield
    data.clear_cache()


def _arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }


def _write_dir(directory: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for role, array in arrays.items():
        path = directory / (IDX_NAMES[role] + (".gz" if gz else ""))
        write_idx(path, array)
        paths[role] = path
    return paths


@pytest.fixture
def idx_dir(tmp_path, monkeypatch, clean_cache):
    """A tmp MNIST_DIR with four tiny valid gzipped IDX files; yields (dir, arrays, paths)."""
    arrays = _arrays()
    paths = _write_dir(tmp_path / "mnist", arrays)
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "mnist"))
    return tmp_path / "mnist", arrays, paths


def _assert_helpful(exc: pytest.ExceptionInfo, filename: str) -> None:
    message = str(exc.value)
    assert filename in message, message
    assert "MNIST_DIR" in message, message


# --- read_idx / write_idx ---------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_read_idx_round_trip(tmp_path, suffix):
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    labels = np.array([7, 0, 9], np.uint8)
    write_idx(tmp_path / f"img{suffix}", images)
    write_idx(tmp_path / f"lbl{suffix}", labels)
    raw = (tmp_path / f"img{suffix}").read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == (suffix == ".gz")
    got = read_idx(tmp_path / f"img{suffix}", 0x803)
    assert got.dtype == np.uint8 and got.shape == (3, 28, 28)
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(read_idx(tmp_path / f"lbl{suffix}", 0x801), labels)


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    labels = np.array([1, 2, 3], np.uint8)
    write_idx(tmp_path / "labels.gz", labels)
    (tmp_path / "labels.gz").rename(tmp_path / "labels")
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), labels)


def test_read_idx_rejects_tiny_and_non_idx_files(tmp_path):
    (tmp_path / "tiny").write_bytes(b"\x00\x00")
    with pytest.raises(MnistUnavailableError, match="tiny"):
        read_idx(tmp_path / "tiny")
    (tmp_path / "text").write_bytes(b"hello world, not an IDX file")
    with pytest.raises(MnistUnavailableError, match="not an uint8 IDX"):
        read_idx(tmp_path / "text")


def test_read_idx_corrupt_gzip_is_a_friendly_error(tmp_path):
    """Bit flips inside the deflate stream raise zlib.error; it must not escape."""
    images = np.random.default_rng(1).integers(0, 50, (50, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "img.gz", images)
    good = (tmp_path / "img.gz").read_bytes()
    for position in range(30, len(good) - 20, max(1, len(good) // 40)):
        bad = bytearray(good)
        bad[position] ^= 0x55
        (tmp_path / "bad.gz").write_bytes(bytes(bad))
        try:
            read_idx(tmp_path / "bad.gz", 0x803)
        except MnistUnavailableError as exc:
            assert "bad.gz" in str(exc)


# --- load_mnist: valid sources ---------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_load_mnist_from_idx_dir(tmp_path, monkeypatch, clean_cache, gz):
    arrays = _arrays()
    _write_dir(tmp_path, arrays, gz=gz)
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (N_TRAIN, 28, 28) and x_test.shape == (N_TEST, 28, 28)
    assert y_train.shape == (N_TRAIN,) and y_test.shape == (N_TEST,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8
        assert not array.flags.writeable  # shared by every caller: read-only
    np.testing.assert_array_equal(x_train, arrays["train_images"])
    np.testing.assert_array_equal(y_test, arrays["test_labels"])


def test_load_mnist_accepts_dotted_idx_names(tmp_path, monkeypatch, clean_cache):
    """Some mirrors name the files train-images.idx3-ubyte (dot instead of dash)."""
    arrays = _arrays()
    for role, array in arrays.items():
        write_idx(tmp_path / IDX_NAMES[role].replace("-idx", ".idx"), array)
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    (x_train, _), _ = load_mnist()
    np.testing.assert_array_equal(x_train, arrays["train_images"])


def test_load_mnist_is_cached_per_dir(idx_dir, tmp_path, monkeypatch):
    first = load_mnist()
    second = load_mnist()
    assert first is second
    assert first[0][0] is second[0][0]
    # Another MNIST_DIR is a different cache entry.
    other = _arrays(seed=5)
    _write_dir(tmp_path / "other", other)
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "other"))
    third = load_mnist()
    assert third is not first
    np.testing.assert_array_equal(third[0][0], other["train_images"])
    # clear_cache forces a re-read.
    data.clear_cache()
    assert load_mnist() is not third


def test_load_mnist_from_keras_npz(tmp_path, monkeypatch, clean_cache):
    arrays = _arrays()
    np.savez(
        tmp_path / "mnist.npz",
        x_train=arrays["train_images"],
        y_train=arrays["train_labels"],
        x_test=arrays["test_images"],
        y_test=arrays["test_labels"],
    )
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (N_TRAIN, 28, 28) and x_test.shape == (N_TEST, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    np.testing.assert_array_equal(y_train, arrays["train_labels"])
    np.testing.assert_array_equal(x_test, arrays["test_images"])


def test_truncated_npz_is_a_friendly_error(tmp_path, monkeypatch, clean_cache):
    """A half-written mnist.npz (e.g. an interrupted download) must not raise BadZipFile."""
    arrays = _arrays()
    np.savez(
        tmp_path / "mnist.npz",
        x_train=arrays["train_images"],
        y_train=arrays["train_labels"],
        x_test=arrays["test_images"],
        y_test=arrays["test_labels"],
    )
    raw = (tmp_path / "mnist.npz").read_bytes()
    (tmp_path / "mnist.npz").write_bytes(raw[: len(raw) // 2])
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    with pytest.raises(MnistUnavailableError) as exc:
        load_mnist()
    _assert_helpful(exc, "mnist.npz")


def test_npz_missing_array_is_reported(tmp_path, monkeypatch, clean_cache):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    with pytest.raises(MnistUnavailableError) as exc:
        load_mnist()
    _assert_helpful(exc, "mnist.npz")
    assert "y_train" in str(exc.value)


# --- load_mnist: broken sources --------------------------------------------------


def test_swapped_images_and_labels_report_magic(idx_dir):
    directory, arrays, paths = idx_dir
    # Put a label file where the training images should be.
    write_idx(paths["train_images"], arrays["train_labels"])
    with pytest.raises(MnistUnavailableError) as exc:
        load_mnist()
    _assert_helpful(exc, IDX_NAMES["train_images"])
    assert "magic" in str(exc.value) and "swapped" in str(exc.value)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_truncated_file(tmp_path, monkeypatch, clean_cache, gz):
    paths = _write_dir(tmp_path, _arrays(), gz=gz)
    path = paths["test_images"]
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 100])
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    with pytest.raises(MnistUnavailableError) as exc:
        load_mnist()
    _assert_helpful(exc, IDX_NAMES["test_images"])


def test_truncated_inside_header(idx_dir):
    _, _, paths = idx_dir
    # Valid magic for 3-D images, but the dimension sizes are cut off.
    paths["train_images"].write_bytes(gzip.compress(b"\x00\x00\x08\x03\x00\x00"))
    with pytest.raises(MnistUnavailableError, match="header") as exc:
        load_mnist()
    _assert_helpful(exc, IDX_NAMES["train_images"])


def test_padded_file(idx_dir):
    _, arrays, paths = idx_dir
    raw = gzip.decompress(paths["train_labels"].read_bytes())
    paths["train_labels"].write_bytes(gzip.compress(raw + b"\x00\x00"))
    with pytest.raises(MnistUnavailableError, match="padded") as exc:
        load_mnist()
    _assert_helpful(exc, IDX_NAMES["train_labels"])


def test_count_mismatch_between_images_and_labels(idx_dir):
    _, arrays, paths = idx_dir
    write_idx(paths["train_labels"], arrays["train_labels"][:-1])
    with pytest.raises(MnistUnavailableError) as exc:
        load_mnist()
    message = str(exc.value)
    _assert_helpful(exc, IDX_NAMES["train_images"])
    assert f"{N_TRAIN} train images" in message and f"({N_TRAIN - 1},)" in message


def test_wrong_image_size(idx_dir):
    _, _, paths = idx_dir
    write_idx(paths["test_images"], np.zeros((N_TEST, 32, 32), np.uint8))
    with pytest.raises(MnistUnavailableError, match="28, 28") as exc:
        load_mnist()
    _assert_helpful(exc, IDX_NAMES["test_images"])


def test_labels_out_of_range(idx_dir):
    _, _, paths = idx_dir
    write_idx(paths["test_labels"], np.full(N_TEST, 10, np.uint8))
    with pytest.raises(MnistUnavailableError, match="labels outside 0-9") as exc:
        load_mnist()
    _assert_helpful(exc, "t10k-")


def test_missing_file(idx_dir):
    _, _, paths = idx_dir
    paths["test_labels"].unlink()
    with pytest.raises(MnistUnavailableError) as exc:
        load_mnist()
    _assert_helpful(exc, IDX_NAMES["test_labels"])


def test_empty_dir(tmp_path, monkeypatch, clean_cache):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    with pytest.raises(MnistUnavailableError) as exc:
        load_mnist()
    _assert_helpful(exc, IDX_NAMES["train_images"])
    assert "mnist.npz" in str(exc.value)


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_mnist_dir_not_a_directory(tmp_path, monkeypatch, clean_cache, kind):
    target = tmp_path / "nope"
    if kind == "file":
        target.write_text("not a folder")
    monkeypatch.setenv("MNIST_DIR", str(target))
    with pytest.raises(MnistUnavailableError, match="not a directory") as exc:
        load_mnist()
    _assert_helpful(exc, str(target))


def test_failed_load_is_not_cached(idx_dir):
    _, arrays, paths = idx_dir
    paths["test_labels"].unlink()
    with pytest.raises(MnistUnavailableError):
        load_mnist()
    write_idx(paths["test_labels"], arrays["test_labels"])  # the user fixes the folder
    (_, _), (_, y_test) = load_mnist()
    np.testing.assert_array_equal(y_test, arrays["test_labels"])


# --- the real data ------------------------------------------------------------------


def test_real_mnist(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert set(np.unique(y_train).tolist()) == set(range(10))
    assert x_train.max() == 255 and x_train.min() == 0


# --- split_validation ---------------------------------------------------------------


def test_split_validation_views_last_images():
    x = np.arange(20 * 28 * 28, dtype=np.uint8).reshape(20, 28, 28)
    y = np.arange(20, dtype=np.uint8)
    (xt, yt), (xv, yv) = split_validation(x, y, val_size=5)
    assert len(xt) == 15 and len(xv) == 5
    assert yt.tolist() == list(range(15)) and yv.tolist() == list(range(15, 20))
    for part, whole in ((xt, x), (yt, y), (xv, x), (yv, y)):
        assert np.shares_memory(part, whole)  # views, no copy
    np.testing.assert_array_equal(xv, x[15:])


def test_split_validation_train_size_and_edges():
    x = np.zeros((20, 28, 28), np.uint8)
    y = np.arange(20, dtype=np.uint8)
    (xt, yt), (xv, yv) = split_validation(x, y, val_size=5, train_size=3)
    assert yt.tolist() == [0, 1, 2] and yv.tolist() == [15, 16, 17, 18, 19]
    (xt, yt), (xv, yv) = split_validation(x, y, val_size=5, train_size=1000)
    assert len(yt) == 15  # capped at what is left after the validation set
    (xt, yt), (xv, yv) = split_validation(x, y, val_size=0)
    assert len(yt) == 20 and len(yv) == 0
    for bad in (-1, 20, 21):
        with pytest.raises(ValueError, match="val_size"):
            split_validation(x, y, val_size=bad)
    with pytest.raises(ValueError, match="train_size"):
        split_validation(x, y, val_size=5, train_size=0)
