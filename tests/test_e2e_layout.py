"""End to end, in Chromium: every page reads cleanly on a phone, a laptop and a projector.

One server for everything. A tiny training (2,000 images, one epoch, run twice
with the same settings and seed, so the runs are compared and the second is a
repeat of the first) gives the Train page its results. Then Home, Train and
Draw, with a digit drawn and "How the app sees it" open, are opened at three
sizes: a phone held upright (Playwright's Pixel 7: 412×839, touch, mobile), a
laptop (1280×800) and a projector (1920×1080). On each, no metric value, table
cell or other text is cut off (content wider than its box), the page does not
scroll sideways, and the rendered text holds no emoji. Last, the Draw page's
presentation layout on the projector: sidebar folded away, the canvas scaled
up, the digit large and all ten bars on the screen without scrolling.

Screenshots of every page and size go to ``test-artifacts/layout/``
(``<page>-<size>.png`` what the window shows, ``<page>-<size>-full.png`` the
whole page). Run with
``MNIST_DIR=../shared/mnist .venv/bin/python -m pytest tests/test_e2e_layout.py -m e2e -v``
(the Train page's results need MNIST; without it those checks are skipped).
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from support.browser import (
    ARTIFACTS,
    TRAIN_BUTTON,
    AppServer,
    DrawPage,
    find_chromium,
    launch_chromium,
    touch_draw,
)
from support.browser.layout import layout_report, screenshots, settle
from support.handwriting import digit_polylines, fit_polylines
from tests.test_e2e_browser import PAGE_TIMEOUT, PREDICTION_TIMEOUT, REQUIRE_BROWSER, step

pytestmark = pytest.mark.e2e

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - playwright is in requirements.txt
    sync_playwright = None
if not REQUIRE_BROWSER and (find_chromium() is None or sync_playwright is None):
    pytest.skip("Chromium or playwright is not available", allow_module_level=True)

SHOTS = ARTIFACTS / "layout"
TRAIN_TIMEOUT = 240.0  #: seconds for each tiny run on a busy 2-core machine (the first compile included)
TINY_LINK = "/train?arch=mlp&epochs=1&train_size=2000&seed=0&dropout=0.3&learning_rate=0.001"
#: Browser context options per screen (the phone's come from Playwright's device list).
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
PROJECTOR = {"viewport": {"width": 1920, "height": 1080}}
SIZES = ["phone", "laptop", "projector"]
#: The caption beginnings of the step pictures of "How the app sees it".
STEP_CAPTIONS = ("1. ", "2. ", "3. ", "4. ", "5. ")


@pytest.fixture(scope="module")
def playwright():
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    b = launch_chromium(playwright)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def server():
    env = {"MNIST_DIR": os.environ["MNIST_DIR"]} if os.environ.get("MNIST_DIR") else {}
    app = AppServer(env=env).start(timeout=120)
    try:
        yield app
    finally:
        app.stop()


def options(playwright, size: str) -> dict:
    if size == "phone":
        return dict(playwright.devices["Pixel 7"])
    return LAPTOP if size == "laptop" else PROJECTOR


@pytest.fixture(scope="module")
def person(browser, server) -> dict | None:
    """The storage state (cookies) of someone who trained twice, or None without MNIST."""
    if not os.environ.get("MNIST_DIR"):
        return None
    context = browser.new_context(**LAPTOP)
    context.set_default_timeout(PAGE_TIMEOUT * 1000)
    page = context.new_page()
    try:
        with step(page, "layout-train", server):
            train = page.get_by_role("button", name=TRAIN_BUTTON, exact=True)
            for run in (1, 2):
                # The link each time, in a new session: the second run repeats the first's settings and seed.
                # (Its form is not trusted to keep them: after a server's first training its sliders have
                # been seen back at their minimums, a bug of its own, not this test's subject.)
                page.goto(server.base_url + TINY_LINK, wait_until="domcontentloaded")
                settle(page, PAGE_TIMEOUT)
                train.click()
                done = "Your runs compared" if run == 2 else "Test accuracy"
                page.get_by_text(done).first.wait_for(timeout=TRAIN_TIMEOUT * 1000)
                expect(train).to_be_enabled(timeout=TRAIN_TIMEOUT * 1000)
        return context.storage_state()
    finally:
        context.close()


def check(page, name: str) -> None:
    """Screenshots, then: nothing cut off, no sideways scrolling, no emoji."""
    screenshots(page, SHOTS / f"{name}.png")
    report = layout_report(page)
    assert not report.problems(), f"{name}: " + "; ".join(report.problems())


def draw_seven(page, context, size: str, base_url: str, query: str = "") -> DrawPage:
    """Open the Draw page and draw a 7 (with a finger on the phone, else the mouse); wait for the answer."""
    draw = DrawPage(page, base_url).open(timeout=PAGE_TIMEOUT, query=query)
    settle(page, PAGE_TIMEOUT)
    strokes = fit_polylines(digit_polylines(7, np.random.default_rng(7), 60, 40, 190), margin=12)
    if size == "phone":
        touch_draw(context, page, strokes, draw.box())
    else:
        draw.draw_digit(strokes, timeout=PREDICTION_TIMEOUT)
    shown, _ = draw.wait_prediction(7, timeout=PREDICTION_TIMEOUT)
    assert shown == "7", f"expected 7, the page shows {draw.prediction()!r}"
    settle(page, PAGE_TIMEOUT)
    return draw


@pytest.mark.parametrize("size", SIZES)
def test_every_page_reads_cleanly(playwright, browser, server, person, size: str) -> None:
    context = browser.new_context(**options(playwright, size), **({"storage_state": person} if person else {}))
    context.set_default_timeout(PAGE_TIMEOUT * 1000)
    page = context.new_page()
    try:
        with step(page, f"layout-home-{size}", server):
            page.goto(server.base_url + "/", wait_until="domcontentloaded")
            page.get_by_text("What the network learns from").first.wait_for()
            settle(page, PAGE_TIMEOUT)
            check(page, f"home-{size}")

        if person is not None:
            with step(page, f"layout-train-{size}", server):
                page.goto(server.base_url + "/train", wait_until="domcontentloaded")
                page.get_by_text("Your runs compared").first.wait_for()
                settle(page, PAGE_TIMEOUT)
                values = page.locator("[data-testid='stMetricValue']").all_inner_texts()
                assert any(re.fullmatch(r"[\d.]+k? img/s", v.strip()) for v in values), values
                cells = page.locator("[data-testid='stTable'] td").all_inner_texts()
                assert "same as run 1" in cells and "0.3" in cells and "0.001" in cells, cells
                check(page, f"train-{size}")

        with step(page, f"layout-draw-{size}", server):
            draw_seven(page, context, size, server.base_url)
            page.get_by_text("How the app sees it").first.click()
            page.get_by_text("5. centred by box").first.wait_for()
            settle(page, PAGE_TIMEOUT)
            widths = page.evaluate(STEP_WIDTHS_JS, list(STEP_CAPTIONS))
            assert len(widths) == 5 and max(widths) - min(widths) <= 1, f"step pictures at different sizes: {widths}"
            check(page, f"draw-{size}")
    finally:
        context.close()


def test_the_presentation_layout_on_a_projector(browser, server) -> None:
    """``/draw?present=1`` at 1920×1080: the sidebar folded, a large canvas, and the whole answer on the screen."""
    context = browser.new_context(**PROJECTOR)
    context.set_default_timeout(PAGE_TIMEOUT * 1000)
    page = context.new_page()
    try:
        with step(page, "layout-present", server):
            draw = draw_seven(page, context, "projector", server.base_url, "?present=1")
            assert page.get_by_role("switch", name="Presentation mode").is_checked()
            sidebar = page.locator("[data-testid='stSidebar']").first
            assert sidebar_width(sidebar) < 5, f"the sidebar is not folded away: {sidebar.bounding_box()}"
            canvas = draw.canvas().bounding_box()
            assert canvas["width"] >= 500, f"the canvas is not scaled up: {canvas}"
            answer = page.evaluate(ANSWER_JS)
            view = page.viewport_size
            assert answer["digitHeight"] >= 150, answer  # a digit 15 cm tall on a 2 m wide screen
            assert len(answer["bars"]) == 10 and all(b["bottom"] <= view["height"] for b in answer["bars"]), answer
            assert min(b["fontSize"] for b in answer["bars"]) >= 24, answer
            check(page, "draw-present-projector")

        with step(page, "layout-present-off", server):
            page.evaluate(SCROLL_TO_TOP_JS)  # where a presenter finds the toggle
            page.get_by_text("Presentation mode").first.click()
            page.wait_for_function("() => !location.search.includes('present=1')")
            settle(page, PAGE_TIMEOUT)
            assert page.evaluate(ANSWER_JS)["digitHeight"] < 150  # back to the usual layout
            page.wait_for_function(SIDEBAR_SHOWN_JS)  # it slides back in
    finally:
        context.close()


def sidebar_width(sidebar) -> float:
    """How much of the sidebar is on the screen, in CSS pixels (0 when folded away)."""
    box = sidebar.bounding_box()
    return 0.0 if box is None else max(0.0, min(box["width"], box["x"] + box["width"]))


#: JS: scroll the main area (Streamlit's scrolling box) back to its top.
SCROLL_TO_TOP_JS = "() => (document.querySelector('[data-testid=stMain]') || document.scrollingElement).scrollTo(0, 0)"

#: JS: the sidebar is on the screen, at least 200 px of it.
SIDEBAR_SHOWN_JS = """() => {
  const s = document.querySelector('[data-testid="stSidebar"]');
  if (!s) return false;
  const b = s.getBoundingClientRect();
  return Math.min(b.width, b.right) >= 200;
}"""

#: JS (argument: caption beginnings): the shown width of each step picture, found by its caption.
STEP_WIDTHS_JS = """(starts) => Array.from(document.querySelectorAll('[data-testid="stImage"]'))
  .filter((f) => starts.some((s) => (f.innerText || '').trim().startsWith(s)))
  .map((f) => f.querySelector('img').getBoundingClientRect().width)"""

#: JS: the big predicted digit's height and each confidence bar's bottom and text size, in CSS pixels.
ANSWER_JS = """() => {
  const digit = document.querySelector('[data-testid="prediction"]:not(.ds-digit)');
  const bars = Array.from(document.querySelectorAll('[data-testid^="confidence-"]')).map((b) => ({
    bottom: b.getBoundingClientRect().bottom,
    fontSize: parseFloat(getComputedStyle(b.firstElementChild).fontSize),
  }));
  return {digitHeight: digit ? digit.getBoundingClientRect().height : 0, bars: bars};
}"""
