"""Strokes drawn with a finger: DevTools' touch events, as a phone's screen sends them (sync API)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def touch_draw(
    context: Any, page: Any, strokes: Iterable[Sequence[Sequence[float]]], box: dict, canvas_size: float = 280.0
) -> None:
    """Draw polylines (canvas pixels) on the canvas at ``box`` (page pixels) with touch events.

    Args:
        context: The page's Playwright ``BrowserContext`` (it opens the DevTools session).
        page: A Playwright sync-API ``Page`` of a touch context (``has_touch``).
        strokes: Polylines in canvas pixel coordinates.
        box: The canvas's bounding box in page pixels (its scaled size on a phone).
        canvas_size: The canvas's own side in pixels.
    """
    cdp = context.new_cdp_session(page)
    sx, sy = box["width"] / canvas_size, box["height"] / canvas_size
    try:
        for stroke in strokes:
            points = [{"x": box["x"] + x * sx, "y": box["y"] + y * sy} for x, y in stroke]
            cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [points[0]]})
            for point in points[1:]:
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()
