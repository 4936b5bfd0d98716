"""End to end, in Chromium: nothing lost on a reload or a restart, nobody else's runs, phones see the answer.

* One person trains a tiny run; a reload, then a restart of the server process
  (same data folder), bring back the same run with the same test accuracy on the
  Train page and in the Draw page's model picker. Another browser (a second
  context) sees none of it; a forged cookie gets a fresh, empty identity (and a
  real cookie). "Forget my data" leaves nothing of that person in the store. The
  first visit after a start never shows a menu of the files in ``pages/``.
* On a phone-sized touch screen (Playwright's Pixel 7), a digit drawn with touch
  events (Chrome DevTools' ``Input.dispatchTouchEvent``) gets its answer inside
  the viewport, with the canvas, without scrolling.

Run with ``.venv/bin/python -m pytest tests/test_e2e_store.py -m e2e -v`` (needs
``MNIST_DIR`` for the training test and Chromium; skipped without them).
"""

from __future__ import annotations

import os
import re
import sqlite3
import time

import numpy as np
import pytest

from core.identity import COOKIE_NAME, IdentityIssuer
from core.store import DB_FILE, RUNS_FOLDER
from support.browser import TRAIN_BUTTON, AppServer, DrawPage, find_chromium, launch_chromium, touch_draw
from support.handwriting import digit_polylines, fit_polylines
from tests.test_e2e_browser import PAGE_TIMEOUT, step

pytestmark = pytest.mark.e2e

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - playwright is in requirements.txt
    sync_playwright = None
if find_chromium() is None or sync_playwright is None:
    pytest.skip("Chromium or playwright is not available", allow_module_level=True)

TRAIN_TIMEOUT = 240.0  #: seconds for a tiny run on a busy 2-core machine (TensorFlow's first compile included)
TINY_LINK = "/train?arch=mlp&epochs=1&batch_size=128&train_size=5000&seed=0"
#: Remembers every entry the sidebar's menu ever shows, from the very first render.
RECORD_MENU_JS = """
window.__menuSeen = new Set();
new MutationObserver(() => {
  document.querySelectorAll("[data-testid='stSidebarNav'] a").forEach(
    (a) => window.__menuSeen.add((a.textContent || '').trim()));
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


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
def devices(playwright):
    return playwright.devices


def server_on(data_dir) -> AppServer:
    env = {"DIGIT_STUDIO_DATA": str(data_dir)}
    if os.environ.get("MNIST_DIR"):
        env["MNIST_DIR"] = os.environ["MNIST_DIR"]
    return AppServer(env=env).start(timeout=120)


def new_context(browser, **options):
    context = browser.new_context(**({"viewport": {"width": 1400, "height": 1000}} | options))
    context.set_default_timeout(PAGE_TIMEOUT * 1000)
    return context


def cookie_of(context) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == COOKIE_NAME), None)


def wait_for_new_cookie(context, old: str | None, timeout: float = 15.0) -> str | None:
    """The identity cookie once the page's script has replaced ``old`` (it runs after the page renders)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cookie_of(context)
        if value not in (None, old):
            return value
        time.sleep(0.1)
    return cookie_of(context)


def accuracy_shown(page, timeout: float = PAGE_TIMEOUT) -> str:
    """The "Test accuracy" the Train page shows (waits for it)."""
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Test accuracy").first
    metric.wait_for(state="visible", timeout=timeout * 1000)
    return metric.locator("[data-testid='stMetricValue']").inner_text().strip()


def open_train(page, base_url: str) -> None:
    page.goto(base_url + "/train", wait_until="domcontentloaded")
    page.get_by_role("button", name=TRAIN_BUTTON, exact=True).wait_for(state="visible")


