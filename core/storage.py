"""Saved models: safe names, atomic writes, model cards, listing.

A model ``NAME`` lives in ``models/NAME.keras`` with its card ``models/NAME.json``
(architecture, hyperparameters, test accuracy, how it was made). Files are
written to a temporary name in the same folder and renamed into place, so a
crash mid-save never leaves a broken model behind.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.text import plain

if TYPE_CHECKING:  # Keras (and TensorFlow) load only when a model is saved, not to list or name one
    import keras

__all__ = [
    "DEFAULT_MODEL",
    "MODELS_DIR",
    "NAME_PATTERN",
    "InvalidModelName",
    "ModelExists",
    "SavedModel",
    "validate_name",
    "save_model",
    "save_new",
    "model_bytes",
    "write_card",
    "read_card",
    "list_models",
]

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = "default"
#: What a model name may be: 1-64 letters, digits, '-' or '_'.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InvalidModelName(ValueError):
    """A model name that is empty, too long, reserved, or has forbidden characters."""


class ModelExists(Exception):
    """A model of that name is saved already (and replacing it was not asked for).

    Not an ``OSError``: callers that report failed writes do not mistake it for one.

    Attributes:
        name: The name that is taken.
    """

    def __init__(self, name: str) -> None:
        super().__init__(f"A model named “{plain(name, 64)}” already exists.")
        self.name = name


@dataclass(frozen=True)
class SavedModel:
    """A model file in the models folder.

    Attributes:
        name: The model's name (file stem).
        path: The ``.keras`` file.
        card: Its card (empty when there is none or it is unreadable).
    """

    name: str
    path: Path
    card: dict[str, Any]

    @property
    def is_default(self) -> bool:
        """Whether this is the bundled default model."""
        return self.name == DEFAULT_MODEL


def validate_name(name: str, allow_default: bool = False) -> str:
    """Check a user-chosen model name.

    Args:
        name: The name typed by the user.
        allow_default: Allow the reserved name ``default`` (only the rebuild command does).

    Returns:
        The name, stripped of surrounding spaces.

    Raises:
        InvalidModelName: With a message fit to show the user.
    """
    name = (name or "").strip()
    if not name:
        raise InvalidModelName("Give the model a name.")
    if not NAME_PATTERN.match(name):
        raise InvalidModelName(
            f"“{plain(name)}” is not a valid name: use 1-64 letters, digits, '-' or '_' (no spaces, '/', or '..')."
        )
    if name.lower() == DEFAULT_MODEL and not allow_default:
        raise InvalidModelName("“default” is the bundled model's name; choose another.")
    return name


def _atomic_write(path: Path, write: Any, suffix: str) -> None:
    """Write via ``write(temp_path)`` to a temp file beside ``path``, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp" + suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; saved models are ordinary files
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_card(path: Path, card: dict[str, Any]) -> None:
    """Atomically write a model card (JSON) to ``path``."""
    text = json.dumps(card, indent=2, sort_keys=True, default=str) + "\n"
    _atomic_write(path, lambda tmp: tmp.write_text(text), ".json")


def save_model(model: keras.Model, path: str | os.PathLike[str], card: dict[str, Any] | None = None) -> Path:
    """Save ``model`` atomically to ``path`` (a ``.keras`` file), with an optional card beside it.

    Args:
        model: The model to save.
        path: Destination; must end in ``.keras``.
        card: Metadata written to the same name with ``.json``.

    Returns:
        The path written.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model files end in .keras, got {path.name}")
    _atomic_write(path, lambda tmp: model.save(tmp), ".keras")
    if card is not None:
        write_card(path.with_suffix(".json"), card)
    return path


def save_new(
    model: keras.Model,
    name: str,
    card: dict[str, Any] | None = None,
    replace: bool = False,
    directory: str | os.PathLike[str] = MODELS_DIR,
) -> Path:
    """Save ``model`` as ``NAME.keras`` in ``directory``, unless that name is taken.

    Args:
        model: The model to save.
        name: The user's name for it (checked by :func:`validate_name`).
        card: Its card, written beside it as ``NAME.json``.
        replace: Overwrite a model saved under the same name.
        directory: The models folder.

    Returns:
        The path written.

    Raises:
        InvalidModelName: The name is not allowed.
        ModelExists: A model of that name exists and ``replace`` is False (nothing is written).
        OSError: The files could not be written (an existing model is left as it was).
    """
    name = validate_name(name)
    path = Path(directory) / f"{name}.keras"
    if path.exists() and not replace:
        raise ModelExists(name)
    return save_model(model, path, card)


def model_bytes(model: keras.Model) -> bytes:
    """The model as the bytes of a ``.keras`` file (for a download), written via a temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        return path.read_bytes()


def read_card(path: Path) -> dict[str, Any]:
    """The card beside a model file, or ``{}`` if missing or unreadable."""
    try:
        card = json.loads(path.with_suffix(".json").read_text())
        return card if isinstance(card, dict) else {}
    except (OSError, ValueError):
        return {}


def list_models(directory: str | os.PathLike[str] = MODELS_DIR) -> list[SavedModel]:
    """The models in ``directory``, each with its card: the default first, then the rest by name.

    Reads every card, so its cost grows with the number of models (about
    0.15 ms each): to list models, the app uses :mod:`core.model_index`.
    Temporary files of interrupted saves (hidden names) are skipped.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [
        SavedModel(p.stem, p, read_card(p))
        for p in directory.glob("*.keras")
        if not p.name.startswith(".") and NAME_PATTERN.match(p.stem)
    ]
    return sorted(found, key=lambda m: (not m.is_default, m.name.lower()))
