"""The Train page's presenter lock: controls a settings link fixed, shown disabled and marked as locked.

A link such as ``/train?dropout=0.3&lock=arch,epochs`` (``core.settings_lock``)
sets the controls and locks the ones it names for this browser tab's session:
they are disabled, their labels carry a lock, Reset leaves them, and the
settings a training is started with take the locked values whatever the
browser sent. "Share these settings" makes such links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from core.settings_lock import LOCK_PARAM, lock_text, parse_lock
from core.text import plain

__all__ = ["is_locked", "label", "lock_picker", "locked_query", "locked_values", "read_lock", "restore", "show_lock"]

_LOCKED = "cfg_lock"  #: session state: locked field -> its widget value
_PICKED = "share_lock"  #: the Share popover's choice of controls to lock
NAMES = {
    "arch": "architecture",
    "epochs": "epochs",
    "batch_size": "batch size",
    "dropout": "dropout",
    "learning_rate": "learning rate",
    "augment": "augmentation",
    "train_size": "training images",
    "seed": "random seed",
}


def read_lock(fields: Sequence[str], values: Mapping[str, Any]) -> None:
    """On a session's first Train page: lock what the link's ``lock`` names, at the values it set.

    Args:
        fields: The controls a link may set (and lock).
        values: Each field's widget value as the link set it.
    """
    locked, problems = parse_lock(st.query_params.get(LOCK_PARAM), fields)
    st.session_state[_LOCKED] = {name: values[name] for name in locked}
    for message in problems:
        st.warning(plain(message, limit=200))


def locked_values() -> dict[str, Any]:
    """Locked field -> its widget value (empty without a lock)."""
    return st.session_state.get(_LOCKED, {})


def is_locked(name: str) -> bool:
    """Whether the link locked control ``name``."""
    return name in locked_values()


def label(text: str, name: str) -> str:
    """A control's label, with a lock when it is locked."""
    return f":material/lock: {text}" if is_locked(name) else text


def show_lock() -> None:
    """Say which controls are locked, when some are."""
    names = [NAMES.get(n, n) for n in locked_values()]
    if names:
        st.info(
            f"The presenter's link locks: {', '.join(names)}. Change the other settings and compare.",
            icon=":material/lock:",
        )


def restore(keys: Mapping[str, str]) -> None:
    """Put the locked controls at their locked values: before the widgets are made, on every run.

    A disabled widget cannot be changed in the page, but a crafted message could still send
    a value; this overrides it, so a training always starts with the locked values.
    """
    for name, value in locked_values().items():
        st.session_state[keys[name]] = value


def locked_query(query: Mapping[str, str]) -> dict[str, str]:
    """A settings query that keeps this session's lock (so a reload keeps it too)."""
    text = lock_text(locked_values(), list(NAMES))
    return {**query, LOCK_PARAM: text} if text else dict(query)


def lock_picker(fields: Sequence[str]) -> str:
    """The Share popover's choice of controls to lock; returns the ``lock`` value for the link ("" for none)."""
    picked = st.multiselect(
        "Lock these controls for whoever opens the link",
        list(fields),
        key=_PICKED,
        format_func=lambda n: NAMES.get(n, n),
        help="Like a classroom mode: the room changes only what is left unlocked. "
        "It binds only the tab that opens the link; no presenter key is needed.",
    )
    return lock_text(picked, fields)
