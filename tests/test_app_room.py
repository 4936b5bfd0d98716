"""The Room page and the Train page's presenter lock, driven headlessly with AppTest.

A presenter and participants are separate sessions (separate browsers: each
gets its own cookie value through ``pages.identity.TOKEN_KEY``). Drawings are
put in a participant's collection through ``core.drawings`` (the Draw page's
correction buttons are tested with that page) and a finished run through the
store, with a real (untrained) model file, so no test here needs MNIST except
the Train page's lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from core.drawings import Drawings
from core.identity import shared_issuer
from core.presenter import presenter_key
from core.room_scores import shared_scoreboard
from core.rooms import open_rooms
from core.store import open_store
from core.store_records import RunRecord
from core.text import plain
from pages.identity import TOKEN_KEY
from tests.test_app_pages import (  # noqa: F401 - the fixtures apply to this module's tests too
    APP,
    TIMEOUT,
    assert_ok,
    fresh_caches,
    joined,
    needs_mnist,
    one_worker_cluster,
    texts,
)
from tests.test_drawings import handwritten

SCORE_WAIT = 120.0  #: seconds for the background scoring of a model on a busy machine


def page(token: str | None = None, **params: str) -> AppTest:
    """A new session of the browser with cookie ``token`` on the Room page, with these link parameters."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if token is not None:
        at.session_state[TOKEN_KEY] = token
    at.query_params.update(params)
    at.switch_page("pages/room.py").run()
    assert_ok(at)
    return at


def person() -> tuple[str, str]:
    """A new browser's cookie value and owner key."""
    identity = shared_issuer().issue()
    return identity.token, identity.owner


def button(at: AppTest, label: str):
    found = [b for b in [*at.button, *at.get("form_submit_button")] if b.label == label]
    assert found, [b.label for b in [*at.button, *at.get("form_submit_button")]]
    return found[0]


def text_input(at: AppTest, label: str):
    return next(t for t in at.text_input if t.label == label)


def join(at: AppTest, room: str, nickname: str) -> AppTest:
    text_input(at, "Room").set_value(room)
    text_input(at, "Your nickname").set_value(nickname)
    button(at, "Join").click().run()
    assert_ok(at)
    return at


def everything(at: AppTest) -> str:
    return "\n".join(
        joined(e) for e in (at.markdown, at.caption, at.error, at.warning, at.info, at.success, at.subheader)
    )


@pytest.fixture
def room_name() -> Iterator[str]:
    """A fresh room (opened with the key), closed afterwards."""
    rooms = open_rooms()
    name = f"Lab {uuid.uuid4().hex[:8]}"
    room = rooms.open_room(name, presenter_key().value)
    yield name
    rooms.close(room.id, presenter_key().value)


def test_a_wrong_key_gets_a_message_and_the_right_one_leaves_the_address(room_name) -> None:
    at = page(key="not-the-key")
    assert "presenter key is not right" in joined(at.error) and "key" not in at.query_params
    assert not [f for f in at.get("form_submit_button") if f.label == "Open the room"]
    at = page(key=presenter_key().value, room=room_name)
    assert "key" not in at.query_params and not at.error
    assert button(at, "Open the room") and at.selectbox(key="room_presenter_room").value is not None
    assert f"?room={room_name.replace(' ', '+')}" in joined(at.code)


def test_the_presenter_opens_a_room_from_the_page() -> None:
    at = page(key=presenter_key().value)
    name = f"Open {uuid.uuid4().hex[:6]}"
    text_input(at, "Open a room called").set_value(name)
    button(at, "Open the room").click().run()
    assert_ok(at)
    room = open_rooms().find(name)
    assert at.selectbox(key="room_presenter_room").value == room.id
    text_input(at, "Open a room called").set_value("<img src=x>")
    button(at, "Open the room").click().run()
    assert "may hold only letters" in joined(at.error)
    open_rooms().close(room.id, presenter_key().value)


