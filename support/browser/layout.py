"""Does a page read cleanly at this screen size? Text cut off, sideways scrolling, emoji, screenshots.

:func:`layout_report` measures a page as the browser laid it out: every
element whose content is wider than its box (metric values and labels, table
cells, the Draw page's answer and bars, and anything that cuts its text with an
ellipsis), how wide the page is against the window, and the emoji in its
rendered text (``support.emoji``). :func:`settle` waits until the app is idle
and its pictures are loaded; :func:`screenshots` saves what the window shows
and the page's whole length. Sync API; everything waits with a timeout.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.emoji import emoji_in

#: JS: elements whose content overflows their box sideways (``scrollWidth > clientWidth``), shown ones only,
#: and pictures wider than the column that holds them.
CUT_OFF_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  const named = main.querySelectorAll([
    '[data-testid="stMetricValue"]', '[data-testid="stMetricValue"] *',
    '[data-testid="stMetricLabel"]', '[data-testid="stMetricLabel"] *',
    'table th', 'table td', 'table th *', 'table td *',
    '[data-testid="prediction"]', '[data-testid^="confidence-"] > span',
  ].join(','));
  const candidates = new Set(named);
  for (const e of main.querySelectorAll('*')) {
    if (getComputedStyle(e).textOverflow === 'ellipsis') candidates.add(e);
  }
  const cut = [];
  for (const e of candidates) {
    const style = getComputedStyle(e);
    const box = e.getBoundingClientRect();
    if (style.display === 'inline' || style.visibility === 'hidden' || box.width === 0 || box.height === 0) continue;
    if (e.scrollWidth > e.clientWidth + 1) {
      const owner = e.closest('[data-testid]');
      cut.push({testid: owner ? owner.dataset.testid : null, tag: e.tagName.toLowerCase(),
                text: (e.innerText || '').trim().slice(0, 80), content: e.scrollWidth, box: e.clientWidth});
    }
  }
  // Pictures wider than the column (or block) that holds them spill over their neighbours.
  for (const img of main.querySelectorAll('img')) {
    const holder = img.closest('[data-testid="stColumn"], [data-testid="stVerticalBlock"]');
    const box = img.getBoundingClientRect();
    if (holder && box.width > 0 && box.width > holder.getBoundingClientRect().width + 1) {
      cut.push({testid: 'img', tag: 'img', text: (img.alt || img.src).slice(0, 80),
                content: Math.round(box.width), box: Math.round(holder.getBoundingClientRect().width)});
    }
  }
  return cut;
}"""

#: JS: the page's width, the window's, and the main area's scroll width and width.
WIDTHS_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return {page: document.scrollingElement.scrollWidth, window: window.innerWidth,
          main: main ? main.scrollWidth : 0, mainBox: main ? main.clientWidth : 0};
}"""

#: JS: the app is idle (its script not running), every picture in the main area has loaded, no skeletons.
IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  const images = Array.from(document.querySelectorAll('[data-testid="stMain"] img'));
  return images.every((i) => i.complete && i.naturalWidth > 0);
}"""

#: JS: the main area's text and pictures, to tell when the page has stopped changing.
SIGNATURE_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  return main.innerText + '|' + Array.from(main.querySelectorAll('img')).map((i) => i.src).join('|');
}"""


#: JS: resolves after two animation frames (the page has laid out and painted a change).
NEXT_FRAMES_JS = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


@dataclass
class LayoutReport:
    """What :func:`layout_report` found on one page at one size.

    Attributes:
        cut: One dict per element whose content overflows its box (``testid``, ``tag``, ``text``,
            ``content`` and ``box`` widths in CSS pixels).
        widths: The page's and the window's widths (``page``, ``window``, ``main``, ``mainBox``).
        emoji: Emoji code points in the page's rendered text.
        text: The page's rendered text (``document.body.innerText``).
    """

    cut: list[dict] = field(default_factory=list)
    widths: dict = field(default_factory=dict)
    emoji: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def sideways(self) -> bool:
        """Whether the page (or its main area) is wider than the window: it scrolls sideways."""
        w = self.widths
        return w["page"] > w["window"] or w["main"] > w["mainBox"]

    def problems(self) -> list[str]:
        """Each problem as a sentence; empty when the page reads cleanly."""
        found = [f"cut off: {c}" for c in self.cut]
        if self.sideways:
            found.append(f"the page scrolls sideways: {self.widths}")
        if self.emoji:
            found.append(f"emoji in the rendered text: {self.emoji}")
        return found


def layout_report(page: Any) -> LayoutReport:
    """Measure ``page`` (a Playwright sync-API ``Page``) as laid out now."""
    text = page.evaluate("() => document.body.innerText")
    return LayoutReport(page.evaluate(CUT_OFF_JS), page.evaluate(WIDTHS_JS), emoji_in(text), text)


def settle(page: Any, timeout: float = 60.0, quiet: float = 1.0) -> None:
    """Wait until the app is idle, its pictures loaded, and the main area unchanged for ``quiet`` seconds.

    Raises:
        TimeoutError: If the page has not settled within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    page.wait_for_function(IDLE_JS, timeout=timeout * 1000)
    last, since = page.evaluate(SIGNATURE_JS), time.monotonic()
    while time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page kept changing for {timeout:.0f} s")
        page.wait_for_timeout(200)
        now = page.evaluate(SIGNATURE_JS)
        if now != last:
            last, since = now, time.monotonic()
    page.wait_for_function(IDLE_JS, timeout=max(1.0, deadline - time.monotonic()) * 1000)


def screenshots(page: Any, path: Path, full: bool = True) -> list[Path]:
    """Save what the window shows as ``path``, and (``full``) the page's whole length beside it (``*-full.png``).

    Streamlit scrolls its main area, not the document, so a full-page screenshot
    would show the window only: for the whole length the window is made as tall
    as the main area's content for the shot, then given back its height.

    Returns:
        The files written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    written = [path]
    if full:
        size = page.viewport_size
        height = page.evaluate(
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
            " return m ? m.scrollHeight : document.scrollingElement.scrollHeight; }"
        )
        if height > size["height"]:
            tall = path.with_name(path.stem + "-full.png")
            page.set_viewport_size({"width": size["width"], "height": min(int(height), 12000)})
            try:
                page.evaluate(NEXT_FRAMES_JS)  # laid out and painted at the new height
                page.screenshot(path=str(tall))
                written.append(tall)
            finally:
                page.set_viewport_size(size)
    return written
