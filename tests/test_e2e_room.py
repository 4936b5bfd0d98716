"""End to end, in Chromium: a presenter and two participants in one room, three browsers at once.

The presenter opens a room with the presenter key (from a link, which leaves
the address bar at once). Two participants join with nicknames; one trains a
tiny run. Each draws a digit on the Draw page, corrects the model with
"That's wrong — it was a …", and shares the drawing on the Room page. The
presenter's page, left alone (its live part refreshes itself), then shows
both drawings and a leaderboard on which the participant's run and the
bundled model are scored on them; the other participant sees the same room.

Run with ``.venv/bin/python -m pytest tests/test_e2e_room.py -m e2e -v`` (needs
``MNIST_DIR`` for the training and Chromium; skipped without them).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from core.identity import COOKIE_NAME
from support.browser import TRAIN_BUTTON, AppServer, DrawPage
from support.handwriting import digit_polylines, fit_polylines
from tests.test_e2e_browser import PAGE_TIMEOUT, PREDICTION_TIMEOUT, step
from tests.test_e2e_store import (  # noqa: F401 - browser and playwright are fixtures
    TINY_LINK,
    TRAIN_TIMEOUT,
    accuracy_shown,
    browser,
    new_context,
    playwright,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.environ.get("MNIST_DIR"), reason="set MNIST_DIR to the MNIST folder"),
]

KEY = "e2e-presenter-key-2417"
ROOM = "Workshop"
LIVE_TIMEOUT = 90.0  #: seconds for the presenter's live view to show what participants did (a refresh every 5 s)
WRONG_LABEL = "That's wrong — it was a …"


def wait_for_cookie(context, timeout: float = 20.0) -> None:
    """Until the page's script has given this browser its identity cookie (later visits are the same person)."""
    deadline = time.monotonic() + timeout
    while not any(c["name"] == COOKIE_NAME for c in context.cookies()):
        assert time.monotonic() < deadline, "the browser got no identity cookie"
        time.sleep(0.1)


def wait_for_text(page, text: str, timeout: float = LIVE_TIMEOUT) -> None:
    page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=timeout * 1000)


def board(page) -> dict[str, list[str]]:
    """The leaderboard's rows (the page's one table): who -> the row's cells (who, run, MNIST, room, gap, scored)."""
    rows = page.locator("[data-testid='stTable'] tbody tr")
    found = {}
    for i in range(rows.count()):
        cells = [c.strip() for c in rows.nth(i).locator("td, th").all_inner_texts()]
        found[cells[0]] = cells
    return found


def wait_for_board(page, who: str, scored: str, timeout: float = LIVE_TIMEOUT) -> list[str]:
    """Until the leaderboard shows ``who`` scored on ``scored`` drawings (e.g. "2 of 2"); returns the row."""
    deadline = time.monotonic() + timeout
    while True:
        row = board(page).get(who)
        if row is not None and row[-1] == scored:
            return row
        assert time.monotonic() < deadline, f"the board never showed {who} scored {scored}: {board(page)}"
        time.sleep(0.5)


def join(page, base_url: str, nickname: str) -> None:
    page.goto(f"{base_url}/room?room={ROOM}", wait_until="domcontentloaded")
    page.get_by_label("Your nickname", exact=True).fill(nickname)
    page.get_by_role("button", name="Join").click()
    wait_for_text(page, "You are in room", PAGE_TIMEOUT)


def draw_and_correct(page, base_url: str, digit: int, seed: int) -> None:
    """Draw ``digit`` on the Draw page and tap it under "That's wrong — it was a …"."""
    draw = DrawPage(page, base_url).open(timeout=PAGE_TIMEOUT)
    strokes = fit_polylines(digit_polylines(digit, np.random.default_rng(seed), 60, 40, 200), margin=12)
    draw.draw_digit(strokes, timeout=PREDICTION_TIMEOUT)
    shown, _ = draw.wait_prediction(None, timeout=PREDICTION_TIMEOUT)
    assert shown is not None, "no prediction was shown"
    pills = page.get_by_role("radiogroup", name=WRONG_LABEL)  # st.pills: one radio button a digit
    pills.get_by_role("radio", name=str(digit), exact=True).click()
    wait_for_text(page, "Saved as a", PAGE_TIMEOUT)


def share_all(page, base_url: str) -> None:
    page.goto(f"{base_url}/room", wait_until="domcontentloaded")
    page.get_by_role("button", name="Share all my drawings").click()
    wait_for_text(page, "Shared 1 drawing", PAGE_TIMEOUT)


def test_a_presenter_and_two_participants_draw_correct_share_and_see_the_leaderboard(browser, tmp_path) -> None:  # noqa: F811
    env = {"DIGIT_STUDIO_DATA": str(tmp_path / "data"), "DIGIT_STUDIO_PRESENTER_KEY": KEY}
    server = AppServer(env=env).start(timeout=120)
    contexts = [new_context(browser) for _ in range(3)]
    presenter, ana, bo = (c.new_page() for c in contexts)
    try:
        with step(presenter, "room-presenter-opens", server):
            presenter.goto(f"{server.base_url}/room?key=wrong-key", wait_until="domcontentloaded")
            wait_for_text(presenter, "presenter key is not right", PAGE_TIMEOUT)
            presenter.goto(f"{server.base_url}/room?key={KEY}", wait_until="domcontentloaded")
            presenter.get_by_label("Open a room called", exact=True).fill(ROOM)
            presenter.get_by_role("button", name="Open the room").click()
            wait_for_text(presenter, "The room's link", PAGE_TIMEOUT)
            assert "key=" not in presenter.url, presenter.url  # never left in the address bar

        with step(ana, "room-ana-joins-and-trains", server):
            join(ana, server.base_url, "Ana")
            wait_for_cookie(contexts[1])
            ana.goto(server.base_url + TINY_LINK, wait_until="domcontentloaded")
            ana.get_by_role("button", name=TRAIN_BUTTON, exact=True).click()
            accuracy = accuracy_shown(ana, timeout=TRAIN_TIMEOUT)

        with step(bo, "room-bo-joins", server):
            join(bo, server.base_url, "Bo")
            wait_for_cookie(contexts[2])
            bo.goto(f"{server.base_url}/room?room=Nowhere", wait_until="domcontentloaded")
            wait_for_text(bo, "You are in room", PAGE_TIMEOUT)  # still in the room: a bad link changes nothing

        for page, digit, seed, name in ((ana, 7, 3, "ana"), (bo, 3, 5, "bo")):
            with step(page, f"room-{name}-draws-and-corrects", server):
                draw_and_correct(page, server.base_url, digit, seed)
            with step(page, f"room-{name}-shares", server):
                share_all(page, server.base_url)

        with step(presenter, "room-presenter-sees-the-leaderboard", server):
            wait_for_text(presenter, "The room's drawings (2)")
            row = wait_for_board(presenter, "Ana", "2 of 2")
            assert row[1].startswith("Run 1 · MLP · 1 epoch ·") and row[2] == f"{float(accuracy.rstrip('%')):.1f}%", row
            assert row[3] in ("0.0%", "50.0%", "100.0%") and row[4].endswith("points"), row
            wait_for_board(presenter, "(bundled model)", "2 of 2")
            assert "Bo" in presenter.get_by_text("in the room:").first.inner_text()

        with step(bo, "room-bo-sees-the-room", server):
            wait_for_text(bo, "The room's drawings (2)")
            wait_for_board(bo, "Ana", "2 of 2")
    finally:
        for context in contexts:
            context.close()
        server.stop()
