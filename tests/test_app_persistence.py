"""Nothing lost: a person's runs, choices and training come back in a new session; others see none of it.

A new ``AppTest`` is a new browser session (a reload, a new tab). AppTest
cannot send cookies, so a test hands a session its cookie's value through
``st.session_state[pages.identity.TOKEN_KEY]`` before the first run, as the
browser's cookie would be.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from streamlit.testing.v1 import AppTest

from core.identity import COOKIE_NAME
from core.model_owners import owned_models
from core.store import Store, open_store
from pages.identity import TOKEN_KEY, cookie_script
from tests.test_app_pages import (
    APP,
    MODELS,
    TIMEOUT,
    TINY,
    assert_ok,
    data_of,
    joined,
    model_picker,
    needs_mnist,
    open_page,
    poll,
    press_train,
    stop_jobs,
    texts,
    wait_for_run,
)


@pytest.fixture
def apps() -> Iterator[Callable[[], AppTest]]:
    """New sessions of new browsers; their trainings are stopped at teardown."""
    made: list[AppTest] = []

    def make() -> AppTest:
        made.append(session_of(None))
        return made[-1]

    yield make
    stop_jobs(made)


@pytest.fixture
def scratch_model_name() -> Iterator[str]:
    """A unique model name whose files in models/ are removed afterwards."""
    name = f"apptest-{uuid.uuid4().hex[:10]}"
    yield name
    for path in MODELS.glob(f"*{name}*"):
        path.unlink(missing_ok=True)


def session_of(token: str | None) -> AppTest:
    """A new session of the browser whose cookie holds ``token`` (None: a browser seen for the first time)."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if token is not None:
        at.session_state[TOKEN_KEY] = token
    at.run()
    assert_ok(at)
    return at


def accuracy_shown(at: AppTest) -> str:
    return {m.label: m.value for m in at.metric}["Test accuracy"]


@pytest.fixture(scope="module")
def person() -> Iterator[AppTest]:
    """A person who trained one tiny run and picked it on the Draw page."""
    at = session_of(None)
    try:
        open_page(at, "train")
        press_train(at, **TINY, cfg_seed=5)
        wait_for_run(at)
        open_page(at, "draw")
        model_picker(at).set_value("run:1").run()
        assert_ok(at)
        yield at
    finally:
        stop_jobs([at])


def test_a_new_browser_gets_a_fresh_identity_and_its_cookie() -> None:
    at = session_of(None)
    data = data_of(at)
    assert data.runs == [] and data.active == "default"
    scripts = [h.proto.body for h in at.sidebar.get("html")]
    assert scripts == [cookie_script(data.identity)] and f"{COOKIE_NAME}={data.identity.token}" in scripts[0]
    assert "SameSite=Lax" in scripts[0] and "Max-Age=" in scripts[0]
    again = session_of(data.identity.token)  # the browser now sends the cookie: no script needed
    assert data_of(again).identity == data.identity and not again.sidebar.get("html")


@needs_mnist
def test_a_reload_brings_back_the_run_its_accuracy_and_the_picked_model(person: AppTest) -> None:
    before = data_of(person)
    accuracy = f"{before.runs[0].result.test_accuracy:.2%}"
    at = session_of(before.identity.token)
    assert data_of(at) is not before and data_of(at).identity == before.identity
    open_page(at, "train")
    assert accuracy_shown(at) == accuracy
    assert at.session_state["cfg_seed"] == 5 and at.session_state["cfg_arch"] == "mlp"  # the last settings
    assert "Confusion matrix" in "".join(c.proto.spec for c in at.get("vega_lite_chart"))
    open_page(at, "draw")
    picker = model_picker(at)
    assert picker.value == "run:1" and before.runs[0].own_label in picker.options
    assert not at.warning, texts(at.warning)


@needs_mnist
@pytest.mark.parametrize("cookie", [None, "forged." + "A" * 43, "x" * 76])
def test_another_browser_or_a_forged_cookie_sees_nothing(person: AppTest, cookie: str | None) -> None:
    at = session_of(cookie)
    data = data_of(at)
    assert data.owner != data_of(person).owner and data.runs == []
    open_page(at, "train")
    assert not [m for m in at.metric if m.label == "Test accuracy"]
    open_page(at, "draw")
    assert [o for o in model_picker(at).options if o.startswith("Your run ")] == []


