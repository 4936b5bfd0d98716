"""Per-session state: this browser session's training runs, chosen model and notices."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from core.runs import Run


@dataclass
class SessionData:
    """Everything one browser session owns.

    Attributes:
        job: The training job in progress (or just finished), if any.
        runs: Finished runs, oldest first.
        active: Which model the Draw page uses: ``"default"``, ``"run:N"`` or ``"saved:NAME"``.
        notice: A one-off message to show on the next page render.
    """

    job: object | None = None
    runs: list[Run] = field(default_factory=list)
    active: str = "default"
    notice: str | None = None


def session() -> SessionData:
    """This browser session's data (created on first use)."""
    if "digit_studio" not in st.session_state:
        st.session_state["digit_studio"] = SessionData()
    return st.session_state["digit_studio"]


def run_by_number(number: int) -> Run | None:
    """This session's run with that number, if any."""
    return next((r for r in session().runs if r.number == number), None)


def show_notice() -> None:
    """Show and clear a one-off notice left by a previous action."""
    data = session()
    if data.notice:
        st.success(data.notice)
        data.notice = None
