"""Hostile input in a real browser: what Streamlit's own Markdown renderer makes of echoed values.

AppTest sees the Markdown source only; here headless Chromium shows the Draw
page, and a hostile file name must come out as literal text (no link, image,
emphasis or HTML), and noise as "not a digit".
"""

from __future__ import annotations

import io
import os
import re

import numpy as np
import pytest
from PIL import Image

from bench.hostile_files import png_bytes
from support.browser import AppServer, DrawPage, find_chromium, launch_chromium

pytestmark = pytest.mark.e2e

CHROMIUM = find_chromium()
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - playwright is in requirements.txt
    sync_playwright = None
if os.environ.get("DIGIT_STUDIO_REQUIRE_BROWSER") != "1" and (CHROMIUM is None or sync_playwright is None):
    pytest.skip("Chromium or playwright not found", allow_module_level=True)

TIMEOUT = 60.0  #: seconds for the page (and the model) to load on a busy 2-core machine
#: Names no real file system would give, as a hostile client can send them (each within the 60
#: characters the page shows): links, an image, autolinks, an e-mail address, HTML, emphasis,
#: an emoji shortcode and Streamlit's coloured text.
HOSTILE_NAMES = [
    "[win](https://evil.example) ![x](https://evil.example/t).png",
    "www.evil.example a@evil.example <b>bold</b> **strong**.png",
    ":smile: :red[red] :material/home: $x^2$ `code` # h.png",
]
RENDERED_TAGS = re.compile(r"<(a|img|b|strong|em|code|span class=\"katex)\b")


@pytest.fixture(scope="module")
def draw_page():
    env = {"MNIST_DIR": os.environ["MNIST_DIR"]} if os.environ.get("MNIST_DIR") else {}
    with AppServer(env=env) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright, CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT * 1000)
            DrawPage(page, server.base_url).open(timeout=TIMEOUT)
            page.get_by_text("Upload a photo").click()
            yield page
        finally:
            browser.close()


def _upload(page, name: str, data: bytes) -> None:
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(
        files=[{"name": name, "mimeType": "image/png", "buffer": data}]
    )


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_file_name_shows_as_literal_text(draw_page, name: str) -> None:
    assert len(name) <= 60
    _upload(draw_page, name, png_bytes(40000, 1))
    # This upload's message (not the last one's, still shown until the rerun ends); the page may
    # put zero-width spaces anywhere in the name.
    shown = re.compile("".join(re.escape(c) + "\u200b?" for c in f"{name} is 40000×1"))
    alert = draw_page.locator("[data-testid='stAlertContentError']").filter(has_text=shown)
    alert.wait_for(state="visible")
    assert not RENDERED_TAGS.search(alert.inner_html()), alert.inner_html()
    assert alert.inner_text().replace("\u200b", "").startswith(f"{name} is 40000×1 pixels")


def test_noise_is_called_not_a_digit(draw_page) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise, "RGB").save(buffer, "PNG")
    _upload(draw_page, "noise.png", buffer.getvalue())
    warning = draw_page.locator("[data-testid='stAlertContentWarning']").filter(has_text="does not look like")
    warning.wait_for(state="visible")
    assert "handwritten digit" in warning.inner_text()