@needs_mnist
def test_a_training_in_progress_is_picked_up_by_a_reloaded_tab(apps) -> None:
    first = open_page(apps(), "train")
    press_train(first, cfg_arch="mlp", cfg_epochs=8, cfg_batch_size=16, cfg_train_size=20000)
    reloaded = open_page(session_of(data_of(first).identity.token), "train")
    data = data_of(reloaded)
    assert data.job is data_of(first).job is not None
    poll(reloaded, lambda: any(b.key == "stop_training" for b in reloaded.button), "the live view")
    assert "Training" in joined(reloaded.subheader)
    # Stopped while still queued (behind a fresh worker's warm-up), a run leaves no trace: wait for batches.
    poll(reloaded, lambda: data.job is not None and bool(data.job.snapshot().batches), "the first batches")
    reloaded.button(key="stop_training").click().run()
    wait_for_run(reloaded, timeout=60)
    assert data.runs[0].state == "stopped" and "Stopped early after" in joined(reloaded.success)
    stop_jobs([reloaded])


@needs_mnist
def test_forget_my_data_leaves_nothing_in_the_store(apps, scratch_model_name) -> None:
    at = open_page(apps(), "train")
    press_train(at, **TINY)
    wait_for_run(at)
    at.text_input[0].set_value(scratch_model_name)
    [b for b in at.get("form_submit_button") if b.label == "Save"][0].click().run()
    owner = data_of(at).owner
    assert [m.name for m in owned_models(owner)] == [scratch_model_name]
    # A new session: its first run is app.py's, with the sidebar (AppTest runs a page it switched to alone).
    at = session_of(data_of(at).identity.token)
    at.sidebar.button(key="forget_confirm").click().run()
    assert_ok(at)
    store = open_store()
    assert not store.has_data(owner) and owned_models(owner) == []
    assert not (MODELS / f"{scratch_model_name}.keras").exists()
    assert data_of(at).runs == [] and data_of(at).active == "default"


@needs_mnist
def test_a_run_cut_off_by_a_restart_is_shown_as_interrupted() -> None:
    at = session_of(None)
    owner = data_of(at).owner
    before_restart = Store(open_store().folder)  # another server process, which then stops
    before_restart.begin_run(owner, {"arch": "cnn", "epochs": 4})
    before_restart.close()
    open_store().start_up()  # what the next server process does first
    open_page(at, "train")
    assert "cut off" in joined(at.warning) and "run 1 (CNN, 4 epochs)" in joined(at.warning)
    at.button(key="dismiss_interrupted").click().run()
    assert_ok(at)
    assert "cut off" not in joined(at.warning) and open_store().runs(owner) == []


@needs_mnist
def test_a_saved_model_records_its_owner_who_alone_may_delete_it(person: AppTest, scratch_model_name) -> None:
    at = open_page(person, "train")
    at.text_input[0].set_value(scratch_model_name)
    [b for b in at.get("form_submit_button") if b.label == "Save"][0].click().run()
    assert_ok(at)
    assert [m.owner for m in owned_models(data_of(at).owner)] == [data_of(at).owner]
    other = open_page(session_of(None), "train")  # someone else: no delete button for it
    assert not [b for b in other.button if b.key == f"delete_saved_{scratch_model_name}"]
    at.button(key=f"delete_saved_{scratch_model_name}").click().run()
    assert_ok(at)
    assert not (MODELS / f"{scratch_model_name}.keras").exists()


@needs_mnist
@pytest.mark.parametrize(
    "limits, message",
    [({"saved_models_per_person": 0}, "the most one person may keep"), ({"saved_models_total": 0}, "folder is full")],
)
def test_one_person_and_the_folder_hold_only_so_many_models(person: AppTest, monkeypatch, limits, message) -> None:
    store = data_of(person).store
    monkeypatch.setattr(store, "limits", type(store.limits)(**limits))
    at = open_page(person, "train")
    name = f"apptest-{uuid.uuid4().hex[:10]}"
    at.text_input[0].set_value(name)
    [b for b in at.get("form_submit_button") if b.label == "Save"][0].click().run()
    assert_ok(at)
    assert message in joined(at.error) and not at.success
    assert not (MODELS / f"{name}.keras").exists()


def test_the_draw_page_has_a_result_strip_and_a_layout_for_phones() -> None:
    """(The strip's answer and the phone's screen are checked in Chromium: AppTest cannot draw.)"""
    at = open_page(session_of(None), "draw")
    strips = [m.value for m in at.markdown if "ds-strip" in m.value]
    assert len(strips) == 1 and "the answer shows here" in strips[0] and "data-testid='prediction'" not in strips[0]
    styles = [h.proto.body for h in at.get("html") if h.proto.body.startswith("<style>")]
    assert len(styles) == 1 and "@media (max-width: 640px)" in styles[0]