def test_unknown_rooms_stale_links_and_bad_nicknames_get_clear_messages(room_name) -> None:
    assert "There is no room called “Nowhere”" in joined(page(room="Nowhere").error)
    crafted = joined(page(room="[x](http://evil.example)" + "y" * 10_000).error)
    assert "no room of that name" in crafted and "evil" not in crafted
    token, _ = person()
    at = join(page(token, room=room_name), room_name, "<b>x</b>")
    assert "may hold only letters" in joined(at.error)
    at = join(at, room_name, "Ana")
    assert "You are in room" in everything(at) and "Ana" in everything(at)
    other, _ = person()
    assert "pick another nickname" in joined(join(page(other), room_name, "ANA").error)
    closed = open_rooms().open_room(f"Gone {uuid.uuid4().hex[:6]}", presenter_key().value)
    open_rooms().close(closed.id, presenter_key().value)
    assert "was closed by its presenter" in joined(page(other, room=closed.name).error)


def test_a_participant_shares_drawings_and_the_leaderboard_scores_runs_on_them(room_name, tmp_path) -> None:
    from core.model import build_model

    token, owner = person()
    drawings = Drawings(open_store())
    for i, digit in enumerate((3, 7, 1)):
        image, canvas = handwritten(digit, i)
        drawings.add(owner, image, canvas, digit)
    store = open_store()
    number = store.begin_run(owner, {"arch": "mlp", "epochs": 1, "dropout": 0.0})
    record = RunRecord(config={"arch": "mlp", "epochs": 1, "dropout": 0.0}, metrics={"test_accuracy": 0.9})
    store.finish_run(owner, number, "done", record, lambda path: build_model("mlp", 0.0).save(path))

    at = join(page(token, room=room_name), room_name, "Ana")
    assert "0 of your 3 drawing(s) are shared" in everything(at)
    button(at, "Share all my drawings").click().run()
    assert_ok(at)
    assert plain("Shared 3 drawing(s) with the room.") in joined(at.success)
    assert "The room's drawings (3)" in everything(at)
    board = at.table[0].value
    assert set(board["Who"]) >= {"Ana", plain("(bundled model)")}
    assert shared_scoreboard().idle(SCORE_WAIT)
    at.run()
    board = at.table[0].value.set_index("Who")
    assert board.loc["Ana", "Scored"] == "3 of 3" and board.loc["Ana", "MNIST test"] == "90.0%"
    assert board.loc["Ana", "Room drawings"].endswith("%") and board.loc["Ana", "MNIST − room"].endswith("points")

    # Another participant sees Ana's nickname and shared drawings, never her identity.
    viewer, _ = person()
    seen = join(page(viewer), room_name, "Bo")
    assert "Ana" in everything(seen) and owner not in everything(seen) and token not in everything(seen)
    assert "The room's drawings (3)" in everything(seen)

    # Unticking one drawing withdraws it.
    boxes = [c for c in at.checkbox if c.key.startswith("share_")]
    boxes[0].uncheck()
    button(at, "Save what I share").click().run()
    assert_ok(at)
    assert "2 of your 3 drawing(s) are shared" in everything(at) and "The room's drawings (2)" in everything(at)

    # Leaving withdraws the rest.
    button(at, "Leave the room").click().run()
    assert plain("2 shared drawing(s) were withdrawn") in joined(at.success)
    assert open_rooms().drawings.test_set(open_rooms().find(room_name).id).ids.size == 0


def test_the_presenter_hides_a_drawing_exports_and_closes_the_room(room_name) -> None:
    token, owner = person()
    drawings = Drawings(open_store())
    for i, digit in enumerate((4, 4)):
        drawings.add(owner, *handwritten(digit, 10 + i), digit)
    participant = join(page(token), room_name, "Cy")
    button(participant, "Share all my drawings").click().run()

    presenter = page(key=presenter_key().value, room=room_name)
    assert "The room's drawings (2)" in everything(presenter)
    presenter.segmented_control(key="hide_digit").set_value(4).run()
    boxes = [c for c in presenter.checkbox if c.key.startswith("hide_")]
    assert len(boxes) == 2 and "Cy" in everything(presenter)
    boxes[0].check()
    button(presenter, "Save").click().run()
    assert_ok(presenter)
    assert "The room's drawings (1)" in everything(presenter)
    room = open_rooms().find(room_name)
    assert open_rooms().drawings.test_set(room.id).ids.size == 1
    assert [b for b in presenter.get("download_button") if "npz" in b.proto.label]

    presenter.button(key="close_room").click().run()
    assert_ok(presenter)
    assert "is closed" in joined(presenter.success)
    participant.run()
    assert "You are in room" not in everything(participant) and text_input(participant, "Your nickname")


