"""Who saved which model in ``models/``: each person may save a few, and delete (or replace) only their own.

The card of a model saved from the app records its owner
(:attr:`core.identity.Identity.owner`, a one-way key, never the cookie).
Models without an owner (the bundled one, those made by the command line or
before owners were recorded) belong to nobody here: nobody can delete or
replace them from the app.

Nothing here imports streamlit.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.storage import DEFAULT_MODEL, MODELS_DIR, SavedModel, list_models, validate_name

__all__ = ["OWNER_FIELD", "NotYours", "delete_owned", "forget_models", "owned_models", "save_problem"]

#: The card field that holds the owner key.
OWNER_FIELD = "owner"


class NotYours(PermissionError):
    """A saved model that this person did not save (or that nobody saved from the app)."""


def owned_models(owner: str, directory: str | os.PathLike[str] = MODELS_DIR) -> list[SavedModel]:
    """The models ``owner`` saved, by name."""
    return [m for m in list_models(directory) if not m.is_default and m.card.get(OWNER_FIELD) == owner]


def save_problem(
    owner: str, name: str, limit: int, replace: bool = False, directory: str | os.PathLike[str] = MODELS_DIR
) -> str | None:
    """Why ``owner`` may not save a model as ``name`` now, or None when they may.

    Args:
        owner: Who is saving.
        name: The (valid) name they chose.
        limit: Models one person may save.
        replace: Whether they asked to replace a model of that name.
        directory: The models folder.

    Returns:
        A message fit to show them, or None.
    """
    existing = Path(directory) / f"{name}.keras"
    if existing.exists():
        if not replace:
            return None  # saving refuses a taken name by itself (ModelExists), with its own message
        if not any(m.name == name for m in owned_models(owner, directory)):
            return f"“{name}” was saved by someone else: only they can replace it. Choose another name."
        return None
    count = len(owned_models(owner, directory))
    if count >= limit:
        return (
            f"You have saved {count} models, the most one person may keep in models/ ({limit}). "
            "Delete one of yours first."
        )
    return None


def delete_owned(owner: str, name: str, directory: str | os.PathLike[str] = MODELS_DIR) -> None:
    """Delete ``owner``'s saved model ``name`` (its file, then its card).

    Raises:
        InvalidModelName: ``name`` is not a model name.
        NotYours: The model is not theirs (or not there).
    """
    name = validate_name(name, allow_default=True)
    if name == DEFAULT_MODEL or not any(m.name == name for m in owned_models(owner, directory)):
        raise NotYours(f"“{name}” is not one of your saved models.")
    path = Path(directory) / f"{name}.keras"
    path.unlink(missing_ok=True)  # the model first: a card alone is not listed
    path.with_suffix(".json").unlink(missing_ok=True)


def forget_models(owner: str, directory: str | os.PathLike[str] = MODELS_DIR) -> int:
    """Delete every model ``owner`` saved; returns how many."""
    mine = owned_models(owner, directory)
    for model in mine:
        delete_owned(owner, model.name, directory)
    return len(mine)
