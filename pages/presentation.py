"""The Draw page's presentation layout: for a projector, the canvas and the answer large, the controls quiet.

A presenter switches it on with the page's toggle, or opens ``/draw?present=1``
(a link to bookmark). The toggle only sets that query parameter, so the
address always says which layout is shown and a reload keeps it. While it is
on, ``app.py`` collapses the sidebar (the page's config) and the page adds
the layout's style (``pages/present_layout.css``, through ``pages/internals.py``
since it names Streamlit's containers): the predicted digit and the ten bars
sized from the screen's height, the canvas scaled up to its column, the
controls smaller and dimmer.
"""

from __future__ import annotations

import streamlit as st

from pages.internals import present_style

#: The query parameter that turns the layout on (``?present=1``).
PARAM = "present"
#: The toggle's label and key.
TOGGLE = "Presentation mode"
KEY = "present_mode"


def presenting() -> bool:
    """Whether this page is shown in the presentation layout (the address says ``present=1``)."""
    return st.query_params.get(PARAM) == "1"


def sidebar_state() -> str:
    """The sidebar's state for ``st.set_page_config``: collapsed while presenting, else Streamlit's default."""
    return "collapsed" if presenting() else "auto"


def _switch() -> None:
    """The toggle's callback: the address's parameter follows the toggle (before the script reruns)."""
    if st.session_state[KEY]:
        st.query_params[PARAM] = "1"
    elif PARAM in st.query_params:
        del st.query_params[PARAM]


def presentation_control() -> bool:
    """The toggle (it shows what the address says), and the layout's style while it is on.

    Returns:
        Whether the page is in the presentation layout.
    """
    on = presenting()
    st.session_state[KEY] = on  # a link with ?present=1, or one without, decides
    st.toggle(
        TOGGLE,
        key=KEY,
        on_change=_switch,
        help="For a projector: the sidebar folds away, the canvas and the answer grow. "
        "Same as adding ?present=1 to the page's address.",
    )
    if on:
        st.html(present_style())
    return on
