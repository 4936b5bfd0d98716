"""``pages.internals``: every reach into a library's private internals, and its checks.

The first tests fail when an upgrade removed an internal a workaround needs (or the
installed versions are not the ones the workarounds were checked against). The others
remove an internal on purpose and check that the workaround says so in the log instead
of silently doing nothing, and test the session liveness check with a fake runtime and
clock.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from streamlit.runtime import Runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner

from pages import internals
from pages.internals import (
    CANVAS_NAMES,
    CANVAS_SCRIPT,
    CANVAS_SCRIPT_FILE,
    CHECKED_AGAINST,
    SEND_BUTTON_TITLE,
    STREAMLIT_PAGE_NAMES,
    SessionLiveness,
)


@pytest.fixture
def fresh_log(monkeypatch, caplog) -> pytest.LogCaptureFixture:
    """Errors of ``pages.internals``, each logged afresh (it logs a problem once per process)."""
    monkeypatch.setattr(internals, "_reported", set())
    caplog.set_level(logging.ERROR, logger=internals.__name__)
    return caplog


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        r.getMessage() for r in caplog.records if r.name == internals.__name__ and r.levelno >= logging.ERROR
    )


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeRuntime:
    """A ``Runtime`` whose sessions connect and disconnect when told."""

    def __init__(self) -> None:
        self.connected: set[str] = set()

    def is_active_session(self, session_id: str) -> bool:
        return session_id in self.connected


# --- The pinned libraries still have every internal -------------------------------------------------------------


def test_the_workarounds_were_checked_against_the_installed_versions() -> None:
    """An upgrade fails here first: re-check each workaround, then update ``CHECKED_AGAINST``."""
    installed = {package: importlib.metadata.version(package) for package in CHECKED_AGAINST}
    assert installed == CHECKED_AGAINST


def test_check_internals_finds_every_internal_on_the_pinned_versions() -> None:
    assert internals.check_internals() == []


def test_the_real_runtime_can_still_tell_whether_a_session_is_connected() -> None:
    assert callable(Runtime.exists) and callable(Runtime.instance)
    assert list(inspect.signature(Runtime.is_active_session).parameters) == ["self", "session_id"]


def test_the_canvas_bundle_has_every_name_the_canvas_script_uses() -> None:
    assert internals.canvas_problems() == ()
    assert internals.bundle_problems("streamlit-drawable-canvas", [], CANVAS_NAMES), "no bundle must be a problem"


def test_the_check_covers_every_class_and_attribute_the_canvas_script_looks_for() -> None:
    """Whoever edits ``canvas_fixes.js`` to use another of the component's names must have it checked."""
    js = CANVAS_SCRIPT_FILE.read_text(encoding="utf-8")
    strings = re.findall(r'"([^"]*)"', js)
    classes = {c for s in strings for c in re.findall(r"\.([A-Za-z][\w-]*)", s)}
    classes |= set(re.findall(r'classList\.contains\("([^"]+)"\)', js))
    attributes = {a for s in strings for a in re.findall(r"\[([a-z][\w-]*)", s)}
    assert classes == {"dc-root", "dc-toolbar", "upper-canvas"} and classes <= set(CANVAS_NAMES)
    # title is standard HTML (its value is checked below); data-digit-studio is the script's own.
    assert attributes - {"title", "data-digit-studio"} == {"aria-pressed", "data-testid"}
    assert "aria-pressed" in CANVAS_NAMES and SEND_BUTTON_TITLE in CANVAS_NAMES
    assert re.findall(r"data-testid=(\w+)", js) == list(STREAMLIT_PAGE_NAMES)


def test_the_canvas_script_is_the_js_file_with_the_send_button_title_filled_in() -> None:
    assert CANVAS_SCRIPT.startswith("<script>") and CANVAS_SCRIPT.endswith("</script>")
    assert "__SEND_BUTTON_TITLE__" not in CANVAS_SCRIPT
    assert CANVAS_SCRIPT.count(f"button[title='{SEND_BUTTON_TITLE}']") == 2


# --- Each workaround says so when its internal is gone ---------------------------------------------------------


def test_keep_compiled_functions_replaces_streamlits_keras_reset() -> None:
    internals.keep_compiled_functions()
    assert script_runner._clean_problem_modules.__name__ == "close_pyplot_figures"
    internals.keep_compiled_functions()  # every further run: a flag check
    assert script_runner._clean_problem_modules.__name__ == "close_pyplot_figures"


