"""Debian's Chromium, driven by Playwright (no browser download)."""

from __future__ import annotations

import os
import shutil
from typing import Any

#: Flags for a headless Chromium that stays quiet: no GPU, no sandbox (containers), no background traffic.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium() -> str | None:
    """Path of a usable Chromium executable, or None.

    Returns:
        Debian's ``/usr/bin/chromium`` when present, else ``chromium`` or
        ``chromium-browser`` from PATH, else None.
    """
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright: Any, executable: str | None = None) -> Any:
    """Launch headless Chromium with the project's flags.

    Args:
        playwright: What ``sync_playwright()`` or ``async_playwright()`` started.
        executable: Chromium to run (default: :func:`find_chromium`).

    Returns:
        The ``Browser`` (sync API), or an awaitable of it (async API).

    Raises:
        RuntimeError: If no Chromium is found.
    """
    executable = executable or find_chromium()
    if executable is None:
        raise RuntimeError("Chromium not found (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
