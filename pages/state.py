"""Per-session state, rebuilt from the store: this person's runs, their training, chosen model and notices.

Everything worth keeping lives in the store (``core.store``) under the
person's owner key, so a reload, a new tab or a server restart finds it
again; a session only caches what is costly to rebuild (a run's loaded model).
Their training in progress is in the process-wide registry (``core.registry``),
so a reloaded tab shows it live.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.identity import Identity
from core.registry import Training, Trainings, shared_trainings
from core.run_records import run_from
from core.runs import Run
from core.store import Store, open_store
from pages.identity import person

#: Stored preference keys.
ACTIVE_PREF, SETTINGS_PREF = "draw_model", "train_settings"


class SessionData:
    """Everything one browser session shows of its person.

    Args:
        identity: Who the session is.
        store: Where their runs and preferences are kept.
        trainings: The process's trainings in progress.
    """

    def __init__(self, identity: Identity, store: Store, trainings: Trainings) -> None:
        self.identity, self.store, self.trainings = identity, store, trainings
        self.notice: str | None = None
        self._active: str = store.pref(identity.owner, ACTIVE_PREF, "default")
        self._runs: dict[tuple, Run] = {}  # (number, state, created) -> run, its model loaded at most once
        self._version: tuple | None = None
        current = self.training
        # A training that ended before this session began is not news to it (its run is in the results).
        self.seen: set[int] = {current.key} if current is not None and not current.running else set()

    @property
    def owner(self) -> str:
        """The person's key in the store."""
        return self.identity.owner

    @property
    def training(self) -> Training | None:
        """The person's latest training (in progress, or ended), if this process has one."""
        return self.trainings.get(self.owner)

    @property
    def job(self) -> Any:
        """The job of the person's training until this session has seen it end (then None)."""
        current = self.training
        return None if current is None or current.key in self.seen else current.job

    @property
    def stored(self) -> list[Any]:
        """Every stored run of the person (``core.store_records.StoredRun``), oldest first."""
        return self.store.runs(self.owner)

    @property
    def runs(self) -> list[Run]:
        """The person's finished runs, oldest first (read again from the store whenever it changed)."""
        version = self.store.version(self.owner)
        if version == self._version:
            return list(self._runs.values())
        current = self.training
        kept = {}
        for stored in self.stored:
            if stored.state not in ("done", "stopped"):
                continue
            key = (stored.number, stored.state, stored.created)
            run = self._runs.get(key)
            if run is None:
                live = current.model if current is not None and current.number == stored.number else None
                run = run_from(stored, model=live)
            kept[key] = run
        self._runs, self._version = kept, version
        return list(kept.values())

    @property
    def active(self) -> str:
        """Which model the Draw page uses: ``"default"``, ``"run:N"`` or ``"saved:NAME"``."""
        return self._active

    @active.setter
    def active(self, value: str) -> None:
        if value != self._active:
            self._active = value
            self.store.set_pref(self.owner, ACTIVE_PREF, value)

    def forget(self) -> None:
        """Forget this session's cached runs and choices (after the person's data was deleted)."""
        self._runs, self._version, self._active, self.notice = {}, None, "default", None


def session() -> SessionData:
    """This browser session's data (created on its first run, from the store)."""
    if "digit_studio" not in st.session_state:
        st.session_state["digit_studio"] = SessionData(person(), open_store(), shared_trainings())
    return st.session_state["digit_studio"]


def run_by_number(number: int) -> Run | None:
    """This person's finished run with that number, if any."""
    return next((r for r in session().runs if r.number == number), None)


def show_notice() -> None:
    """Show and clear a one-off notice left by a previous action, and the store's notes to this person."""
    data = session()
    if data.notice:
        st.success(data.notice)
        data.notice = None
    for note in data.store.pop_notes(data.owner):
        st.info(note)
