"""Load MNIST from local IDX files, a Keras ``mnist.npz``, the Keras cache or the web.

Source order:

1. ``$MNIST_DIR``: the four IDX files (``.gz`` or not) or a Keras-style
   ``mnist.npz``. When the variable is set its files must be there and valid.
2. The Keras cache (``$KERAS_HOME/datasets/mnist.npz``, default ``~/.keras``).
3. ``keras.datasets.mnist.load_data()``, which downloads.

Every problem surfaces as one :class:`MnistUnavailableError` whose message
names the file and says how to set ``MNIST_DIR``. The arrays are loaded once per
process and shared (read-only) by every caller.
"""

from __future__ import annotations

import gzip
import os
import struct
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "MnistUnavailableError",
    "IDX_NAMES",
    "load_digit_set",
    "load_mnist",
    "read_idx",
    "write_idx",
    "split_validation",
    "clear_cache",
]

Split = tuple[np.ndarray, np.ndarray]

#: Canonical IDX file names, by role.
IDX_NAMES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_EXPECTED_COUNTS = {"train": 60000, "test": 10000}
_IMAGE_MAGIC = 0x00000803
_LABEL_MAGIC = 0x00000801

HOW_TO = (
    "Point Digit Studio at a folder holding the four MNIST IDX files "
    "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; gzipped or not) or a "
    "Keras mnist.npz, e.g. `MNIST_DIR=/path/to/mnist make run`. With internet "
    "access and no MNIST_DIR, the data is downloaded once into the Keras cache."
)


class MnistUnavailableError(RuntimeError):
    """MNIST could not be found or read; the message says which file and how to fix it."""


