"""core.rooms and core.room_drawings: open, join, share, hide, export and close a room, with its checks and limits."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from core.data import MnistUnavailableError, load_digit_set
from core.presenter import MIN_LENGTH, PresenterKey
from core.room_rules import NICKNAME_LENGTH, RoomLimits, check_name, name_key
from core.room_schema import Contribution, RoomDrawing
from core.rooms import NameTaken, NotAMember, RoomClosed, RoomError, Rooms, UnknownRoom, WrongKey
from core.run_records import config_from
from core.store import Store
from core.store_limits import StoreLimits
from core.store_records import RunRecord
from tests.test_drawings import Clock, handwritten

KEY = "presenter-key-for-tests"
ALICE, BOB, CAROL = "a" * 32, "b" * 32, "c" * 32


@pytest.fixture
def rooms(tmp_path) -> Iterator[Rooms]:
    """Rooms in a fresh store whose clock (``rooms.clock``, a ``Clock``) the tests move."""
    store = Store(tmp_path, StoreLimits(retention_days=30), Clock())
    limits = RoomLimits(drawings_per_room=8, drawings_per_person=5, shares_per_minute=4, retention_days=30)
    yield Rooms(store, PresenterKey(KEY, generated=False), limits)
    store.close()


def digits(*labels: int, seed: int = 0, prefix: str = "d") -> list[Contribution]:
    """Handwritten contributions of these digits, each with its own source key."""
    return [Contribution(f"{prefix}{i}", handwritten(d, seed + i)[0], d) for i, d in enumerate(labels)]


def room_with(rooms: Rooms, *people: tuple[str, str], name: str = "Lab 1") -> int:
    room = rooms.open_room(name, KEY)
    for owner, nickname in people:
        rooms.join(name, owner, nickname)
    return room.id


# --- rooms and the presenter key ----------------------------------------------------------


def test_only_the_presenter_key_opens_hides_exports_and_closes(rooms) -> None:
    for wrong in (None, "", "presenter-key-for-test", KEY + "x", 12345, "x" * 10_000):
        with pytest.raises(WrongKey, match="presenter key is not right"):
            rooms.open_room("Lab 1", wrong)
    room_id = room_with(rooms, (ALICE, "Ana"))
    rooms.drawings.share(ALICE, digits(1, 7))
    for action in (
        lambda k: rooms.drawings.hide(room_id, [1], k),
        lambda k: rooms.drawings.export(room_id, k),
        lambda k: rooms.close(room_id, k),
    ):
        with pytest.raises(WrongKey):
            action("wrong key!")
    assert rooms.get(room_id).is_open and len(rooms.drawings.in_room(room_id)) == 2


def test_a_room_is_found_by_name_in_any_case_and_names_are_unique_among_open_rooms(rooms) -> None:
    room = rooms.open_room("  Lab   1 ", KEY)
    assert room.name == "Lab 1" and room.is_open
    assert rooms.find("lab 1") == room == rooms.find("LAB 1")
    with pytest.raises(NameTaken, match="open already"):
        rooms.open_room("LAB 1", KEY)
    for bad in ("x", "<script>", "[a](http://b)", "a" * 31, "-lead", 7):
        with pytest.raises(RoomError):
            rooms.open_room(bad, KEY)


def test_an_unknown_room_and_a_stale_link_get_clear_messages(rooms) -> None:
    with pytest.raises(UnknownRoom, match="no room called “Nowhere”"):
        rooms.find("Nowhere")
    with pytest.raises(UnknownRoom, match="no room of that name"):
        rooms.find("<b>bad</b>")
    room_id = room_with(rooms, (ALICE, "Ana"))
    rooms.close(room_id, KEY)
    with pytest.raises(RoomClosed, match="was closed by its presenter"):
        rooms.find("Lab 1")
    with pytest.raises(RoomClosed):
        rooms.join("Lab 1", BOB, "Bo")
    reopened = rooms.open_room("Lab 1", KEY)  # the name is free again: a new, empty room
    assert reopened.id != room_id and rooms.find("lab 1") == reopened and rooms.nicknames(reopened.id) == []


# --- people --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nickname",
    ["A", "x" * 21, "<b>Ana</b>", "[me](http://x)", "Ana\n# big", "ana@evil", ":material/home:", "\u202eAna", "_ana"],
)
def test_nicknames_are_checked(rooms, nickname) -> None:
    rooms.open_room("Lab 1", KEY)
    with pytest.raises(RoomError):
        rooms.join("Lab 1", ALICE, nickname)
    assert rooms.member(ALICE) is None


def test_nicknames_are_tidied_and_unique_in_a_room_whatever_their_case(rooms) -> None:
    assert check_name("  José   María ") == "José María"
    assert check_name("ＡＮＡ") == "ANA" and name_key("ANA") == name_key("ana")
    assert len(check_name("x" * NICKNAME_LENGTH[1])) == NICKNAME_LENGTH[1]
    room_id = room_with(rooms, (ALICE, "Ana"))
    with pytest.raises(NameTaken, match="pick another nickname"):
        rooms.join("Lab 1", BOB, "ANA")
    rooms.join("Lab 1", BOB, "Bo")
    rooms.join("Lab 1", ALICE, "Ana B")  # joining again renames
    assert rooms.nicknames(room_id) == ["Ana B", "Bo"]
    assert rooms.member(ALICE).nickname == "Ana B"
    rooms.open_room("Lab 2", KEY)
    with pytest.raises(RoomError, match="leave it first"):
        rooms.join("Lab 2", ALICE, "Ana")


def test_leaving_withdraws_what_a_person_shared(rooms) -> None:
    room_id = room_with(rooms, (ALICE, "Ana"), (BOB, "Bo"))
    rooms.drawings.share(ALICE, digits(1, 2))
    rooms.drawings.share(BOB, digits(3, prefix="b"))
    before = rooms.get(room_id).version
    assert rooms.leave(ALICE) == 2
    assert rooms.member(ALICE) is None and rooms.nicknames(room_id) == ["Bo"]
    assert [d.label for d in rooms.drawings.in_room(room_id)] == [3]
    assert rooms.get(room_id).version > before
    assert rooms.forget(BOB) == 1 and rooms.drawings.in_room(room_id) == []


# --- drawings --------------------------------------------------------------------------------


def test_sharing_needs_a_room_and_adds_each_drawing_once(rooms) -> None:
    with pytest.raises(NotAMember):
        rooms.drawings.share(ALICE, digits(1))
    room_id = room_with(rooms, (ALICE, "Ana"))
    first = rooms.drawings.share(ALICE, digits(1, 7))
    again = rooms.drawings.share(ALICE, digits(1, 7, 4))
    assert (first.added, first.already, again.added, again.already) == (2, 0, 1, 2)
    assert rooms.drawings.shared_sources(ALICE) == {"d0", "d1", "d2"}
    assert sorted(d.label for d in rooms.drawings.in_room(room_id)) == [1, 4, 7]


def test_contributions_are_checked(rooms) -> None:
    room_with(rooms, (ALICE, "Ana"))
    good = handwritten(5)[0]
    noise = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    offered = [
        Contribution("blank", np.zeros((28, 28), np.uint8), 1),
        Contribution("noise", noise, 1),
        Contribution("big", np.zeros((56, 56), np.uint8), 1),
        Contribution("float", good.astype(np.float32) / 255, 1),
        Contribution("label10", good, 10),
        Contribution("labelbool", good, True),
        Contribution("labeltext", good, "5"),
        Contribution("ok", good, 5),
    ]
    report = rooms.drawings.share(ALICE, offered)
    assert report.added == 1 and report.problems == (
        "7 drawing(s) were not shared: each must be one digit with a label 0-9.",
    )
    assert rooms.drawings.shared_sources(ALICE) == {"ok"}


def test_sharing_is_rate_limited_per_person_and_capped_per_person_and_room(rooms) -> None:
    room_with(rooms, (ALICE, "Ana"), (BOB, "Bo"), (CAROL, "Cy"))
    report = rooms.drawings.share(ALICE, digits(0, 1, 2, 3, 4, 5))
    assert report.added == 4 and "a minute" in report.problems[0]  # 4 a minute
    rooms.clock.now += 61
    report = rooms.drawings.share(ALICE, digits(0, 1, 2, 3, 4, 5))
    assert (report.added, report.already) == (1, 4) and "at most 5 drawings" in report.problems[0]  # 5 a person
    rooms.clock.now += 61
    assert rooms.drawings.share(BOB, digits(6, 7, 8, 9, prefix="b")).added == 3  # 8 a room
    assert "room is full" in rooms.drawings.share(CAROL, digits(1, prefix="c")).problems[0]


def test_the_presenter_hides_drawings_and_hidden_ones_leave_the_set(rooms) -> None:
    room_id = room_with(rooms, (ALICE, "Ana"))
    rooms.drawings.share(ALICE, digits(1, 2, 3))
    first, second, _ = rooms.drawings.in_room(room_id)
    version = rooms.drawings.test_set(room_id).version
    assert rooms.drawings.hide(room_id, [first.id, second.id, 99999], KEY) == 2
    shown = rooms.drawings.test_set(room_id)
    assert shown.version > version and shown.labels.tolist() == [3]
    assert [d.hidden for d in rooms.drawings.in_room(room_id, hidden=True)] == [True, True, False]
    assert rooms.drawings.hide(room_id, [first.id], KEY, hidden=False) == 1
    assert rooms.drawings.test_set(room_id).labels.tolist() == [1, 3]


def test_the_export_reads_back_through_core_data(rooms, tmp_path) -> None:
    room_id = room_with(rooms, (ALICE, "Ana"), (BOB, "Bo"))
    rooms.drawings.share(ALICE, digits(1, 7, 4))
    rooms.drawings.share(BOB, digits(9, prefix="b"))
    hidden = rooms.drawings.in_room(room_id)[1]
    rooms.drawings.hide(room_id, [hidden.id], KEY)
    path = tmp_path / "room.npz"
    path.write_bytes(rooms.drawings.export(room_id, KEY))
    x, y = load_digit_set(path)
    expected = rooms.drawings.test_set(room_id)
    assert x.dtype == np.uint8 and x.shape == (3, 28, 28) and y.tolist() == [1, 4, 9]
    assert np.array_equal(x, expected.images) and np.array_equal(y, expected.labels)
    assert set(np.load(path).files) == {"x", "y"}  # no nicknames, no owners


def test_load_digit_set_refuses_what_is_not_a_digit_set(tmp_path) -> None:
    with pytest.raises(MnistUnavailableError, match="Cannot read"):
        load_digit_set(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((2, 28, 28), np.uint8), y=np.array([1, 12], np.uint8))
    with pytest.raises(MnistUnavailableError, match="labels outside 0-9"):
        load_digit_set(bad)
    np.savez(bad, x=np.zeros((2, 28, 28), np.float32), y=np.array([1, 2], np.uint8))
    with pytest.raises(MnistUnavailableError, match="uint8"):
        load_digit_set(bad)


def test_participants_see_nicknames_and_shared_drawings_only(rooms) -> None:
    from core.drawings import Drawings

    room_id = room_with(rooms, (ALICE, "Ana"), (BOB, "Bo"))
    collection = Drawings(rooms.store)
    image, canvas = handwritten(3, 5)
    collection.add(BOB, image, canvas, 3)  # in Bo's collection, never shared
    rooms.drawings.share(ALICE, digits(1))
    seen = rooms.drawings.in_room(room_id, viewer=BOB)
    assert [(d.label, d.nickname, d.mine, d.source) for d in seen] == [(1, "Ana", False, None)]
    assert not any(ALICE in str(v) or BOB in str(v) for d in seen for v in vars(d).values())
    assert set(vars(seen[0])) == {f for f in RoomDrawing.__dataclass_fields__}  # no owner field at all
    mine = rooms.drawings.in_room(room_id, viewer=ALICE)
    assert (mine[0].mine, mine[0].source) == (True, "d0")


def test_closing_deletes_members_and_drawings(rooms) -> None:
    room_id = room_with(rooms, (ALICE, "Ana"))
    rooms.drawings.share(ALICE, digits(1, 2))
    rooms.close(room_id, KEY)
    assert rooms.member(ALICE) is None and not rooms.get(room_id).is_open
    assert rooms.drawings.in_room(room_id, hidden=True) == [] and rooms.nicknames(room_id) == []
    with pytest.raises(NotAMember):
        rooms.drawings.share(ALICE, digits(3))
    assert rooms.open_rooms() == []


def test_rooms_untouched_for_the_retention_period_are_closed_at_start_up(rooms) -> None:
    room_with(rooms, (ALICE, "Ana"))
    rooms.clock.now += 29 * 86400
    assert rooms.start_up() == 0
    rooms.clock.now += 2 * 86400
    assert rooms.start_up() == 1 and rooms.member(ALICE) is None


def test_member_runs_are_the_finished_runs_of_the_room_only(rooms) -> None:
    room_with(rooms, (ALICE, "Ana"))
    config = config_from({"arch": "mlp", "epochs": 2, "dropout": 0.25}).to_dict()
    for owner in (ALICE, BOB):  # Bob trained too, but is in no room
        number = rooms.store.begin_run(owner, config)
        record = RunRecord(config=config, metrics={"test_accuracy": 0.91, "stopped_early": False})
        rooms.store.finish_run(owner, number, "done", record, lambda path: path.write_bytes(b"model"))
    number = rooms.store.begin_run(ALICE, config)
    record = RunRecord(config=config, metrics={"test_accuracy": 0.9, "finetune": {"before": 0.5}})
    rooms.store.finish_run(ALICE, number, "stopped", record, lambda path: path.write_bytes(b"tuned"))
    rooms.store.begin_run(ALICE, config)  # still running: not on the board
    run, tuned = rooms.member_runs(rooms.member(ALICE).room.id)
    assert (run.nickname, run.number, run.test_accuracy) == ("Ana", 1, 0.91)
    assert run.label == "Run 1 · MLP · 2 epochs · dropout 0.25" and run.model_path.read_bytes() == b"model"
    assert tuned.label == "Run 2 · MLP · 2 epochs · dropout 0.25 · fine-tuned on their drawings (stopped)"


# --- the presenter key ---------------------------------------------------------------------------


def test_the_presenter_key_comes_from_configuration_or_is_generated() -> None:
    configured = PresenterKey.from_env({"DIGIT_STUDIO_PRESENTER_KEY": " a-long-key "})
    assert (configured.value, configured.generated) == ("a-long-key", False)
    assert configured.matches("a-long-key") and not configured.matches("a-long-kez") and not configured.matches(None)
    assert KEY not in repr(PresenterKey(KEY, False))
    for env in ({}, {"DIGIT_STUDIO_PRESENTER_KEY": "short"}):
        made = PresenterKey.from_env(env)
        assert made.generated and len(made.value) >= MIN_LENGTH
        assert made.value != PresenterKey.from_env(env).value


def test_a_proof_of_the_key_proves_only_that_key() -> None:
    key = PresenterKey(KEY, False)
    proof = key.proof()
    assert KEY not in proof and key.proves(proof) and PresenterKey(KEY, True).proves(proof)
    assert not PresenterKey(KEY + "2", False).proves(proof) and not key.proves(None) and not key.proves(proof[:-1])
