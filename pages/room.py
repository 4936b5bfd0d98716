"""Room: join a presenter's room, share your drawings with it, and see every model in the room scored on them."""

from __future__ import annotations

import streamlit as st

from core.drawings import Drawings
from core.rooms import RoomError, open_rooms
from core.text import plain
from pages.internals import use_app_navigation
from pages.room_presenter import hide_controls, presenter_key_from_link, presenter_panel
from pages.room_views import live_room, share_controls
from pages.state import session

use_app_navigation()

st.title("Room")
data = session()
rooms = open_rooms()
presenter_key_from_link(rooms)  # before anything is shown: the key leaves the address bar at once
wanted = (st.query_params.get("room") or "")[:100] or None  # a link may carry megabytes


def leave() -> None:
    withdrawn = rooms.leave(data.owner)
    st.session_state["room_notice"] = f"You left the room; {withdrawn} shared drawing(s) were withdrawn."


def join_form() -> None:
    """Join a room: its name (from the link, if any) and a nickname."""
    if wanted:
        try:
            rooms.find(wanted)
        except RoomError as exc:  # an unknown room, or a stale link to a closed one
            st.error(plain(exc, limit=200), icon=":material/error:")
    with st.form("join_form"):
        name = st.text_input("Room", value=(wanted or "")[:30], max_chars=30, help="The name your presenter gave.")
        nickname = st.text_input("Your nickname", max_chars=20, help="2-20 letters, digits, spaces, - _ . '")
        st.caption(
            "The room sees your nickname, the drawings you choose to share and how your trained models "
            "score on them; nothing else about you. Leaving withdraws what you shared."
        )
        if st.form_submit_button("Join", type="primary", icon=":material/login:"):
            try:
                joined = rooms.join(name, data.owner, nickname)
            except RoomError as exc:
                st.error(plain(exc, limit=200), icon=":material/error:")
                return
            st.query_params["room"] = joined.room.name
            st.rerun()


for key, show in (("room_notice", st.success), ("room_problems", st.warning)):
    message = st.session_state.pop(key, None)
    for text in [message] if isinstance(message, str) else message or []:
        show(plain(text, limit=300))

managed = presenter_panel(rooms, wanted)
member = rooms.member(data.owner)
if member is not None:
    st.markdown(f"You are in room **{plain(member.room.name)}** as **{plain(member.nickname)}**.")
    st.button("Leave the room", icon=":material/logout:", on_click=leave)
    with st.expander("Share my drawings with the room", icon=":material/ios_share:", expanded=True):
        share_controls(rooms, data.owner, Drawings(data.store))
elif managed is None:
    st.markdown(
        "A presenter opens a room; everyone joins it with a nickname and may share the drawings they "
        "corrected on the **Draw** page. Then every model trained in the room is scored on the room's own "
        "drawings, beside its MNIST test accuracy: how well does MNIST prepare a model for real people?"
    )
    join_form()

shown = member.room if member is not None else managed
if shown is not None:
    if managed is not None:
        hide_controls(rooms, managed)
    st.divider()
    live_room(shown.id)
