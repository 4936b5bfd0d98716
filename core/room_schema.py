"""The rooms' tables in the store's database, and what a read of them returns.

Rooms live in the store's SQLite file (``store.sqlite`` in the data folder)
beside the runs, in tables of their own, created on first use:

* ``rooms``: a name, when it was opened and closed, and a version that grows
  whenever the room's set of drawings changes (scores are cached per version).
  A closed room keeps its row, without members or drawings, so an old link
  says "closed" rather than "unknown".
* ``room_members``: who joined (their owner key, never shown) under which nickname.
* ``room_drawings``: copies of the drawings participants shared (784 bytes
  each), with their label, whether the presenter hid them, and the
  contributor's own key for the drawing, so sharing one twice adds it once.

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Contribution", "Member", "Room", "RoomDrawing", "RoomRun", "RoomSet", "ShareReport", "create_tables"]

ROOM_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    created REAL NOT NULL,
    touched REAL NOT NULL,
    closed REAL,
    version INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS open_room_names ON rooms (name_key) WHERE closed IS NULL;
CREATE TABLE IF NOT EXISTS room_members (
    room INTEGER NOT NULL,
    owner TEXT NOT NULL,
    nickname TEXT NOT NULL,
    nickname_key TEXT NOT NULL,
    joined REAL NOT NULL,
    PRIMARY KEY (room, owner),
    UNIQUE (room, nickname_key)
);
CREATE INDEX IF NOT EXISTS room_members_by_owner ON room_members (owner);
CREATE TABLE IF NOT EXISTS room_drawings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room INTEGER NOT NULL,
    owner TEXT NOT NULL,
    source TEXT NOT NULL,
    label INTEGER NOT NULL,
    image BLOB NOT NULL,
    hidden INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    UNIQUE (room, owner, source)
);
CREATE INDEX IF NOT EXISTS room_drawings_by_owner ON room_drawings (owner, created);
"""


def create_tables(db: sqlite3.Connection) -> None:
    """Create the rooms' tables where they are missing (inside the caller's transaction)."""
    for statement in ROOM_SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


@dataclass(frozen=True)
class Room:
    """A room.

    Attributes:
        id: Its row (a reopened name is a new room).
        name: As the presenter typed it.
        created: When it was opened (Unix seconds).
        closed: When it was closed, or None while open.
        version: Grows whenever its set of drawings changes.
    """

    id: int
    name: str
    created: float
    closed: float | None
    version: int

    @property
    def is_open(self) -> bool:
        """Whether people can still join and share."""
        return self.closed is None


@dataclass(frozen=True)
class Member:
    """A person in a room, as the room knows them: the room and their nickname."""

    room: Room
    nickname: str


@dataclass(frozen=True)
class Contribution:
    """A labelled drawing a person offers a room.

    Attributes:
        source: The person's own key for it (their collection's id): sharing it again adds nothing.
        image: (28, 28) ``uint8``, white digit on black (what the model saw).
        label: The digit it is, 0-9.
    """

    source: str
    image: np.ndarray
    label: int


@dataclass(frozen=True)
class RoomDrawing:
    """A drawing shared with a room, as the room shows it.

    Attributes:
        id: Its row in the room.
        label: The digit it is.
        image: (28, 28) ``uint8``.
        nickname: Who shared it (their nickname only).
        hidden: Whether the presenter hid it (hidden drawings are in no set, score or export).
        mine: Whether the person asking shared it.
        source: The contributor's own key for it (only filled in for their own drawings).
    """

    id: int
    label: int
    image: np.ndarray
    nickname: str
    hidden: bool
    mine: bool = False
    source: str | None = None


@dataclass(frozen=True)
class RoomSet:
    """A room's visible drawings as a test set.

    Attributes:
        ids: (N,) the drawings' ids (a score is cached per model and drawing).
        images: (N, 28, 28) ``uint8``.
        labels: (N,) ``uint8``.
        version: The room's version they were read at.
        room: The room's id (0: none, a set made elsewhere).
    """

    ids: np.ndarray
    images: np.ndarray
    labels: np.ndarray
    version: int
    room: int = 0


@dataclass(frozen=True)
class RoomRun:
    """A participant's finished training run, as the leaderboard shows it.

    Attributes:
        nickname: Whose (the nickname only).
        number: The run's number for its owner.
        arch: ``"mlp"`` or ``"cnn"``.
        epochs: Its epochs setting.
        dropout: Its dropout setting.
        stopped: Whether it was stopped early.
        test_accuracy: On MNIST's test set.
        model_path: Its model file (scored on the room's drawings).
        title: What the board calls it instead of its number and settings (the bundled model).
        finetuned: Whether it was fine-tuned on its owner's drawings (which may be among the room's).
    """

    nickname: str
    number: int
    arch: str
    epochs: int
    dropout: float
    stopped: bool
    test_accuracy: float
    model_path: Path
    title: str | None = None
    finetuned: bool = False

    @property
    def label(self) -> str:
        """E.g. ``Run 2 · CNN · 3 epochs · dropout 0.3``."""
        if self.title is not None:
            return self.title
        stopped = " (stopped)" if self.stopped else ""
        tuned = " · fine-tuned on their drawings" if self.finetuned else ""
        epochs = f"{self.epochs} epoch{'' if self.epochs == 1 else 's'}"
        return f"Run {self.number} · {self.arch.upper()} · {epochs} · dropout {self.dropout:g}{tuned}{stopped}"


@dataclass(frozen=True)
class ShareReport:
    """What became of the drawings a person offered a room.

    Attributes:
        added: Drawings now in the room.
        already: Drawings that were in the room already (shared before).
        problems: Why the others were not added, one sentence each (plain text).
    """

    added: int
    already: int = 0
    problems: tuple[str, ...] = ()
