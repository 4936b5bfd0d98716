"""Hostile input: uploads with bounded memory and no traceback, and user values echoed as plain text.

Every file is built here (``bench.hostile_files``; nothing is stored): the
largest images ``core.images`` accepts in each mode, 39 megapixels in 88 kB,
thin strips, TIFF/BMP/WebP/GIF/EPS/SVG named ``.png``, truncated, empty, over
the size limit, forged JPEG headers. Each is decoded in a fresh process with
its peak memory measured and bounded, then uploaded on the Draw page in an
AppTest, where no exception may show. The noisy files at the size limits take
seconds to build and are left to ``python -m bench.hostile``.
"""

from __future__ import annotations

import html
import io
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image, ImageDraw
from streamlit.testing.v1 import AppTest

from bench.hostile_files import (
    HostileFile,
    decode_cost,
    hostile_files,
    measurable,
    png_bytes,
)
from core.config import TrainConfig
from core.images import MIN_SIDE, WORK_SIZE, BadImageError, decode_upload
from core.text import ELLIPSIS, plain

ROOT = Path(__file__).resolve().parent.parent
MEMORY_BOUND_MB = 150  #: the most extra memory any upload may cost the server
LIGHT = [f for f in hostile_files() if not f.heavy]


def _encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


# --- decoding: memory, outcome, message --------------------------------------------------------------


@pytest.mark.skipif(not measurable(), reason="peak memory is read from Linux's /proc")
@pytest.mark.parametrize("item", LIGHT, ids=lambda f: f.name)
def test_each_hostile_file_is_decoded_or_refused_within_the_memory_bound(item: HostileFile) -> None:
    cost = decode_cost(item.build(), item.name)
    assert not cost.outcome.startswith("crashed"), cost.outcome
    assert cost.outcome.startswith("accepted") == item.accepted, cost.outcome
    assert cost.peak_mb < MEMORY_BOUND_MB, f"{item.name}: {cost.peak_mb:.0f} MB"
    if not item.accepted:
        assert item.name in cost.outcome and "Traceback" not in cost.outcome and "/" not in cost.outcome


def test_the_issue_s_files_are_refused_before_any_pixel_is_decoded() -> None:
    for name, data in [("grey16.png", png_bytes(7000, 5600, 0, 16)), ("rgba.png", png_bytes(7000, 5600, 6, 8))]:
        assert len(data) < 200_000
        with pytest.raises(BadImageError, match="7000×5600 .*the limit is 16 megapixels"):
            decode_upload(data, name)


@pytest.mark.parametrize("size", [(40000, 1), (1200, 2), (2000, 20), (5, 5), (1, 300)])
def test_degenerate_sizes_are_refused_with_a_message(size: tuple[int, int]) -> None:
    with pytest.raises(BadImageError, match="too thin or too small") as exc:
        decode_upload(png_bytes(*size), "strip.png")
    assert f"{size[0]}×{size[1]}" in str(exc.value)


def test_the_thinnest_accepted_image_keeps_min_side_pixels() -> None:
    out = decode_upload(png_bytes(WORK_SIZE * 10, MIN_SIDE * 10), "banner.png")
    assert out.shape == (MIN_SIDE, WORK_SIZE, 4)


@pytest.mark.parametrize(
    "fmt, what", [("TIFF", "TIFF"), ("BMP", "BMP"), ("WEBP", "WebP"), ("GIF", "GIF"), ("EPS", "EPS")]
)
def test_other_formats_named_png_are_refused(fmt: str, what: str) -> None:
    data = _encode(Image.new("RGB", (64, 64), "white"), fmt)
    with pytest.raises(BadImageError, match=f"not an image Digit Studio can read: it is .*{what}.*PNG or JPEG"):
        decode_upload(data, "digit.png")


def test_eps_never_reaches_ghostscript(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args, **kwargs):
        raise AssertionError("the EPS plugin was used")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", forbidden)
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", forbidden)
    with pytest.raises(BadImageError, match="EPS"):
        decode_upload(_encode(Image.new("RGB", (32, 32)), "EPS"), "figure.png")


def test_svg_is_refused() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><circle r="4"/></svg>'
    with pytest.raises(BadImageError, match="SVG"):
        decode_upload(svg, "seven.png")


def test_a_large_16_bit_image_is_shrunk_and_stretched() -> None:
    values = np.linspace(0, 4000, 3000 * 2000).reshape(2000, 3000).astype(np.uint16)
    out = decode_upload(_encode(Image.fromarray(values)))
    assert out.shape == (373, WORK_SIZE, 4)
    assert out[..., 0].min() <= 1 and out[..., 0].max() >= 254
    assert out[0, 0, 0] < out[-1, -1, 0] and (out[..., 3] == 255).all()


