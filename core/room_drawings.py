"""The drawings shared with rooms: sharing (checked, rate-limited, capped), hiding, the room's set and its export.

Reached as ``Rooms.drawings`` (:class:`core.rooms.Rooms`). A shared drawing is
a copy (784 bytes) of the participant's own, filed under the room, their owner
key and their own key for it (``source``), so sharing it again adds nothing.
What a room shows of a drawing is its image, label and the contributor's
nickname; the presenter may hide it, which takes it out of the room's set,
every score and the export.

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from core.contribution import Refused, check_image, check_label
from core.room_rules import NotAMember
from core.room_schema import Contribution, RoomDrawing, RoomSet, ShareReport

if TYPE_CHECKING:
    from core.rooms import Rooms

__all__ = ["RoomDrawings"]


class RoomDrawings:
    """The drawings of every room.

    Args:
        rooms: The rooms they belong to (their database, key, limits and clock).
    """

    def __init__(self, rooms: Rooms) -> None:
        self.rooms = rooms
        self._sets: dict[int, RoomSet] = {}  # room -> its latest test set (replaced when its version moves)

    def share(self, owner: str, contributions: Iterable[Contribution]) -> ShareReport:
        """Share labelled drawings with the room ``owner`` is in, as far as checks and limits allow.

        Args:
            owner: Who shares.
            contributions: The drawings (each checked as ``core.contribution`` checks a collection's).

        Returns:
            How many were added, how many were there already, and why others were not.

        Raises:
            NotAMember: ``owner`` is in no open room.
        """
        added = already = unfit = 0
        problems: list[str] = []
        with self.rooms.store.transaction() as db:
            member = self.rooms.member(owner)  # inside the transaction: a room closing now cannot get drawings
            if member is None:
                raise NotAMember("Join a room first.")
            room_id, now = member.room.id, self.rooms.clock()
            budget, limit = self._budget(db, room_id, owner, now)
            for offered in contributions:
                try:
                    image, label = check_image(offered.image), check_label(offered.label)
                except Refused:
                    unfit += 1
                    continue
                if added >= budget:
                    problems.append(limit)
                    break
                done = db.execute(
                    "INSERT OR IGNORE INTO room_drawings (room, owner, source, label, image, created) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (room_id, owner, str(offered.source)[:100], label, image.tobytes(), now),
                ).rowcount
                added, already = added + done, already + (1 - done)
            if added:
                db.execute("UPDATE rooms SET version=version+1, touched=? WHERE id=?", (now, room_id))
        if unfit:
            problems.insert(0, f"{unfit} drawing(s) were not shared: each must be one digit with a label 0-9.")
        return ShareReport(added, already, tuple(problems))

    def _budget(self, db: sqlite3.Connection, room_id: int, owner: str, now: float) -> tuple[int, str]:
        """How many drawings ``owner`` may share now, and the sentence for when they reach it."""
        (recent,) = db.execute(
            "SELECT COUNT(*) FROM room_drawings WHERE owner=? AND created>?", (owner, now - 60.0)
        ).fetchone()
        (mine,) = db.execute("SELECT COUNT(*) FROM room_drawings WHERE room=? AND owner=?", (room_id, owner)).fetchone()
        (everyone,) = db.execute("SELECT COUNT(*) FROM room_drawings WHERE room=?", (room_id,)).fetchone()
        lim = self.rooms.limits
        return min(
            (
                lim.shares_per_minute - recent,
                f"At most {lim.shares_per_minute} drawings a minute: share the rest in a minute.",
            ),
            (
                lim.drawings_per_person - mine,
                f"Each person shares at most {lim.drawings_per_person} drawings with a room.",
            ),
            (lim.drawings_per_room - everyone, f"The room is full ({lim.drawings_per_room} drawings)."),
        )

    def unshare(self, owner: str, sources: Iterable[str]) -> int:
        """Withdraw some of ``owner``'s shared drawings (by their own keys) from every room; returns how many."""
        with self.rooms.store.transaction() as db:
            rooms: set[int] = set()
            gone = 0
            for source in sources:
                for row in db.execute(
                    "DELETE FROM room_drawings WHERE owner=? AND source=? RETURNING room", (owner, str(source))
                ).fetchall():
                    rooms.add(row["room"])
                    gone += 1
            for room_id in rooms:
                db.execute("UPDATE rooms SET version=version+1 WHERE id=?", (room_id,))
        return gone

    def shared_sources(self, owner: str) -> set[str]:
        """The keys of the drawings ``owner`` has shared with the room they are in."""
        member = self.rooms.member(owner)
        if member is None:
            return set()
        rows = self.rooms.store.query(
            "SELECT source FROM room_drawings WHERE room=? AND owner=?", (member.room.id, owner)
        )
        return {r["source"] for r in rows}

    def in_room(self, room_id: int, viewer: str | None = None, hidden: bool = False) -> list[RoomDrawing]:
        """A room's drawings, oldest first, with their contributors' nicknames.

        Args:
            room_id: The room.
            viewer: Whose drawings to mark as ``mine`` (with their own keys).
            hidden: Include the ones the presenter hid (the presenter's view).
        """
        rows = self.rooms.store.query(
            "SELECT d.id, d.label, d.image, d.hidden, d.owner, d.source, COALESCE(m.nickname, '') AS nickname "
            "FROM room_drawings d LEFT JOIN room_members m ON m.room = d.room AND m.owner = d.owner "
            f"WHERE d.room=? {'' if hidden else 'AND d.hidden=0'} ORDER BY d.id",
            (room_id,),
        )
        return [
            RoomDrawing(
                r["id"],
                r["label"],
                np.frombuffer(r["image"], np.uint8).reshape(28, 28),
                r["nickname"],
                bool(r["hidden"]),
                mine=r["owner"] == viewer,
                source=r["source"] if r["owner"] == viewer else None,
            )
            for r in rows
        ]

    def hide(self, room_id: int, ids: Iterable[int], key: object, hidden: bool = True) -> int:
        """Hide (or show again) some of a room's drawings (the presenter's action); returns how many changed.

        Raises:
            WrongKey: ``key`` is not the presenter key.
        """
        self.rooms.check_key(key)
        with self.rooms.store.transaction() as db:
            changed = sum(
                db.execute(
                    "UPDATE room_drawings SET hidden=? WHERE room=? AND id=? AND hidden!=?",
                    (int(hidden), room_id, int(i), int(hidden)),
                ).rowcount
                for i in ids
            )
            if changed:
                db.execute("UPDATE rooms SET version=version+1, touched=? WHERE id=?", (self.rooms.clock(), room_id))
        return changed

    def test_set(self, room_id: int) -> RoomSet:
        """A room's visible drawings as a test set, with the version they were read at.

        Read again only when the room's version changed: every viewer's refresh asks for it.
        The arrays are shared, read-only.
        """
        rows = self.rooms.store.query("SELECT version FROM rooms WHERE id=?", (room_id,))
        cached = self._sets.get(room_id)
        if cached is not None and rows and cached.version == rows[0]["version"]:
            return cached
        with self.rooms.store.transaction() as db:  # one consistent read: the version and the drawings it stands for
            (version,) = db.execute("SELECT version FROM rooms WHERE id=?", (room_id,)).fetchone() or (-1,)
            rows = db.execute(
                "SELECT id, label, image FROM room_drawings WHERE room=? AND hidden=0 ORDER BY id", (room_id,)
            ).fetchall()
        images = np.frombuffer(b"".join(r["image"] for r in rows), np.uint8).reshape(-1, 28, 28)
        found = RoomSet(
            np.array([r["id"] for r in rows], np.int64),
            images,
            np.array([r["label"] for r in rows], np.uint8),
            version,
            room_id,
        )
        for array in (found.ids, found.labels):
            array.setflags(write=False)
        self._sets[room_id] = found
        return found

    def export(self, room_id: int, key: object) -> bytes:
        """The room's visible drawings as an ``.npz`` file's bytes: ``x`` (N, 28, 28) and ``y`` (N,), ``uint8``.

        ``core.data.load_digit_set`` reads it back. Nicknames are not in it.

        Raises:
            WrongKey: ``key`` is not the presenter key.
        """
        self.rooms.check_key(key)
        found = self.test_set(room_id)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, x=found.images, y=found.labels)
        return buffer.getvalue()