def test_keep_compiled_functions_logs_an_error_when_the_keras_reset_is_gone(monkeypatch, fresh_log) -> None:
    monkeypatch.delattr(script_runner, "_clean_problem_modules")
    monkeypatch.setattr(script_runner, "_digit_studio_keeps_keras", False, raising=False)
    internals.keep_compiled_functions()
    internals.keep_compiled_functions()
    assert not hasattr(script_runner, "_clean_problem_modules"), "patched a name Streamlit no longer has"
    assert logged(fresh_log).count("_clean_problem_modules") == 1, "one error per process, not one per run"
    assert "Keras is reset after every script run" in logged(fresh_log)
    assert any("_clean_problem_modules" in p for p in internals.check_internals())


def test_keep_compiled_functions_logs_an_error_when_the_run_loop_no_longer_calls_it(monkeypatch, fresh_log) -> None:
    def run_script(self, rerun_data) -> None:  # a ScriptRunner that cleans up some other way
        pass

    monkeypatch.setattr(script_runner.ScriptRunner, "_run_script", run_script)
    monkeypatch.setattr(script_runner, "_digit_studio_keeps_keras", False, raising=False)
    internals.keep_compiled_functions()
    assert "called by ScriptRunner._run_script" in logged(fresh_log)


def test_use_app_navigation_logs_an_error_when_the_pages_directory_flag_is_gone(monkeypatch, fresh_log) -> None:
    monkeypatch.delattr(PagesManager, "uses_pages_directory")
    internals.use_app_navigation()  # bare mode: no rerun, no crash
    assert "PagesManager.uses_pages_directory" in logged(fresh_log)
    assert not hasattr(PagesManager, "uses_pages_directory")
    assert any("uses_pages_directory" in p for p in internals.check_internals())


def test_the_canvas_script_logs_an_error_for_each_name_the_bundle_lacks(tmp_path: Path, monkeypatch, fresh_log) -> None:
    bundle = tmp_path / "index-abc.js"
    bundle.write_text('render("dc-root", {className: "dc-toolbar"}, "upper-canvas", "aria-pressed")')
    problems = internals.bundle_problems("streamlit-drawable-canvas", [bundle], CANVAS_NAMES)
    assert len(problems) == 1 and SEND_BUTTON_TITLE in problems[0] and "0.13.0" in problems[0]
    monkeypatch.setattr(internals, "canvas_problems", lambda: tuple(problems))
    assert internals.canvas_script() == CANVAS_SCRIPT, "the script is still sent: it does no harm"
    assert SEND_BUTTON_TITLE in logged(fresh_log)


# --- Session liveness ------------------------------------------------------------------------------------------


def test_liveness_forgives_short_disconnections_and_ends_after_the_grace_period() -> None:
    runtime, clock = FakeRuntime(), FakeClock()
    runtime.connected.add("abc")
    alive = SessionLiveness(runtime.is_active_session, "abc", grace_seconds=60.0, clock=clock)
    assert alive()
    runtime.connected.clear()  # flaky Wi-Fi: gone for 50 s, then back
    assert alive()
    clock.now += 50.0
    assert alive()
    runtime.connected.add("abc")
    clock.now += 5.0
    assert alive()
    runtime.connected.clear()  # gone again: the grace period starts afresh
    clock.now += 1.0
    assert alive()
    clock.now += 59.9
    assert alive()
    clock.now += 0.1
    assert not alive()
    clock.now += 3600.0
    assert not alive()


def test_session_alive_check_watches_this_session_on_the_runtime(monkeypatch) -> None:
    import streamlit.runtime.scriptrunner as scriptrunner

    runtime = FakeRuntime()
    monkeypatch.setattr(Runtime, "exists", classmethod(lambda cls: True))
    monkeypatch.setattr(Runtime, "instance", classmethod(lambda cls: runtime))
    monkeypatch.setattr(scriptrunner, "get_script_run_ctx", lambda: SimpleNamespace(session_id="abc"))
    alive = internals.session_alive_check()
    assert isinstance(alive, SessionLiveness) and alive.session_id == "abc"
    assert alive.grace_seconds == internals.DISCONNECT_GRACE_SECONDS
    runtime.connected.add("abc")
    assert alive()
    runtime.connected.clear()
    alive.clock = clock = FakeClock()
    assert alive()
    clock.now += internals.DISCONNECT_GRACE_SECONDS
    assert not alive()


def test_session_alive_check_is_none_without_a_server() -> None:
    assert internals.session_alive_check() is None  # no script run, no Runtime


