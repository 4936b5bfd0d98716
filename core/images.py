"""Decode uploaded photos and scans of digits, refusing bad files politely.

Every failure raises :class:`BadImageError` with a message meant for the
user: not a PNG or JPEG, truncated, too many pixels, too thin, or an unusual
mode. Only the PNG and JPEG parsers are ever used, so a TIFF, WebP or EPS
file named ``.png`` is refused (and an EPS never reaches Ghostscript).

The work per upload is bounded by what is decoded, not by the file size: a
few kilobytes of PNG can hold tens of megapixels. A JPEG is decoded at 1/2 to
1/8 of its size by libjpeg itself; a PNG is decoded whole in its own mode (1
to 4 bytes a pixel), then averaged down a strip of rows at a time, so no
full-size copy in a wider mode (RGBA, 32-bit, float) is ever made. The limits
below keep any accepted file under about 95 MB of extra memory and 0.6 s of
one core (``python -m bench.hostile`` measures them), and at most
``DECODES_AT_ONCE`` uploads are decoded at a time. Everything comes out as
RGBA, at most ``WORK_SIZE`` pixels on the longer side.
"""

from __future__ import annotations

import io
import math
import threading
import warnings

import numpy as np
from PIL import Image, JpegImagePlugin, PngImagePlugin, UnidentifiedImageError

__all__ = [
    "MAX_BYTES",
    "MAX_JPEG_BUFFER",
    "MAX_JPEG_PIXELS",
    "MAX_PIXELS",
    "MIN_SIDE",
    "WORK_SIZE",
    "BadImageError",
    "decode_upload",
]

FORMATS = (PngImagePlugin.PngImageFile.format, JpegImagePlugin.JpegImageFile.format)  #: the only parsers used
MAX_BYTES = 20 * 1024 * 1024  #: larger files are refused unread
#: Most pixels decoded per upload: a PNG's whole image, a JPEG's after libjpeg's 1/2-1/8 scaling.
#: At 4 bytes a pixel (RGB, RGBA and 16-bit images) that is 64 MB.
MAX_PIXELS = 16_000_000
#: Most pixels of a JPEG decoded in one pass (baseline); libjpeg reads them at 1/8 scale cheaply.
MAX_JPEG_PIXELS = 64_000_000
#: Progressive (or multi-scan) JPEGs make libjpeg keep every DCT coefficient of the full-size
#: image, 2 to 8 bytes a pixel, and cost about 0.05 s of CPU per MB of file: both are capped.
MAX_JPEG_BUFFER = 96 * 2**20
MAX_PROGRESSIVE_BYTES = 12 * 1024 * 1024
WORK_SIZE = 560  #: images are shrunk to fit this many pixels on the longer side
MIN_SIDE = 8  #: the shorter side must keep this many pixels once the longer one fits WORK_SIZE
#: Uploads decoded at the same time in this process; more wait (each takes well under a second).
DECODES_AT_ONCE = 2
STRIP_PIXELS = 1 << 20  #: pixels widened at a time (1-bit to grey, palette to RGBA...) while shrinking
#: Text a PNG may carry (Pillow keeps it all; its default is 64 MB from a few kB of zTXt). Digit
#: Studio reads none, and Pillow is used for nothing else that reads PNG text, so the limit is global.
PngImagePlugin.MAX_TEXT_MEMORY = min(PngImagePlugin.MAX_TEXT_MEMORY, 4 * 2**20)

# Modes Pillow cannot average in place, and the mode each strip is widened to. LA and RGBA
# are averaged premultiplied, as Image.reduce does, so transparent pixels add no colour.
_WIDER = {
    "1": "L",
    "P": "RGBA",
    "PA": "RGBA",
    "LA": "La",
    "RGBA": "RGBa",
    "I;16": "I",
    "I;16L": "I",
    "I;16B": "I",
    "I;16N": "I",
}
_STRAIGHT = {"La": "LA", "RGBa": "RGBA"}
# What a file that is neither PNG nor JPEG most likely is, from its first bytes, for the message.
_SIGNATURES = (
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"BM", "a BMP image"),
    (b"GIF8", "a GIF image"),
    (b"%!PS", "a PostScript (EPS) file"),
    (b"\xc5\xd0\xd3\xc6", "an EPS file"),
    (b"%PDF", "a PDF document"),
    (b"\x00\x00\x00\x0cjP", "a JPEG 2000 image"),
)
_DECODING = threading.BoundedSemaphore(DECODES_AT_ONCE)
_ORIENTATION = 0x0112  # EXIF tag: how the camera was held
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (not DHT, JPG, DAC)
_PROGRESSIVE_SOF = {0xC2, 0xC6, 0xCA, 0xCE}


