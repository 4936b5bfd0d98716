"""What a failed browser test or benchmark leaves behind: screenshots and HTML in test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import ROOT

#: Folder for screenshots, page HTML and server logs (git-ignored).
ARTIFACTS = ROOT / "test-artifacts"


def save_artifacts(page: Any, name: str) -> list[Path]:
    """Screenshot + HTML of ``page`` into test-artifacts/ (best effort: never raises).

    Args:
        page: A Playwright sync-API ``Page``.
        name: File name stem (characters other than letters, digits and ``-_.`` become ``_``).

    Returns:
        The files written.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:120]
    written = []
    try:
        path = ARTIFACTS / f"{safe}.png"
        page.screenshot(path=str(path), full_page=True, timeout=15000)
        written.append(path)
    except Exception:
        pass
    try:
        path = ARTIFACTS / f"{safe}.html"
        path.write_text(page.content(), encoding="utf-8")
        written.append(path)
    except Exception:
        pass
    return written