# --- the Train page's presenter lock --------------------------------------------------------


def train_page(**params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(params)
    at.switch_page("pages/train.py").run()
    assert_ok(at)
    return at


@needs_mnist
def test_a_lock_link_disables_the_locked_controls_and_keeps_them_through_reset() -> None:
    at = train_page(dropout="0.5", epochs="2", arch="mlp", lock="arch,epochs,nonsense")
    assert at.radio(key="cfg_arch").disabled and at.slider(key="cfg_epochs").disabled
    assert not at.slider(key="cfg_dropout").disabled and not at.select_slider(key="cfg_batch_size").disabled
    assert at.slider(key="cfg_epochs").label.startswith(":material/lock:")
    assert "locks: architecture, epochs" in joined(at.info)
    assert "Ignored lock=" in joined(at.warning) and "nonsense" in joined(at.warning)
    at.session_state["cfg_epochs"] = 9  # what a crafted message could send: the lock puts it back
    at.session_state["cfg_dropout"] = 0.1
    at.run()
    assert at.slider(key="cfg_epochs").value == 2 and at.slider(key="cfg_dropout").value == pytest.approx(0.1)
    next(b for b in at.button if b.label.startswith("Reset")).click().run()
    assert_ok(at)
    assert (at.radio(key="cfg_arch").value, at.slider(key="cfg_epochs").value) == ("mlp", 2)
    assert at.slider(key="cfg_dropout").value == pytest.approx(0.0)  # unlocked: back to the default
    assert at.query_params.get("lock") == "arch,epochs" and at.query_params.get("epochs") == "2"


@needs_mnist
def test_the_share_popover_makes_a_lock_link_and_no_lock_locks_nothing() -> None:
    at = train_page()
    assert not at.radio(key="cfg_arch").disabled and "locks" not in joined(at.info)
    at.multiselect(key="share_lock").set_value(["arch", "epochs", "batch_size"]).run()
    assert_ok(at)
    link = joined(at.code)
    assert "lock=arch%2Cepochs%2Cbatch_size" in link, texts(at.code)


def test_deleting_a_shared_drawing_in_my_drawings_withdraws_it_from_the_room(room_name) -> None:
    token, owner = person()
    kept = Drawings(open_store()).add(owner, *handwritten(2, 21), 2)
    at = join(page(token), room_name, "Di")
    button(at, "Share all my drawings").click().run()
    room = open_rooms().find(room_name)
    assert open_rooms().drawings.test_set(room.id).ids.size == 1
    at.switch_page("pages/my_drawings.py").run()
    assert_ok(at)
    at.button(key=f"delete_drawing_{kept.id}").click().run()
    assert_ok(at)
    assert "withdrawn from the room" in everything(at)
    assert open_rooms().drawings.test_set(room.id).ids.size == 0


def test_a_reload_keeps_the_presenter_controls_until_they_are_hidden(room_name) -> None:
    token, _ = person()
    page(token, key=presenter_key().value)
    again = page(token)  # a reload: a new session of the same browser, no key in the address
    assert again.selectbox(key="room_presenter_room").value is not None
    button(again, "Hide the presenter controls on this browser").click().run()
    assert_ok(again)
    assert not [f for f in page(token).get("form_submit_button") if f.label == "Open the room"]
    assert not [f for f in page(person()[0]).get("form_submit_button") if f.label == "Open the room"]
