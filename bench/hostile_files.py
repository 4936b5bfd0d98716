"""Hostile and clumsy uploads, built on the fly, and what decoding each one costs.

:func:`hostile_files` builds every file (nothing is stored in the repository):
the largest files ``core.images`` accepts, in each mode (16-bit, RGBA, 1-bit,
palette, interlaced, progressive JPEG...), and files it must refuse (39
megapixels in 88 kB, thin strips, TIFF, BMP, WebP, GIF, EPS and SVG named
``.png``, truncated, empty, over the size limit, forged JPEG headers, PNG text
bombs). Large PNGs are written row by row with zlib, so building a
16-megapixel 16-bit image costs a few MB, not its decoded size.

:func:`decode_cost` decodes one file in a fresh Python process and reports
its peak extra memory (Linux: the resident-set high-water mark, reset just
before decoding) and time. Run ``python -m bench.hostile`` for the table.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

__all__ = ["Cost", "HostileFile", "decode_cost", "hostile_files", "measurable", "png_bytes"]

ROOT = Path(__file__).resolve().parent.parent
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type: grey, RGB, palette, grey+alpha, RGBA
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
W16, H16 = 4896, 3264  # 15.98 megapixels: just under core.images.MAX_PIXELS


@dataclass(frozen=True)
class HostileFile:
    """One upload: its name as the user gives it, how to build it, and whether it must be accepted.

    Attributes:
        name: The file name sent with the upload.
        build: Returns the file's bytes.
        accepted: True if ``decode_upload`` must decode it, False if it must refuse it.
        heavy: Takes a second or more to build (noise at the size limits).
    """

    name: str
    build: Callable[[], bytes]
    accepted: bool
    heavy: bool = False


@dataclass(frozen=True)
class Cost:
    """What decoding one file cost in a fresh process.

    Attributes:
        peak_mb: Extra resident memory at the peak, in MB (2**20 bytes).
        seconds: Wall-clock time of ``decode_upload``.
        cpu_seconds: CPU time of ``decode_upload`` (all threads of the process).
        outcome: ``"accepted W×H"`` or ``"refused: <message>"``; ``"crashed: ..."`` is a bug.
    """

    peak_mb: float
    seconds: float
    cpu_seconds: float
    outcome: str


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bytes(
    width: int,
    height: int,
    colour_type: int = 0,
    bit_depth: int = 8,
    noise_bytes: int = 0,
    interlace: bool = False,
    extra_chunks: bytes = b"",
    seed: int = 0,
) -> bytes:
    """A valid PNG of any size, written row by row: zero rows, the first ``noise_bytes`` of them random.

    Args:
        width: Width in pixels.
        height: Height in pixels.
        colour_type: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA.
        bit_depth: 1, 2, 4, 8 or 16 (as the colour type allows).
        noise_bytes: About this many bytes of random rows first (they do not compress).
        interlace: Adam7 interlacing.
        extra_chunks: Chunks inserted before the image data (text, ...).
        seed: Seed of the random rows.

    Returns:
        The file's bytes.
    """
    bits = _CHANNELS[colour_type] * bit_depth
    passes = (
        [(-(-(width - x0) // dx), -(-(height - y0) // dy)) for x0, y0, dx, dy in _ADAM7]
        if interlace
        else [(width, height)]
    )
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, int(interlace))
    parts = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header)]
    if colour_type == 3:
        parts.append(_chunk(b"PLTE", bytes(range(256)) * 3))
    parts.append(extra_chunks)
    rng, packer, idat = np.random.default_rng(seed), zlib.compressobj(6), []
    for pass_width, pass_height in passes:
        if pass_width == 0 or pass_height == 0:
            continue
        row = (pass_width * bits + 7) // 8 + 1  # a filter byte (0: none) and the pixels
        noisy = min(pass_height, noise_bytes // row)
        noise_bytes -= noisy * row
        for _ in range(noisy):
            idat.append(packer.compress(b"\x00" + rng.integers(0, 256, row - 1, dtype=np.uint8).tobytes()))
        per_block = max(1, (1 << 20) // row)
        zeros = b"\x00" * row * per_block
        done = noisy
        while done + per_block <= pass_height:
            idat.append(packer.compress(zeros))
            done += per_block
        idat.append(packer.compress(b"\x00" * row * (pass_height - done)))
    idat.append(packer.flush())
    return b"".join(parts + [_chunk(b"IDAT", b"".join(idat)), _chunk(b"IEND", b"")])


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    previous, ImageFile.MAXBLOCK = ImageFile.MAXBLOCK, 1 << 27  # noisy progressive JPEGs need a large buffer
    try:
        image.save(buffer, fmt, **options)
    finally:
        ImageFile.MAXBLOCK = previous
    return buffer.getvalue()


def _noise(width: int, height: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")


def _digit(size: int = 64) -> Image.Image:
    """A small dark "7" on light paper, for the renamed-format files."""
    from PIL import ImageDraw

    image = Image.new("RGB", (size, size), (235, 232, 225))
    ImageDraw.Draw(image).line(
        [(size // 5, size // 5), (size * 4 // 5, size // 5), (size * 2 // 5, size * 4 // 5)],
        fill=(20, 20, 30),
        width=max(2, size // 10),
    )
    return image


def _forged_jpeg(width: int, height: int, progressive: bool) -> bytes:
    """A 16×16 JPEG whose frame header claims ``width``×``height``: the scan data is far too short."""
    data = bytearray(_saved(Image.new("L", (16, 16), 128), "JPEG", progressive=progressive))
    sof = data.index(b"\xff\xc2" if progressive else b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _text_chunks(count: int, size: int) -> bytes:
    """``count`` compressed text chunks of ``size`` bytes each once inflated (a few kB in the file)."""
    text = zlib.compress(b"a" * size, 9)
    return b"".join(_chunk(b"zTXt", b"note%d\x00\x00" % i + text) for i in range(count))


def _svg() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        b'<text x="10" y="50" font-size="48">7</text></svg>\n'
    )


def hostile_files() -> list[HostileFile]:
    """Every hostile upload, the accepted ones first (largest in each mode, then the refused ones)."""
    from core.images import MAX_BYTES

    def truncated() -> bytes:
        data = _saved(_noise(300, 300), "PNG")
        return data[: len(data) // 2]

    return [
        HostileFile("rgba-16mp.png", lambda: png_bytes(W16, H16, 6, 8), True),
        HostileFile(
            "rgba64-interlaced-16mp-noisy.png",
            lambda: png_bytes(W16, H16, 6, 16, noise_bytes=18 << 20, interlace=True),
            True,
            heavy=True,
        ),
        HostileFile("grey16-16mp.png", lambda: png_bytes(W16, H16, 0, 16, noise_bytes=4 << 20), True),
        HostileFile("grey-alpha16-16mp.png", lambda: png_bytes(W16, H16, 4, 16), True),
        HostileFile("rgb48-16mp.png", lambda: png_bytes(W16, H16, 2, 16), True),
        HostileFile("bit1-16mp.png", lambda: png_bytes(W16, H16, 0, 1, noise_bytes=1 << 20), True),
        HostileFile("palette-16mp.png", lambda: png_bytes(W16, H16, 3, 8, noise_bytes=4 << 20), True),
        HostileFile(
            "text-chunks-16mp.png", lambda: png_bytes(W16, H16, 6, 8, extra_chunks=_text_chunks(3, 1 << 20)), True
        ),
        HostileFile("baseline-64mp.jpg", lambda: _saved(Image.new("L", (8000, 8000), 200), "JPEG"), True),
        HostileFile(
            "progressive-47mp.jpg", lambda: _saved(Image.new("L", (7000, 6800), 200), "JPEG", progressive=True), True
        ),
        HostileFile(
            "progressive-12mb-noisy.jpg",
            lambda: _saved(_noise(4000, 3000), "JPEG", quality=95, progressive=True),
            True,
            heavy=True,
        ),
        HostileFile(
            "baseline-18mb-noisy.jpg",
            lambda: _saved(_noise(3600, 2400), "JPEG", quality=93, subsampling=0),
            True,
            heavy=True,
        ),
        HostileFile("grey16-39mp-88kb.png", lambda: png_bytes(7000, 5600, 0, 16), False),
        HostileFile("rgba-39mp.png", lambda: png_bytes(7000, 5600, 6, 8), False),
        HostileFile("bit1-50mp.png", lambda: png_bytes(8000, 6250, 0, 1), False),
        HostileFile("strip-40000x1.png", lambda: png_bytes(40000, 1), False),
        HostileFile("strip-1200x2.png", lambda: png_bytes(1200, 2), False),
        HostileFile("tiny-5x5.png", lambda: png_bytes(5, 5), False),
        HostileFile("tiff-renamed.png", lambda: _saved(_digit(), "TIFF"), False),
        HostileFile("bmp-renamed.png", lambda: _saved(_digit(), "BMP"), False),
        HostileFile("webp-renamed.png", lambda: _saved(_digit(), "WEBP"), False),
        HostileFile("gif-renamed.png", lambda: _saved(_digit(), "GIF"), False),
        HostileFile("eps-renamed.png", lambda: _saved(_digit(), "EPS"), False),
        HostileFile("drawing-svg.png", _svg, False),
        HostileFile("truncated.png", truncated, False),
        HostileFile("empty.png", lambda: b"", False),
        HostileFile("over-the-limit.png", lambda: png_bytes(64, 64) + b"\x00" * MAX_BYTES, False),
        HostileFile("forged-65000x65000.jpg", lambda: _forged_jpeg(65000, 65000, progressive=False), False),
        HostileFile("forged-10000x8000.jpg", lambda: _forged_jpeg(10000, 8000, progressive=False), False),
        HostileFile("forged-progressive-9000x9000.jpg", lambda: _forged_jpeg(9000, 9000, progressive=True), False),
        HostileFile("text-bomb.png", lambda: png_bytes(64, 64, extra_chunks=_text_chunks(80, (1 << 20) - 1)), False),
        HostileFile(
            "progressive-14mb-noisy.jpg",
            lambda: _saved(_noise(3600, 2400), "JPEG", quality=90, subsampling=0, progressive=True),
            False,
            heavy=True,
        ),
    ]


def measurable() -> bool:
    """Whether this system lets :func:`decode_cost` measure peak memory (Linux /proc)."""
    return Path("/proc/self/status").is_file()


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def _decode_here(path: str, name: str) -> Cost:
    """Decode one file in this process (a fresh one), measuring from just before to just after."""
    from core.images import BadImageError, decode_upload

    data = Path(path).read_bytes()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark to the current size
    except OSError:
        pass  # without it the mark includes start-up: an overestimate
    before = _status_mb("VmRSS")
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        out = decode_upload(data, name)
        outcome = f"accepted {out.shape[1]}×{out.shape[0]}"
    except BadImageError as exc:
        outcome = f"refused: {exc}"
    except Exception as exc:  # noqa: BLE001 - reported, never hidden: anything else is a bug
        outcome = f"crashed: {type(exc).__name__}: {exc}"
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    return Cost(max(0.0, _status_mb("VmHWM") - before), seconds, cpu_seconds, outcome)


def decode_cost(data: bytes, name: str, timeout: float = 60.0) -> Cost:
    """Decode ``data`` with ``core.images.decode_upload`` in a fresh Python process.

    Args:
        data: The file's bytes.
        name: The file name for messages.
        timeout: Seconds before the child is killed.

    Returns:
        The :class:`Cost` the child measured.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.bin"
        path.write_bytes(data)
        proc = subprocess.run(
            [sys.executable, "-m", "bench.hostile_files", str(path), name],
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    if proc.returncode != 0:
        raise RuntimeError(f"the decoding process failed: {proc.stderr[-2000:]}")
    return Cost(**json.loads(proc.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    cost = _decode_here(sys.argv[1], sys.argv[2])
    print(json.dumps(cost.__dict__))
