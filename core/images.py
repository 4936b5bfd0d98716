"""Decode uploaded photos and scans of digits, refusing bad files politely.

Every failure raises :class:`BadImageError` with a message meant for the
user: not an image, truncated, too many pixels, or an unusual mode. Large
images are shrunk (the digit only needs a few hundred pixels); palette,
greyscale, 16-bit, CMYK and alpha images all come out as RGBA.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["BadImageError", "MAX_PIXELS", "MAX_BYTES", "decode_upload"]

MAX_PIXELS = 40_000_000  #: larger images are refused before decoding
MAX_BYTES = 20 * 1024 * 1024  #: larger files are refused unread
WORK_SIZE = 560  #: images are shrunk to fit this many pixels on the longer side


class BadImageError(ValueError):
    """An upload that cannot be used as a digit image; the message says why."""


def decode_upload(data: bytes, name: str = "the file") -> np.ndarray:
    """Decode an uploaded image into an RGBA array ready for ``canvas_to_mnist``.

    Args:
        data: The file's bytes.
        name: The file name, for messages.

    Returns:
        (H, W, 4) uint8 RGBA, at most ``WORK_SIZE`` pixels on the longer side.

    Raises:
        BadImageError: Empty, too big, not an image, truncated, or undecodable.
    """
    if not data:
        raise BadImageError(f"{name} is empty.")
    if len(data) > MAX_BYTES:
        raise BadImageError(f"{name} is {len(data) / 2**20:.0f} MB; the limit is {MAX_BYTES // 2**20} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise BadImageError(
                    f"{name} is {width}×{height} ({width * height / 1e6:.0f} megapixels); "
                    f"the limit is {MAX_PIXELS // 1_000_000} megapixels. Crop or shrink it first.")
            image.draft("RGB", (WORK_SIZE, WORK_SIZE))  # JPEG: decode at reduced size, cheaply
            image.load()
    except BadImageError:
        raise
    except UnidentifiedImageError:
        raise BadImageError(f"{name} is not an image Digit Studio can read (use PNG or JPEG).") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImageError(f"{name} has too many pixels to open safely.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadImageError(f"{name} could not be decoded; it may be truncated or damaged ({exc}).") from None
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a bad EXIF block only loses the rotation
        pass
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        span = values.max() - values.min()
        values = (values - values.min()) / span * 255 if span > 0 else np.zeros_like(values)
        image = Image.fromarray(values.astype(np.uint8), "L")
    image.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.LANCZOS)
    try:
        rgba = image.convert("RGBA")
    except (ValueError, OSError) as exc:
        raise BadImageError(f"{name} uses an image mode ({image.mode}) that cannot be converted: {exc}.") from None
    return np.asarray(rgba, dtype=np.uint8)
