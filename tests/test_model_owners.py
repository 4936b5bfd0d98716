"""core.model_owners: saved models record who saved them; a person deletes or replaces only their own, up to a cap."""

from __future__ import annotations

import json

import pytest

from core.model_owners import NotYours, delete_owned, forget_models, owned_models, save_problem
from core.storage import InvalidModelName

ALICE, BOB = "a" * 32, "b" * 32


@pytest.fixture
def models(tmp_path):
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


def test_owned_models_are_those_whose_card_names_the_owner(models):
    assert [m.name for m in owned_models(ALICE, models)] == ["alice-1", "alice-2"]
    assert [m.name for m in owned_models(BOB, models)] == ["bob-1"]


def test_an_owner_deletes_their_own_model_and_its_card(models):
    delete_owned(ALICE, "alice-1", models)
    assert not (models / "alice-1.keras").exists() and not (models / "alice-1.json").exists()


@pytest.mark.parametrize("name", ["bob-1", "old", "default", "missing"])
def test_nobody_deletes_a_model_that_is_not_theirs(models, name):
    with pytest.raises(NotYours):
        delete_owned(ALICE, name, models)
    assert (models / f"{name}.keras").exists() or name == "missing"


def test_a_bad_name_is_refused(models):
    with pytest.raises(InvalidModelName):
        delete_owned(ALICE, "../default", models)


def test_the_cap_counts_a_persons_own_models(models):
    assert save_problem(ALICE, "alice-3", limit=3, directory=models) is None
    assert "most one person" in save_problem(ALICE, "alice-3", limit=2, directory=models)
    assert save_problem(BOB, "bob-2", limit=2, directory=models) is None
    assert save_problem(ALICE, "alice-1", limit=2, replace=True, directory=models) is None  # replacing adds none


@pytest.mark.parametrize("name", ["bob-1", "old"])
def test_nobody_replaces_a_model_that_is_not_theirs(models, name):
    assert "someone else" in save_problem(ALICE, name, limit=5, replace=True, directory=models)


def test_forget_models_deletes_all_of_a_persons_models_only(models):
    assert forget_models(ALICE, models) == 2
    assert owned_models(ALICE, models) == [] and [m.name for m in owned_models(BOB, models)] == ["bob-1"]
