"""Timing of script runs, for the workshop benchmark."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator


@contextlib.contextmanager
def timed_run(page: str) -> Iterator[None]:
    """Log how long this script run takes, when ``$DIGIT_STUDIO_RUN_LOG`` names a file.

    Appends ``<wall-clock start> <page> <milliseconds>`` per run (also a run
    ended by ``st.rerun``/``st.stop``). ``python -m bench.workshop`` sets it to
    tell the server's own time per stroke from the browsers'. Unset (the
    default), this does nothing.

    Args:
        page: The page's URL path ("" for Home).
    """
    path = os.environ.get("DIGIT_STUDIO_RUN_LOG")
    if not path:
        yield
        return
    wall, start = time.time(), time.perf_counter()
    try:
        yield
    finally:
        line = f"{wall:.3f} {page or 'home'} {1000 * (time.perf_counter() - start):.1f}\n"
        try:
            with open(path, "a", encoding="utf-8") as log:
                log.write(line)
        except OSError:
            pass  # timing is best effort: never break a page for it