def test_a_large_rgba_image_is_averaged_premultiplied() -> None:
    """Transparent white next to opaque black: the edge stays black, only its alpha is partial."""
    array = np.zeros((2400, 2400, 4), np.uint8)
    array[:, :1201] = (255, 255, 255, 0)
    array[:, 1201:] = (0, 0, 0, 255)
    out = decode_upload(_encode(Image.fromarray(array, "RGBA")))
    assert out.shape == (WORK_SIZE, WORK_SIZE, 4)
    partial = (out[..., 3] > 20) & (out[..., 3] < 235)
    assert partial.any() and out[..., :3][partial].max() < 40


def test_a_large_1_bit_scan_keeps_a_thin_line() -> None:
    image = Image.new("1", (5000, 3000), 1)
    ImageDraw.Draw(image).line([(2500, 300), (2500, 2700)], fill=0, width=12)  # 1.3 px once shrunk
    out = decode_upload(_encode(image))
    assert out.shape == (336, WORK_SIZE, 4)
    assert out[168, :, 0].min() < 200  # the line survives averaging as grey, not lost between samples


def test_exif_orientation_is_applied_after_shrinking() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # held sideways: the picture is rotated 90° clockwise to show it
    out = decode_upload(_encode(Image.new("RGB", (2400, 1600), "white"), "JPEG", exif=exif))
    assert out.shape == (WORK_SIZE, 373, 4)


def test_forged_jpeg_headers_are_refused_by_their_cost() -> None:
    files = {f.name: f for f in hostile_files()}
    with pytest.raises(BadImageError, match="limit for JPEGs is 64 megapixels"):
        decode_upload(files["forged-10000x8000.jpg"].build(), "big.jpg")
    with pytest.raises(BadImageError, match="progressive JPEG"):
        decode_upload(files["forged-progressive-9000x9000.jpg"].build(), "big.jpg")


def test_a_progressive_photo_is_decoded() -> None:
    out = decode_upload(_encode(Image.new("RGB", (1600, 1200), "white"), "JPEG", progressive=True))
    assert out.shape == (420, WORK_SIZE, 4) and out[..., :3].min() > 240


