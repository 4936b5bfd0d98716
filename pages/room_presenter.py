"""The Room page's presenter controls: the key, opening a room, the link for the room, hiding, export, closing.

Visible only once this browser has shown the presenter key: typed here, or in
the link the presenter opens (``/room?key=…``), which is then taken out of the
address bar at once (the screen may be projected, the address copied). The
key is kept in this session's state on the server, never sent back to the
browser, and every action passes it to ``core.rooms``, which checks it again.
The person's store keeps a one-way proof of it, so a reload or a new tab of
the same browser keeps the controls (until "Hide the presenter controls", a
restart that generates a new key, or "Forget my data").
"""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import streamlit as st

from core.room_schema import Room
from core.rooms import RoomError, Rooms
from core.text import plain
from pages.state import session

__all__ = ["presenter_key", "presenter_key_from_link", "presenter_panel", "hide_controls"]

KEY_STATE = "room_presenter_key"
PROOF_PREF = "presenter_proof"  #: stored for a person whose browser showed the key (see PresenterKey.proof)
ROOM_STATE = "room_presenter_room"
HIDE_COLUMNS = 8


def presenter_key() -> str | None:
    """The presenter key this session has shown, or None."""
    return st.session_state.get(KEY_STATE)


def _remember(rooms: Rooms, key: str) -> None:
    """This session shows the key; the person's store keeps a proof of it (a reload keeps the controls)."""
    st.session_state[KEY_STATE] = key
    data = session()
    data.store.set_pref(data.owner, PROOF_PREF, rooms.key.proof())


def _sign_out() -> None:
    data = session()
    data.store.set_pref(data.owner, PROOF_PREF, None)
    st.session_state.pop(KEY_STATE, None)


def presenter_key_from_link(rooms: Rooms) -> None:
    """The key from the link (remembered when right; either way out of the address), or from a stored proof."""
    key = st.query_params.get("key")
    if key is None:
        data = session()
        if KEY_STATE not in st.session_state and rooms.key.proves(data.store.pref(data.owner, PROOF_PREF)):
            st.session_state[KEY_STATE] = rooms.key.value  # this browser showed the key before (a reload)
        return
    del st.query_params["key"]
    if rooms.key.matches(key):
        _remember(rooms, key)
    else:
        st.error(
            "That presenter key is not right (one from before the server restarted? Its log shows the current one).",
            icon=":material/key_off:",
        )


def _unlock(rooms: Rooms) -> None:
    with st.form("presenter_key_form"):
        typed = st.text_input("Presenter key", type="password", max_chars=200, help="Printed in the server's log.")
        if st.form_submit_button("Unlock presenter controls", icon=":material/key:"):
            if rooms.key.matches(typed):
                _remember(rooms, typed)
                st.rerun()
            st.error("That presenter key is not right.", icon=":material/key_off:")


def _open_room(rooms: Rooms, key: str) -> None:
    with st.form("open_room_form", clear_on_submit=True):
        name = st.text_input("Open a room called", max_chars=30, help="2-30 letters, digits, spaces, - _ . '")
        if st.form_submit_button("Open the room", icon=":material/meeting_room:"):
            try:
                st.session_state[ROOM_STATE] = rooms.open_room(name, key).id
            except RoomError as exc:
                st.error(plain(exc, limit=200))


def _close(rooms: Rooms, room: Room, key: str) -> None:
    rooms.close(room.id, key)
    st.session_state.pop(ROOM_STATE, None)
    st.session_state["room_notice"] = f"Room “{plain(room.name)}” is closed: its drawings and members are deleted."


def presenter_panel(rooms: Rooms, wanted: str | None) -> Room | None:
    """The presenter's panel (the key first); returns the room the presenter looks after, if any.

    Args:
        rooms: The rooms.
        wanted: The room named in the link (``?room=``), picked when it is open.
    """
    key = presenter_key()
    with st.expander("Presenter", icon=":material/co_present:", expanded=key is not None):
        if key is None:
            _unlock(rooms)
            return None
        _open_room(rooms, key)
        open_ = {r.id: r for r in rooms.open_rooms()}
        if wanted and ROOM_STATE not in st.session_state:
            found = next((r for r in open_.values() if r.name.casefold() == wanted.casefold()), None)
            if found is not None:
                st.session_state[ROOM_STATE] = found.id
        if not open_:
            st.info("No room is open. Open one above, then give the room its link.")
            return None
        if st.session_state.get(ROOM_STATE) not in open_:
            st.session_state[ROOM_STATE] = next(iter(open_))
        room = open_[st.selectbox("Room", list(open_), key=ROOM_STATE, format_func=lambda i: open_[i].name)]
        base = (getattr(st.context, "url", None) or "").split("?")[0]
        st.caption("The room's link (participants join with it and a nickname):")
        st.code(f"{base}?{urlencode({'room': room.name})}", language=None)
        c1, c2 = st.columns(2)
        safe_name = "".join(c if c.isalnum() else "-" for c in room.name)
        c1.download_button(
            "Download the room's drawings (.npz)",
            data=lambda: rooms.drawings.export(room.id, key),
            file_name=f"room-{safe_name}.npz",
            mime="application/octet-stream",
            icon=":material/download:",
            on_click="ignore",
            help="x (N, 28, 28) and y (N,) uint8, the hidden drawings left out; core.data.load_digit_set reads it.",
        )
        with c2.popover("Close the room", icon=":material/door_front:"):
            st.markdown("Closing deletes the room's drawings and members; links to it then say it is closed.")
            st.button("Close it now", type="primary", key="close_room", on_click=_close, args=(rooms, room, key))
        st.button("Hide the presenter controls on this browser", icon=":material/key_off:", on_click=_sign_out)
        return room


def hide_controls(rooms: Rooms, room: Room) -> None:
    """Hide (or show again) a digit's drawings, with who shared each: the presenter's view of the room's set."""
    key = presenter_key()
    drawings = rooms.drawings.in_room(room.id, hidden=True)
    if key is None or not drawings:
        return
    with st.expander("Hide drawings", icon=":material/visibility_off:"):
        digit = st.segmented_control("Digit", list(range(10)), key="hide_digit", default=0)
        shown = [d for d in drawings if d.label == digit][-48:]
        if not shown:
            st.caption("No drawings of this digit.")
            return
        with st.form(f"hide_form_{digit}"):
            cols = st.columns(HIDE_COLUMNS)
            for i, d in enumerate(shown):
                col = cols[i % HIDE_COLUMNS]
                col.image(np.repeat(np.repeat(d.image, 2, 0), 2, 1), caption=plain(d.nickname, 20), output_format="PNG")
                col.checkbox("hidden", value=d.hidden, key=f"hide_{d.id}_{int(d.hidden)}")
            if st.form_submit_button("Save", icon=":material/save:"):
                wanted = {d.id: bool(st.session_state[f"hide_{d.id}_{int(d.hidden)}"]) for d in shown}
                rooms.drawings.hide(room.id, [i for i, h in wanted.items() if h], key)
                rooms.drawings.hide(room.id, [i for i, h in wanted.items() if not h], key, hidden=False)
                st.rerun()
