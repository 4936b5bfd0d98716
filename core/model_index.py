"""The index of the models folder: which models are there and whose, at a cost that does not grow with their number.

The Draw page lists the saved models on every stroke. Reading every model's
card each time cost about 0.15 ms a model (150 ms a stroke with 1,000 saved
models); the index answers from memory after one ``stat`` of the folder.

Where it lives: ``models/.index/models.json`` (hidden, git-ignored), written
atomically. It records, for every ``NAME.keras`` in the folder, its owner
(from its card) and the stamps (modification time, size) of the model file
and its card, and the folder's own modification time when it was scanned.
Any file added, removed or renamed in the folder (a save, a delete, a file
copied in by hand, a model written by the command line) changes that time:
the index is then stale and is brought up to date by a rescan, which lists
the folder and reads only the cards of models that are new or changed. The
index lies in a subfolder so that writing it does not change the folder's
time itself. A missing, unreadable or older-format index is rebuilt the same
way.

Timestamps have a coarse tick (milliseconds, or seconds on some file
systems), so a change made in the same tick as a scan could go unseen; an
index whose folder changed less than :data:`SETTLE_NS` before it was scanned
is rescanned once that time has passed.

Saves and deletes from the app go through :meth:`ModelIndex.changing`, which
holds a lock across processes (``models/.index/lock``) while it checks names
and owners, writes the files and rescans; readers never wait for it: while a
change is under way they get the listing from before it.

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.atomic import write_atomically
from core.storage import DEFAULT_MODEL, MODELS_DIR, NAME_PATTERN, read_card

try:  # POSIX; elsewhere the lock is held within this process only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["INDEX_FOLDER", "OWNER_FIELD", "SETTLE_NS", "IndexedModel", "ModelIndex", "model_index", "saved_models"]

logger = logging.getLogger(__name__)

#: The card field that holds the owner key (:attr:`core.identity.Identity.owner`).
OWNER_FIELD = "owner"
#: The index's subfolder of the models folder.
INDEX_FOLDER = ".index"
_INDEX_FILE, _LOCK_FILE, _VERSION = "models.json", "lock", 1
#: A folder changed less than this before it was scanned is scanned again once this has passed.
SETTLE_NS = 2_000_000_000

Stamp = tuple[int, int]  # (modification time in ns, size in bytes)


@dataclass(frozen=True)
class IndexedModel:
    """A model in the models folder, as the index knows it.

    Attributes:
        name: The model's name (its file is ``NAME.keras``).
        owner: Who saved it from the app (their owner key), or None (the bundled
            model, the command line's, or a model saved before owners were recorded).
        model_stamp: The model file's (modification time in ns, size).
        card_stamp: Its card's stamp, or None when it has no card.
    """

    name: str
    owner: str | None
    model_stamp: Stamp
    card_stamp: Stamp | None = None

    @property
    def is_default(self) -> bool:
        """Whether this is the bundled default model."""
        return self.name == DEFAULT_MODEL


@dataclass(frozen=True)
class _Listing:
    models: tuple[IndexedModel, ...]
    folder_ns: int  #: the folder's modification time when it was scanned
    scanned_ns: int  #: when it was scanned (wall clock)

    @property
    def settled(self) -> bool:
        """Whether the folder had been still long enough before the scan for its time to tell every change."""
        return self.folder_ns <= self.scanned_ns - SETTLE_NS


def _stamp(stat: os.stat_result) -> Stamp:
    return stat.st_mtime_ns, stat.st_size


def _order(model: IndexedModel) -> tuple[bool, str, str]:
    return not model.is_default, model.name.lower(), model.name


class ModelIndex:
    """The index of one models folder (use :func:`model_index`: one per folder and process).

    Args:
        directory: The models folder.
    """

    def __init__(self, directory: str | os.PathLike[str] = MODELS_DIR) -> None:
        self.directory = Path(directory)
        self.file = self.directory / INDEX_FOLDER / _INDEX_FILE
        self._lock = threading.RLock()
        self._listing: _Listing | None = None

    # -- reading ---------------------------------------------------------------------
    def models(self) -> tuple[IndexedModel, ...]:
        """Every model in the folder: the default first, then the rest by name.

        Costs one ``stat`` of the folder while nothing changed; a change costs
        one rescan (a listing of the folder, the cards of new or changed models).
        """
        try:
            folder_ns = self.directory.stat().st_mtime_ns
        except OSError:
            return ()  # no folder: no models
        known = self._listing
        if known is not None and known.folder_ns == folder_ns and known.settled:
            return known.models
        with self._lock:
            return self._refresh(folder_ns, wait=False).models

    def get(self, name: str) -> IndexedModel | None:
        """The model called ``name`` (case-insensitively: ``Digits`` and ``digits`` are one name), if any."""
        wanted = name.lower()
        return next((m for m in self.models() if m.name.lower() == wanted), None)

    def owned(self, owner: str) -> list[IndexedModel]:
        """The models ``owner`` saved, by name."""
        return [m for m in self.models() if not m.is_default and m.owner == owner]

    def _refresh(self, folder_ns: int, wait: bool) -> _Listing:
        """The listing, scanned again if the folder changed since (the lock is held)."""
        known = self._listing or self._read_file()
        if known is not None and known.folder_ns == folder_ns:
            if known.settled or time.time_ns() < folder_ns + SETTLE_NS:
                self._listing = known  # (a recent change: checked again once it has settled)
                return known
        with self._folder_lock(wait) as locked:
            if not locked and known is not None:
                return known  # a save or delete is under way: the listing from before it
            self._listing = self._scan(known)
            self._write_file(self._listing)
        return self._listing

    def rescan(self) -> tuple[IndexedModel, ...]:
        """Bring the index up to date with the folder now, whatever its stamps say; returns the models."""
        with self._lock, self._folder_lock(True):
            self._listing = self._scan(self._listing or self._read_file())
            self._write_file(self._listing)
            return self._listing.models

    # -- changing --------------------------------------------------------------------
    @contextmanager
    def changing(self) -> Iterator[ModelIndex]:
        """Hold the folder for a change (a save or delete), with the index up to date; rescan afterwards.

        Yields:
            This index, rescanned: its :meth:`models` are those in the folder.
        """
        with self._lock, self._folder_lock(True):
            self._listing = self._scan(self._listing or self._read_file())
            try:
                yield self
            finally:
                self._listing = self._scan(self._listing)
                self._write_file(self._listing)

    # -- the folder and the index file ---------------------------------------------------
    def _scan(self, known: _Listing | None) -> _Listing:
        """List the folder; read the cards of models that are new or whose files changed since ``known``."""
        scanned_ns = time.time_ns()
        try:
            folder_ns = self.directory.stat().st_mtime_ns  # before listing: a change during it shows as stale
            with os.scandir(self.directory) as entries:
                files = {entry.name: entry for entry in entries}
        except OSError:
            return _Listing((), 0, scanned_ns)
        before = {m.name: m for m in known.models} if known is not None else {}
        found = []
        for file_name, entry in files.items():
            name = file_name[: -len(".keras")]
            if not file_name.endswith(".keras") or not NAME_PATTERN.match(name):
                continue  # hidden temporary files of interrupted saves have names that do not match
            card = files.get(f"{name}.json")
            try:
                model_stamp = _stamp(entry.stat())
                card_stamp = _stamp(card.stat()) if card is not None else None
            except OSError:  # removed while we looked
                continue
            old = before.get(name)
            if old is not None and old.model_stamp == model_stamp and old.card_stamp == card_stamp:
                found.append(old)
                continue
            owner = read_card(Path(entry.path)).get(OWNER_FIELD) if card_stamp else None
            found.append(IndexedModel(name, owner if isinstance(owner, str) else None, model_stamp, card_stamp))
        return _Listing(tuple(sorted(found, key=_order)), folder_ns, scanned_ns)

    def _read_file(self) -> _Listing | None:
        """The index as last written (by any process), or None when it is missing, unreadable or of another format."""
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            if data.get("version") != _VERSION:
                return None
            models = tuple(
                IndexedModel(name, owner, tuple(model), tuple(card) if card else None)  # type: ignore[arg-type]
                for name, owner, model, card in data["models"]
            )
            return _Listing(models, int(data["folder_ns"]), int(data["scanned_ns"]))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    def _write_file(self, listing: _Listing) -> None:
        data = {
            "version": _VERSION,
            "folder_ns": listing.folder_ns,
            "scanned_ns": listing.scanned_ns,
            "models": [[m.name, m.owner, m.model_stamp, m.card_stamp] for m in listing.models],
        }
        text = json.dumps(data, separators=(",", ":"))

        def write(path: Path) -> None:
            path.write_text(text, encoding="utf-8")

        try:
            write_atomically(self.file, write)
        except OSError as exc:  # a read-only folder: the index lives in this process's memory only
            logger.warning("Digit Studio: could not write the models index %s: %s", self.file, exc)

    @contextmanager
    def _folder_lock(self, wait: bool) -> Iterator[bool]:
        """The lock on the folder shared with other processes; yields whether it is held (never False if ``wait``)."""
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.file.parent / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # a read-only folder: nobody saves into it either
            yield True
            return
        try:
            held = True
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                except BlockingIOError:
                    held = False
            yield held
        finally:
            os.close(fd)  # releases the lock


_indexes: dict[Path, ModelIndex] = {}
_indexes_lock = threading.Lock()


def model_index(directory: str | os.PathLike[str] = MODELS_DIR) -> ModelIndex:
    """The index of ``directory`` (one per folder and process, so its listing is kept in memory)."""
    key = Path(directory).resolve()
    with _indexes_lock:
        found = _indexes.get(key)
        if found is None:
            found = _indexes[key] = ModelIndex(key)
        return found


def saved_models(directory: str | os.PathLike[str] = MODELS_DIR) -> tuple[IndexedModel, ...]:
    """Every model in ``directory`` (the default first, then by name), from its index."""
    return model_index(directory).models()