def picker_options(page, base_url: str) -> list[str]:
    """The Draw page's model picker's choices (opens it and closes it again)."""
    DrawPage(page, base_url).open(timeout=PAGE_TIMEOUT)
    page.locator("[data-testid='stSelectbox']").first.click()
    options = page.get_by_role("option")
    options.first.wait_for(state="visible")
    texts = [" ".join(t.split()) for t in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return texts


def assert_same_run(page, base_url: str, accuracy: str) -> None:
    open_train(page, base_url)
    assert accuracy_shown(page) == accuracy
    label = f"Your run 1 · MLP · {float(accuracy.rstrip('%')) / 100:.1%}"
    assert label in picker_options(page, base_url)


def stored_rows(data_dir, owner: str | None = None) -> dict[str, int]:
    """Rows per table in the store (of ``owner``, or of everyone), read beside the running server."""
    with sqlite3.connect(f"file:{data_dir / DB_FILE}?mode=ro", uri=True) as db:
        where, args = ("WHERE owner=?", (owner,)) if owner else ("", ())
        return {
            t: db.execute(f"SELECT COUNT(*) FROM {t} {where}", args).fetchone()[0] for t in ("runs", "prefs", "notes")
        }


@pytest.mark.skipif(not os.environ.get("MNIST_DIR"), reason="set MNIST_DIR to the MNIST folder")
def test_runs_survive_a_reload_and_a_restart_and_stay_private(browser, tmp_path) -> None:
    data_dir = tmp_path / "data"
    server = server_on(data_dir)
    person = new_context(browser)
    person.add_init_script(RECORD_MENU_JS)
    page = person.new_page()
    try:
        with step(page, "store-first-visit", server):
            page.goto(server.base_url + "/", wait_until="domcontentloaded")
            page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Draw").first.wait_for(state="visible")
            seen = set(page.evaluate("Array.from(window.__menuSeen)"))  # (a Material icon's text is its name)
            pages = (
                ("home", "Home"),
                ("model_training", "Train"),
                ("draw", "Draw"),
                ("photo_library", "My drawings"),
                ("groups", "Room"),
            )
            assert seen <= {name for _, name in pages} | {f"{icon}{name}" for icon, name in pages}, seen

        with step(page, "store-train", server):
            page.goto(server.base_url + TINY_LINK, wait_until="domcontentloaded")
            page.get_by_role("button", name=TRAIN_BUTTON, exact=True).click()
            accuracy = accuracy_shown(page, timeout=TRAIN_TIMEOUT)
            assert re.fullmatch(r"\d{1,3}\.\d\d%", accuracy) and float(accuracy[:-1]) > 50, accuracy
            token = cookie_of(person)
            issuer = IdentityIssuer.in_folder(data_dir)
            owner = issuer.verify(token).owner  # the server issued this browser's cookie

        with step(page, "store-reload", server):
            page.reload(wait_until="domcontentloaded")
            assert accuracy_shown(page) == accuracy
            assert_same_run(page, server.base_url, accuracy)

        with step(page, "store-restart", server):
            server.stop()
            server = server_on(data_dir)  # a new server process on the same data folder
            assert_same_run(page, server.base_url, accuracy)
            assert cookie_of(person) == token

        other = new_context(browser)
        try:
            someone = other.new_page()
            with step(someone, "store-another-browser", server):
                open_train(someone, server.base_url)
                assert not someone.locator("[data-testid='stMetric']").filter(has_text="Test accuracy").count()
                assert not [o for o in picker_options(someone, server.base_url) if o.startswith("Your run ")]
                assert wait_for_new_cookie(other, None) not in (None, token)
        finally:
            other.close()

        forger = new_context(browser)
        try:
            forged_value = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
            forger.add_cookies([{"name": COOKIE_NAME, "value": forged_value, "url": server.base_url}])
            forged = forger.new_page()
            with step(forged, "store-forged-cookie", server):
                open_train(forged, server.base_url)
                assert not forged.locator("[data-testid='stMetric']").filter(has_text="Test accuracy").count()
                fresh = wait_for_new_cookie(forger, forged_value)
                assert fresh != token and issuer.verify(fresh) is not None, "a fresh identity replaces the forged one"
                assert issuer.verify(fresh).owner != owner
        finally:
            forger.close()

        with step(page, "store-forget", server):
            assert stored_rows(data_dir, owner)["runs"] == 1 and any((data_dir / RUNS_FOLDER).iterdir())
            page.goto(server.base_url + "/", wait_until="domcontentloaded")
            page.get_by_role("button", name="Forget my data", exact=True).click()
            page.get_by_role("button", name="Delete all my data").click()
            page.get_by_text("Nothing about you is kept any more").wait_for(state="visible")
            assert stored_rows(data_dir, owner) == {"runs": 0, "prefs": 0, "notes": 0}
            assert stored_rows(data_dir) == {"runs": 0, "prefs": 0, "notes": 0}  # nobody else trained here
            assert not any((data_dir / RUNS_FOLDER).iterdir())
            open_train(page, server.base_url)
            assert not page.locator("[data-testid='stMetric']").filter(has_text="Test accuracy").count()
    finally:
        person.close()
        server.stop()


#: Each prediction element's box, and whether it is shown (a phone shows the strip under the canvas).
PREDICTION_BOXES_JS = """() => Array.from(document.querySelectorAll("[data-testid='prediction']")).map((e) => {
  const b = e.getBoundingClientRect();
  return {top: b.top, bottom: b.bottom, left: b.left, right: b.right, shown: b.width > 0 && b.height > 0,
          text: e.textContent.trim()};
})"""


def test_a_phone_draws_with_touch_and_sees_the_answer_without_scrolling(browser, devices, tmp_path) -> None:
    server = server_on(tmp_path / "data")
    phone = new_context(browser, **devices["Pixel 7"])
    page = phone.new_page()
    try:
        with step(page, "phone-open", server):
            draw = DrawPage(page, server.base_url).open(timeout=PAGE_TIMEOUT)
            view = page.viewport_size
            # The page scales the canvas within a fifth of a second of its appearing (and again when the
            # column's width settles): wait, bounded, for a steady size.
            deadline, box, last = time.monotonic() + 10, None, None
            while time.monotonic() < deadline and (box is None or box != last or box["width"] < view["width"] - 40):
                last, box = box, draw.canvas().bounding_box()
                time.sleep(0.25)
            # The canvas fits the screen's width, filling the column (1 rem of margin each side).
            assert box["x"] >= 0 and box["x"] + box["width"] <= view["width"], box
            assert box["width"] >= view["width"] - 40, f"the canvas does not use the phone's width: {box}"
            assert page.evaluate("document.documentElement.scrollWidth") <= view["width"], "page scrolls sideways"
            assert box["y"] + box["height"] <= view["height"], f"the canvas is not all in view: {box} {view}"

        with step(page, "phone-draw", server):
            strokes = fit_polylines(digit_polylines(7, np.random.default_rng(7), 60, 40, 200), margin=12)
            touch_draw(phone, page, strokes, box)
            shown, _ = draw.wait_prediction(7, timeout=30)
            assert shown == "7", f"expected 7, the page shows {draw.prediction()!r}"
            assert page.evaluate("window.scrollY") == 0, "the page scrolled"

            def visible() -> list[dict]:
                return [
                    b
                    for b in page.evaluate(PREDICTION_BOXES_JS)
                    if b["shown"]
                    and b["top"] >= 0
                    and b["bottom"] <= view["height"]
                    and b["left"] >= 0
                    and b["right"] <= view["width"]
                ]

            # The strip is written in the same rerun as the big answer, but may paint a frame later
            # (seconds later on a CI machine saturated by the other tests' browsers and servers).
            deadline = time.monotonic() + 30
            while not visible() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert [b["text"] for b in visible()] == ["7"], (view, page.evaluate(PREDICTION_BOXES_JS))
            strip = page.locator(".ds-strip").first.inner_text()
            assert re.search(r"7\s+\d+\.\d%", strip) and strip.count("%") == 3, strip  # the digit and top 3
            assert page.locator("canvas.upper-canvas").first.bounding_box() == box  # canvas still in view
    finally:
        phone.close()
        server.stop()
