"""Drivers of the Draw page in one browser tab, for Playwright's sync and async APIs alike.

Each action (open the page, draw a digit, press reset, ...) is written once,
in :class:`DrawActions`, as a generator of Playwright calls: a step yields
what a call returned and is sent back the call's result. Under the sync API a
call has already run when it returns, so :class:`DrawPage` sends the value
straight back; under the async API it is an awaitable, which
:class:`AsyncDrawPage` awaits first. An action calls another one the same
way: ``box = yield self.box()``.

A step never catches a Playwright error: under the async API it is raised
where the driver awaits, outside the step.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any

from support.browser.mouse import MouseOp, mouse_ops
from support.browser.page_js import (
    ARM_JS,
    CANVAS_UPPER,
    EMPTY_PROMPT_TEXT,
    ERROR_ELEMENTS,
    PINNED_TOOLBAR,
    PREDICTION,
    RESET_TITLE,
    SNAPSHOT_JS,
    WAIT_JS,
)

#: An action under way: yields Playwright calls' results (or awaitables of them), returns the action's result.
Steps = Generator[Any, Any, Any]
#: Polylines in canvas pixel coordinates.
Strokes = Iterable[Sequence[Sequence[float]]]


class StrokeTiming:
    """Per stroke: mouse-up time, when its result first showed, when the app had settled.

    Times are wall-clock seconds (``time.time()``, comparable with the page's
    ``Date.now()``); None means "not within the timeout". ``snap`` is the
    page's snapshot after the last stroke.
    """

    def __init__(self) -> None:
        self.released: list[float] = []
        self.seen: list[float | None] = []
        self.settled: list[float | None] = []
        self.snap: dict = {}
        self.last_result: dict = {}

    def add(self, released: float, result: dict) -> None:
        """Record one stroke: its mouse-up time and the watcher's result (:data:`WAIT_JS`)."""
        self.released.append(released)
        self.seen.append(None if result["first"] is None else result["first"] / 1000.0)
        self.settled.append(None if result["settled"] is None else result["settled"] / 1000.0)
        self.snap = result["snap"]
        self.last_result = result

    @property
    def latency(self) -> float | None:
        """Seconds from the last mouse-up to its result on screen (None: not within the timeout)."""
        if not self.seen or self.seen[-1] is None or self.settled[-1] is None:
            return None
        return max(0.0, self.seen[-1] - self.released[-1])

    @property
    def latencies(self) -> list[float | None]:
        """Mouse-up → result seconds of every stroke."""
        return [
            None if s is None or t is None else max(0.0, s - r)
            for r, s, t in zip(self.released, self.seen, self.settled, strict=False)
        ]


def action(steps: Callable[..., Steps]) -> Callable[..., Any]:
    """Make a generator method of :class:`DrawActions` a method of both drivers.

    Args:
        steps: The generator method (its docstring is the action's).

    Returns:
        A method that hands the steps to the driver's ``run``: its result
        under the sync API, an awaitable of it under the async API.
    """

    @functools.wraps(steps)
    def call(self: DrawActions, *args: Any, **kwargs: Any) -> Any:
        return self.run(steps(self, *args, **kwargs))

    return call