class BadImageError(ValueError):
    """An upload that cannot be used as a digit image; the message says why."""


def _what_is(data: bytes) -> str | None:
    """A guess at what a file that is neither PNG nor JPEG is ("a TIFF image"), or ``None``."""
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            return what
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    if data[4:8] == b"ftyp":
        return "a HEIC or AVIF photo"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype")) and b"<svg" in head:
        return "an SVG drawing"
    return None


def _open(data: bytes, name: str) -> Image.Image:
    """Parse the header with the PNG and JPEG plugins only; no pixel is decoded yet."""
    try:
        with warnings.catch_warnings():
            # Pillow warns from 89 megapixels; our own, lower limits give a clearer message.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        what = _what_is(data)
        kind = f": it is {what}" if what else ""
        raise BadImageError(f"{name} is not an image Digit Studio can read{kind}. Use a PNG or JPEG file.") from None
    except Image.DecompressionBombError:
        raise BadImageError(
            f"{name} has far too many pixels to open safely (the limit is {MAX_PIXELS // 1_000_000} megapixels)."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _damaged(name, exc) from None


def _damaged(name: str, exc: Exception) -> BadImageError:
    """The message for a file Pillow gave up on (text chunks of PNG are checked as they come)."""
    if "text chunk" in str(exc):
        return BadImageError(f"{name} carries more hidden text (metadata) than an image may here.")
    return BadImageError(f"{name} could not be decoded; it may be truncated or damaged ({exc}).")


def _jpeg_buffers_whole_image(data: bytes) -> bool:
    """Whether libjpeg keeps every coefficient: a progressive file, or a first scan without every component.

    Walks the markers up to the first start of scan; anything unexpected counts as ``True``.
    """
    pos, components = 2, 0
    while pos + 4 < len(data):
        if data[pos] != 0xFF:
            return True
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _PROGRESSIVE_SOF:
            return True
        if marker in _SOF and pos + 9 < len(data):
            components = data[pos + 9]
        if marker == 0xDA:  # start of scan: how many components it interleaves
            return data[pos + 4] < components
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return True


def _jpeg_buffer(image: Image.Image) -> int:
    """Bytes of DCT coefficients (2 bytes each) libjpeg allocates to hold a whole full-size JPEG."""
    sampling = [(max(1, h), max(1, v)) for _, h, v, _ in getattr(image, "layer", None) or [("", 1, 1, 0)]]
    h_max, v_max = max(h for h, _ in sampling), max(v for _, v in sampling)
    # Each component's 8×8 blocks, padded to whole MCUs as libjpeg allocates them.
    blocks = sum(
        math.ceil(image.width / (8 * h_max)) * h * math.ceil(image.height / (8 * v_max)) * v for h, v in sampling
    )
    return blocks * 64 * 2


def _too_large(name: str, width: int, height: int, why: str) -> BadImageError:
    return BadImageError(
        f"{name} is {width}×{height} ({width * height / 1e6:.0f} megapixels); {why}. "
        "Crop or shrink it first (a 12-megapixel phone photo is fine)."
    )


def _check_size(image: Image.Image, data: bytes, name: str) -> None:
    """Refuse what costs too much to decode or is too thin to hold a digit; JPEGs are set to decode scaled."""
    width, height = image.size
    long_side, short_side = max(width, height), min(width, height)
    if short_side * min(1.0, WORK_SIZE / long_side) < MIN_SIDE:
        raise BadImageError(
            f"{name} is {width}×{height} pixels: too thin or too small to hold a digit. Use a picture at least "
            f"{MIN_SIDE} pixels on each side and at most {WORK_SIZE // MIN_SIDE} times as wide as it is tall "
            "(or as tall as it is wide)."
        )
    if isinstance(image, JpegImagePlugin.JpegImageFile):
        if _jpeg_buffers_whole_image(data):
            if _jpeg_buffer(image) > MAX_JPEG_BUFFER:
                raise _too_large(name, width, height, "too large a progressive JPEG to decode safely here")
            if len(data) > MAX_PROGRESSIVE_BYTES:
                raise BadImageError(
                    f"{name} is a progressive JPEG of {len(data) / 2**20:.0f} MB; the limit for those is "
                    f"{MAX_PROGRESSIVE_BYTES // 2**20} MB. Save it as an ordinary JPEG or PNG, or shrink it."
                )
        elif width * height > MAX_JPEG_PIXELS:
            raise _too_large(name, width, height, f"the limit for JPEGs is {MAX_JPEG_PIXELS // 1_000_000} megapixels")
    image.draft("RGB", (WORK_SIZE, WORK_SIZE))  # JPEG: libjpeg decodes at 1/2 to 1/8 scale
    if image.width * image.height > MAX_PIXELS:
        raise _too_large(name, width, height, f"the limit is {MAX_PIXELS // 1_000_000} megapixels")


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1: upright); a missing or bad EXIF block counts as upright."""
    try:
        return int(image.getexif().get(_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - a bad EXIF block only loses the rotation
        return 1


def _reduce(image: Image.Image, factor: int) -> Image.Image:
    """Average ``factor``×``factor`` blocks, widening the mode only a strip of rows at a time.

    Args:
        image: A loaded image in a mode Pillow decodes PNG or JPEG into.
        factor: The reduction (1: none).

    Returns:
        The reduced image, in a mode Pillow can resize: ``"I"`` for 16-bit
        images, ``"L"`` for 1-bit ones, ``"RGBA"`` for palette images.
    """
    wider = _WIDER.get(image.mode)
    if wider is None:  # L, RGB, CMYK, I, F: Pillow averages these in place
        return image.reduce(factor) if factor > 1 else image
    if factor == 1 and wider in _STRAIGHT:
        return image
    out = Image.new(wider, (math.ceil(image.width / factor), math.ceil(image.height / factor)))
    rows = factor * max(1, STRIP_PIXELS // (image.width * factor))
    for top in range(0, image.height, rows):
        strip = image.crop((0, top, image.width, min(image.height, top + rows))).convert(wider)
        out.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    return out.convert(_STRAIGHT[wider]) if wider in _STRAIGHT else out


def _stretch_to_grey(image: Image.Image) -> Image.Image:
    """A 16-bit or float image as 8-bit grey, its darkest to lightest value stretched over 0-255."""
    values = np.asarray(image, dtype=np.float32)  # at most WORK_SIZE² pixels by now
    low, span = float(values.min()), float(values.max() - values.min())
    values = (values - low) / span * 255 if span > 0 else np.zeros_like(values)
    return Image.fromarray(np.clip(values + 0.5, 0, 255).astype(np.uint8), "L")


def decode_upload(data: bytes, name: str = "the file") -> np.ndarray:
    """Decode an uploaded PNG or JPEG into an RGBA array ready for ``canvas_to_mnist``.

    Args:
        data: The file's bytes.
        name: The file name, for messages (escape it first, e.g. with
            ``core.text.plain``, when the message is shown as Markdown).

    Returns:
        (H, W, 4) uint8 RGBA, at most ``WORK_SIZE`` pixels on the longer side
        and at least ``MIN_SIDE`` on the shorter.

    Raises:
        BadImageError: Empty, too big, neither PNG nor JPEG, too many pixels,
            too thin, truncated, or undecodable.
    """
    if not data:
        raise BadImageError(f"{name} is empty.")
    if len(data) > MAX_BYTES:
        raise BadImageError(f"{name} is larger than {MAX_BYTES // 2**20} MB, the limit for an upload.")
    image = _open(data, name)
    _check_size(image, data, name)
    with _DECODING:  # a room uploading at once waits its turn instead of adding up
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise _damaged(name, exc) from None
        orientation = _orientation(image)
        # Keep twice WORK_SIZE for the final anti-aliased resize, as Image.thumbnail does.
        image = _reduce(image, max(1, max(image.size) // (2 * WORK_SIZE)))
        image.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.LANCZOS)
    if image.mode in ("I", "F"):
        image = _stretch_to_grey(image)
    if orientation in _TRANSPOSE:
        image = image.transpose(_TRANSPOSE[orientation])
    try:
        rgba = image.convert("RGBA")
    except (ValueError, OSError) as exc:
        raise BadImageError(f"{name} uses an image mode ({image.mode}) that cannot be converted: {exc}.") from None
    return np.asarray(rgba, dtype=np.uint8)
