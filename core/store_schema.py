"""The store's SQLite schema, its version, and opening a database with it.

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["DRAWINGS_SCHEMA", "PERSONAL_TABLES", "SCHEMA_VERSION", "StoreError", "connect"]

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    number INTEGER NOT NULL,
    state TEXT NOT NULL,
    boot TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    config TEXT NOT NULL,
    history TEXT NOT NULL DEFAULT '{}',
    metrics TEXT NOT NULL DEFAULT '{}',
    curve TEXT NOT NULL DEFAULT '{}',
    confusion TEXT NOT NULL DEFAULT 'null',
    mistakes TEXT NOT NULL DEFAULT '[]',
    model_file TEXT,
    model_bytes INTEGER NOT NULL DEFAULT 0,
    UNIQUE (owner, number)
);
CREATE INDEX IF NOT EXISTS runs_by_age ON runs (created);
CREATE TABLE IF NOT EXISTS prefs (
    owner TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (owner, key)
);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, created REAL NOT NULL, text TEXT NOT NULL
);
"""


#: A person's labelled drawings (``core.drawings``): the 28×28 the model saw and the canvas at 64×64, uint8.
#: Tables are only ever added, each ``IF NOT EXISTS``: an older database gains them on its next open.
DRAWINGS_SCHEMA = """
CREATE TABLE IF NOT EXISTS drawings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    created REAL NOT NULL,
    label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    image BLOB NOT NULL,
    canvas BLOB NOT NULL,
    predicted INTEGER,
    confidence REAL,
    model TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS drawings_by_owner ON drawings (owner, created);
"""

#: Every part of the schema, applied in order on each open.
SCHEMAS = (SCHEMA, DRAWINGS_SCHEMA)

#: Tables whose rows belong to one person (an ``owner`` column): "Forget my data" empties them of that person.
PERSONAL_TABLES = ("runs", "prefs", "notes", "drawings")


class StoreError(RuntimeError):
    """The store cannot be used (a database made by a newer version, an unusable folder)."""


def connect(path: Path) -> sqlite3.Connection:
    """Open (and create or check) the store's database at ``path``.

    Raises:
        StoreError: The file was made by a newer schema than this code knows.
    """
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # a committed run survives a power cut too
    with db:
        for part in SCHEMAS:
            db.executescript(part)
    found = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if found is None:
        db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    elif int(found[0]) > SCHEMA_VERSION:
        db.close()
        raise StoreError(
            f"{path} was made by a newer Digit Studio (schema {found[0]}, this one knows "
            f"{SCHEMA_VERSION}); point DIGIT_STUDIO_DATA at another folder."
        )
    return db
