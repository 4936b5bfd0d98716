"""The Draw page as the browser sees it: CSS selectors, texts, and JavaScript run in the page.

The snippets are evaluated with Playwright's ``page.evaluate`` by the drivers
in :mod:`support.browser.draw_page`, and by benchmarks that time a stroke
themselves. They wait *in the page* (a MutationObserver), so a result's
time on screen is measured where it appears, not after a polling round trip.
"""

from __future__ import annotations

import json

#: CSS selectors (Playwright CSS pierces open shadow roots, which components v2 may use).
PREDICTION = "[data-testid='prediction']"
CANVAS_UPPER = "canvas.upper-canvas"
#: The style the Draw page adds (in the canvas component's shadow root) to pin its toolbar above the canvas.
PINNED_TOOLBAR = "style[data-digit-studio]"
EMPTY_PROMPT_TEXT = "Draw a digit (0–9) anywhere"
#: Beginnings of the Draw page's prompts for a canvas without a readable digit (pages/draw.py PROMPTS).
PROMPT_TEXTS = (EMPTY_PROMPT_TEXT, "That looks like a stray dot", "The canvas is almost entirely covered")
#: Titles of the canvas toolbar's buttons.
RESET_TITLE = "Reset canvas & history"
ERROR_ELEMENTS = "[data-testid='stException'], [data-testid='stAlertContentError']"
#: The Train page's form button, by its accessible name: find it with ``get_by_role("button",
#: name=TRAIN_BUTTON, exact=True)``. Its Material icon is a separate ``aria-hidden`` element whose
#: text is the icon's name, so the button's ``innerText`` reads "rocket_launch" and "Train".
TRAIN_BUTTON = "Train"

#: JS: ``snapshot()``, what the tab shows right now (shared by the snippets below).
_SNAPSHOT_FN = """
const snapshot = () => {
  // textContent, not innerText: no forced layout, so polling stays cheap with many tabs open.
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  const app = document.querySelector('[data-testid="stApp"]');
  const pred = document.querySelector(%s);
  const imgs = Array.from(main.querySelectorAll('img')).map(i => i.getAttribute('src'));
  const errors = Array.from(document.querySelectorAll(%s)).map(e => (e.textContent || '').slice(0, 300));
  const alerts = Array.from(main.querySelectorAll('[data-testid="stAlert"]')).map(e => (e.textContent || '').trim());
  const prompts = %s;
  return {
    signature: (main.textContent || '') + '\\n' + imgs.join('\\n'),
    script: app ? (app.getAttribute('data-test-script-state') || '') : '',
    connection: app ? (app.getAttribute('data-test-connection-state') || '') : '',
    prediction: pred ? (pred.textContent.trim() || null) : null,
    prompt: alerts.find(a => prompts.some(p => a.includes(p))) || null,
    alerts: alerts.map(a => a.slice(0, 200)),
    errors: errors,
  };
};
""" % (json.dumps(PREDICTION), json.dumps(ERROR_ELEMENTS), json.dumps(PROMPT_TEXTS, ensure_ascii=False))  # noqa: UP031

#: One round trip: :func:`snapshot` of the tab.
SNAPSHOT_JS = "() => {" + _SNAPSHOT_FN + " return snapshot(); }"

#: Arm a watcher *in the page* before an action (a stroke, a toolbar click). Returns the result
#: area's signature before the action. The watcher (MutationObserver + a 100 ms check) notes when
#: a new result is first on screen and when the app has settled; :data:`WAIT_JS` collects that.
#: It also notes whether Streamlit's script state was seen leaving ``notRunning`` (diagnostics
#: only: under load the frontend can apply "started" and "finished" in one render, so a rerun
#: need not show up in the DOM). Arm only when the page has settled after the previous action.
#:
#: "A new result is on screen": the result area differs from before and shows a prediction or
#: one of the Draw page's prompts (every stroke changes the 28×28 preview, so its result differs). The prediction is the right  # noqa: E501
#: column's first element, so once anything after it changed, the prediction element on the page
#: is the new one; a freshly rendered HTML block can be a loading skeleton for a while (the browser
#: fetches Streamlit's HTML-markdown code on a page's first prediction), which does not count.
#: "Settled": additionally the script state is back to ``notRunning`` and nothing changed between
#: two checks.
ARM_JS = (
    "() => {"
    + _SNAPSHOT_FN
    + """
  if (window.__dsWatch) window.__dsWatch.stop();
  const w = {before: snapshot().signature, sawRun: false, first: null, settled: null, snap: null, waiters: []};
  let last = w.before;
  const check = () => {
    if (w.settled !== null) return;
    const snap = snapshot();
    w.snap = snap;
    if (snap.script && snap.script !== 'notRunning') w.sawRun = true;
    const now = Date.now();
    const visible = snap.signature !== w.before && !!(snap.prediction || snap.prompt);
    if (visible && w.first === null) w.first = now;
    if (visible && snap.signature === last && snap.script === 'notRunning') {
      w.settled = now; w.stop(); w.waiters.splice(0).forEach((f) => f());
    }
    last = snap.signature;
  };
  // Check in the next animation frame after DOM changes (coalesced; it runs just before that
  // frame is painted, so "first" is when the result reaches the screen), and every 100 ms regardless.
  let pending = false;
  const soon = () => { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; check(); }); } };
  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes' && r.attributeName === 'data-test-script-state'
          && r.target.getAttribute('data-test-script-state') !== 'notRunning') w.sawRun = true;
    }
    soon();
  });
  observer.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
  const timer = setInterval(check, 100);
  w.stop = () => { observer.disconnect(); clearInterval(timer); };
  window.__dsWatch = w;
  return w.before;
}"""
)

#: Wait for the armed watcher (argument: timeout in ms). Resolves to {first, settled, snap}:
#: wall-clock ms (``Date.now()``) when the new result first showed / when the app had settled
#: (null when not within the timeout), and the latest snapshot.
WAIT_JS = (
    "async (timeoutMs) => {"
    + _SNAPSHOT_FN
    + """
  const w = window.__dsWatch;
  if (!w) throw new Error('no watcher armed');
  if (w.settled === null) {
    await new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      w.waiters.push(() => { clearTimeout(t); resolve(); });
    });
  }
  w.stop();
  window.__dsWatch = null;
  return {first: w.first, settled: w.settled, sawRun: w.sawRun, changed: snapshot().signature !== w.before,
          snap: w.settled === null ? snapshot() : w.snap};
}"""
)
