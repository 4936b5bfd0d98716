"""What several pages share: per-session state, cached models, the active model.

Models loaded from disk are cached with ``st.cache_resource``: one read-only
copy per process, used only for inference. Models trained in a session live
in that session's state and are never shared.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import streamlit as st

from core.storage import DEFAULT_MODEL, MODELS_DIR

DEFAULT_PATH = MODELS_DIR / f"{DEFAULT_MODEL}.keras"
#: A session whose browser has been gone this long no longer needs its training.
DISCONNECT_GRACE_SECONDS = 60.0


@dataclass
class Run:
    """A finished training run of this session.

    Attributes:
        number: 1-based run number within the session.
        result: What ``core.training.train`` returned.
        state: ``"done"`` or ``"stopped"``.
        download: The ``.keras`` bytes, made on first request.
    """

    number: int
    result: object
    state: str
    download: bytes | None = None

    @property
    def label(self) -> str:
        """Short label, e.g. ``Run 2 · CNN · 98.9%``."""
        c = self.result.config
        stopped = " (stopped)" if self.state == "stopped" else ""
        return f"Run {self.number} · {c.arch.upper()} · {self.result.test_accuracy:.1%}{stopped}"


@dataclass
class SessionData:
    """Everything one browser session owns.

    Attributes:
        job: The training job in progress (or just finished), if any.
        runs: Finished runs, oldest first.
        active: Which model the Draw page uses: ``"default"``, ``"run:N"`` or ``"saved:NAME"``.
        notice: A one-off message to show on the next page render.
    """

    job: object | None = None
    runs: list[Run] = field(default_factory=list)
    active: str = "default"
    notice: str | None = None


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


@contextlib.contextmanager
def timed_run(page: str) -> Iterator[None]:
    """Log how long this script run takes, when ``$DIGIT_STUDIO_RUN_LOG`` names a file.

    Appends ``<wall-clock start> <page> <milliseconds>`` per run (also a run
    ended by ``st.rerun``/``st.stop``). ``python -m bench.workshop`` sets it to
    tell the server's own time per stroke from the browsers'. Unset (the
    default), this does nothing.

    Args:
        page: The page's URL path ("" for Home).
    """
    path = os.environ.get("DIGIT_STUDIO_RUN_LOG")
    if not path:
        yield
        return
    wall, start = time.time(), time.perf_counter()
    try:
        yield
    finally:
        line = f"{wall:.3f} {page or 'home'} {1000 * (time.perf_counter() - start):.1f}\n"
        try:
            with open(path, "a", encoding="utf-8") as log:
                log.write(line)
        except OSError:
            pass  # timing is best effort: never break a page for it


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


def session() -> SessionData:
    """This browser session's data (created on first use)."""
    if "digit_studio" not in st.session_state:
        st.session_state["digit_studio"] = SessionData()
    return st.session_state["digit_studio"]


@st.cache_resource(show_spinner="Loading the model…")
def load_cached_model(path: str, mtime: float):
    """Load a model file once per process (read-only: inference only).

    ``mtime`` is part of the cache key, so a re-saved file is loaded afresh.
    """
    import gc

    from core.inference import load_model

    model = load_model(path)
    # TensorFlow, Keras and the model are loaded for good: move their objects out of
    # the garbage collector's way so automatic full collections stay cheap.
    gc.freeze()
    return model


def load_file_model(path: Path):
    """The cached model at ``path``; raises ``ModelLoadError`` with a clear message."""
    from core.inference import ModelLoadError

    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise ModelLoadError(f"No model file at {path}.") from None
    return load_cached_model(str(path), mtime)


def run_by_number(number: int) -> Run | None:
    """This session's run with that number, if any."""
    return next((r for r in session().runs if r.number == number), None)


def active_model() -> tuple[object | None, str, str | None]:
    """The model the Draw page should use.

    Returns:
        ``(model, label, problem)``: falls back to the bundled default (with
        ``problem`` saying why) when the chosen model is gone or broken;
        ``model`` is None only if even the default cannot be loaded.
    """
    from core.inference import ModelLoadError

    data = session()
    problem = None
    if data.active.startswith("run:"):
        run = run_by_number(int(data.active[4:]))
        if run is not None:
            return run.result.model, run.label, None
        problem = "That training run is no longer available."
    elif data.active.startswith("saved:"):
        name = data.active[6:]
        try:
            return load_file_model(MODELS_DIR / f"{name}.keras"), f"Saved model “{name}”", None
        except ModelLoadError as exc:
            problem = f"Could not use saved model “{name}”: {exc}"
    try:
        model = load_file_model(DEFAULT_PATH)
    except ModelLoadError as exc:
        return None, "none", f"{problem + ' ' if problem else ''}The bundled model cannot be loaded either: {exc}"
    if problem:
        data.active = "default"
        problem += " Using the bundled default model instead."
    return model, "Bundled default model", problem


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


def show_pixels(image, caption, *, where=None, **kwargs) -> None:
    """``st.image`` for images whose exact pixels matter (previews, MNIST digits).

    Streamlit sends an image without an alpha channel as JPEG; its artefacts would
    blur the very pixels a preview is there to show, so these go as lossless PNG.

    Args:
        image: What ``st.image`` accepts (an array, or a list of arrays).
        caption: Caption (or one per image).
        where: The container to draw in (a column, say); default the page.
        **kwargs: More ``st.image`` arguments (``width``, …).
    """
    (where or st).image(image, caption=caption, output_format="PNG", **kwargs)


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


def show_notice() -> None:
    """Show and clear a one-off notice left by a previous action."""
    data = session()
    if data.notice:
        st.success(data.notice)
        data.notice = None
