"""The Room page's views: sharing your drawings, and the live room (leaderboard, drawings per digit).

The live part is a fragment that reruns every few seconds on its own. It
never waits for a model: scores come from the process's scoreboard
(``core.room_scores``), which answers with what it knows and scores the rest
in the background, so a refresh costs a few small reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.drawings import Drawing, Drawings
from core.formatting import percent
from core.room_schema import Contribution, RoomRun, ShareReport
from core.room_scores import board_rows, shared_scoreboard
from core.rooms import RoomError, Rooms, open_rooms
from core.storage import DEFAULT_MODEL, MODELS_DIR, read_card
from core.text import plain
from pages.inside_view import figures

__all__ = ["LIVE_EVERY", "live_room", "share_controls"]

#: Seconds between refreshes of the live room: new drawings and scores show up within this.
LIVE_EVERY = 5.0
SHARE_COLUMNS = 8
SHOWN = 48  #: the most of a person's drawings the share grid shows (the latest)
BUNDLED = "(bundled model)"  #: the board's name for the bundled model (no nickname has brackets)


def _contribution(drawing: Drawing) -> Contribution:
    return Contribution(str(drawing.id), drawing.image, drawing.label)


def _report(report: ShareReport) -> None:
    st.session_state["room_notice"] = f"Shared {report.added} drawing(s) with the room." + (
        f" {report.already} were shared already." if report.already else ""
    )
    st.session_state["room_problems"] = list(report.problems)


def _share_all(rooms: Rooms, owner: str, drawings: list[Drawing]) -> None:
    try:
        _report(rooms.drawings.share(owner, [_contribution(d) for d in drawings]))
    except RoomError as exc:
        st.session_state["room_problems"] = [str(exc)]


def share_controls(rooms: Rooms, owner: str, drawings: Drawings) -> None:
    """The person's drawings, each with a "shared" box, and "Share all".

    Drawings deleted from their collection since they were shared are withdrawn from the room here.
    """
    mine = drawings.of(owner)
    shared = rooms.drawings.shared_sources(owner)
    gone = shared - {str(d.id) for d in mine}
    if gone:
        rooms.drawings.unshare(owner, gone)
        shared -= gone
    if not mine:
        st.info(
            "You have no drawings yet. On the **Draw** page, draw a digit and tap the right one under "
            "“That's wrong — it was a …” (or “Save as a …”): it joins your drawings, and you can share it here."
        )
        return
    st.markdown(f"{len(shared)} of your {len(mine)} drawing(s) are shared with the room.")
    st.button(
        "Share all my drawings",
        icon=":material/ios_share:",
        on_click=_share_all,
        args=(rooms, owner, [d for d in mine if str(d.id) not in shared]),
        disabled=len(shared) == len(mine),
    )
    latest = mine[-SHOWN:]
    with st.form("share_form"):
        cols = st.columns(SHARE_COLUMNS)
        keys = {d.id: f"share_{d.id}_{int(str(d.id) in shared)}" for d in latest}  # a new box when its state moves
        for i, d in enumerate(latest):
            col = cols[i % SHARE_COLUMNS]
            col.image(np.repeat(np.repeat(d.image, 2, 0), 2, 1), caption=f"a {d.label}", output_format="PNG")
            col.checkbox("shared", value=str(d.id) in shared, key=keys[d.id])
        if st.form_submit_button("Save what I share", icon=":material/save:"):
            ticked = {d.id: bool(st.session_state[keys[d.id]]) for d in latest}
            rooms.drawings.unshare(owner, [str(i) for i, on in ticked.items() if not on and str(i) in shared])
            _share_all(rooms, owner, [d for d in latest if ticked[d.id] and str(d.id) not in shared])
            st.rerun()


def board_table(rows: list[dict]) -> pd.DataFrame:
    """The leaderboard as the page shows it: ranked, accuracies as percentages, the gap in points, text escaped."""
    table = [
        {
            "Who": plain(r["Who"], 20),
            "Run": plain(r["Run"], 80),
            "MNIST test": percent(r["MNIST test"], 1),
            "Room drawings": "…" if r["Room drawings"] is None else percent(r["Room drawings"], 1),
            "MNIST − room": "…" if r["Gap"] is None else f"{100 * r['Gap']:+.1f} points",
            "Scored": plain(r["Scored"]),
        }
        for r in rows
    ]
    return pd.DataFrame(table, index=pd.RangeIndex(1, len(table) + 1, name="#"))


@st.cache_data(show_spinner=False, max_entries=1)
def _bundled_accuracy(mtime: float) -> float | None:
    """The bundled model's MNIST test accuracy, from its card."""
    try:
        return float(read_card(MODELS_DIR / f"{DEFAULT_MODEL}.keras")["test_accuracy"])
    except (OSError, KeyError, TypeError, ValueError):
        return None


