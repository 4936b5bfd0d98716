"""The sidebar's "Forget my data": delete everything the app keeps about this person."""

from __future__ import annotations

import streamlit as st

from core.drawings import Drawings
from core.model_owners import forget_models
from core.rooms import open_rooms
from pages.state import session

FORGET_LABEL = "Forget my data"
CONFIRM_LABEL = "Delete all my data"
_DONE = "digit_studio_forgotten"


def forget_my_data() -> None:
    """Stop the person's training, then delete their runs, models, drawings, preferences, notes and saved models."""
    data = session()
    data.trainings.forget(data.owner)
    drawings = Drawings(data.store).count(data.owner)
    open_rooms().forget(data.owner)  # their nickname and what they shared with a room
    runs = data.store.forget(data.owner)  # the drawings too
    models = forget_models(data.owner)
    data.forget()
    for key in ("results_run", "watching", "last_error"):
        st.session_state.pop(key, None)
    st.session_state[_DONE] = (
        f"Deleted {runs} run(s), {drawings} drawing(s) and {models} saved model(s). Nothing about you is kept any more."
    )


def forget_control() -> None:
    """The control in the sidebar: what it deletes, and a button that does it (a callback, before the page runs)."""
    with st.sidebar:
        done = st.session_state.pop(_DONE, None)
        if done:
            st.success(done)
        with st.popover(FORGET_LABEL, icon=":material/delete:", width="stretch"):
            st.markdown(
                "Deletes everything this app keeps about you: your training runs and their models, "
                "your drawings, your last settings and chosen model, and the models you saved in `models/`. "
                "A training in progress is stopped. This cannot be undone."
            )
            st.button(CONFIRM_LABEL, type="primary", key="forget_confirm", on_click=forget_my_data)
