"""core.model_owners: people save, replace and delete only their own models; names never collide silently; caps."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from core.model_owners import (
    FolderFull,
    NameTaken,
    NotYours,
    TooManyModels,
    delete_owned,
    forget_models,
    owned_models,
    save_owned,
)
from core.storage import InvalidModelName, ModelExists, read_card

ALICE, BOB = "a" * 32, "b" * 32


class FakeModel:
    """Just enough of a keras.Model to be saved: ``save(path)`` writes its payload (slowly if asked)."""

    def __init__(self, payload: bytes = b"zip", seconds: float = 0.0) -> None:
        self.payload, self.seconds = payload, seconds

    def save(self, path) -> None:
        time.sleep(self.seconds)
        Path(path).write_bytes(self.payload)


@pytest.fixture
def models(tmp_path: Path) -> Path:
    def saved(name: str, owner: str | None) -> None:
        (tmp_path / f"{name}.keras").write_bytes(b"zip")
        card = {"name": name} | ({"owner": owner} if owner else {})
        (tmp_path / f"{name}.json").write_text(json.dumps(card))

    saved("default", None)
    saved("alice-1", ALICE)
    saved("alice-2", ALICE)
    saved("bob-1", BOB)
    saved("old", None)
    return tmp_path


def save(models: Path, owner: str, name: str, payload: bytes = b"new", **kwargs) -> Path:
    return save_owned(FakeModel(payload), name, owner, {"name": name}, directory=models, **kwargs)


def test_owned_models_are_those_whose_card_names_the_owner(models: Path) -> None:
    assert [m.name for m in owned_models(ALICE, models)] == ["alice-1", "alice-2"]
    assert [m.name for m in owned_models(BOB, models)] == ["bob-1"]


def test_a_save_records_its_owner_in_the_card(models: Path) -> None:
    path = save(models, BOB, "bob-2")
    assert read_card(path) == {"name": "bob-2", "owner": BOB} and path.read_bytes() == b"new"


@pytest.mark.parametrize("name", ["bob-1", "BOB-1", "old", "Old"])
@pytest.mark.parametrize("replace", [False, True])
def test_a_name_someone_else_saved_gets_a_clear_message_never_an_overwrite(models: Path, name: str, replace: bool):
    with pytest.raises(NameTaken, match="Someone else has saved a model named .*: choose another name"):
        save(models, ALICE, name, replace=replace)
    assert {p.name for p in models.glob("*.keras")} == {
        f"{n}.keras" for n in ("default", "alice-1", "alice-2", "bob-1", "old")
    }
    assert (models / f"{name.lower()}.keras").read_bytes() == b"zip"


def test_the_collision_message_shows_the_name_as_plain_text(models: Path) -> None:
    save(models, BOB, "__bold__")
    with pytest.raises(NameTaken) as caught:
        save(models, ALICE, "__bold__")
    assert "\\_\\_bold\\_\\_" in str(caught.value)  # Markdown would show **bold** otherwise


def test_one_s_own_name_is_replaced_only_when_asked(models: Path) -> None:
    with pytest.raises(ModelExists):
        save(models, ALICE, "alice-1")
    assert (models / "alice-1.keras").read_bytes() == b"zip"
    save(models, ALICE, "alice-1", replace=True)
    assert (models / "alice-1.keras").read_bytes() == b"new" and read_card(models / "alice-1.keras")["owner"] == ALICE


def test_replacing_under_another_spelling_leaves_one_model(models: Path) -> None:
    save(models, ALICE, "ALICE-1", replace=True)
    assert [m.name for m in owned_models(ALICE, models)] == ["ALICE-1", "alice-2"]
    assert not (models / "alice-1.keras").exists() and not (models / "alice-1.json").exists()


def test_two_people_saving_one_name_at_once_never_overwrite_each_other(models: Path) -> None:
    outcomes: dict[str, object] = {}

    def attempt(owner: str, payload: bytes) -> None:
        try:
            save_owned(FakeModel(payload, 0.2), "race", owner, {}, replace=True, directory=models)
            outcomes[owner] = "saved"
        except NameTaken as exc:
            outcomes[owner] = exc

    threads = [threading.Thread(target=attempt, args=(who, who.encode())) for who in (ALICE, BOB)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    winner = next(who for who, outcome in outcomes.items() if outcome == "saved")
    loser = ALICE if winner == BOB else BOB
    assert isinstance(outcomes[loser], NameTaken)
    assert (models / "race.keras").read_bytes() == winner.encode() and read_card(models / "race.keras")[
        "owner"
    ] == winner


def test_the_cap_per_person_counts_their_own_models(models: Path) -> None:
    save(models, ALICE, "alice-3", per_person=3)
    with pytest.raises(TooManyModels, match="the most one person may keep in models/ \\(3\\)"):
        save(models, ALICE, "alice-4", per_person=3)
    save(models, BOB, "bob-2", per_person=3)  # someone else's count is their own
    save(models, ALICE, "alice-1", per_person=3, replace=True)  # replacing adds none
    assert not (models / "alice-4.keras").exists()


def test_the_folder_cap_counts_everyone_but_not_the_bundled_model(models: Path) -> None:
    save(models, BOB, "bob-2", total=5)  # alice-1, alice-2, bob-1, old, bob-2: the default does not count
    with pytest.raises(FolderFull, match="at most 5 saved models"):
        save(models, "c" * 32, "carol-1", total=5)
    save(models, BOB, "bob-2", total=5, replace=True)  # replacing adds none
    delete_owned(BOB, "bob-2", models)
    save(models, "c" * 32, "carol-1", total=5)


def test_an_owner_deletes_their_own_model_and_its_card(models: Path) -> None:
    delete_owned(ALICE, "alice-1", models)
    assert not (models / "alice-1.keras").exists() and not (models / "alice-1.json").exists()
    assert [m.name for m in owned_models(ALICE, models)] == ["alice-2"]


@pytest.mark.parametrize("name", ["bob-1", "old", "default", "missing", "ALICE-1"])
def test_nobody_deletes_a_model_that_is_not_theirs(models: Path, name: str) -> None:
    with pytest.raises(NotYours):
        delete_owned(ALICE, name, models)
    assert (models / f"{name.lower()}.keras").exists() or name == "missing"


@pytest.mark.parametrize("name", ["../default", "", "a b"])
def test_a_bad_name_is_refused(models: Path, name: str) -> None:
    with pytest.raises(InvalidModelName):
        delete_owned(ALICE, name, models)
    with pytest.raises(InvalidModelName):
        save(models, ALICE, name)


def test_forget_models_deletes_all_of_a_persons_models_only(models: Path) -> None:
    assert forget_models(ALICE, models) == 2
    assert owned_models(ALICE, models) == [] and [m.name for m in owned_models(BOB, models)] == ["bob-1"]
