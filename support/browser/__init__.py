"""The real app in headless Chromium, for the e2e tests and the browser benchmarks.

* :mod:`~support.browser.chromium`: Debian's Chromium driven by Playwright
  (:func:`find_chromium`, :data:`CHROMIUM_ARGS`, :func:`launch_chromium`).
* :mod:`~support.browser.server`: :class:`AppServer` starts ``streamlit run
  app.py`` on a free 127.0.0.1 port, waits for ``/_stcore/health`` and always
  stops the whole process group.
* :mod:`~support.browser.page_js`: the Draw page's selectors and texts (and the Train button's name), and
  the JavaScript that waits *in the page* for each stroke's result (the
  texts are re-exported here, the snippets are the drivers' business).
* :mod:`~support.browser.mouse`: :func:`mouse_ops`, strokes as mouse moves.
* :mod:`~support.browser.touch`: :func:`touch_draw`, strokes as a finger's touch events.
* :mod:`~support.browser.draw_page`: :class:`DrawPage` (sync API) and
  :class:`AsyncDrawPage` (async API), one implementation of the Draw page's
  actions for both.
* :mod:`~support.browser.artifacts`: screenshots and HTML in test-artifacts/.

Everything here waits on conditions (with timeouts), never on fixed sleeps.
Realistic strokes to draw come from :mod:`support.handwriting`.
"""

from support.browser.artifacts import ARTIFACTS, save_artifacts
from support.browser.chromium import CHROMIUM_ARGS, find_chromium, launch_chromium
from support.browser.draw_page import AsyncDrawPage, DrawActions, DrawPage, StrokeTiming
from support.browser.mouse import mouse_ops
from support.browser.page_js import (
    EMPTY_PROMPT_TEXT,
    ERROR_ELEMENTS,
    PREDICTION,
    PROMPT_TEXTS,
    TRAIN_BUTTON,
)
from support.browser.server import AppServer, free_port
from support.browser.touch import touch_draw

__all__ = [
    "ARTIFACTS",
    "CHROMIUM_ARGS",
    "EMPTY_PROMPT_TEXT",
    "ERROR_ELEMENTS",
    "PREDICTION",
    "PROMPT_TEXTS",
    "TRAIN_BUTTON",
    "AppServer",
    "AsyncDrawPage",
    "DrawActions",
    "DrawPage",
    "StrokeTiming",
    "find_chromium",
    "free_port",
    "launch_chromium",
    "mouse_ops",
    "save_artifacts",
    "touch_draw",
]
