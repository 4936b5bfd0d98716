"""Every workaround that reaches into a library's private internals, and the checks that it still can.

Digit Studio patches or reads a few private parts of Streamlit (1.67.0) and of the
canvas component (streamlit-drawable-canvas 0.13.0); each function here says what it
works around and which version it was checked against. When an internal it needs is
gone (after an upgrade), it logs an error saying what no longer works instead of
silently doing nothing. :func:`check_internals` lists every such problem at once:
``app.py`` logs them at start-up and ``tests/test_internals.py`` fails on them.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st

logger = logging.getLogger(__name__)

#: The library versions every workaround here was checked against.
CHECKED_AGAINST = {"streamlit": "1.67.0", "streamlit-drawable-canvas": "0.13.0"}
#: A session whose browser has been gone this long no longer needs its training.
DISCONNECT_GRACE_SECONDS = 60.0
#: Title of the canvas component's own "send the drawing now" toolbar button.
SEND_BUTTON_TITLE = "Update the app with this drawing"
#: What ``canvas_fixes.js`` finds in the canvas component's DOM: its classes, Fabric's drawing
#: canvas, the pressed state of the edit button, and the send button's title.
CANVAS_NAMES = ("dc-root", "dc-toolbar", "upper-canvas", "aria-pressed", SEND_BUTTON_TITLE)
#: What it finds in Streamlit's own page: the main area, where canvases are looked for.
STREAMLIT_PAGE_NAMES = ("stMain",)
CANVAS_SCRIPT_FILE = Path(__file__).with_name("canvas_fixes.js")
PHONE_STYLE_FILE = Path(__file__).with_name("phone_layout.css")
#: What ``phone_layout.css`` finds in Streamlit's page (its ``data-testid`` values).
PHONE_PAGE_NAMES = ("stElementContainer", "stMainBlockContainer", "stVerticalBlock")
#: The Draw page's layout for phones (see ``phone_layout.css``): a ``<style>`` for ``st.html``.
PHONE_STYLE = "<style>\n" + PHONE_STYLE_FILE.read_text(encoding="utf-8") + "</style>"
PRESENT_STYLE_FILE = Path(__file__).with_name("present_layout.css")
#: What ``present_layout.css`` finds in Streamlit's page (its ``data-testid`` values).
PRESENT_PAGE_NAMES = (
    "stCaptionContainer",
    "stCheckbox",
    "stColumn",
    "stMainBlockContainer",
    "stMarkdownContainer",
    "stRadio",
    "stSelectbox",
    "stSlider",
)
#: The Draw page's presentation layout (see ``present_layout.css``): a ``<style>`` for ``st.html``.
PRESENT_STYLE = "<style>\n" + PRESENT_STYLE_FILE.read_text(encoding="utf-8") + "</style>"
#: The Draw page's two fixes to the canvas component (see ``canvas_fixes.js``), run once per
#: tab; a constant here (not in the page script) so tests can read it without running the page.
CANVAS_SCRIPT = (
    "<script>\n"
    + CANVAS_SCRIPT_FILE.read_text(encoding="utf-8").replace("__SEND_BUTTON_TITLE__", SEND_BUTTON_TITLE)
    + "</script>"
)

_GONE = object()
_reported: set[str] = set()


def _report(problem: str) -> None:
    """Log a missing internal as an error, once per process (pages call their workaround every run)."""
    if problem not in _reported:
        _reported.add(problem)
        logger.error("Digit Studio: a workaround on a library internal no longer works. %s", problem)


def _installed(package: str) -> str:
    """``package``'s installed version, for messages (``"?"`` if unknown)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _internal(module: str, name: str) -> object:
    """``module``'s attribute ``name`` (dotted: ``"Class.attribute"``), or ``_GONE`` if either is missing."""
    try:
        found: object = importlib.import_module(module)
    except ImportError:
        return _GONE
    for part in name.split("."):
        found = getattr(found, part, _GONE)
        if found is _GONE:
            break
    return found


