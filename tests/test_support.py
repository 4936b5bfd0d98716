"""support/ (test and benchmark tooling): canvas placement, mouse operations, the Draw page drivers.

The drivers are checked without a browser: fake pages record the Playwright
calls made, so the sync and the async driver must make the same calls and
return the same results.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import numpy as np
import pytest

from support.browser import AsyncDrawPage, DrawPage, mouse_ops
from support.browser.page_js import ARM_JS, SNAPSHOT_JS, WAIT_JS
from support.handwriting import fit_polylines, random_digit_strokes

# ---------------------------------------------------------------------------
# strokes on the canvas
# ---------------------------------------------------------------------------


def test_random_digit_strokes_stay_inside_the_canvas() -> None:
    rng = np.random.default_rng(0)
    for i in range(40):
        pts = np.vstack(random_digit_strokes(i % 10, rng, margin=14.0))
        assert pts.min() >= 14.0 - 1e-9 and pts.max() <= 280.0 - 14.0 + 1e-9
        assert 20.0 < np.ptp(pts[:, 1]) <= 240.0 + 1e-9


def test_fit_polylines_shifts_all_strokes_alike() -> None:
    strokes = [np.array([[-10.0, 50.0], [20.0, 60.0]]), np.array([[100.0, 290.0]])]
    fitted = fit_polylines(strokes, canvas=280.0, margin=10.0)  # 20 px right (left edge), 20 px up (bottom edge)
    np.testing.assert_allclose(fitted[0], [[10.0, 30.0], [40.0, 40.0]])
    np.testing.assert_allclose(fitted[1], [[120.0, 270.0]])


def test_mouse_ops_scale_to_the_box_and_turn_a_dot_into_a_short_move() -> None:
    box = {"x": 100.0, "y": 50.0, "width": 560.0, "height": 560.0}
    line, dot = mouse_ops([[(0.0, 0.0), (10.0, 0.0)], [(140.0, 140.0)]], box, step_px=4.0)
    assert line == [("move", 100.0, 50.0, 1), ("down",), ("move", 120.0, 50.0, 5), ("up",)]
    assert dot == [("move", 380.0, 330.0, 1), ("down",), ("move", 381.0, 331.0, 1), ("up",)]


# ---------------------------------------------------------------------------
# the Draw page drivers, against fake pages
# ---------------------------------------------------------------------------

JS_NAMES = {ARM_JS: "arm", WAIT_JS: "wait", SNAPSHOT_JS: "snapshot"}
BOX = {"x": 10.0, "y": 20.0, "width": 280.0, "height": 280.0}
SNAP = {"prediction": "3", "script": "notRunning", "errors": []}


class Recorder:
    """The calls made on a fake page; under the async API each call returns an awaitable of its result."""

    def __init__(self, asynchronous: bool) -> None:
        self.asynchronous = asynchronous
        self.calls: list[tuple] = []

    def io(self, call: tuple, result: Any = None) -> Any:
        self.calls.append(call)
        if not self.asynchronous:
            return result

        async def later() -> Any:
            return result

        return later()


class FakeLocator:
    def __init__(self, rec: Recorder, selector: str, box: dict | None) -> None:
        self.rec, self.selector, self.box = rec, selector, box

    @property
    def first(self) -> FakeLocator:
        return self

    def wait_for(self, state: str = "visible", timeout: float = 0) -> Any:
        return self.rec.io(("wait_for", self.selector, state))

    def scroll_into_view_if_needed(self) -> Any:
        return self.rec.io(("scroll", self.selector))

    def bounding_box(self) -> Any:
        return self.rec.io(("bounding_box", self.selector), self.box)

    def click(self, timeout: float = 0) -> Any:
        return self.rec.io(("click", self.selector))

    def all_inner_texts(self) -> Any:
        return self.rec.io(("texts", self.selector), ["  Traceback: boom  "])


class FakeMouse:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def move(self, x: float, y: float, steps: int = 1) -> Any:
        return self.rec.io(("move", round(x, 3), round(y, 3), steps))

    def down(self) -> Any:
        return self.rec.io(("down",))

    def up(self) -> Any:
        return self.rec.io(("up",))


class FakePage:
    def __init__(self, asynchronous: bool, box: dict | None = BOX) -> None:
        self.rec = Recorder(asynchronous)
        self.mouse = FakeMouse(self.rec)
        self.box = box

    def goto(self, url: str, **kwargs: Any) -> Any:
        return self.rec.io(("goto", url))

    def locator(self, selector: str) -> FakeLocator:
        return FakeLocator(self.rec, selector, self.box)

    def get_by_text(self, text: str) -> FakeLocator:
        return FakeLocator(self.rec, f"text={text}", self.box)

    def evaluate(self, js: str, arg: Any = None) -> Any:
        name = JS_NAMES[js]
        result = {
            "arm": "before",
            "snapshot": SNAP,
            "wait": {"first": 1000.0, "settled": 2000.0, "sawRun": True, "changed": True, "snap": SNAP},
        }[name]
        return self.rec.io(("evaluate", name, arg), result)


async def _session(draw: Any) -> list:
    """Open the page, draw a two-stroke digit, undo, reset, read the errors: what each action returned."""

    async def done(value: Any) -> Any:  # an action's result (awaited under the async API)
        return await value if inspect.isawaitable(value) else value

    opened = await done(draw.open(timeout=5.0))
    timing = await done(draw.draw_digit([[(10.0, 10.0), (10.0, 50.0)], [(30.0, 30.0)]], timeout=3.0))
    return [
        opened is draw,
        timing.seen,
        timing.settled,
        timing.snap,
        len(timing.released),
        await done(draw.click_and_wait("Undo", timeout=3.0)),
        await done(draw.reset(timeout=3.0)),
        await done(draw.error_texts()),
        await done(draw.snapshot()),
    ]


def test_sync_and_async_drivers_make_the_same_calls_and_return_the_same() -> None:
    sync_page, async_page = FakePage(asynchronous=False), FakePage(asynchronous=True)
    sync_results = asyncio.run(_session(DrawPage(sync_page, "http://127.0.0.1:1/")))
    async_results = asyncio.run(_session(AsyncDrawPage(async_page, "http://127.0.0.1:1")))
    assert async_results == sync_results
    assert async_page.rec.calls == sync_page.rec.calls
    assert sync_results[:5] == [True, [1.0, 1.0], [2.0, 2.0], SNAP, 2]
    assert sync_results[7] == ["Traceback: boom"]
    assert sync_page.rec.calls[0] == ("goto", "http://127.0.0.1:1/draw")


def test_a_stroke_is_armed_drawn_then_waited_for() -> None:
    page = FakePage(asynchronous=False)
    timing = DrawPage(page, "http://127.0.0.1:1").draw_digit([[(0.0, 0.0), (0.0, 40.0)]], timeout=2.0)
    assert page.rec.calls == [
        ("evaluate", "arm", None),
        ("scroll", "canvas.upper-canvas"),
        ("bounding_box", "canvas.upper-canvas"),
        ("move", 10.0, 20.0, 1),
        ("down",),
        ("move", 10.0, 60.0, 10),
        ("up",),
        ("evaluate", "wait", 2000.0),
    ]
    assert timing.latency == 0.0  # the fake result "showed" long before the mouse-up


def test_errors_reach_the_caller_under_both_apis() -> None:
    with pytest.raises(RuntimeError, match="no bounding box"):
        DrawPage(FakePage(asynchronous=False, box=None), "http://127.0.0.1:1").box()
    with pytest.raises(RuntimeError, match="no bounding box"):
        asyncio.run(AsyncDrawPage(FakePage(asynchronous=True, box=None), "http://127.0.0.1:1").box())