def _bundled() -> list[RoomRun]:
    """The bundled model as a row of the board (for comparison), when it is there."""
    path = MODELS_DIR / f"{DEFAULT_MODEL}.keras"
    try:
        accuracy = _bundled_accuracy(path.stat().st_mtime)
    except OSError:
        return []
    if accuracy is None:
        return []
    return [RoomRun(BUNDLED, 0, "cnn", 0, 0.0, False, accuracy, path, title="Bundled model")]


def _leaderboard(rooms: Rooms, room_id: int) -> None:
    test_set = rooms.drawings.test_set(room_id)
    runs = rooms.member_runs(room_id) + _bundled()
    board = shared_scoreboard()
    rows = board_rows(runs, [board.score(r.model_path, test_set) for r in runs])
    st.subheader("Leaderboard: MNIST against the room's drawings")
    if not len(test_set.ids):
        st.info("No drawings are shared yet: every model's score on them shows here once people share.")
    st.table(board_table(rows), border="horizontal")
    st.caption(
        "Each participant's finished runs from the Train page, scored on the drawings the room shared "
        "(hidden ones left out), beside their accuracy on MNIST's test set. Scores fill in within seconds."
    )


@st.cache_data(show_spinner=False, max_entries=16)
def _sheets_html(room_id: int, version: int) -> tuple[int, str]:
    """The room's drawings per digit as HTML (one PNG per digit, side by side), made once per room version."""
    from core.digit_sheets import sheets_by_digit

    test_set = open_rooms().drawings.test_set(room_id)
    sheets = sheets_by_digit(test_set.images, test_set.labels)
    pictures = [
        (s.png, f"{s.digit}: {s.count} drawing(s)" + (f", the latest {s.shown}" if s.shown < s.count else ""))
        for s in sheets
        if s.png is not None
    ]
    missing = [str(s.digit) for s in sheets if s.png is None]
    none_yet = f"<p style='opacity:.6'>No {', '.join(missing)} yet.</p>" if missing and pictures else ""
    return len(test_set.ids), (figures(pictures, gap=1.5) if pictures else "") + none_yet


@st.fragment(run_every=LIVE_EVERY)
def live_room(room_id: int) -> None:
    """The room, live: who is in it, the leaderboard and the drawings per digit."""
    rooms = open_rooms()
    try:
        room = rooms.get(room_id)
    except RoomError:
        room = None
    if room is None or not room.is_open:
        st.warning("This room was closed by its presenter.", icon=":material/door_front:")
        return
    people = rooms.nicknames(room_id)
    st.markdown(
        f"**{len(people)}** in the room: "
        + ", ".join(plain(n, 20) for n in people[:60])
        + ("…" if len(people) > 60 else "")
    )
    _leaderboard(rooms, room_id)
    count, sheets = _sheets_html(room_id, room.version)
    st.subheader(f"The room's drawings ({count})")
    st.markdown(sheets, unsafe_allow_html=True)
