"""Start Digit Studio's web server: ``python serve.py [streamlit options]`` (what ``make run`` does).

The same as ``streamlit run app.py [options]``, except that the first visitor
after a start sees the app's own menu at once: with a plain ``streamlit run``,
the first session of a server opens in Streamlit's legacy ``pages/`` mode and
shows, for seconds, a blank page with a menu of every file in ``pages/``
(``pages.internals.start_with_app_navigation`` says why).
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().with_name("app.py")


def preload() -> None:
    """While the server starts: open the store (its start-up tidying) and import TensorFlow and Keras.

    The store's start-up marks the runs a restart cut off as interrupted and
    applies retention (``core.store.Store.start_up``), now rather than when the
    first visitor arrives. The first page shown needs TensorFlow; imported here,
    in the background, the first visitor waits for what is left of that.
    """
    from core.store import open_store

    try:
        open_store()
    except Exception:  # noqa: BLE001 - the first page will say what is wrong; the server starts anyway
        logging.getLogger(__name__).exception("Digit Studio: the store could not be opened")
    import core.inference  # noqa: F401 - the import is the point


def main(argv: list[str], warm: bool = True) -> None:
    """Run Streamlit's command line on ``app.py`` with ``argv`` as its options (never returns).

    Args:
        argv: Streamlit's options (``--server.port 8501`` …).
        warm: Import TensorFlow in the background meanwhile (:func:`preload`).
    """
    from streamlit.web import cli

    from core.presenter import presenter_key
    from pages.internals import start_with_app_navigation

    start_with_app_navigation()  # before the server accepts its first session
    presenter_key()  # decided now: a generated key is in the server's log before anyone asks for it
    if warm:
        threading.Thread(target=preload, name="digit-studio-preload", daemon=True).start()
    cli.main(["run", str(APP), *argv], prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])