def _missing(package: str, internal: str, consequence: str) -> str:
    """The sentence saying that ``internal`` of ``package`` is gone and what that costs."""
    return (
        f"{package} {_installed(package)} has no {internal} (a private internal, checked against "
        f"{package} {CHECKED_AGAINST[package]}): {consequence}"
    )


def clean_up_problem() -> str | None:
    """What stops :func:`keep_compiled_functions` from working, or None."""
    module = "streamlit.runtime.scriptrunner.script_runner"
    run_script = getattr(_internal(module, "ScriptRunner._run_script"), "__code__", None)
    # The patch replaces the module's function, so the run loop must still look it up by that name.
    if (
        _internal(module, "_clean_problem_modules") is _GONE
        or run_script is None
        or "_clean_problem_modules" not in run_script.co_names
    ):
        return _missing(
            "streamlit",
            "script_runner._clean_problem_modules called by ScriptRunner._run_script",
            "Keras is reset after every script run, so every compiled function is compiled again "
            "(trainings and drawings get many times slower with several people).",
        )
    return None


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

    Works around Streamlit's private ``script_runner._clean_problem_modules``
    (checked against Streamlit 1.67.0); logs an error if it is gone.
    """
    from streamlit.runtime.scriptrunner import script_runner

    if getattr(script_runner, "_digit_studio_keeps_keras", False):
        return
    problem = clean_up_problem()
    if problem:
        _report(problem)
        return

    def close_pyplot_figures() -> None:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")

    script_runner._clean_problem_modules = close_pyplot_figures
    script_runner._digit_studio_keeps_keras = True  # type: ignore[attr-defined]


def pages_directory_problem() -> str | None:
    """What stops :func:`start_with_app_navigation` and :func:`use_app_navigation` from working, or None."""
    init = getattr(_internal("streamlit.runtime.pages_manager", "PagesManager.__init__"), "__code__", None)
    # The flag must still be a class attribute that a PagesManager sets only while it is None.
    if (
        _internal("streamlit.runtime.pages_manager", "PagesManager.uses_pages_directory") is _GONE
        or init is None
        or "uses_pages_directory" not in init.co_names
    ):
        return _missing(
            "streamlit",
            "PagesManager.uses_pages_directory",
            "the first visit after a start shows a menu of the files in pages/ for a few seconds, and "
            "a link straight to /draw or /train may run that page alone, outside app.py's navigation.",
        )
    return None


def start_with_app_navigation() -> None:
    """Before the server starts: make its very first session use ``app.py``'s navigation.

    Streamlit decides once per process, when the first browser session is
    created, whether the app is a legacy multipage app: it is when a ``pages/``
    folder lies beside the main script, and then that session runs in the
    legacy mode, which sends a menu of every file in ``pages/`` (app, draw,
    home, internals, state, …) before ``app.py`` has even imported its
    libraries; ``st.navigation`` only switches the mode off once ``app.py``
    reaches it, seconds later. ``serve.py`` (what ``make run`` starts) calls
    this before Streamlit's command line, so the decision is made, as "no",
    before any browser connects. :func:`use_app_navigation` remains the fallback
    for a server started with a plain ``streamlit run app.py``.

    Works around Streamlit's private ``PagesManager.uses_pages_directory``
    (checked against Streamlit 1.67.0); logs an error if it is gone.
    """
    problem = pages_directory_problem()
    if problem:
        _report(problem)
        return
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def use_app_navigation() -> None:
    """Make sure this page runs inside ``app.py``'s ``st.navigation`` (when the server was not started by ``serve.py``).

    Streamlit starts in its legacy multipage mode when a ``pages/`` folder
    exists; in that mode a visitor who lands straight on ``/draw`` or
    ``/train`` before anyone has opened ``/`` gets the page script run alone,
    with an auto-generated menu listing every file in ``pages/``. Each page
    calls this first: it switches the legacy mode off and, on the session's
    first run (when no widget interaction can be lost), reruns so ``app.py``
    routes the request like any other. (``AppTest`` resets the mode before
    every run; later runs of a session then simply go on.)

    Works around Streamlit's private ``PagesManager.uses_pages_directory``
    (checked against Streamlit 1.67.0); logs an error if it is gone.
    """
    first_run = not st.session_state.get("_routed_by_app")
    st.session_state["_routed_by_app"] = True
    problem = pages_directory_problem()
    if problem:
        _report(problem)
        return
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if first_run:
            st.rerun()


class SessionLiveness:
    """Whether a browser session is still connected, forgiving short disconnections.

    Calling it gives True while the session is connected and through short
    disconnections (flaky Wi-Fi), and False once it has been gone for
    ``grace_seconds`` in a row.

    Args:
        is_active: Tells whether a session id is connected (``Runtime.is_active_session``).
        session_id: The session to watch.
        grace_seconds: How long a session may be gone before it counts as gone for good.
        clock: Monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self,
        is_active: Callable[[str], bool],
        session_id: str,
        grace_seconds: float = DISCONNECT_GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.is_active = is_active
        self.session_id = session_id
        self.grace_seconds = grace_seconds
        self.clock = clock
        self._gone_since: float | None = None

    def __call__(self) -> bool:
        if self.is_active(self.session_id):
            self._gone_since = None
            return True
        if self._gone_since is None:
            self._gone_since = self.clock()
        return self.clock() - self._gone_since < self.grace_seconds