def test_at_most_two_uploads_are_decoded_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.images as images

    inside, peak, lock, two_in = 0, 0, threading.Lock(), threading.Event()
    real_reduce = images._reduce

    def counted_reduce(image: Image.Image, factor: int) -> Image.Image:
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
            if inside == 2:
                two_in.set()
        two_in.wait(timeout=5)  # hold the first decode until a second one is in (or never comes)
        time.sleep(0.2)  # and each one a little, so that any decode let through meanwhile would be counted
        with lock:
            inside -= 1
        return real_reduce(image, factor)

    monkeypatch.setattr(images, "_reduce", counted_reduce)
    data = png_bytes(1200, 900)
    threads = [threading.Thread(target=decode_upload, args=(data,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert peak == images.DECODES_AT_ONCE == 2


# --- the Draw page ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def draw_page() -> Iterator[AppTest]:
    """The Draw page in upload mode (opened directly: Home would look for MNIST)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/draw.py").run()
    at.radio[0].set_value("Upload a photo").run()
    assert not at.exception
    yield at


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, data, "image/png")).run()
    assert not at.exception, "\n".join(e.message for e in at.exception)
    return at


def test_every_hostile_file_gets_a_message_on_the_draw_page(draw_page: AppTest) -> None:
    for item in LIGHT:
        at = _upload(draw_page, item.name, item.build())
        errors = " ".join(e.value for e in at.error)
        if item.accepted:
            assert not errors, f"{item.name}: {errors}"
        else:
            assert plain(item.name) in errors, f"{item.name}: {errors}"
            assert "Traceback" not in errors and "ValueError" not in errors


def test_a_hostile_file_name_is_shown_as_plain_text(draw_page: AppTest) -> None:
    name = "[win](https://evil.example) ![](https://evil.example/t.png) <b>x</b>.png"
    at = _upload(draw_page, name, png_bytes(40000, 1))
    error = " ".join(e.value for e in at.error)
    assert plain(name) in error and "](" not in error and "<b>" not in error


def test_noise_is_not_called_a_confident_digit(draw_page: AppTest) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    at = _upload(draw_page, "noise.png", _encode(Image.fromarray(noise, "RGB")))
    assert "does not look like a handwritten digit" in " ".join(w.value for w in at.warning)
    image = Image.new("RGB", (200, 200), (235, 232, 225))
    ImageDraw.Draw(image).line([(100, 30), (100, 170)], fill=(20, 20, 30), width=16)
    at = _upload(draw_page, "one.png", _encode(image))
    assert "does not look like" not in " ".join(w.value for w in at.warning)
    assert any("data-testid='prediction'" in m.value for m in at.markdown)


@pytest.mark.skipif(not os.environ.get("MNIST_DIR"), reason="the Train page needs MNIST (set MNIST_DIR)")
@pytest.mark.parametrize("raw, shown", [("60000", 50000), ("50000", 50000), ("12345", 12345)])
def test_a_link_s_training_subset_is_what_the_slider_shows_and_the_run_uses(raw: str, shown: int) -> None:
    """train_size=60000 once showed 60,000 but trained on the 50,000 left after validation."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["train_size"] = raw
    at.switch_page("pages/train.py").run()
    assert not at.exception and not at.warning
    assert at.select_slider(key="cfg_train_size").value == shown
    # The share link holds the settings a press of Train would run (current_config).
    link = next(c.value for c in at.code if "train_size=" in c.value)
    query = {k: v[0] for k, v in parse_qs(link.split("?", 1)[1]).items()}
    assert TrainConfig.from_strings(query)[0].train_images == shown


def test_failures_never_show_server_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = (ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    assert re.search(r'^showErrorDetails = "(type|none)"$', config, re.MULTILINE)
    script = tmp_path / "fails.py"
    script.write_text("raise FileNotFoundError('/srv/digit-studio/models/secret.keras')\n")
    monkeypatch.chdir(ROOT)  # Streamlit reads .streamlit/config.toml from the working directory
    at = AppTest.from_file(str(script)).run()
    assert len(at.exception) == 1
    shown = at.exception[0].message + "".join(at.exception[0].stack_trace)
    assert "/srv" not in shown and "secret" not in shown


# --- plain(): user values echoed as text ------------------------------------------------------------------


HOSTILE_VALUES = [
    "[click me](https://evil.example/phish)",
    "![tracker](https://evil.example/pixel.png)",
    "<img src=x onerror=alert(1)><script>alert(2)</script>",
    "**bold** _italic_ ~~gone~~ `code` # heading",
    "> quote\n- item\n1. item\n\n    indented code",
    ":red[coloured] :material/delete: :smile: $x^2$ &amp; &#60;",
    "https://evil.example www.evil.example mail@evil.example",
    "a\u202eevil\x00\x1b[31m",
    "'quoted' \"twice\" = 50%, ok; ^sup^ ==mark== a/b?",
    "=====\n-----\n***",
    "snake_case_name _em_ __strong__ a_b_ _c",
]


def _unescaped(text: str) -> str:
    """What the reader sees once Markdown's backslash escapes are resolved."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_plain_renders_as_the_literal_text(value: str) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    shown = plain(value, limit=1000)
    rendered = markdown_it.MarkdownIt("commonmark").render(shown)
    assert re.fullmatch(r"<p>[^<]*</p>\n", rendered) or rendered == "", rendered  # one paragraph, no tags
    expected = " ".join(value.replace("\u202e", " ").replace("\x00", " ").replace("\x1b", " ").split())
    assert html.unescape(rendered[3:-5]).replace("\u200b", "") == expected


def test_plain_leaves_harmless_characters_alone() -> None:
    """A settings warning stays readable in its source (and in tests): quotes and = need no escape."""
    assert "epochs='999'" in plain("Ignored epochs='999': Epochs must be between 1 and 30.", limit=200)
    assert "batch_size='abc'" in plain("Ignored batch_size='abc': Batch size must be a whole number.", limit=200)
    assert plain("_a_ b__c __d snake_case") == "\\_a\\_ b\\_\\_c \\_\\_d snake_case"


def test_plain_breaks_streamlit_s_own_markdown_forms() -> None:
    shown = plain(":red[x] :smile: :material/home: $y$ www.evil.example WWW.e.x a@evil.example")
    assert not re.search(r":[a-z]", shown) and "\\$" in shown
    # Streamlit links www. and e-mail addresses found in the text once escapes are resolved.
    assert not re.search(r"www\\?\.", shown, re.IGNORECASE) and not re.search(r"@\\?\w", shown)


def test_plain_cuts_long_values_to_a_readable_length() -> None:
    shown = plain("A" * 10_000)
    assert _unescaped(shown) == "A" * 59 + ELLIPSIS
    long_link = "[x](https://evil.example/" + "a" * 10_000 + ")"
    assert len(_unescaped(plain(long_link, limit=40))) == 40
    assert plain("a\n\n\n   b") == "a b" and plain(12.5) == "12\\.5" and plain("") == ""


def test_plain_on_a_megabyte_stays_fast_and_short() -> None:
    assert len(_unescaped(plain(" " * 500_000 + "x" * 500_000))) <= 60
