"""Shared helpers for driving Digit Studio in headless Chromium.

Used by ``tests/test_e2e_browser.py`` and ``bench/workshop.py``:

* :func:`find_chromium` / :data:`CHROMIUM_ARGS` / :func:`launch_chromium`:
  Debian's Chromium driven by Playwright (no browser download).
* :class:`AppServer`: starts the app (``python serve.py``, as ``make run`` does) on a
  free 127.0.0.1 port with a data folder of its own, waits for ``/_stcore/health``
  and always stops the whole process group.
* :class:`DrawPage` (sync API) and :class:`AsyncDrawPage` (async API): the
  Draw page's canvas, its toolbar and the prediction element, with helpers to
  draw strokes with the mouse and wait *in the page* for each stroke's result.
* :func:`digit_polylines`, :func:`random_digit_strokes`: realistic strokes
  from ``bench.handwriting`` placed on the 280×280 canvas.

Everything here waits on conditions (with timeouts), never on fixed sleeps.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: CSS selectors (Playwright CSS pierces open shadow roots, which components v2 may use).
PREDICTION = "[data-testid='prediction']"
CANVAS_UPPER = "canvas.upper-canvas"
#: The style the Draw page adds (in the canvas component's shadow root) to pin its toolbar above the canvas.
PINNED_TOOLBAR = "style[data-digit-studio]"
EMPTY_PROMPT_TEXT = "Draw a digit (0–9) anywhere"
#: Beginnings of the Draw page's prompts for a canvas without a readable digit (pages/draw.py PROMPTS).
PROMPT_TEXTS = (EMPTY_PROMPT_TEXT, "That looks like a stray dot", "The canvas is almost entirely covered")
RESET_BUTTON = "button[title='Reset canvas & history']"
ERROR_ELEMENTS = "[data-testid='stException'], [data-testid='stAlertContentError']"


# ---------------------------------------------------------------------------
# Browser
# ---------------------------------------------------------------------------


def find_chromium() -> str | None:
    """Path of a usable Chromium executable, or None."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright, executable: str | None = None):
    """Launch headless Chromium (Debian's build) with the project's flags."""
    executable = executable or find_chromium()
    if executable is None:
        raise RuntimeError("Chromium not found (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)


# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """The app's server (``python serve.py``, i.e. ``streamlit run app.py``) as a subprocess on 127.0.0.1.

    Use as a context manager, or call :meth:`start` / :meth:`stop`. The server
    runs in its own process group so that :meth:`stop` ends it and any
    children (and nothing else).

    Args:
        port: Port to listen on (default: a free one).
        env: Extra environment variables (MNIST_DIR is passed through from the
            current environment anyway, when set). Without ``DIGIT_STUDIO_DATA``
            the server gets a fresh data folder of its own, deleted by :meth:`stop`
            (a server started again then starts empty); pass one to keep the store
            across servers (a restart).
        log_path: Where the server's stdout/stderr go (default: a temporary
            file, deleted by :meth:`stop`; read it with :meth:`log_tail`).
        python: Interpreter (default: the project's .venv, else this one).
    """

    def __init__(self, port: int | None = None, env: dict[str, str] | None = None,
                 log_path: Path | None = None, python: str | None = None) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        venv_python = ROOT / ".venv" / "bin" / "python"
        self.python = python or (str(venv_python) if venv_python.exists() else sys.executable)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self._temp_data = None
        if not (env or {}).get("DIGIT_STUDIO_DATA"):
            self._temp_data = tempfile.mkdtemp(prefix=f"digit-studio-data-{self.port}-")
            self.env["DIGIT_STUDIO_DATA"] = self._temp_data
        self.data_dir = Path(self.env["DIGIT_STUDIO_DATA"])
        self._temp_log = log_path is None
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix=f"digit-studio-{self.port}-", suffix=".log")
            os.close(fd)
            log_path = Path(name)
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, timeout: float = 90.0) -> "AppServer":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        cmd = [self.python, "serve.py",
               "--server.port", str(self.port), "--server.headless", "true",
               "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/_stcore/health"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode}; "
                                   f"log:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.25)
        raise TimeoutError(f"streamlit not healthy at {url} after {timeout:.0f}s; log:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 15.0) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._temp_log:
            self.log_path.unlink(missing_ok=True)
        if self._temp_data is not None:  # a folder it made itself: nobody else will read it
            shutil.rmtree(self._temp_data, ignore_errors=True)

    def __enter__(self) -> "AppServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# ---------------------------------------------------------------------------
# Strokes
# ---------------------------------------------------------------------------


def digit_polylines(digit: int, rng: np.random.Generator, x0: float, y0: float,
                    height: float) -> list[np.ndarray]:
    """Realistic strokes of ``digit`` (bench.handwriting), placed on the canvas."""
    from bench.handwriting import digit_strokes, place_strokes

    return place_strokes(digit_strokes(digit, rng), x0, y0, height)


def fit_polylines(strokes: list[np.ndarray], canvas: float = 280.0, margin: float = 14.0) -> list[np.ndarray]:
    """Shift strokes so they lie inside the canvas (keeping ``margin`` px clear)."""
    pts = np.vstack(strokes)
    lo, hi = pts.min(0), pts.max(0)
    shift = np.zeros(2)
    for axis in range(2):
        if lo[axis] < margin:
            shift[axis] = margin - lo[axis]
        elif hi[axis] > canvas - margin:
            shift[axis] = canvas - margin - hi[axis]
    return [s + shift for s in strokes]


def random_digit_strokes(digit: int, rng: np.random.Generator, canvas: float = 280.0,
                         min_height: float = 60.0, max_height: float = 240.0,
                         margin: float = 14.0) -> list[np.ndarray]:
    """Strokes of ``digit`` at a random size and position inside the canvas."""
    from bench.handwriting import digit_strokes, place_strokes

    strokes = digit_strokes(digit, rng)
    pts = np.vstack(strokes)
    aspect = float(np.ptp(pts[:, 0]) / max(np.ptp(pts[:, 1]), 1e-9))
    room = canvas - 2 * margin
    height = float(rng.uniform(min_height, max_height))
    height = min(height, room, room / max(aspect, 1e-9))
    width = height * aspect
    x0 = float(rng.uniform(margin, max(margin, canvas - margin - width)))
    y0 = float(rng.uniform(margin, max(margin, canvas - margin - height)))
    return fit_polylines(place_strokes(strokes, x0, y0, height), canvas, margin)


# ---------------------------------------------------------------------------
# The Draw page
# ---------------------------------------------------------------------------

#: JS: ``snapshot()``, what the tab shows right now (shared by the page objects below).
_SNAPSHOT_FN = """
const snapshot = () => {
  // textContent, not innerText: no forced layout, so polling stays cheap with many tabs open.
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  const app = document.querySelector('[data-testid="stApp"]');
  const pred = document.querySelector("[data-testid='prediction']");
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
""" % (repr(ERROR_ELEMENTS), json.dumps(PROMPT_TEXTS, ensure_ascii=False))

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
#: one of the Draw page's prompts (every stroke changes the 28×28 preview, so its result differs). The prediction is the right
#: column's first element, so once anything after it changed, the prediction element on the page
#: is the new one; a freshly rendered HTML block can be a loading skeleton for a while (the browser
#: fetches Streamlit's HTML-markdown code on a page's first prediction), which does not count.
#: "Settled": additionally the script state is back to ``notRunning`` and nothing changed between
#: two checks.
ARM_JS = "() => {" + _SNAPSHOT_FN + """
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

#: Wait for the armed watcher (argument: timeout in ms). Resolves to {first, settled, snap}:
#: wall-clock ms (``Date.now()``) when the new result first showed / when the app had settled
#: (null when not within the timeout), and the latest snapshot.
WAIT_JS = "async (timeoutMs) => {" + _SNAPSHOT_FN + """
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


def mouse_ops(strokes: Iterable[Sequence[Sequence[float]]], box: dict, step_px: float = 4.0,
              canvas_size: float = 280.0) -> list[list[tuple]]:
    """Mouse operations drawing ``strokes`` (canvas pixels) on a canvas at ``box`` (page pixels).

    Returns one list per stroke of ``("move", x, y, steps)``, ``("down",)``
    and ``("up",)`` tuples: move to the start, press, many short moves along
    the stroke (``steps`` intermediate mouse events every ~``step_px``), release.
    """
    sx, sy = box["width"] / canvas_size, box["height"] / canvas_size
    out = []
    for stroke in strokes:
        pts = np.asarray(stroke, dtype=float).reshape(-1, 2)
        if len(pts) == 0:
            continue
        xy = np.column_stack([box["x"] + pts[:, 0] * sx, box["y"] + pts[:, 1] * sy])
        ops: list[tuple] = [("move", float(xy[0, 0]), float(xy[0, 1]), 1), ("down",)]
        prev = xy[0]
        for q in xy[1:]:
            dist = float(np.hypot(*(q - prev)))
            if dist < 0.5:
                continue
            ops.append(("move", float(q[0]), float(q[1]), max(1, int(dist // step_px))))
            prev = q
        if len(ops) == 2:  # a dot: move a little so Fabric records a path
            ops.append(("move", float(prev[0]) + 1.0, float(prev[1]) + 1.0, 1))
        ops.append(("up",))
        out.append(ops)
    return out


class StrokeTiming:
    """Per stroke: mouse-up time, when its result first showed, when the app had settled.

    Times are wall-clock seconds (``time.time()``, comparable with the page's
    ``Date.now()``); None means "not within the timeout". ``snap`` is the
    page's snapshot after the last stroke.
    """

    def __init__(self) -> None:
        self.released: list[float] = []
        self.seen: list[float | None] = []
        self.settled: list[float | None] = []
        self.snap: dict = {}
        self.last_result: dict = {}

    def add(self, released: float, result: dict) -> None:
        self.released.append(released)
        self.seen.append(None if result["first"] is None else result["first"] / 1000.0)
        self.settled.append(None if result["settled"] is None else result["settled"] / 1000.0)
        self.snap = result["snap"]
        self.last_result = result

    @property
    def latency(self) -> float | None:
        """Seconds from the last mouse-up to its result on screen (None: not within the timeout)."""
        if not self.seen or self.seen[-1] is None or self.settled[-1] is None:
            return None
        return max(0.0, self.seen[-1] - self.released[-1])

    @property
    def latencies(self) -> list[float | None]:
        """Mouse-up → result seconds of every stroke."""
        return [None if s is None or t is None else max(0.0, s - r)
                for r, s, t in zip(self.released, self.seen, self.settled)]


class DrawPage:
    """The Draw page of one browser tab (Playwright sync API).

    Args:
        page: A Playwright ``Page``.
        base_url: ``http://127.0.0.1:PORT``.
    """

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")

    # -- locating ---------------------------------------------------------
    def open(self, timeout: float = 60.0) -> "DrawPage":
        """Go to /draw and wait until the canvas and the empty prompt are shown."""
        self.page.goto(f"{self.base_url}/draw", wait_until="domcontentloaded", timeout=timeout * 1000)
        self.canvas().wait_for(state="visible", timeout=timeout * 1000)
        self.page.get_by_text(EMPTY_PROMPT_TEXT).first.wait_for(state="visible", timeout=timeout * 1000)
        # The page then moves the canvas down to pin its toolbar above it: draw only after that.
        self.page.locator(PINNED_TOOLBAR).first.wait_for(state="attached", timeout=timeout * 1000)
        return self

    def canvas(self):
        """The Fabric.js upper (interactive) canvas."""
        return self.page.locator(CANVAS_UPPER).first

    def box(self) -> dict:
        """Bounding box of the canvas in page pixels (scrolled into view first)."""
        loc = self.canvas()
        loc.scroll_into_view_if_needed()
        box = loc.bounding_box()
        if box is None:
            raise RuntimeError("canvas has no bounding box")
        return box

    def button(self, title: str):
        return self.page.locator(f"button[title='{title}']").first

    def snapshot(self) -> dict:
        """What the tab shows: signature, script state, prediction, prompt, alerts, errors."""
        return self.page.evaluate(SNAPSHOT_JS)

    # -- drawing ----------------------------------------------------------
    def draw(self, strokes: Iterable[Sequence[Sequence[float]]], step_px: float = 4.0) -> float:
        """Draw polylines (canvas pixel coordinates) with the mouse.

        Returns ``time.time()`` right after the final mouse-up.
        """
        mouse = self.page.mouse
        released = time.time()
        for ops in mouse_ops(strokes, self.box(), step_px):
            for op in ops:
                if op[0] == "move":
                    mouse.move(op[1], op[2], steps=op[3])
                elif op[0] == "down":
                    mouse.down()
                else:
                    mouse.up()
                    released = time.time()
        return released

    def draw_digit(self, strokes: Sequence[Sequence[Sequence[float]]], timeout: float = 20.0,
                   step_px: float = 4.0) -> StrokeTiming:
        """Draw strokes one at a time; after each, wait until the page has shown its result.

        Like a person, the next stroke starts once the page has reacted to the
        previous one (or after ``timeout``). The timing of the *last* stroke is
        the stroke-end → result latency.
        """
        timing = StrokeTiming()
        for stroke in strokes:
            self.page.evaluate(ARM_JS)
            released = self.draw([stroke], step_px=step_px)
            timing.add(released, self.page.evaluate(WAIT_JS, timeout * 1000))
        return timing

    def click_and_wait(self, title: str, timeout: float = 30.0) -> dict:
        """Click a toolbar button (by title) and wait until the app has shown the result and settled.

        Returns the watcher's result ({first, settled, snap}; ``settled`` is None on timeout).
        """
        self.page.evaluate(ARM_JS)
        self.button(title).click(timeout=timeout * 1000)
        return self.page.evaluate(WAIT_JS, timeout * 1000)

    def reset(self, timeout: float = 30.0) -> None:
        """Press the toolbar's reset button; wait for the empty prompt and the end of the rerun."""
        self.click_and_wait("Reset canvas & history", timeout)
        self.wait_empty(timeout)

    # -- reading ----------------------------------------------------------
    def prediction(self) -> str | None:
        """The digit currently shown, or None when no prediction element is on the page."""
        try:
            return self.snapshot()["prediction"]
        except Exception:
            return None

    def wait_prediction(self, expected: str | int | None = None, timeout: float = 20.0,
                        poll: float = 0.05) -> tuple[str | None, float]:
        """Poll until a prediction (``expected``, or any when None) is shown.

        Returns (digit shown, or None on timeout; ``time.time()`` when seen/given up).
        """
        deadline = time.monotonic() + timeout
        while True:
            seen = self.prediction()
            if seen is not None and (expected is None or seen == str(expected)):
                return seen, time.time()
            if time.monotonic() > deadline:
                return None, time.time()
            time.sleep(poll)

    def wait_empty(self, timeout: float = 20.0) -> None:
        """Wait until the empty-canvas prompt is visible and no prediction is shown."""
        self.page.get_by_text(EMPTY_PROMPT_TEXT).first.wait_for(state="visible", timeout=timeout * 1000)
        self.page.locator(PREDICTION).first.wait_for(state="detached", timeout=timeout * 1000)

    def error_texts(self) -> list[str]:
        """Texts of visible Streamlit exception/error elements."""
        return [t.strip()[:300] for t in self.page.locator(ERROR_ELEMENTS).all_inner_texts()]


class AsyncDrawPage:
    """The same Draw page helpers for Playwright's async API (used by bench/workshop.py)."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")

    async def open(self, timeout: float = 60.0) -> "AsyncDrawPage":
        await self.page.goto(f"{self.base_url}/draw", wait_until="domcontentloaded", timeout=timeout * 1000)
        await self.page.locator(CANVAS_UPPER).first.wait_for(state="visible", timeout=timeout * 1000)
        await self.page.get_by_text(EMPTY_PROMPT_TEXT).first.wait_for(state="visible", timeout=timeout * 1000)
        await self.page.locator(PINNED_TOOLBAR).first.wait_for(state="attached", timeout=timeout * 1000)
        return self

    async def box(self) -> dict:
        loc = self.page.locator(CANVAS_UPPER).first
        await loc.scroll_into_view_if_needed()
        box = await loc.bounding_box()
        if box is None:
            raise RuntimeError("canvas has no bounding box")
        return box

    async def snapshot(self) -> dict:
        return await self.page.evaluate(SNAPSHOT_JS)

    async def draw(self, strokes, step_px: float = 4.0) -> float:
        mouse = self.page.mouse
        released = time.time()
        for ops in mouse_ops(strokes, await self.box(), step_px):
            for op in ops:
                if op[0] == "move":
                    await mouse.move(op[1], op[2], steps=op[3])
                elif op[0] == "down":
                    await mouse.down()
                else:
                    await mouse.up()
                    released = time.time()
        return released

    async def draw_digit(self, strokes, timeout: float = 20.0, step_px: float = 4.0) -> StrokeTiming:
        timing = StrokeTiming()
        for stroke in strokes:
            await self.page.evaluate(ARM_JS)
            released = await self.draw([stroke], step_px=step_px)
            timing.add(released, await self.page.evaluate(WAIT_JS, timeout * 1000))
        return timing

    async def reset(self, timeout: float = 30.0) -> dict:
        """Press reset; wait for the empty prompt and the end of the rerun. Returns the watcher's result."""
        await self.page.evaluate(ARM_JS)
        await self.page.locator(RESET_BUTTON).first.click(timeout=timeout * 1000)
        result = await self.page.evaluate(WAIT_JS, timeout * 1000)
        await self.page.get_by_text(EMPTY_PROMPT_TEXT).first.wait_for(state="visible", timeout=timeout * 1000)
        await self.page.locator(PREDICTION).first.wait_for(state="detached", timeout=timeout * 1000)
        return result


def save_artifacts(page, name: str) -> list[Path]:
    """Screenshot + HTML of ``page`` into test-artifacts/ (best effort)."""
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
