"""Each person's training runs, kept in SQLite so a reload or a server restart loses none.

One database file (``store.sqlite``) in the data folder holds every person's
runs (settings, per-epoch history, test metrics, confusion matrix, most
confident mistakes, the batch curve as charted), their preferences (last
settings, the model picked on the Draw page) and one-off notes; each finished
run's model file lies beside it in ``runs/``. Rows are filed under an owner
key (:attr:`core.identity.Identity.owner`) and every method takes the owner,
so one person can never read or delete another's runs.

Crash safety: a model file is written atomically (:mod:`core.atomic`) before
the row that points to it is committed, and deleted only after the row is
gone, so at every instant the database describes complete runs; a crash
between the two steps leaves an unreferenced file, which :meth:`Store.start_up`
removes. SQLite runs in WAL mode with full sync.

One connection serves all threads (Streamlit runs every script run in a new
thread; a connection per thread would be opened and dropped on each rerun),
guarded by a lock: every statement here takes well under a millisecond.

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from core.atomic import TEMP_MARK, write_atomically
from core.store_limits import StoreLimits, data_folder
from core.store_records import RECORD_FIELDS, Dropped, RunRecord, StartUp, StoredRun
from core.store_schema import PERSONAL_TABLES, SCHEMA_VERSION, StoreError, connect

__all__ = ["DB_FILE", "RUNS_FOLDER", "SCHEMA_VERSION", "Store", "StoreError", "open_store"]

logger = logging.getLogger(__name__)

DB_FILE = "store.sqlite"
RUNS_FOLDER = "runs"
#: States of a stored run. "running" rows exist while a training is in progress.
STATES = ("running", "done", "stopped", "interrupted")


class Store:
    """The runs, preferences and notes of everyone, in one data folder.

    Args:
        folder: The data folder (created if missing).
        limits: Caps and retention (default: from the environment).
        clock: Unix seconds (tests pass a fake one).
    """

    def __init__(self, folder: Path, limits: StoreLimits | None = None, clock: Callable[[], float] = time.time):
        self.folder = Path(folder)
        self.limits = limits or StoreLimits.from_env()
        self.clock = clock
        self.runs_folder = self.folder / RUNS_FOLDER
        self.runs_folder.mkdir(parents=True, exist_ok=True)
        self.boot = uuid.uuid4().hex  # rows "running" under another boot were cut off by a restart
        self._lock = threading.RLock()
        self._db = connect(self.folder / DB_FILE)

    # -- database --------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction, for modules keeping their own tables here (``core.drawings``)."""
        return self._write()

    def query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        """The rows of one read statement (see :meth:`transaction`)."""
        return self._read(sql, args)

    def close(self) -> None:
        """Close the database (the store cannot be used afterwards)."""
        with self._lock:
            self._db.close()

    # -- runs ------------------------------------------------------------------------
    def _stored(self, row: sqlite3.Row) -> StoredRun:
        record = RunRecord(**{name: json.loads(row[name]) for name in RECORD_FIELDS})
        path = self.runs_folder / row["model_file"] if row["model_file"] else None
        return StoredRun(row["number"], row["state"], row["created"], record, path)

    def runs(self, owner: str) -> list[StoredRun]:
        """``owner``'s runs, oldest first."""
        return [self._stored(r) for r in self._read("SELECT * FROM runs WHERE owner=? ORDER BY number", (owner,))]

    def run(self, owner: str, number: int) -> StoredRun | None:
        """``owner``'s run ``number``, or None (also for someone else's)."""
        rows = self._read("SELECT * FROM runs WHERE owner=? AND number=?", (owner, number))
        return self._stored(rows[0]) if rows else None

    def version(self, owner: str) -> tuple:
        """Changes whenever ``owner``'s runs change (cheaper than reading them, to know when to)."""
        return tuple(self._read("SELECT COUNT(*), MAX(updated), SUM(id) FROM runs WHERE owner=?", (owner,))[0])

    def begin_run(self, owner: str, config: dict[str, Any]) -> int:
        """Record a training that starts now (state "running"); returns its number."""
        now = self.clock()
        with self._write() as db:
            (last,) = db.execute("SELECT COALESCE(MAX(number), 0) FROM runs WHERE owner=?", (owner,)).fetchone()
            db.execute(
                "INSERT INTO runs (owner, number, state, boot, created, updated, config) "
                "VALUES (?, ?, 'running', ?, ?, ?, ?)",
                (owner, last + 1, self.boot, now, now, json.dumps(config)),
            )
        return int(last) + 1

    def finish_run(
        self, owner: str, number: int, state: str, record: RunRecord, write_model: Callable[[Path], None]
    ) -> list[str]:
        """Store a finished run: its model file first, then its row; enforce the caps.

        Args:
            owner: Whose run.
            number: Its number (from :meth:`begin_run`).
            state: ``"done"`` or ``"stopped"``.
            record: Its results.
            write_model: Writes the model file to the path it is given.

        Returns:
            Notes for ``owner`` about runs dropped to keep within the caps (also kept as notes).

        Raises:
            KeyError: ``owner`` has no run ``number`` (it was forgotten meanwhile).
        """
        if state not in ("done", "stopped"):
            raise ValueError(f"a finished run is done or stopped, not {state!r}")
        rows = self._read("SELECT id FROM runs WHERE owner=? AND number=?", (owner, number))
        if not rows:
            raise KeyError(f"no run {number} of this owner")
        name = f"{rows[0]['id']}.keras"
        size = write_atomically(self.runs_folder / name, write_model)
        columns = {f: json.dumps(getattr(record, f)) for f in RECORD_FIELDS}
        try:
            with self._write() as db:
                found = db.execute(
                    f"UPDATE runs SET state=?, updated=?, model_file=?, model_bytes=?, "
                    f"{', '.join(f'{f}=?' for f in RECORD_FIELDS)} WHERE owner=? AND number=?",
                    (state, self.clock(), name, size, *columns.values(), owner, number),
                ).rowcount
                if not found:
                    raise KeyError(f"no run {number} of this owner")
                dropped = self._drop_beyond_caps(db, owner, keep=number)
        except BaseException:
            (self.runs_folder / name).unlink(missing_ok=True)  # the row still describes what was there
            raise
        self._unlink(d.model_file for d in dropped)
        return [d.note for d in dropped if d.owner == owner]

    def delete_run(self, owner: str, number: int) -> bool:
        """Delete ``owner``'s run ``number`` and its model file; False if there was none."""
        with self._write() as db:
            row = db.execute("SELECT model_file FROM runs WHERE owner=? AND number=?", (owner, number)).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM runs WHERE owner=? AND number=?", (owner, number))
        self._unlink([row["model_file"]])
        return True

    def forget(self, owner: str) -> int:
        """Delete everything of ``owner``: runs, model files, preferences, notes, drawings. Returns the runs deleted."""
        with self._write() as db:
            files = [r["model_file"] for r in db.execute("SELECT model_file FROM runs WHERE owner=?", (owner,))]
            for table in PERSONAL_TABLES:
                db.execute(f"DELETE FROM {table} WHERE owner=?", (owner,))
        self._unlink(files)
        return len(files)

    def has_data(self, owner: str) -> bool:
        """Whether anything at all is stored for ``owner``."""
        return any(self._read(f"SELECT 1 FROM {table} WHERE owner=? LIMIT 1", (owner,)) for table in PERSONAL_TABLES)

    # -- preferences and notes -------------------------------------------------------
    def pref(self, owner: str, key: str, default: Any = None) -> Any:
        """``owner``'s stored preference ``key`` (JSON data), or ``default``."""
        rows = self._read("SELECT value FROM prefs WHERE owner=? AND key=?", (owner, key))
        return json.loads(rows[0]["value"]) if rows else default

    def set_pref(self, owner: str, key: str, value: Any) -> None:
        """Store ``owner``'s preference ``key`` (any JSON-able value)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO prefs VALUES (?, ?, ?, ?) ON CONFLICT (owner, key) DO UPDATE "
                "SET value=excluded.value, updated=excluded.updated",
                (owner, key, json.dumps(value), self.clock()),
            )

    def add_note(self, owner: str, text: str) -> None:
        """Leave ``owner`` a one-off note (shown on their next page)."""
        with self._write() as db:
            db.execute("INSERT INTO notes (owner, created, text) VALUES (?, ?, ?)", (owner, self.clock(), text))

    def pop_notes(self, owner: str) -> list[str]:
        """``owner``'s notes, oldest first, deleted as they are read."""
        with self._write() as db:
            rows = db.execute("SELECT id, text FROM notes WHERE owner=? ORDER BY id", (owner,)).fetchall()
            db.execute("DELETE FROM notes WHERE owner=?", (owner,))
        return [r["text"] for r in rows]

    # -- caps and hygiene ------------------------------------------------------------
    def _drop_beyond_caps(self, db: sqlite3.Connection, owner: str | None = None, keep: int = 0) -> list[Dropped]:
        """Delete the oldest runs beyond the caps, leaving each affected owner a note.

        Never deletes a running row, nor ``owner``'s run ``keep`` (the one just stored).

        Args:
            db: The connection, inside a write transaction.
            owner: Whose run was just stored (their per-person cap is checked); None: only the size cap.
            keep: That run's number.

        Returns:
            The rows deleted (their files are still to be unlinked, after the commit).
        """
        doomed: dict[int, Dropped] = {}
        cap = self.limits.runs_per_person
        if owner is not None:
            for row in db.execute(
                "SELECT id, number, model_file FROM runs WHERE owner=? AND state!='running' AND "
                "number!=? ORDER BY number DESC LIMIT -1 OFFSET ?",
                (owner, keep, max(0, cap - 1)),
            ):
                doomed[row["id"]] = Dropped(
                    owner, f"Run {row['number']} was removed: you keep your latest {cap} runs.", row["model_file"]
                )
        total = self._bytes(db) - sum(self._row_bytes(db, i) for i in doomed)
        if total > self.limits.max_bytes:
            mb = f"{self.limits.max_bytes / 2**20:,.0f} MB"
            for row in db.execute(
                "SELECT id, owner, number, model_file, model_bytes FROM runs WHERE state!='running' "
                "AND NOT (owner=? AND number=?) ORDER BY created",
                (owner or "", keep),
            ).fetchall():
                if total <= self.limits.max_bytes:
                    break
                if row["id"] not in doomed:
                    doomed[row["id"]] = Dropped(
                        row["owner"],
                        f"Run {row['number']} was removed: the app keeps {mb} of runs in all.",
                        row["model_file"],
                    )
                    total -= row["model_bytes"]
        now = self.clock()
        for row_id, dropped in doomed.items():
            db.execute("DELETE FROM runs WHERE id=?", (row_id,))
            db.execute("INSERT INTO notes (owner, created, text) VALUES (?, ?, ?)", (dropped.owner, now, dropped.note))
        return list(doomed.values())

    @staticmethod
    def _row_bytes(db: sqlite3.Connection, row_id: int) -> int:
        return int(db.execute("SELECT model_bytes FROM runs WHERE id=?", (row_id,)).fetchone()[0])

    def _bytes(self, db: sqlite3.Connection) -> int:
        """The store's size: model files plus the database and its write-ahead log."""
        (files,) = db.execute("SELECT COALESCE(SUM(model_bytes), 0) FROM runs").fetchone()
        return int(files) + sum(p.stat().st_size for p in self.folder.glob(DB_FILE + "*") if p.is_file())

    def total_bytes(self) -> int:
        """The store's size in bytes (model files, database, log)."""
        with self._lock:
            return self._bytes(self._db)

    def _unlink(self, names: Iterable[str | None]) -> None:
        for name in names:
            if name:
                (self.runs_folder / name).unlink(missing_ok=True)

    def start_up(self) -> StartUp:
        """Once per server process: mark runs cut off by a restart, apply retention and the size cap, tidy files.

        Returns:
            What was done (for the log).
        """
        cutoff = self.clock() - self.limits.retention_days * 86400.0
        with self._write() as db:
            interrupted = db.execute(
                "UPDATE runs SET state='interrupted', updated=? WHERE state='running' AND boot!=?",
                (self.clock(), self.boot),
            ).rowcount
            expired: list[str | None] = []
            if self.limits.retention_days > 0:
                expired = [
                    r["model_file"]
                    for r in db.execute("SELECT model_file FROM runs WHERE created<? AND state!='running'", (cutoff,))
                ]
                db.execute("DELETE FROM runs WHERE created<? AND state!='running'", (cutoff,))
                db.execute("DELETE FROM prefs WHERE updated<?", (cutoff,))
                db.execute("DELETE FROM notes WHERE created<?", (cutoff,))
                db.execute("DELETE FROM drawings WHERE created<?", (cutoff,))
            dropped = self._drop_beyond_caps(db)
        self._unlink(expired + [d.model_file for d in dropped])
        with self._lock:
            known = {r["model_file"] for r in self._db.execute("SELECT model_file FROM runs") if r["model_file"]}
        orphans = [
            p for p in self.runs_folder.iterdir() if p.is_file() and (p.name not in known or TEMP_MARK in p.name)
        ]
        for path in orphans:
            path.unlink(missing_ok=True)
        done = StartUp(interrupted, len(expired), len(dropped), len(orphans))
        logger.info("Digit Studio store %s: %s", self.folder, done)
        return done


_OPENED: dict[Path, Store] = {}
_OPENING = threading.Lock()  # sessions (and serve.py's preload) may ask at once: one store per folder


def _opened(folder: Path) -> Store:
    with _OPENING:
        if folder not in _OPENED:
            store = Store(folder)
            store.start_up()
            _OPENED[folder] = store
        return _OPENED[folder]


def open_store(folder: Path | None = None) -> Store:
    """The process-wide store in ``folder`` (default: the data folder), started up on first use.

    The first call in a server process marks the runs a restart cut off as
    interrupted and applies retention and the size cap (:meth:`Store.start_up`).
    """
    return _opened(Path(folder or data_folder()).resolve())
