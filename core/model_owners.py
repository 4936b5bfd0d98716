"""Who saved which model in ``models/``: names nobody else can take over, a few models each, a bounded folder.

The card of a model saved from the app records its owner
(:attr:`core.identity.Identity.owner`, a one-way key, never the cookie).
Models without an owner (the bundled one, those made by the command line or
before owners were recorded) belong to nobody here: nobody can delete or
replace them from the app.

A save checks the name, the owner and the caps and writes the files while it
holds the models folder (:meth:`core.model_index.ModelIndex.changing`), so two
people saving the same name at once cannot overwrite each other: the second
is told the name is taken. Names are compared case-insensitively (``Digits``
and ``digits`` would be one file on some systems, and look alike to people).

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.model_index import OWNER_FIELD, IndexedModel, model_index
from core.storage import DEFAULT_MODEL, MODELS_DIR, ModelExists, save_model, validate_name
from core.text import plain

if TYPE_CHECKING:
    import keras

__all__ = [
    "OWNER_FIELD",
    "FolderFull",
    "NameTaken",
    "NotYours",
    "TooManyModels",
    "delete_owned",
    "forget_models",
    "owned_models",
    "save_owned",
]


class NotYours(PermissionError):
    """A saved model that this person did not save (or that nobody saved from the app)."""


class NameTaken(PermissionError):
    """Someone else's model (or one saved outside the app) has that name: nothing is written."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Someone else has saved a model named “{plain(name, 64)}”: choose another name.")
        self.name = name


class TooManyModels(PermissionError):
    """The person has saved as many models as one person may keep."""


class FolderFull(PermissionError):
    """The models folder holds as many saved models as it may."""


def owned_models(owner: str, directory: str | os.PathLike[str] = MODELS_DIR) -> list[IndexedModel]:
    """The models ``owner`` saved, by name (from the index: no card is read)."""
    return model_index(directory).owned(owner)


def save_owned(
    model: keras.Model,
    name: str,
    owner: str,
    card: dict[str, Any],
    *,
    replace: bool = False,
    per_person: int = 5,
    total: int = 200,
    directory: str | os.PathLike[str] = MODELS_DIR,
) -> Path:
    """Save ``owner``'s ``model`` as ``NAME.keras`` (and its card), unless the name or a cap forbids it.

    Args:
        model: The model to save.
        name: The name they chose (checked by :func:`core.storage.validate_name`).
        owner: Who is saving; recorded in the card.
        card: The model's card.
        replace: Replace their own model of that name.
        per_person: Models one person may keep.
        total: Models the folder may hold (the bundled one not counted).
        directory: The models folder.

    Returns:
        The path written.

    Raises:
        InvalidModelName: The name is not allowed.
        NameTaken: A model of that name is someone else's (``replace`` or not).
        ModelExists: They have a model of that name and ``replace`` is False.
        TooManyModels: A new name, and they have ``per_person`` models already.
        FolderFull: A new name, and the folder holds ``total`` models already.
        OSError: The files could not be written (a model replaced is left as it was).
    """
    name = validate_name(name)
    with model_index(directory).changing() as index:
        taken = index.get(name)
        if taken is not None and taken.owner != owner:
            raise NameTaken(taken.name)
        if taken is not None and not replace:
            raise ModelExists(taken.name)
        if taken is None:
            mine = len(index.owned(owner))
            if mine >= per_person:
                raise TooManyModels(
                    f"You have saved {mine} models, the most one person may keep in models/ ({per_person}). "
                    "Delete one of yours first."
                )
            if sum(not m.is_default for m in index.models()) >= total:
                raise FolderFull(
                    f"The models folder is full: it keeps at most {total} saved models. "
                    "Delete one of yours, or ask whoever runs the app to make room."
                )
        path = save_model(model, Path(directory) / f"{name}.keras", card | {OWNER_FIELD: owner})
        if taken is not None and taken.name != name:  # replaced under another spelling: one model of that name
            _remove(Path(directory), taken.name)
        return path


def _remove(directory: Path, name: str) -> None:
    """Remove a model's file, then its card (a card alone is not listed)."""
    path = directory / f"{name}.keras"
    path.unlink(missing_ok=True)
    path.with_suffix(".json").unlink(missing_ok=True)


def delete_owned(owner: str, name: str, directory: str | os.PathLike[str] = MODELS_DIR) -> None:
    """Delete ``owner``'s saved model ``name`` (its file, then its card).

    Raises:
        InvalidModelName: ``name`` is not a model name.
        NotYours: The model is not theirs (or not there).
    """
    name = validate_name(name, allow_default=True)
    with model_index(directory).changing() as index:
        found = index.get(name)
        if name == DEFAULT_MODEL or found is None or found.name != name or found.owner != owner:
            raise NotYours(f"“{plain(name, 64)}” is not one of your saved models.")
        _remove(Path(directory), name)


def forget_models(owner: str, directory: str | os.PathLike[str] = MODELS_DIR) -> int:
    """Delete every model ``owner`` saved; returns how many."""
    with model_index(directory).changing() as index:
        mine = index.owned(owner)
        for model in mine:
            _remove(Path(directory), model.name)
    return len(mine)
