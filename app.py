"""Digit Studio: train a handwritten-digit classifier, then draw digits for it.

Run with ``make run`` (or ``streamlit run app.py``). This file only routes;
the pages are in ``pages/`` and all logic is in ``core/``.
"""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: A 28×28 digit as the model sees it (a seven drawn on the canvas), the browser tab's icon.
FAVICON = str(Path(__file__).with_name("pages") / "favicon.png")


def main() -> None:
    """Set up the page, then run the page the browser asked for."""
    # Imported here, not at the top: a spawned Dask worker imports this file too (see the end),
    # and has no use for Streamlit and the pages (1.4 s and about 100 MB).
    import streamlit as st

    from core.cluster import start_in_background
    from pages.forget import forget_control
    from pages.identity import keep_cookie
    from pages.internals import keep_compiled_functions, log_internal_problems
    from pages.presentation import sidebar_state
    from pages.timing import timed_run

    keep_compiled_functions()  # before anything else: Streamlit would reset Keras after every run
    log_internal_problems()  # once per process: says which library internal an upgrade removed
    # The tab icon is a picture, not an emoji: a browser without an emoji font would show a box.
    st.set_page_config(
        page_title="Digit Studio", page_icon=FAVICON, layout="wide", initial_sidebar_state=sidebar_state()
    )
    start_in_background()  # trainings run on a Dask cluster: have its workers up before anyone presses Train

    pages = [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
        st.Page("pages/draw.py", title="Draw", icon=":material/draw:", url_path="draw"),
        st.Page("pages/my_drawings.py", title="My drawings", icon=":material/photo_library:", url_path="drawings"),
        st.Page("pages/room.py", title="Room", icon=":material/groups:", url_path="room"),
    ]
    page = st.navigation(pages)
    keep_cookie()  # a browser seen for the first time gets its identity's cookie
    forget_control()
    with timed_run(page.url_path):
        page.run()


# Streamlit runs this file as __main__. Dask's worker processes are spawned, and a spawned
# process imports its parent's main script (as __mp_main__): the guard keeps the app out of them.
if __name__ == "__main__":
    main()