def liveness_problem() -> str | None:
    """What stops :func:`session_alive_check` from working, or None."""
    needed = [
        ("streamlit.runtime", "Runtime.exists"),
        ("streamlit.runtime", "Runtime.instance"),
        ("streamlit.runtime", "Runtime.is_active_session"),
        ("streamlit.runtime.scriptrunner", "get_script_run_ctx"),
    ]
    gone = [name for module, name in needed if not callable(_internal(module, name))]
    if gone:
        return _missing(
            "streamlit", " or ".join(gone), "the training of a session whose browser has left runs on to the end."
        )
    return None


def session_alive_check() -> Callable[[], bool] | None:
    """A :class:`SessionLiveness` for this browser session, or None outside a real server (``AppTest``).

    Works around the lack of a public way to ask whether a session is still
    connected, with ``Runtime.instance().is_active_session`` (checked against
    Streamlit 1.67.0); logs an error (and returns None) if it is gone.
    """
    problem = liveness_problem()
    if problem:
        _report(problem)
        return None
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return None  # no server to ask (AppTest)
    return SessionLiveness(Runtime.instance().is_active_session, ctx.session_id)


CANVAS_FIXES_LOST = (
    "the Draw page's canvas fixes (toolbar pinned above the canvas, each stroke sent at once, "
    "the canvas as wide as a phone's screen) may do nothing."
)


def bundle_problems(
    package: str, bundles: list[Path], names: tuple[str, ...], consequence: str = CANVAS_FIXES_LOST
) -> list[str]:
    """Which of ``names`` (what ``canvas_fixes.js`` or ``phone_layout.css`` relies on) a frontend bundle lacks.

    Args:
        package: Whose bundle it is (a key of :data:`CHECKED_AGAINST`), for the messages.
        bundles: The bundle's JavaScript files.
        names: Class names, attributes and titles the script looks for.
        consequence: What stops working without them, for the messages.

    Returns:
        One sentence per missing name (or one for a missing bundle); empty when all are there.
    """
    if not bundles:
        return [_missing(package, "frontend bundle (*.js) to check", consequence)]
    code = "".join(f.read_text(encoding="utf-8", errors="replace") for f in bundles)
    return [_missing(package, f"“{name}” in its frontend bundle", consequence) for name in names if name not in code]


