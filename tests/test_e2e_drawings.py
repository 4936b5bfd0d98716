"""End to end, in Chromium: "That's wrong — it was a …" keeps a drawing, on a desktop and with a finger on a phone.

A digit drawn on the canvas, one tap on the right digit: the page confirms,
the store holds the drawing with that label, and My drawings shows it. On a
phone-sized touch screen (Playwright's Pixel 7) the ten digit buttons fit the
screen's width and are big enough to tap.

Run with ``.venv/bin/python -m pytest tests/test_e2e_drawings.py -m e2e -v`` (needs Chromium).
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from core.store import DB_FILE
from pages.correction_view import WRONG_LABEL
from support.browser import DrawPage
from support.handwriting import digit_polylines, fit_polylines
from tests.test_e2e_browser import PAGE_TIMEOUT, step
from tests.test_e2e_store import browser, devices, new_context, playwright, server_on, touch_draw  # noqa: F401

pytestmark = pytest.mark.e2e


def labels_stored(data_dir) -> list[int]:
    with sqlite3.connect(f"file:{data_dir / DB_FILE}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute("SELECT label FROM drawings ORDER BY id")]


def digit_buttons(page):
    """The ten buttons under "That's wrong — it was a …"."""
    group = page.get_by_role("radiogroup", name=WRONG_LABEL).first
    return [group.get_by_role("radio", name=str(d), exact=True) for d in range(10)]


def test_a_tap_on_the_right_digit_keeps_the_drawing(browser, devices, tmp_path) -> None:  # noqa: F811
    data = tmp_path / "data"
    server = server_on(data)
    desk = new_context(browser)
    phone = new_context(browser, **devices["Pixel 7"])
    try:
        page = desk.new_page()
        with step(page, "desk-correct", server):
            draw = DrawPage(page, server.base_url).open(timeout=PAGE_TIMEOUT)
            strokes = fit_polylines(digit_polylines(1, np.random.default_rng(11), 120, 30, 220), margin=12)
            draw.draw_digit(strokes, timeout=30)
            page.get_by_text(WRONG_LABEL).first.wait_for(state="visible")
            digit_buttons(page)[7].click()
            page.get_by_text("Saved as a 7 in My drawings (1 so far).").wait_for(state="visible")
            assert labels_stored(data) == [7]

        with step(page, "desk-my-drawings", server):
            page.goto(server.base_url + "/drawings", wait_until="domcontentloaded")
            metric = page.locator("[data-testid='stMetric']").filter(has_text="Drawings").first
            metric.wait_for(state="visible")
            assert metric.locator("[data-testid='stMetricValue']").inner_text().strip() == "1"
            page.get_by_text("Teaching needs at least 10 drawings; you have 1").wait_for(state="visible")
            assert page.get_by_role("button", name="Delete").count() == 1

        page = phone.new_page()
        with step(page, "phone-correct", server):
            draw = DrawPage(page, server.base_url).open(timeout=PAGE_TIMEOUT)
            strokes = fit_polylines(digit_polylines(3, np.random.default_rng(3), 60, 40, 200), margin=12)
            touch_draw(phone, page, strokes, draw.canvas().bounding_box())
            page.get_by_text(WRONG_LABEL).first.wait_for(state="visible", timeout=30_000)
            view = page.viewport_size
            buttons = digit_buttons(page)
            for button in buttons:
                button.scroll_into_view_if_needed()
                box = button.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= view["width"], box
                assert box["height"] >= 24 and box["width"] >= 24, f"under WCAG 2.2's minimum target size: {box}"
            assert page.evaluate("document.documentElement.scrollWidth") <= view["width"], "page scrolls sideways"
            buttons[3].tap()
            page.get_by_text("Saved as a 3 in My drawings (1 so far).").wait_for(state="visible")
            assert sorted(labels_stored(data)) == [3, 7]  # another browser: another person's collection
    finally:
        desk.close()
        phone.close()
        server.stop()