class DrawActions:
    """The Draw page's canvas, toolbar and result, for either driver below.

    Args:
        page: A Playwright ``Page`` (of the sync or the async API, as the driver).
        base_url: ``http://127.0.0.1:PORT``.
    """

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")

    def run(self, steps: Steps) -> Any:
        """Carry out an action's steps (the drivers' one difference)."""
        raise NotImplementedError

    # -- locating (no I/O: the same under both APIs) ------------------------
    def canvas(self) -> Any:
        """The Fabric.js upper (interactive) canvas."""
        return self.page.locator(CANVAS_UPPER).first

    def button(self, title: str) -> Any:
        """A button of the page (the canvas toolbar's) by its title."""
        return self.page.locator(f"button[title='{title}']").first

    # -- actions --------------------------------------------------------------
    @action
    def open(self, timeout: float = 60.0, query: str = "") -> Steps:
        """Go to /draw (with ``query``, e.g. ``"?present=1"``) and wait until the canvas and the empty prompt are shown.

        Returns this driver.
        """
        ms = timeout * 1000
        yield self.page.goto(f"{self.base_url}/draw{query}", wait_until="domcontentloaded", timeout=ms)
        yield self.canvas().wait_for(state="visible", timeout=ms)
        yield self.page.get_by_text(EMPTY_PROMPT_TEXT).first.wait_for(state="visible", timeout=ms)
        # The page then moves the canvas down to pin its toolbar above it: draw only after that.
        yield self.page.locator(PINNED_TOOLBAR).first.wait_for(state="attached", timeout=ms)
        return self

    @action
    def box(self) -> Steps:
        """Bounding box (dict of x, y, width, height) of the canvas in page pixels, scrolled into view first."""
        loc = self.canvas()
        yield loc.scroll_into_view_if_needed()
        box = yield loc.bounding_box()
        if box is None:
            raise RuntimeError("canvas has no bounding box")
        return box

    @action
    def snapshot(self) -> Steps:
        """What the tab shows (:data:`SNAPSHOT_JS`): signature, script state, prediction, prompt, alerts, errors."""
        return (yield self.page.evaluate(SNAPSHOT_JS))

    @action
    def arm(self) -> Steps:
        """Arm the in-page watcher before an action (:data:`ARM_JS`); returns the result area's signature."""
        return (yield self.page.evaluate(ARM_JS))

    @action
    def wait_result(self, timeout: float = 20.0) -> Steps:
        """Wait for the armed watcher (:data:`WAIT_JS`); returns its result: {first, settled, snap, ...}."""
        return (yield self.page.evaluate(WAIT_JS, timeout * 1000))

    @action
    def play(self, ops: Iterable[MouseOp]) -> Steps:
        """Perform mouse operations (from :func:`mouse_ops`).

        Returns ``time.time()`` right after the last mouse-up (when it started, without one).
        """
        mouse = self.page.mouse
        released = time.time()
        for op in ops:
            if op[0] == "move":
                yield mouse.move(op[1], op[2], steps=op[3])
            elif op[0] == "down":
                yield mouse.down()
            else:
                yield mouse.up()
                released = time.time()
        return released

    @action
    def draw(self, strokes: Strokes, step_px: float = 4.0) -> Steps:
        """Draw polylines (canvas pixel coordinates) with the mouse; returns ``time.time()`` after the last mouse-up."""
        box = yield self.box()
        return (yield self.play([op for ops in mouse_ops(strokes, box, step_px) for op in ops]))

    @action
    def draw_digit(self, strokes: Strokes, timeout: float = 20.0, step_px: float = 4.0) -> Steps:
        """Draw strokes one at a time; after each, wait until the page has shown its result.

        Like a person, the next stroke starts once the page has reacted to the
        previous one (or after ``timeout``). Returns a :class:`StrokeTiming`;
        the timing of the *last* stroke is the stroke-end → result latency.
        """
        timing = StrokeTiming()
        for stroke in strokes:
            yield self.arm()
            released = yield self.draw([stroke], step_px)
            timing.add(released, (yield self.wait_result(timeout)))
        return timing

    @action
    def click_and_wait(self, title: str, timeout: float = 30.0) -> Steps:
        """Click a toolbar button (by title) and wait until the app has shown the result and settled.

        Returns the watcher's result ({first, settled, snap}; ``settled`` is None on timeout).
        """
        yield self.arm()
        yield self.button(title).click(timeout=timeout * 1000)
        return (yield self.wait_result(timeout))

    @action
    def reset(self, timeout: float = 30.0) -> Steps:
        """Press the toolbar's reset button; wait for the empty prompt and the end of the rerun.

        Returns the watcher's result (as :meth:`click_and_wait`).
        """
        result = yield self.click_and_wait(RESET_TITLE, timeout)
        yield self.wait_empty(timeout)
        return result

    @action
    def wait_empty(self, timeout: float = 20.0) -> Steps:
        """Wait until the empty-canvas prompt is visible and no prediction is shown."""
        yield self.page.get_by_text(EMPTY_PROMPT_TEXT).first.wait_for(state="visible", timeout=timeout * 1000)
        yield self.page.locator(PREDICTION).first.wait_for(state="detached", timeout=timeout * 1000)

    @action
    def error_texts(self) -> Steps:
        """Texts of visible Streamlit exception/error elements (a list of str)."""
        texts = yield self.page.locator(ERROR_ELEMENTS).all_inner_texts()
        return [t.strip()[:300] for t in texts]


class DrawPage(DrawActions):
    """The Draw page of one browser tab, driven with Playwright's sync API (the e2e tests)."""

    def run(self, steps: Steps) -> Any:
        """Carry out the steps now: each call has already run when yielded, so its result goes straight back."""
        result = None
        try:
            while True:
                result = steps.send(result)
        except StopIteration as done:
            return done.value

    def prediction(self) -> str | None:
        """The digit currently shown, or None when no prediction element is on the page."""
        try:
            return self.snapshot()["prediction"]
        except Exception:
            return None

    def wait_prediction(
        self, expected: str | int | None = None, timeout: float = 20.0, poll: float = 0.05
    ) -> tuple[str | None, float]:
        """Poll until a prediction (``expected``, or any when None) is shown.

        Returns (digit shown, or None on timeout; ``time.time()`` when seen/given up).
        """
        deadline = time.monotonic() + timeout
        while True:
            seen = self.prediction()
            if seen is not None and (expected is None or seen == str(expected)):
                return seen, time.time()
            if time.monotonic() > deadline:
                return None, time.time()
            time.sleep(poll)


class AsyncDrawPage(DrawActions):
    """The Draw page of one browser tab, driven with Playwright's async API (bench.workshop).

    Every action returns an awaitable of what :class:`DrawPage`'s returns.
    """

    async def run(self, steps: Steps) -> Any:
        """Carry out the steps, awaiting each call yielded and sending its result back."""
        result = None
        try:
            while True:
                result = await steps.send(result)
        except StopIteration as done:
            return done.value
