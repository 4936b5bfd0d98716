"""End to end: start the real app, draw digits on the Draw page in headless Chromium.

Run just these tests with::

    .venv/bin/python -m pytest -m e2e -v

They need Chromium (Debian's ``/usr/bin/chromium`` or ``chromium`` on PATH)
and are skipped without it — unless ``DIGIT_STUDIO_REQUIRE_BROWSER=1`` is
set, in which case a missing browser is an error. On failure, screenshots,
the page HTML and the server log tail are written to ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import os
import re
import time

import numpy as np
import pytest

from pages.internals import SEND_BUTTON_TITLE
from support.browser import (
    ARTIFACTS,
    EMPTY_PROMPT_TEXT,
    AppServer,
    DrawPage,
    find_chromium,
    launch_chromium,
    save_artifacts,
)
from support.handwriting import digit_polylines, fit_polylines

pytestmark = pytest.mark.e2e

REQUIRE_BROWSER = os.environ.get("DIGIT_STUDIO_REQUIRE_BROWSER") == "1"
CHROMIUM = find_chromium()
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - playwright is in requirements.txt
    sync_playwright = None

if not REQUIRE_BROWSER:
    if CHROMIUM is None:
        pytest.skip(
            "Chromium not found (/usr/bin/chromium or `chromium` on PATH); "
            "set DIGIT_STUDIO_REQUIRE_BROWSER=1 to make this an error",
            allow_module_level=True,
        )
    if sync_playwright is None:
        pytest.skip("the playwright Python package is not installed", allow_module_level=True)

PREDICTION_TIMEOUT = 20.0  #: seconds to wait for the right digit after a drawing
PAGE_TIMEOUT = 60.0  #: seconds for a page (and the model) to load on a busy 2-core machine


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if CHROMIUM is None:
        pytest.fail(
            "DIGIT_STUDIO_REQUIRE_BROWSER=1 but no Chromium was found at /usr/bin/chromium "
            "or as `chromium` on PATH (install it: apt-get install chromium, or `make chromium`)",
            pytrace=False,
        )
    if sync_playwright is None:
        pytest.fail(
            "DIGIT_STUDIO_REQUIRE_BROWSER=1 but the playwright package is not installed "
            "(pip install -r requirements.txt)",
            pytrace=False,
        )
    return CHROMIUM


def _start_server() -> AppServer:
    env = {"MNIST_DIR": os.environ["MNIST_DIR"]} if os.environ.get("MNIST_DIR") else {}
    return AppServer(env=env).start(timeout=90)


@pytest.fixture(scope="module")
def app_server(chromium_path):
    """The app on a free 127.0.0.1 port; always stopped afterwards."""
    server = _start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(chromium_path):
    with sync_playwright() as p:
        b = launch_chromium(p, chromium_path)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(PAGE_TIMEOUT * 1000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@contextlib.contextmanager
def step(page, name: str, server: AppServer | None = None):
    """Run one step; on any failure save a screenshot, the HTML and the server log, then re-raise."""
    try:
        yield
    except BaseException:
        stamp = time.strftime("%H%M%S")
        files = save_artifacts(page, f"e2e-{stamp}-{name}")
        if server is not None:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            log = ARTIFACTS / f"e2e-{stamp}-{name}-server.log"
            log.write_text(server.log_tail(20000), encoding="utf-8")
            files.append(log)
        print(f"\n[e2e] step {name!r} failed; artifacts: {', '.join(str(f) for f in files)}")
        raise


def assert_no_errors(draw: DrawPage) -> None:
    errors = draw.error_texts()
    assert not errors, f"Streamlit shows error elements: {errors}"


# ---------------------------------------------------------------------------
# the drawings
# ---------------------------------------------------------------------------


def case_strokes(digit: int, seed: int, x0: float, y0: float, height: float) -> list[np.ndarray]:
    """Seeded realistic strokes of ``digit``, placed at (x0, y0) ``height`` px tall, kept on the canvas."""
    return fit_polylines(digit_polylines(digit, np.random.default_rng(seed), x0, y0, height), margin=12)


#: (name, digit, seed, x0, y0, height): a big centred 1, a small 7 in the bottom-right corner,
#: a mid-sized 0 near the top-left.
CASES = [
    ("one-large-centred", 1, 11, 120, 30, 220),
    ("seven-small-corner", 7, 7, 205, 205, 60),
    ("zero-medium-top-left", 0, 3, 25, 20, 150),
]


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------


def test_draw_digits_and_reset(app_server, page):
    draw = DrawPage(page, app_server.base_url)

    with step(page, "open-home", app_server):
        # Open the app at its root first: app.py's st.navigation must be in charge of routing.
        page.goto(app_server.base_url + "/", wait_until="domcontentloaded")
        nav = page.locator("[data-testid='stSidebarNav'] a")
        nav.filter(has_text="Draw").first.wait_for(state="visible")
        assert_no_errors(draw)

    with step(page, "open-draw", app_server):
        draw.open(timeout=PAGE_TIMEOUT)
        assert page.locator("canvas.upper-canvas").count() == 1
        box = draw.box()
        assert abs(box["width"] - 280) < 2 and abs(box["height"] - 280) < 2, box
        assert draw.prediction() is None
        assert_no_errors(draw)

    for i, (name, digit, seed, x0, y0, height) in enumerate(CASES):
        with step(page, f"draw-{name}", app_server):
            if i:
                draw.reset(timeout=PAGE_TIMEOUT)
            strokes = case_strokes(digit, seed, x0, y0, height)
            timing = draw.draw_digit(strokes, timeout=PREDICTION_TIMEOUT)
            shown, _ = draw.wait_prediction(digit, timeout=PREDICTION_TIMEOUT)
            if shown is None:
                pytest.fail(
                    f"{name}: expected the prediction {digit} within {PREDICTION_TIMEOUT:.0f}s "
                    f"after the last stroke; the page shows {draw.prediction()!r}"
                )
            assert_no_errors(draw)
            latency = "timeout" if timing.latency is None else f"{1000 * timing.latency:.0f} ms"
            print(
                f"[e2e] {name}: {len(strokes)} stroke(s), predicted {shown}; result {latency} after the last mouse-up"
            )

    with step(page, "final-reset", app_server):
        draw.reset(timeout=PAGE_TIMEOUT)
        assert page.get_by_text(EMPTY_PROMPT_TEXT).first.is_visible()
        assert draw.prediction() is None
        assert_no_errors(draw)


def test_undo_and_redo(app_server, page):
    """Undo of the only stroke empties the canvas (prompt back); redo brings the prediction back.

    A 0 from support.handwriting is always a single stroke.
    """
    draw = DrawPage(page, app_server.base_url)
    with step(page, "undo-open", app_server):
        draw.open(timeout=PAGE_TIMEOUT)
    with step(page, "undo-draw", app_server):
        strokes = case_strokes(0, 5, 70, 40, 190)
        assert len(strokes) == 1
        draw.draw_digit(strokes, timeout=PREDICTION_TIMEOUT)
        shown, _ = draw.wait_prediction(0, timeout=PREDICTION_TIMEOUT)
        assert shown == "0", f"expected 0, the page shows {draw.prediction()!r}"
    with step(page, "undo", app_server):
        draw.click_and_wait("Undo", timeout=PREDICTION_TIMEOUT)
        draw.wait_empty(timeout=PREDICTION_TIMEOUT)
    with step(page, "redo", app_server):
        draw.click_and_wait("Redo", timeout=PREDICTION_TIMEOUT)
        shown, _ = draw.wait_prediction(0, timeout=PREDICTION_TIMEOUT)
        assert shown == "0", f"expected 0 again after redo, the page shows {draw.prediction()!r}"
        assert_no_errors(draw)


def test_a_stroke_started_in_the_top_right_corner_draws(app_server, page):
    """The canvas component hides its toolbar *over* the canvas's top-right corner until the
    pointer has hovered; the page pins it above the canvas, so a stroke that starts there at
    once (a quick mouse, a touch screen) draws. A 1 from the top-right corner down."""
    draw = DrawPage(page, app_server.base_url)
    with step(page, "corner-open", app_server):
        draw.open(timeout=PAGE_TIMEOUT)
        box = draw.box()
        hit = page.evaluate(PIERCING_HIT_TEST_JS, [box["x"] + 250, box["y"] + 10])
        assert hit == "CANVAS", f"the canvas's top-right corner is covered by {hit}"
    with step(page, "corner-draw", app_server):
        stroke = np.column_stack([np.linspace(250, 205, 40), np.linspace(8, 255, 40)])
        draw.draw_digit([stroke], timeout=PREDICTION_TIMEOUT)
        shown, _ = draw.wait_prediction(1, timeout=PREDICTION_TIMEOUT)
        assert shown == "1", f"expected 1, the page shows {draw.prediction()!r}"
        assert_no_errors(draw)


def test_each_stroke_is_sent_to_the_app_once_when_it_ends(app_server, page):
    """The component would send a stroke only after a 200 ms pause; the page presses its
    (hidden) send button when a stroke ends instead. Each stroke is still one rerun request,
    and a press on the toolbar is not a stroke."""
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: frames.append("sent")))
    draw = DrawPage(page, app_server.base_url)
    with step(page, "send-open", app_server):
        draw.open(timeout=PAGE_TIMEOUT)
        assert not draw.button(SEND_BUTTON_TITLE).is_visible()
    with step(page, "send-draw", app_server):
        strokes = case_strokes(4, 0, 60, 40, 190)
        assert len(strokes) >= 2, "want a digit of several strokes"
        before = len(frames)
        draw.draw_digit(strokes, timeout=PREDICTION_TIMEOUT)
        shown, _ = draw.wait_prediction(4, timeout=PREDICTION_TIMEOUT)
        assert shown == "4", f"expected 4, the page shows {draw.prediction()!r}"
        assert page.evaluate("window.__digitStudioCanvas.strokesSent") == len(strokes)
        assert len(frames) - before == len(strokes), "one rerun request per stroke"
    with step(page, "send-undo", app_server):
        draw.click_and_wait("Undo", timeout=PREDICTION_TIMEOUT)
        assert page.evaluate("window.__digitStudioCanvas.strokesSent") == len(strokes)
        assert_no_errors(draw)


def test_inside_the_network_opens_on_a_drawn_digit(app_server, page):
    """The "Inside the network" view opens on a drawn digit with every picture loaded, and follows the next stroke."""
    draw = DrawPage(page, app_server.base_url)
    with step(page, "inside-open", app_server):
        draw.open(timeout=PAGE_TIMEOUT)
    with step(page, "inside-draw", app_server):
        draw.draw_digit(case_strokes(7, 7, 60, 40, 190), timeout=PREDICTION_TIMEOUT)
        shown, _ = draw.wait_prediction(7, timeout=PREDICTION_TIMEOUT)
        assert shown == "7", f"expected 7, the page shows {draw.prediction()!r}"
    with step(page, "inside-toggle", app_server):
        page.get_by_text("Inside the network").click()
        page.get_by_text("for 7, the answer").first.wait_for(state="visible", timeout=PAGE_TIMEOUT * 1000)
        page.get_by_text("What each layer sees").first.wait_for(state="visible")
        page.wait_for_function(ALL_IMAGES_LOADED_JS, timeout=PAGE_TIMEOUT * 1000)
        layers = page.get_by_text(re.compile(r"filters$|units$")).all_inner_texts()
        assert len(layers) >= 2, layers
        assert_no_errors(draw)
    with step(page, "inside-next-stroke", app_server):
        draw.reset(timeout=PAGE_TIMEOUT)
        draw.draw_digit(case_strokes(1, 11, 120, 30, 220), timeout=PREDICTION_TIMEOUT)
        shown, _ = draw.wait_prediction(1, timeout=PREDICTION_TIMEOUT)
        assert shown == "1", f"expected 1, the page shows {draw.prediction()!r}"
        page.get_by_text("for 1, the answer").first.wait_for(state="visible", timeout=PREDICTION_TIMEOUT * 1000)
        assert_no_errors(draw)


#: Whether every image in Streamlit's main area has loaded (decoded, with a size).
ALL_IMAGES_LOADED_JS = """() => {
  const images = Array.from(document.querySelectorAll("[data-testid='stMain'] img"));
  return images.length > 0 && images.every(i => i.complete && i.naturalWidth > 0);
}"""


#: The element at page point (x, y), looking inside open shadow roots (the canvas component's).
PIERCING_HIT_TEST_JS = """([x, y]) => {
  let e = document.elementFromPoint(x, y);
  for (let depth = 0; e && e.shadowRoot && depth < 5; depth++) {
    const inner = e.shadowRoot.elementFromPoint(x, y);
    if (!inner || inner === e) break;
    e = inner;
  }
  return e ? e.tagName : null;
}"""


def test_deep_link_to_draw_on_fresh_server_uses_app_navigation(chromium_path, browser):
    """The first visitor of a fresh server arrives by a link to /draw (or a shared /train link).

    Regression test: with a ``pages/`` folder next to app.py, Streamlit starts in its legacy
    pages-directory mode, and until some session had run app.py a deep link ran pages/draw.py
    alone (no set_page_config; the sidebar listed app/common/draw/home/train).
    """
    server = _start_server()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(PAGE_TIMEOUT * 1000)
    page = context.new_page()
    try:
        with step(page, "deep-link-draw", server):
            DrawPage(page, server.base_url).open(timeout=PAGE_TIMEOUT)
            labels = page.locator("[data-testid='stSidebarNav'] a")
            labels.first.wait_for(state="visible")
            texts = [" ".join(t.split()) for t in labels.all_inner_texts()]
            helpers = {
                "common",
                "internals",
                "model cache",
                "state",
                "timing",
                "widgets",
                "train results",
                "inside view",
                "learned view",
                "draw steps",
                "presentation",
            }  # modules in pages/
            assert not any(t.lower() in helpers for t in texts), f"sidebar lists a pages/ module as a page: {texts}"
            assert any("Draw" in t for t in texts), f"sidebar is not the app's navigation: {texts}"
    finally:
        context.close()
        server.stop()