def _package_folder(module: str) -> Path | None:
    """Where an installed package lives, found without importing it (the canvas needs a running app)."""
    spec = importlib.util.find_spec(module)
    folders = list(spec.submodule_search_locations or []) if spec else []
    return Path(folders[0]) if folders else None


@functools.cache
def canvas_problems() -> tuple[str, ...]:
    """:func:`bundle_problems` of the installed canvas component and Streamlit's page, read once per process."""
    canvas, streamlit = _package_folder("streamlit_drawable_canvas"), _package_folder("streamlit")
    return (
        *bundle_problems("streamlit-drawable-canvas", sorted(canvas.rglob("*.js")) if canvas else [], CANVAS_NAMES),
        *bundle_problems(
            "streamlit", sorted((streamlit / "static").rglob("index.*.js")) if streamlit else [], STREAMLIT_PAGE_NAMES
        ),
    )


def canvas_script() -> str:
    """The ``<script>`` with the Draw page's fixes to the canvas component, for ``st.html``.

    Works around the canvas component's hidden toolbar and its 200 ms send
    delay through its private class names and send button title (checked
    against streamlit-drawable-canvas 0.13.0 and Streamlit 1.67.0's
    ``stMain``, see ``canvas_fixes.js``); logs an error for each that is gone.
    """
    for problem in canvas_problems():
        _report(problem)
    return CANVAS_SCRIPT


def _page_problems(names: tuple[str, ...], consequence: str, files: str = "index.*.js") -> tuple[str, ...]:
    """:func:`bundle_problems` of Streamlit's page (its ``files``) for a style sheet's ``data-testid`` names."""
    streamlit = _package_folder("streamlit")
    found = sorted((streamlit / "static").rglob(files)) if streamlit else []
    return tuple(bundle_problems("streamlit", found, names, consequence))


@functools.cache
def phone_problems() -> tuple[str, ...]:
    """:func:`bundle_problems` of Streamlit's page for the phone layout's names, read once per process."""
    consequence = (
        "on a phone, the Draw page's result strip under the canvas may be missing (or show on "
        "wide screens too), and the canvas and its answer may not fit on one screen."
    )
    return _page_problems(PHONE_PAGE_NAMES, consequence)


@functools.cache
def present_problems() -> tuple[str, ...]:
    """:func:`bundle_problems` of Streamlit's page for the presentation layout's names, read once per process."""
    consequence = "in presentation mode, the Draw page's controls may not step back and its answer may not grow."
    # The widgets' names are in their own chunks of the bundle, not in index.*.js: every chunk (23 MB, 0.13 s).
    return _page_problems(PRESENT_PAGE_NAMES, consequence, files="*.js")


def present_style() -> str:
    """The ``<style>`` of the Draw page's presentation layout, for ``st.html`` while the mode is on.

    Relies on Streamlit's ``data-testid`` names of its page's parts
    (:data:`PRESENT_PAGE_NAMES`, checked against Streamlit 1.67.0); logs an error for each that is gone.
    """
    for problem in present_problems():
        _report(problem)
    return PRESENT_STYLE


def phone_style() -> str:
    """The ``<style>`` of the Draw page's phone layout, for ``st.html`` (a style alone takes no room).

    Relies on Streamlit's ``data-testid`` names of its page's containers
    (:data:`PHONE_PAGE_NAMES`, checked against Streamlit 1.67.0); logs an error for each that is gone.
    """
    for problem in phone_problems():
        _report(problem)
    return PHONE_STYLE


def check_internals() -> list[str]:
    """Every private internal a workaround here needs that the installed libraries lack.

    Returns:
        One sentence per problem; empty when every internal is there.
    """
    checks = (clean_up_problem, pages_directory_problem, liveness_problem)
    found = [problem for check in checks if (problem := check())]
    return found + [*canvas_problems(), *phone_problems(), *present_problems()]


@functools.cache  # once per process: app.py calls it on every run
def log_internal_problems() -> None:
    """Log each problem :func:`check_internals` finds as an error."""
    for problem in check_internals():
        _report(problem)
