"""core.model_index: the models folder listed from an index kept in step with saves and deletes, rebuilt when stale."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import core.model_index as model_index_module
from core.model_index import INDEX_FOLDER, SETTLE_NS, ModelIndex, model_index, saved_models
from core.model_owners import delete_owned, save_owned

ALICE, BOB = "a" * 32, "b" * 32
SECOND = 1_000_000_000


class FakeModel:
    """Just enough of a keras.Model to be saved: ``save(path)`` writes a few bytes."""

    def __init__(self, payload: bytes = b"zip") -> None:
        self.payload = payload

    def save(self, path) -> None:
        Path(path).write_bytes(self.payload)


def put(folder: Path, name: str, owner: str | None = None) -> None:
    """A model copied into the folder by hand (not through the app)."""
    (folder / f"{name}.keras").write_bytes(b"zip")
    (folder / f"{name}.json").write_text(json.dumps({"name": name} | ({"owner": owner} if owner else {})))


def settle(folder: Path) -> None:
    """Date the folder's last change two settle periods back, as if it had been still since."""
    past = time.time_ns() - 2 * SETTLE_NS
    os.utime(folder, ns=(past, past))


def listing(folder: Path) -> list[tuple[str, str | None]]:
    return [(m.name, m.owner) for m in ModelIndex(folder).models()]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    put(tmp_path, "default")
    put(tmp_path, "zeta", BOB)
    put(tmp_path, "Alpha", ALICE)
    (tmp_path / ".beta.k2j3l4.tmp.keras").write_bytes(b"half")  # an interrupted save
    (tmp_path / "bad name.keras").write_bytes(b"x")
    (tmp_path / "orphan.json").write_text("{}")
    (tmp_path / "nocard.keras").write_bytes(b"x")
    settle(tmp_path)
    return tmp_path


@pytest.fixture
def card_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every card the index reads."""
    reads: list[Path] = []
    real = model_index_module.read_card

    def counted(path: Path) -> dict:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(model_index_module, "read_card", counted)
    return reads


def test_the_index_lists_the_folder_default_first_with_owners(folder: Path) -> None:
    assert listing(folder) == [("default", None), ("Alpha", ALICE), ("nocard", None), ("zeta", BOB)]
    assert ModelIndex(folder).owned(ALICE)[0].name == "Alpha" and ModelIndex(folder).get("ALPHA").name == "Alpha"
    assert ModelIndex(folder / "missing").models() == ()


def test_the_index_is_written_beside_the_models_and_read_by_the_next_process(folder: Path, card_reads) -> None:
    ModelIndex(folder).models()
    written = json.loads((folder / INDEX_FOLDER / "models.json").read_text())
    assert [m[:2] for m in written["models"]] == [["default", None], ["Alpha", ALICE], ["nocard", None], ["zeta", BOB]]
    card_reads.clear()
    assert listing(folder)[1] == ("Alpha", ALICE)  # a new process: from the file, no card read
    assert card_reads == []


def test_listing_again_reads_no_card_and_a_new_model_costs_one_read(folder: Path, card_reads) -> None:
    index = ModelIndex(folder)
    index.models()
    assert len(card_reads) == 3  # the first scan: every model with a card (nocard has none)
    card_reads.clear()
    for _ in range(5):
        index.models()
    assert card_reads == []
    put(folder, "new", ALICE)
    settle(folder)
    assert [m.name for m in index.owned(ALICE)] == ["Alpha", "new"]
    assert card_reads == [folder / "new.keras"]


@pytest.mark.parametrize("damage", ["missing", "garbage", "old format", "not a list"])
def test_a_missing_or_damaged_index_is_rebuilt_from_the_folder(folder: Path, damage: str) -> None:
    expected = listing(folder)
    index_file = folder / INDEX_FOLDER / "models.json"
    if damage == "missing":
        index_file.unlink()
    else:
        text = {"garbage": "{not json", "old format": '{"version": 0}', "not a list": '{"version": 1, "models": 3}'}
        index_file.write_text(text[damage])
    assert listing(folder) == expected
    assert json.loads(index_file.read_text())["version"] == 1


def test_models_added_or_removed_by_hand_make_the_index_stale(folder: Path) -> None:
    index = model_index(folder)
    assert [m.name for m in saved_models(folder)][-1] == "zeta"
    put(folder, "zz-by-hand")
    (folder / "zeta.keras").unlink()
    settle(folder)
    assert [m.name for m in index.models()][-1] == "zz-by-hand" and index.get("zeta") is None


def test_a_change_in_the_same_clock_tick_as_the_scan_is_seen_once_the_folder_settles(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ModelIndex(folder).models()  # the index's own folder exists (making it is a change of the folder)
    tick = folder.stat().st_mtime_ns + 10 * SECOND
    os.utime(folder, ns=(tick, tick))
    now = [tick + SECOND // 2]
    monkeypatch.setattr(model_index_module.time, "time_ns", lambda: now[0])
    index = ModelIndex(folder)
    index.models()  # scanned half a second after the folder changed
    put(folder, "same-tick")
    os.utime(folder, ns=(tick, tick))  # a coarse clock: the folder's time did not move
    now[0] = tick + SECOND
    assert index.get("same-tick") is None  # not seen yet: the folder has not settled
    now[0] = tick + SETTLE_NS + 1
    assert index.get("same-tick") is not None


def test_saves_and_deletes_keep_the_index_in_step(folder: Path) -> None:
    index_file = folder / INDEX_FOLDER / "models.json"

    def in_file() -> list[str]:
        return [m[0] for m in json.loads(index_file.read_text())["models"]]

    save_owned(FakeModel(), "mine", ALICE, {"name": "mine"}, directory=folder)
    assert model_index(folder).get("mine").owner == ALICE and "mine" in in_file()
    delete_owned(ALICE, "mine", folder)
    assert model_index(folder).get("mine") is None and "mine" not in in_file()


def test_a_listing_during_a_save_gets_the_models_from_before_it(folder: Path) -> None:
    index = model_index(folder)
    before = index.models()

    class SlowModel(FakeModel):
        def save(self, path) -> None:
            super().save(path)
            # The folder has changed (a temporary file) and the save holds the lock: a reader does not wait.
            assert ModelIndex(folder).models() == before

    save_owned(SlowModel(), "slow", ALICE, {}, directory=folder)
    assert index.get("slow") is not None
