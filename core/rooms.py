"""Rooms: a presenter's room that participants join under a nickname and share labelled drawings with.

A presenter (whoever holds the presenter key, :mod:`core.presenter`) opens a
room by name; participants join it with that name and a nickname unique in
the room, and may share their labelled drawings with it (copies: each drawing
or all of them, checked, rate-limited per person and capped per person and
per room, :mod:`core.room_rules`). The presenter can hide drawings, export
the room's set as an ``.npz`` that ``core.data.load_digit_set`` reads back,
and close the room, which deletes its members and drawings and leaves only
its name, so a stale link says "closed". Every presenter action checks the
key here, not only in the page.

What anyone but the presenter reads of a room is its nicknames and the
drawings shared with it: never an owner key, and never a drawing that was not
shared. Leaving a room (or "Forget my data") withdraws everything the person
shared with it.

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from core.presenter import PresenterKey, presenter_key
from core.room_drawings import RoomDrawings
from core.room_rules import (
    NAME_LENGTH,
    NameTaken,
    NotAMember,
    RoomClosed,
    RoomError,
    RoomLimits,
    UnknownRoom,
    WrongKey,
    check_name,
    name_key,
)
from core.room_schema import Member, Room, RoomRun, create_tables
from core.store import Store, open_store
from core.store_limits import data_folder

__all__ = [
    "NameTaken",
    "NotAMember",
    "RoomClosed",
    "RoomError",
    "Rooms",
    "UnknownRoom",
    "WrongKey",
    "open_rooms",
]

WRONG_KEY = "That presenter key is not right (one from before the server restarted? Its log shows the current one)."


def _room(row: sqlite3.Row) -> Room:
    return Room(row["id"], row["name"], row["created"], row["closed"], row["version"])


class Rooms:
    """Every room of one data folder.

    Args:
        store: The store whose database holds the rooms (and whose clock dates them).
        key: The presenter key.
        limits: Caps and the rate limit (default: from the environment).
    """

    def __init__(self, store: Store, key: PresenterKey, limits: RoomLimits | None = None) -> None:
        self.store, self.key, self.limits = store, key, limits or RoomLimits.from_env()
        self.clock = store.clock
        with store.transaction() as db:
            create_tables(db)
        self.drawings = RoomDrawings(self)

    def check_key(self, key: object) -> None:
        """Raise :class:`WrongKey` unless ``key`` is the presenter key."""
        if not self.key.matches(key):
            raise WrongKey(WRONG_KEY)

    # -- rooms ------------------------------------------------------------------------
    def open_room(self, name: object, key: object) -> Room:
        """Open a room called ``name`` (the presenter's action).

        Raises:
            WrongKey: ``key`` is not the presenter key.
            RoomError: The name is not valid.
            NameTaken: An open room has that name.
        """
        self.check_key(key)
        try:
            name = check_name(name, "A room's name", NAME_LENGTH)
        except ValueError as exc:
            raise RoomError(str(exc)) from None
        now = self.clock()
        try:
            with self.store.transaction() as db:
                db.execute(
                    "INSERT INTO rooms (name, name_key, created, touched) VALUES (?, ?, ?, ?)",
                    (name, name_key(name), now, now),
                )
        except sqlite3.IntegrityError:
            raise NameTaken(f"A room called “{name}” is open already.") from None
        return self.find(name)

    def find(self, name: object) -> Room:
        """The open room called ``name`` (any case).

        Raises:
            UnknownRoom: No room was ever called that.
            RoomClosed: The latest room of that name was closed (a stale link).
        """
        try:
            name = check_name(name, "A room's name", NAME_LENGTH)
        except ValueError:
            raise UnknownRoom("There is no room of that name: check it with your presenter.") from None
        rows = self.store.query(
            "SELECT * FROM rooms WHERE name_key=? ORDER BY closed IS NULL DESC, id DESC LIMIT 1", (name_key(name),)
        )
        if not rows:
            raise UnknownRoom(f"There is no room called “{name}”: check the name with your presenter.")
        room = _room(rows[0])
        if not room.is_open:
            raise RoomClosed(f"Room “{room.name}” was closed by its presenter.")
        return room

    def get(self, room_id: int) -> Room:
        """Room ``room_id`` as it is now (open or closed).

        Raises:
            UnknownRoom: No such room.
        """
        rows = self.store.query("SELECT * FROM rooms WHERE id=?", (room_id,))
        if not rows:
            raise UnknownRoom("That room no longer exists.")
        return _room(rows[0])

    def open_rooms(self) -> list[Room]:
        """Every open room, newest first."""
        return [_room(r) for r in self.store.query("SELECT * FROM rooms WHERE closed IS NULL ORDER BY id DESC")]

    def close(self, room_id: int, key: object) -> None:
        """Close a room (the presenter's action): its members and drawings are deleted, its name kept.

        Raises:
            WrongKey: ``key`` is not the presenter key.
        """
        self.check_key(key)
        with self.store.transaction() as db:
            self._close(db, room_id)

    def _close(self, db: sqlite3.Connection, room_id: int) -> None:
        db.execute("DELETE FROM room_members WHERE room=?", (room_id,))
        db.execute("DELETE FROM room_drawings WHERE room=?", (room_id,))
        db.execute(
            "UPDATE rooms SET closed=?, version=version+1 WHERE id=? AND closed IS NULL", (self.clock(), room_id)
        )

    # -- people -----------------------------------------------------------------------
    def join(self, name: object, owner: str, nickname: object) -> Member:
        """Join the open room ``name`` as ``nickname`` (joining again renames).

        Raises:
            UnknownRoom, RoomClosed: See :meth:`find`.
            RoomError: The nickname is not valid, or the person is in another room.
            NameTaken: Someone else in the room has that nickname.
        """
        room = self.find(name)
        try:
            nickname = check_name(nickname)
        except ValueError as exc:
            raise RoomError(str(exc)) from None
        current = self.member(owner)
        if current is not None and current.room.id != room.id:
            raise RoomError(f"You are in room “{current.room.name}”: leave it first.")
        try:
            with self.store.transaction() as db:
                db.execute(
                    "INSERT INTO room_members VALUES (?, ?, ?, ?, ?) ON CONFLICT (room, owner) "
                    "DO UPDATE SET nickname=excluded.nickname, nickname_key=excluded.nickname_key",
                    (room.id, owner, nickname, name_key(nickname), self.clock()),
                )
                db.execute("UPDATE rooms SET touched=? WHERE id=?", (self.clock(), room.id))
        except sqlite3.IntegrityError:
            raise NameTaken(f"Someone in this room is called “{nickname}” already: pick another nickname.") from None
        return Member(room, nickname)

    def member(self, owner: str) -> Member | None:
        """The open room ``owner`` is in, with their nickname, or None."""
        rows = self.store.query(
            "SELECT r.*, m.nickname FROM room_members m JOIN rooms r ON r.id = m.room "
            "WHERE m.owner=? AND r.closed IS NULL ORDER BY m.joined DESC LIMIT 1",
            (owner,),
        )
        return Member(_room(rows[0]), rows[0]["nickname"]) if rows else None

    def nicknames(self, room_id: int) -> list[str]:
        """The nicknames of a room's participants, in the order they joined."""
        return [
            r["nickname"]
            for r in self.store.query("SELECT nickname FROM room_members WHERE room=? ORDER BY joined", (room_id,))
        ]

    def leave(self, owner: str) -> int:
        """Leave every room ``owner`` is in, withdrawing what they shared; returns the drawings withdrawn."""
        with self.store.transaction() as db:
            return self._withdraw(db, owner)

    def forget(self, owner: str) -> int:
        """Delete everything of ``owner`` in every room (their "Forget my data"); returns the drawings deleted."""
        return self.leave(owner)

    def _withdraw(self, db: sqlite3.Connection, owner: str) -> int:
        rooms = {r["room"] for r in db.execute("SELECT room FROM room_drawings WHERE owner=?", (owner,))}
        drawings = db.execute("DELETE FROM room_drawings WHERE owner=?", (owner,)).rowcount
        db.execute("DELETE FROM room_members WHERE owner=?", (owner,))
        for room_id in rooms:
            db.execute("UPDATE rooms SET version=version+1, touched=? WHERE id=?", (self.clock(), room_id))
        return drawings

    # -- leaderboard --------------------------------------------------------------------
    def member_runs(self, room_id: int) -> list[RoomRun]:
        """The finished training runs of a room's participants (read from the store's runs), by nickname."""
        rows = self.store.query(
            "SELECT m.nickname, r.number, r.state, r.model_file, json_extract(r.config, '$.arch') AS arch, "
            "json_extract(r.config, '$.epochs') AS epochs, json_extract(r.config, '$.dropout') AS dropout, "
            "json_extract(r.metrics, '$.test_accuracy') AS accuracy, "
            "json_extract(r.metrics, '$.finetune') IS NOT NULL AS finetuned "
            "FROM room_members m JOIN runs r ON r.owner = m.owner "
            "WHERE m.room=? AND r.state IN ('done', 'stopped') AND r.model_file IS NOT NULL "
            "ORDER BY m.joined, r.number",
            (room_id,),
        )
        return [
            RoomRun(
                r["nickname"],
                r["number"],
                str(r["arch"]),
                int(r["epochs"] or 0),
                float(r["dropout"] or 0.0),
                r["state"] == "stopped",
                float(r["accuracy"] or 0.0),
                self.store.runs_folder / r["model_file"],
                finetuned=bool(r["finetuned"]),
            )
            for r in rows
        ]

    # -- hygiene ------------------------------------------------------------------------
    def start_up(self) -> int:
        """Once per server process: close rooms untouched for the retention period; returns how many."""
        if self.limits.retention_days <= 0:
            return 0
        cutoff = self.clock() - self.limits.retention_days * 86400.0
        with self.store.transaction() as db:
            stale = [r["id"] for r in db.execute("SELECT id FROM rooms WHERE closed IS NULL AND touched<?", (cutoff,))]
            for room_id in stale:
                self._close(db, room_id)
            db.execute("DELETE FROM rooms WHERE closed<?", (cutoff,))
        return len(stale)


_OPENED: dict[Path, Rooms] = {}
_OPENING = threading.Lock()  # sessions may ask at once: one Rooms per folder


def _opened(folder: Path) -> Rooms:
    with _OPENING:
        if folder not in _OPENED:
            rooms = Rooms(open_store(folder), presenter_key())
            rooms.start_up()
            _OPENED[folder] = rooms
        return _OPENED[folder]


def open_rooms(folder: Path | None = None) -> Rooms:
    """The process-wide rooms of ``folder`` (default: the data folder), tidied on first use."""
    return _opened(Path(folder or data_folder()).resolve())
