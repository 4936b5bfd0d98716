"""Start Digit Studio's web server: ``python serve.py [streamlit options]`` (what ``make run`` does).

The same as ``streamlit run app.py [options]``, except that the first visitor
after a start sees the app's own menu at once: with a plain ``streamlit run``,
the first session of a server opens in Streamlit's legacy ``pages/`` mode and
shows, for seconds, a blank page with a menu of every file in ``pages/``
(``pages.internals.start_with_app_navigation`` says why).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().with_name("app.py")


def preload() -> None:
    """Import TensorFlow and Keras (configured as the app wants them) while the server starts.

    The first page shown needs them; imported here, in the background, the
    first visitor waits for what is left of that, not for all of it.
    """
    import core.inference  # noqa: F401 - the import is the point


def main(argv: list[str], warm: bool = True) -> None:
    """Run Streamlit's command line on ``app.py`` with ``argv`` as its options (never returns).

    Args:
        argv: Streamlit's options (``--server.port 8501`` …).
        warm: Import TensorFlow in the background meanwhile (:func:`preload`).
    """
    from streamlit.web import cli

    from pages.internals import start_with_app_navigation

    start_with_app_navigation()  # before the server accepts its first session
    if warm:
        threading.Thread(target=preload, name="digit-studio-preload", daemon=True).start()
    cli.main(["run", str(APP), *argv], prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])
