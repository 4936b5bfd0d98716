"""Icons that degrade gracefully: no emoji anywhere in the app's text, Material icons that exist.

A browser without an emoji font (a plain Linux or kiosk browser, common on lab
machines and projectors) draws an emoji as an empty box. The app's pages,
messages and tooling hold none (``support.emoji``); its icons are Streamlit's
Material icons, and each one named must be one Streamlit knows, or the page
shows an error where the icon should be. The browser test
(``tests/test_e2e_layout.py``) checks the text a real browser renders.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from support.emoji import emoji_in

ROOT = Path(__file__).resolve().parent.parent
#: Every source, style, script and document of the project that git tracks (or would: new files too).
SOURCES = sorted(
    ROOT / name
    for name in subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py", "*.js", "*.css", "*.md", "*.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if (ROOT / name).is_file()
)
ICON = re.compile(r":material/([a-z0-9_]+):")


def test_the_checker_finds_emoji_and_leaves_plain_text_alone() -> None:
    rocket, pencil, variation = "\U0001f680", "\u270f", "\ufe0f"
    assert emoji_in(f"{rocket} Train") == [rocket]
    assert emoji_in(f"{pencil}{variation} Draw, {pencil} again") == [pencil, variation]
    assert emoji_in("\u23f3 waiting, \u21ba reset, \u2139 note") == ["\u23f3", "\u21ba", "\u2139"]
    assert emoji_in("3 → 5 · 28×28 – 98.5% ← ↑ ↓ “quoted” …") == []
    assert emoji_in(":material/rocket_launch: Train") == []


def test_sources_were_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in SOURCES}
    assert {"app.py", "pages/draw.py", "pages/train.py", "core/formatting.py", "README.md"} <= names


def test_no_emoji_in_the_project() -> None:
    """Pages, messages in core, tooling, tests and docs: Material icons or none, never emoji."""
    found = {
        f"{path.relative_to(ROOT)}:{number}": emoji_in(line)
        for path in SOURCES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if emoji_in(line)
    }
    assert not found, f"emoji (file:line: characters): {found}"


def test_every_material_icon_named_is_one_streamlit_knows() -> None:
    from streamlit.material_icon_names import ALL_MATERIAL_ICONS

    named = {
        (path.relative_to(ROOT).as_posix(), icon)
        for path in SOURCES
        if path.suffix == ".py" and (path.name == "app.py" or path.parent.name == "pages")
        for icon in ICON.findall(path.read_text(encoding="utf-8"))
    }
    assert any(path == "app.py" for path, _ in named), "the menu's icons are Material icons"
    unknown = sorted((path, icon) for path, icon in named if icon not in ALL_MATERIAL_ICONS)
    assert not unknown, unknown