def test_session_alive_check_logs_an_error_when_the_runtime_cannot_tell(monkeypatch, fresh_log) -> None:
    monkeypatch.delattr(Runtime, "is_active_session")
    assert internals.session_alive_check() is None
    assert "Runtime.is_active_session" in logged(fresh_log)
    assert "runs on to the end" in logged(fresh_log)
    assert any("is_active_session" in p for p in internals.check_internals())


def test_log_internal_problems_logs_each_problem_once(monkeypatch, fresh_log) -> None:
    monkeypatch.setattr(internals, "check_internals", lambda: ["streamlit 9.0 has no X", "streamlit 9.0 has no Y"])
    internals.log_internal_problems.__wrapped__()
    internals.log_internal_problems.__wrapped__()
    lines = logged(fresh_log).splitlines()
    assert (
        len(lines) == 2 and lines[0].endswith("streamlit 9.0 has no X") and lines[1].endswith("streamlit 9.0 has no Y")
    )


# --- The server starts with app.py's navigation; the phone layout's names ----------------------------------------


def test_start_with_app_navigation_decides_before_the_first_session(monkeypatch, tmp_path: Path) -> None:
    """A PagesManager made after it (the first session's) no longer looks for a pages/ folder."""
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)
    (tmp_path / "pages").mkdir()
    main = tmp_path / "app.py"
    main.write_text("")
    internals.start_with_app_navigation()
    PagesManager(str(main))
    assert PagesManager.uses_pages_directory is False


def test_without_it_the_first_session_would_use_the_legacy_pages_mode(monkeypatch, tmp_path: Path) -> None:
    """What the workaround is for (if Streamlit stops doing this, the workaround can go)."""
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)
    (tmp_path / "pages").mkdir()
    main = tmp_path / "app.py"
    main.write_text("")
    PagesManager(str(main))
    assert PagesManager.uses_pages_directory is True


def test_start_with_app_navigation_logs_an_error_when_the_flag_is_no_longer_read(monkeypatch, fresh_log) -> None:
    def init(self, main_script_path, script_cache=None, **kwargs) -> None:  # decides some other way
        self._main_script_path = main_script_path

    monkeypatch.setattr(PagesManager, "__init__", init)
    internals.start_with_app_navigation()
    assert "PagesManager.uses_pages_directory" in logged(fresh_log) and "menu of the files in pages/" in logged(
        fresh_log
    )


def test_serve_starts_streamlits_command_line_on_app_py_after_deciding(monkeypatch) -> None:
    from streamlit.web import cli

    import serve

    seen = {}
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)
    monkeypatch.setattr(
        cli, "main", lambda args, prog_name: seen.update(args=args, flag=PagesManager.uses_pages_directory)
    )
    serve.main(["--server.port", "1234"], warm=False)
    assert seen == {"args": ["run", str(serve.APP), "--server.port", "1234"], "flag": False}
    assert serve.APP.name == "app.py" and serve.APP.is_file()


def test_the_phone_layout_names_only_checked_testids_and_streamlit_has_them() -> None:
    css = internals.PHONE_STYLE_FILE.read_text(encoding="utf-8")
    assert sorted(set(re.findall(r'data-testid="(\w+)"', css))) == sorted(internals.PHONE_PAGE_NAMES)
    assert internals.phone_problems() == ()
    assert internals.PHONE_STYLE.startswith("<style>") and "@media (max-width: 640px)" in internals.PHONE_STYLE


def test_the_presentation_layout_names_only_checked_testids_and_streamlit_has_them() -> None:
    css = internals.PRESENT_STYLE_FILE.read_text(encoding="utf-8")
    named = set(re.findall(r'data-testid="(\w+)"', css))
    ours = {"prediction"}  # the Draw page's own HTML (and confidence-0 … confidence-9, matched by prefix)
    assert sorted(named - ours) == sorted(internals.PRESENT_PAGE_NAMES)
    assert internals.present_problems() == ()
    assert internals.PRESENT_STYLE.startswith("<style>") and "--ds-present: 1" in internals.PRESENT_STYLE
    # The canvas script scales the canvas up while that property is set.
    assert "--ds-present" in internals.CANVAS_SCRIPT


def test_a_presentation_layout_name_streamlit_lacks_is_reported(monkeypatch) -> None:
    monkeypatch.setattr(internals, "PRESENT_PAGE_NAMES", ("stNoSuchContainer",))
    internals.present_problems.cache_clear()
    try:
        problems = internals.present_problems()
        assert len(problems) == 1 and "stNoSuchContainer" in problems[0] and "presentation mode" in problems[0]
    finally:
        internals.present_problems.cache_clear()
