"""Workarounds that reach into the private internals of Streamlit and the canvas component."""

from __future__ import annotations

import sys
import time
from typing import Callable

import streamlit as st

#: A session whose browser has been gone this long no longer needs its training.
DISCONNECT_GRACE_SECONDS = 60.0


def keep_compiled_functions() -> None:
    """Stop Streamlit from resetting Keras after every script run.

    After each run of any session's script, Streamlit calls
    ``keras.backend.clear_session()``. That runs a full garbage collection and
    clears TensorFlow's kernel cache, so every compiled function in the
    process (each session's inference, a training in progress) is compiled
    again on its next call: with 20 people drawing, trainings ran 20 times
    slower and drawings waited seconds (``python -m bench.workshop``). Digit
    Studio keeps no Keras global state worth resetting (models live in session
    state or ``st.cache_resource``), so the reset is replaced by the one other
    clean-up Streamlit does there: closing pyplot figures. ``app.py`` calls it
    on every run; all but the first are a flag check.
    """
    from streamlit.runtime.scriptrunner import script_runner

    if getattr(script_runner, "_digit_studio_keeps_keras", False) or not hasattr(script_runner, "_clean_problem_modules"):
        return

    def close_pyplot_figures() -> None:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")

    script_runner._clean_problem_modules = close_pyplot_figures
    script_runner._digit_studio_keeps_keras = True


def use_app_navigation() -> None:
    """Make sure this page runs inside ``app.py``'s ``st.navigation``.

    Streamlit starts in its legacy multipage mode when a ``pages/`` folder
    exists; in that mode a visitor who lands straight on ``/draw`` or
    ``/train`` before anyone has opened ``/`` gets the page script run alone,
    with an auto-generated menu listing every file in ``pages/``. Each page
    calls this first: it switches the legacy mode off and, on the session's
    first run (when no widget interaction can be lost), reruns so ``app.py``
    routes the request like any other. (``AppTest`` resets the mode before
    every run; later runs of a session then simply go on.)
    """
    from streamlit.runtime.pages_manager import PagesManager

    first_run = not st.session_state.get("_routed_by_app")
    st.session_state["_routed_by_app"] = True
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if first_run:
            st.rerun()


def session_alive_check() -> Callable[[], bool] | None:
    """A callable telling whether this browser session is still connected.

    It stays True through short disconnections (flaky Wi-Fi) and turns False
    once the session has been gone for :data:`DISCONNECT_GRACE_SECONDS`.
    Returns None outside a real server (tests).
    """
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is None or not Runtime.exists():
            return None
        runtime, session_id = Runtime.instance(), ctx.session_id
    except Exception:  # noqa: BLE001 - no runtime, no check
        return None
    gone_since: list[float] = []

    def alive() -> bool:
        if runtime.is_active_session(session_id):
            gone_since.clear()
            return True
        if not gone_since:
            gone_since.append(time.monotonic())
        return time.monotonic() - gone_since[0] < DISCONNECT_GRACE_SECONDS

    return alive


#: Title of the canvas component's own "send the drawing now" toolbar button.
SEND_BUTTON_TITLE = "Update the app with this drawing"

#: The Draw page's two fixes to the canvas component (streamlit-drawable-canvas 0.13), run
#: once per tab (here, not in the page script, so tests can read it without running the page):
#:
#: * It keeps its toolbar invisible *over* the canvas's top-right corner until the
#:   pointer has hovered for a moment, so a stroke started there straight away (a
#:   quick mouse, any touch screen) presses the hidden toolbar and draws nothing.
#:   This pins the toolbar, visible, in a band reserved above the canvas. The
#:   component's styles are isolated in a shadow root, so the rule goes in there
#:   (also when the canvas is re-created).
#: * It sends a finished stroke to the app only after a fixed 200 ms pause (a
#:   debounce meant for bursts of edits), a fifth of a second added to every
#:   stroke-to-prediction time. When a stroke drawn on the canvas ends, this presses
#:   the component's own send button, which cancels that wait and sends the same
#:   drawing at once (one rerun per stroke, as before). The button is hidden: the
#:   app is always up to date, so there is nothing for a person to press.
CANVAS_SCRIPT = """<script>
(() => {
  if (window.__digitStudioCanvas) return;  // once per browser tab
  window.__digitStudioCanvas = {strokesSent: 0};
  const css = ".dc-root{margin-top:2.9rem}" +
              ".dc-toolbar,.dc-root:hover>.dc-toolbar{opacity:1 !important;top:-2.75rem !important;transition:none !important}" +
              ".dc-toolbar button[title='%(send)s']{display:none !important}";
  // Into every shadow root on the page (the rules match only the canvas component's
  // classes), checked a few times a second: a canvas can be (re)created, and its
  // shadow root filled, at any time without a DOM change visible from here.
  const pin = () => {
    for (const host of document.querySelectorAll("[data-testid=stMain] div")) {
      const root = host.shadowRoot;
      if (root && !root.querySelector("style[data-digit-studio]")) {
        const style = document.createElement("style");
        style.dataset.digitStudio = "pinned-toolbar";
        style.textContent = css;
        root.appendChild(style);
      }
    }
  };
  setInterval(pin, 200);
  pin();
  // A stroke starts with a press on a canvas (not in the component's edit mode) and
  // ends with the release, wherever it is. The component handles the release first
  // (Fabric adds the path, the component saves it and schedules the send); the
  // press of the send button comes in a task after that.
  let drawing = null;
  const started = (event) => {
    const canvas = event.composedPath().find((n) => n.classList && n.classList.contains("upper-canvas"));
    const root = canvas ? canvas.getRootNode() : null;
    const editing = root && root.querySelector && root.querySelector(".dc-toolbar button[aria-pressed=true]");
    drawing = root && root.querySelector && !editing ? root : null;
  };
  const ended = () => {
    const root = drawing;
    drawing = null;
    if (!root) return;
    setTimeout(() => {
      const send = root.querySelector("button[title='%(send)s']");
      if (send && send.isConnected) {
        send.click();
        window.__digitStudioCanvas.strokesSent += 1;
      }
    }, 0);
  };
  window.addEventListener("mousedown", started, true);
  window.addEventListener("touchstart", started, {capture: true, passive: true});
  window.addEventListener("mouseup", ended);
  window.addEventListener("touchend", ended, {passive: true});
})();
</script>""" % {"send": SEND_BUTTON_TITLE}
