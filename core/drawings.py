"""A person's collection of labelled drawings, kept in the store's database.

Each drawing is what the Draw page had when the person said which digit it
was: the 28×28 the model saw, the drawing at 64×64 (both uint8, white ink on
black; see :mod:`core.contribution`), the label 0–9, when, and what the model
said then (its digit, how sure, which model). They live in the ``drawings``
table (``core.store_schema.DRAWINGS_SCHEMA``) beside the person's runs, filed
under the same owner key, so "Forget my data" (:meth:`core.store.Store.forget`)
and the store's retention remove them too.

The API, for the pages and for anything built on the collection (sharing
with a room)::

    drawings = Drawings(store)                        # limits from the environment
    drawing = drawings.add(owner, image, canvas, 7)  # checked; raises Refused with a message
    drawings.of(owner)                               # every Drawing, oldest first
    drawings.get(owner, drawing.id)                  # one, or None (also for someone else's)
    drawings.arrays(owner)                           # (N, 28, 28) uint8 images and (N,) labels
    drawings.delete(owner, drawing.id)
    drawings.count(owner), drawings.version(owner)   # cheap: how many, and whether anything changed

Every method takes the owner: nobody reads or deletes another person's drawings.

==================================== ============================================= =======
variable                             what                                          default
==================================== ============================================= =======
``DIGIT_STUDIO_MAX_DRAWINGS``        drawings one person may keep                  200
``DIGIT_STUDIO_DRAWINGS_PER_MINUTE`` drawings one person may add in any minute     20
==================================== ============================================= =======

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.contribution import CANVAS_SIDE, IMAGE_SIDE, Refused, check_contribution
from core.store import Store
from core.store_limits import _number as env_number

__all__ = ["Drawing", "DrawingLimits", "Drawings", "Refused"]

#: Seconds over which the rate limit counts a person's additions.
WINDOW = 60.0


@dataclass(frozen=True, eq=False)  # (arrays: compare ids)
class Drawing:
    """One labelled drawing of a person.

    Attributes:
        id: Its id in the store (unique across people).
        created: When it was added (Unix seconds).
        label: The digit the person says it is, 0–9.
        image: (28, 28) uint8, the model's input.
        canvas: (64, 64) uint8, the drawing.
        predicted: The digit the model said when it was added (None: not recorded).
        confidence: How sure the model was of that (None: not recorded).
        model: Which model said so (its label on the Draw page; may be empty).
    """

    id: int
    created: float
    label: int
    image: np.ndarray
    canvas: np.ndarray
    predicted: int | None = None
    confidence: float | None = None
    model: str = ""


@dataclass(frozen=True)
class DrawingLimits:
    """How many drawings one person may keep, and add per minute.

    Attributes:
        per_person: Drawings one person may keep; adding one more is refused.
        per_minute: Drawings one person may add within any :data:`WINDOW` seconds.
    """

    per_person: int = 200
    per_minute: int = 20

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DrawingLimits:
        """The limits the environment sets (see the module's table), defaults for the rest."""
        base = cls()
        return cls(
            per_person=int(env_number(env, "DIGIT_STUDIO_MAX_DRAWINGS", base.per_person, 1)),
            per_minute=int(env_number(env, "DIGIT_STUDIO_DRAWINGS_PER_MINUTE", base.per_minute, 1)),
        )


def _drawing(row: sqlite3.Row) -> Drawing:
    return Drawing(
        id=int(row["id"]),
        created=float(row["created"]),
        label=int(row["label"]),
        image=np.frombuffer(row["image"], np.uint8).reshape(IMAGE_SIDE, IMAGE_SIDE),
        canvas=np.frombuffer(row["canvas"], np.uint8).reshape(CANVAS_SIDE, CANVAS_SIDE),
        predicted=None if row["predicted"] is None else int(row["predicted"]),
        confidence=None if row["confidence"] is None else float(row["confidence"]),
        model=str(row["model"]),
    )


class Drawings:
    """Everyone's collections of drawings, in one store; each method works on one owner's.

    Args:
        store: The store whose database holds them (and whose clock dates them).
        limits: Caps (default: from the environment).
    """

    def __init__(self, store: Store, limits: DrawingLimits | None = None) -> None:
        self.store = store
        self.limits = limits or DrawingLimits.from_env()

    def add(
        self,
        owner: str,
        image: Any,
        canvas: Any,
        label: Any,
        predicted: int | None = None,
        confidence: float | None = None,
        model: str = "",
    ) -> Drawing:
        """Check a drawing and add it to ``owner``'s collection.

        Args:
            owner: Whose collection.
            image: (28, 28) uint8, the model's input (see :func:`core.contribution.check_image`).
            canvas: (64, 64) uint8, the drawing (see :func:`core.contribution.canvas_thumbnail`).
            label: The digit it is, 0–9.
            predicted: What the model said (0–9), if known.
            confidence: How sure it was, in [0, 1], if known.
            model: Which model said so.

        Returns:
            The stored drawing.

        Raises:
            Refused: The contribution is not valid, the person has as many drawings as they may
                keep, or they added as many as they may in the last minute; the message says which.
        """
        image, canvas, label = check_contribution(image, canvas, label)
        said = None if predicted is None or not 0 <= int(predicted) <= 9 else int(predicted)
        sure = None if confidence is None or not 0.0 <= float(confidence) <= 1.0 else float(confidence)
        now = self.store.clock()
        with self.store.transaction() as db:
            (kept,) = db.execute("SELECT COUNT(*) FROM drawings WHERE owner=?", (owner,)).fetchone()
            if kept >= self.limits.per_person:
                raise Refused(
                    f"You have {kept} drawings, as many as one person may keep: delete some in My drawings to add more."
                )
            (recent,) = db.execute(
                "SELECT COUNT(*) FROM drawings WHERE owner=? AND created>?", (owner, now - WINDOW)
            ).fetchone()
            if recent >= self.limits.per_minute:
                raise Refused(
                    f"You added {recent} drawings in the last minute, as many as one person may: "
                    "wait a little, then try again."
                )
            row_id = db.execute(
                "INSERT INTO drawings (owner, created, label, image, canvas, predicted, confidence, model) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (owner, now, label, image.tobytes(), canvas.tobytes(), said, sure, str(model)[:200]),
            ).lastrowid
        assert row_id is not None
        return Drawing(int(row_id), now, label, image.copy(), canvas.copy(), said, sure, str(model)[:200])

    def of(self, owner: str) -> list[Drawing]:
        """``owner``'s drawings, oldest first."""
        return [_drawing(r) for r in self.store.query("SELECT * FROM drawings WHERE owner=? ORDER BY id", (owner,))]

    def get(self, owner: str, drawing_id: int) -> Drawing | None:
        """``owner``'s drawing ``drawing_id``, or None (also when it is someone else's)."""
        rows = self.store.query("SELECT * FROM drawings WHERE owner=? AND id=?", (owner, int(drawing_id)))
        return _drawing(rows[0]) if rows else None

    def arrays(self, owner: str) -> tuple[np.ndarray, np.ndarray]:
        """``owner``'s drawings as arrays, oldest first.

        Returns:
            ``(images, labels)``: (N, 28, 28) uint8 and (N,) uint8 (MNIST's own layout).
        """
        rows = self.store.query("SELECT image, label FROM drawings WHERE owner=? ORDER BY id", (owner,))
        images = np.zeros((len(rows), IMAGE_SIDE, IMAGE_SIDE), np.uint8)
        for i, row in enumerate(rows):
            images[i] = np.frombuffer(row["image"], np.uint8).reshape(IMAGE_SIDE, IMAGE_SIDE)
        return images, np.asarray([r["label"] for r in rows], np.uint8)

    def count(self, owner: str) -> int:
        """How many drawings ``owner`` has."""
        return int(self.store.query("SELECT COUNT(*) FROM drawings WHERE owner=?", (owner,))[0][0])

    def version(self, owner: str) -> tuple:
        """Changes whenever ``owner``'s drawings change (cheaper than reading them, to know when to)."""
        return tuple(self.store.query("SELECT COUNT(*), MAX(id), SUM(id) FROM drawings WHERE owner=?", (owner,))[0])

    def delete(self, owner: str, drawing_id: int) -> bool:
        """Delete ``owner``'s drawing ``drawing_id``; False if they have none of that id."""
        with self.store.transaction() as db:
            return db.execute("DELETE FROM drawings WHERE owner=? AND id=?", (owner, int(drawing_id))).rowcount > 0

    def forget(self, owner: str) -> int:
        """Delete all of ``owner``'s drawings; returns how many (``Store.forget`` does this with the rest)."""
        with self.store.transaction() as db:
            return int(db.execute("DELETE FROM drawings WHERE owner=?", (owner,)).rowcount)