def read_idx(path: str | os.PathLike[str], expect_magic: int | None = None) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into a uint8 array.

    Args:
        path: The file; a ``.gz`` suffix or gzip magic bytes mean it is compressed.
        expect_magic: If given, the magic number the header must carry
            (``0x803`` for images, ``0x801`` for labels).

    Returns:
        A uint8 array shaped as the header says, e.g. (N, 28, 28) or (N,).

    Raises:
        MnistUnavailableError: The file is missing, truncated, not IDX, or not uint8.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise MnistUnavailableError(f"MNIST file not found: {path}. {HOW_TO}") from None
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise MnistUnavailableError(f"Cannot read MNIST file {path}: {exc}. {HOW_TO}") from None
    if len(raw) < 4:
        raise MnistUnavailableError(f"{path} is not an IDX file (only {len(raw)} bytes). {HOW_TO}")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    magic = struct.unpack(">I", raw[:4])[0]
    if zero != 0 or dtype_code != 0x08 or not 1 <= ndim <= 4:
        raise MnistUnavailableError(f"{path} is not an uint8 IDX file (magic number 0x{magic:08x}). {HOW_TO}")
    if expect_magic is not None and magic != expect_magic:
        raise MnistUnavailableError(
            f"{path} has magic number 0x{magic:08x}, expected 0x{expect_magic:08x} "
            f"(image and label files swapped?). {HOW_TO}"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MnistUnavailableError(f"{path} is truncated inside its header. {HOW_TO}")
    shape = struct.unpack(">" + "I" * ndim, raw[4:header])
    size = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != size:
        raise MnistUnavailableError(
            f"{path} is truncated or padded: header promises {size} bytes of data "
            f"for shape {shape}, found {len(raw) - header}. {HOW_TO}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzip-compressed when the name ends in ``.gz``).

    Args:
        path: Destination file.
        array: A uint8 array of 1 to 4 dimensions.
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    data = header + array.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def _find_idx(directory: Path, role: str) -> Path:
    base = IDX_NAMES[role]
    candidates = [base, base + ".gz", base.replace("-idx", ".idx"), base.replace("-idx", ".idx") + ".gz"]
    for name in candidates:
        if (directory / name).is_file():
            return directory / name
    raise MnistUnavailableError(f"MNIST_DIR={directory} has no {base}[.gz] (nor mnist.npz). {HOW_TO}")


def _check_pair(images: np.ndarray, labels: np.ndarray, split: str, where: str) -> Split:
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise MnistUnavailableError(
            f"{where}: {split} images have shape {images.shape}, expected (N, 28, 28). {HOW_TO}"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise MnistUnavailableError(
            f"{where}: {len(images)} {split} images but labels of shape {labels.shape}. {HOW_TO}"
        )
    if labels.size and labels.max() > 9:
        raise MnistUnavailableError(f"{where}: {split} labels outside 0-9. {HOW_TO}")
    return images, labels


def _load_idx_dir(directory: Path) -> tuple[Split, Split]:
    out = []
    for split in ("train", "test"):
        img_path, lbl_path = _find_idx(directory, f"{split}_images"), _find_idx(directory, f"{split}_labels")
        images = read_idx(img_path, _IMAGE_MAGIC)
        labels = read_idx(lbl_path, _LABEL_MAGIC)
        out.append(_check_pair(images, labels, split, str(img_path)))
    return out[0], out[1]


def _load_npz(path: Path) -> tuple[Split, Split]:
    try:
        with np.load(path, allow_pickle=False) as f:
            train = (np.asarray(f["x_train"], np.uint8), np.asarray(f["y_train"], np.uint8))
            test = (np.asarray(f["x_test"], np.uint8), np.asarray(f["y_test"], np.uint8))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise MnistUnavailableError(f"Cannot read {path}: {exc}. {HOW_TO}") from None
    return _check_pair(*train, "train", str(path)), _check_pair(*test, "test", str(path))


def load_digit_set(path: str | os.PathLike[str]) -> Split:
    """Read a set of labelled digits saved as ``.npz``: a room's export (``x``, ``y``) or MNIST's test split.

    Args:
        path: An ``.npz`` holding ``x`` and ``y`` (``core.room_drawings.RoomDrawings.export``), or
            ``x_test`` and ``y_test`` (a Keras ``mnist.npz``).

    Returns:
        ``(images, labels)``: (N, 28, 28) and (N,) ``uint8``.

    Raises:
        MnistUnavailableError: The file is missing or unreadable, or its arrays are not digits with labels 0-9.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            x_key, y_key = ("x", "y") if "x" in f.files else ("x_test", "y_test")
            images, labels = f[x_key], f[y_key]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise MnistUnavailableError(f"Cannot read the digit set {path}: {exc}.") from None
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise MnistUnavailableError(f"{path}: digits and labels must be uint8, not {images.dtype} and {labels.dtype}.")
    return _check_pair(images, labels, "digit set", str(path))


def _keras_cache_file() -> Path:
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return home / "datasets" / "mnist.npz"


def _load_uncached() -> tuple[Split, Split]:
    mnist_dir = os.environ.get("MNIST_DIR")
    if mnist_dir:
        directory = Path(mnist_dir).expanduser()
        if not directory.is_dir():
            raise MnistUnavailableError(f"MNIST_DIR={mnist_dir} is not a directory. {HOW_TO}")
        npz = directory / "mnist.npz"
        has_idx = any(directory.glob("*idx*-ubyte*"))
        return _load_npz(npz) if npz.is_file() and not has_idx else _load_idx_dir(directory)
    cached = _keras_cache_file()
    if cached.is_file():
        return _load_npz(cached)
    (x_train, y_train), (x_test, y_test) = _download()
    return _check_pair(x_train, y_train, "train", "keras"), _check_pair(x_test, y_test, "test", "keras")


#: Seconds to wait for a download before telling the user (it goes on in the background).
DOWNLOAD_WAIT = float(os.environ.get("DIGIT_STUDIO_DOWNLOAD_WAIT", "60"))
_download_thread: threading.Thread | None = None
_download_result: list = []


def _download() -> tuple[Split, Split]:
    """``keras.datasets.mnist.load_data()`` with a bounded wait.

    Keras' download has no timeout, so on a flaky network it runs in a
    background thread; after :data:`DOWNLOAD_WAIT` seconds the caller gets a
    clear error while the download carries on and fills the Keras cache for
    the next attempt.
    """
    global _download_thread

    def fetch() -> None:
        try:
            import keras

            _download_result.append(keras.datasets.mnist.load_data())
        except Exception as exc:  # noqa: BLE001 - any download failure means "no data"
            _download_result.append(exc)

    if _download_thread is None or (not _download_thread.is_alive() and not _download_result):
        _download_result.clear()
        _download_thread = threading.Thread(target=fetch, name="mnist-download", daemon=True)
        _download_thread.start()
    _download_thread.join(DOWNLOAD_WAIT)
    if not _download_result:
        raise MnistUnavailableError(
            f"MNIST is not on this machine and downloading it did not finish within {DOWNLOAD_WAIT:.0f} s "
            f"(it goes on in the background; try again shortly). {HOW_TO}"
        )
    outcome = _download_result[0]
    if isinstance(outcome, Exception):
        _download_result.clear()  # allow a fresh attempt next time
        raise MnistUnavailableError(
            "MNIST is not available offline and could not be downloaded "
            f"({type(outcome).__name__}: {outcome}). {HOW_TO}"
        )
    return outcome


_lock = threading.Lock()
_cache: dict[str, tuple[Split, Split]] = {}


def load_mnist() -> tuple[Split, Split]:
    """Return MNIST as ``((x_train, y_train), (x_test, y_test))``.

    Images are uint8 of shape (60000, 28, 28) and (10000, 28, 28); labels uint8.
    The result is loaded once per process (per ``MNIST_DIR`` value) and shared;
    the arrays are read-only, so copy before modifying.

    Returns:
        The train and test splits.

    Raises:
        MnistUnavailableError: No usable source; the message says how to set ``MNIST_DIR``.
    """
    key = os.environ.get("MNIST_DIR", "")
    with _lock:
        if key not in _cache:
            (xt, yt), (xs, ys) = _load_uncached()
            for arr in (xt, yt, xs, ys):
                arr.setflags(write=False)
            _cache[key] = ((xt, yt), (xs, ys))
        return _cache[key]


def clear_cache() -> None:
    """Forget loaded data (tests use this after changing ``MNIST_DIR``)."""
    with _lock:
        _cache.clear()


def split_validation(
    x: np.ndarray, y: np.ndarray, val_size: int = 10000, train_size: int | None = None
) -> tuple[Split, Split]:
    """Split training data into train and validation parts without copying.

    Args:
        x: Training images.
        y: Training labels.
        val_size: How many of the *last* images form the validation set.
        train_size: Use only the first ``train_size`` of the remaining images
            (``None`` for all of them).

    Returns:
        ``((x_train, y_train), (x_val, y_val))`` as views into ``x`` and ``y``.
    """
    if not 0 <= val_size < len(x):
        raise ValueError(f"val_size must be in [0, {len(x)}), got {val_size}")
    n_train = len(x) - val_size
    if train_size is not None:
        if train_size < 1:
            raise ValueError(f"train_size must be positive, got {train_size}")
        n_train = min(n_train, train_size)
    return (x[:n_train], y[:n_train]), (x[len(x) - val_size :], y[len(y) - val_size :])
