"""Workshop load test: many people drawing while a few train, against one app server.

Starts the app on a free 127.0.0.1 port (``support.browser.AppServer``) with
MNIST_DIR set, then drives it from headless Chromium (Debian's, via
Playwright's async API; several pages per browser):

* ``--sessions`` drawing sessions open /draw and, until ``--duration`` is up,
  draw random digits (``support.handwriting`` strokes at random sizes and
  positions, one stroke at a time, waiting for the page to react to each
  like a person would), read the prediction, reset the canvas, pause briefly
  (``--think``) and start again;
* ``--trainers`` training sessions open /train (the page's default run, or
  the ``--arch``/``--epochs``/``--train-size`` given), press "Train", keep
  the page open while it updates live (``--trainer-mode peek``: leave for
  the Home page and look back every ``--peek-every`` s), and press Train
  again when a run finishes (until the measurement ends).

Trainings run on the app's local Dask cluster, as ``make run`` has them, or
with ``--in-process`` in a thread of the web server itself, as before they
ran on Dask (the baseline: ``DIGIT_STUDIO_IN_PROCESS_TRAINING=1``).
``--series N`` runs both N times, alternating (Dask first), each on a fresh
server, and prints every run's headline figures and a summary per mode.

Measured: predictions, errors (timeouts, exceptions, Streamlit error
elements, lost connections), accuracy against the drawn digit, the time from
mouse-up at the end of a digit's last stroke to its new result appearing on
screen (p50/p95/max), the server's share of it (each Draw rerun's request to
its ``script_finished``, timed at the browsers' network stack: ``RerunTap``),
whether training ran during the measurement (and the queue messages seen), the
peak resident memory of the web server's process and of its Dask workers, and
the CPU used by server, workers and browsers. Run::

    python -m bench.workshop [--sessions 20] [--trainers 2] [--duration 90] [--in-process | --series 5]

Everything is bounded in count and time and talks only to 127.0.0.1. Note
that the browsers run on the same machine as the server, so on a small
machine they compete with it for CPU; the report shows how much CPU each side
used.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from support import ROOT
from support.browser import (
    ARTIFACTS,
    ERROR_ELEMENTS,
    TRAIN_BUTTON,
    AppServer,
    AsyncDrawPage,
    find_chromium,
    launch_chromium,
)
from support.handwriting import random_digit_strokes

QUEUE_TEXT = "Waiting for a free trainer"


# ---------------------------------------------------------------------------
# bookkeeping
# ---------------------------------------------------------------------------


@dataclass
class Sample:
    """One drawn digit."""

    session: int
    digit: int
    strokes: int
    height: float
    released: float  #: wall-clock time (time.time()) of the last mouse-up
    latency: float | None  #: seconds to the new result on screen; None = timeout
    stroke_latencies: list[float | None]
    predicted: str | None


@dataclass
class Stats:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    open_times: list[float] = field(default_factory=list)
    #: trainer observations: (wall-clock time, session, "queued" | "training" | "done" | "idle")
    train_obs: list[tuple[float, int, str, str]] = field(default_factory=list)
    last_progress: dict[int, str] = field(default_factory=dict)
    queue_messages: set[str] = field(default_factory=set)
    resets: int = 0
    cpu_window: list[float] = field(default_factory=list)  #: server CPU seconds at start/end of the window
    #: the whole machine's CPU time by kind (/proc/stat) at the start/end of the window
    machine_window: list[dict[str, float]] = field(default_factory=list)
    train_clicks: int = 0
    train_finished: int = 0
    train_accuracies: list[str] = field(default_factory=list)
    #: Draw pages' rerun round trips as their network stack saw them: (wall-clock time sent, seconds)
    rerun_rounds: list[tuple[float, float]] = field(default_factory=list)
    #: The app's Draw page script runs: (wall-clock start, page, milliseconds)
    script_runs: list[tuple[float, str, float]] = field(default_factory=list)

    def error(self, who: str, message: str) -> None:
        line = f"{who}: {message}"
        self.errors.append(line)
        print(f"  ! {line}", flush=True)


class MemoryMonitor(threading.Thread):
    """Samples RSS and CPU time of a process tree (server or browsers) every ``interval`` s.

    Within the tree, the root processes (the server itself), the Dask worker processes
    (multiprocessing children, ``spawn_main``: the local cluster's workers) and the rest
    are told apart: ``peak_main_rss``, ``peak_workers_rss``, :meth:`cpu_of`.
    """

    def __init__(self, pids_fn, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pids_fn = pids_fn
        self.interval = interval
        self.peak_rss = 0
        self.peak_main_rss = 0
        self.peak_workers_rss = 0
        self.cpu_seconds: dict[int, float] = {}
        self.roles: dict[int, str] = {}  #: pid -> "main", "worker" or "other"
        self._stop_event = threading.Event()

    def _tree(self):
        import psutil

        procs = []
        for pid in self.pids_fn():
            try:
                p = psutil.Process(pid)
                procs.append(p)
                procs.extend(p.children(recursive=True))
            except psutil.Error:
                pass
        return procs

    def _role(self, p, roots: set[int]) -> str:
        import psutil

        if p.pid not in self.roles:
            try:
                worker = "spawn_main" in " ".join(p.cmdline())
            except psutil.Error:
                worker = False
            self.roles[p.pid] = "main" if p.pid in roots else "worker" if worker else "other"
        return self.roles[p.pid]

    def sample(self) -> None:
        import psutil

        by_role = {"main": 0, "worker": 0, "other": 0}
        roots = set(self.pids_fn())
        for p in self._tree():
            try:
                rss = p.memory_info().rss
                cpu = p.cpu_times()
                self.cpu_seconds[p.pid] = cpu.user + cpu.system
            except psutil.Error:
                continue
            by_role[self._role(p, roots)] += rss
        self.peak_rss = max(self.peak_rss, sum(by_role.values()))
        self.peak_main_rss = max(self.peak_main_rss, by_role["main"])
        self.peak_workers_rss = max(self.peak_workers_rss, by_role["worker"])

    def cpu_of(self, role: str) -> float:
        """CPU seconds used so far by the tree's processes of one role ("main", "worker", "other")."""
        return sum(v for pid, v in self.cpu_seconds.items() if self.roles.get(pid) == role)

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def cpu_total(self) -> float:
        return sum(self.cpu_seconds.values())

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)


class HealthProbe(threading.Thread):
    """GETs /_stcore/health once a second: how responsive the server's event loop is (wall time, seconds)."""

    def __init__(self, base_url: str, interval: float = 1.0, timeout: float = 30.0) -> None:
        super().__init__(daemon=True)
        self.url = f"{base_url}/_stcore/health"
        self.interval, self.timeout = interval, timeout
        self.samples: list[tuple[float, float | None]] = []  #: (time.time() at start, seconds or None)
        self._stop_event = threading.Event()

    def run(self) -> None:
        import urllib.request

        while not self._stop_event.is_set():
            t, t0 = time.time(), time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=self.timeout) as resp:
                    resp.read()
                self.samples.append((t, time.monotonic() - t0))
            except Exception:
                self.samples.append((t, None))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(self.timeout + 2)


class RerunTap:
    """A page's WebSocket traffic as the browser's network stack sees it (DevTools Network events).

    Pairs each rerun request the page sends (``BackMsg.rerun_script``) with the
    next ``script_finished`` the server sends back. The time between them is the
    server's share of a stroke's latency (its queueing and script run, plus the
    loopback and the browser's network process), without the page's own
    rendering. Timestamps are the network stack's clock, converted to wall-clock
    time with the WebSocket handshake's ``wallTime``.

    Args:
        rounds: Where to append ``(wall-clock time sent, seconds to script_finished)``.
    """

    def __init__(self, rounds: list[tuple[float, float]]) -> None:
        self.rounds = rounds
        self.offset: float | None = None  #: wall-clock minus network-stack time
        self.pending: float | None = None  #: network-stack time of the unanswered rerun request

    async def attach(self, page) -> None:
        """Start listening (before the page opens the app, so the handshake is seen)."""
        cdp = await page.context.new_cdp_session(page)
        cdp.on("Network.webSocketWillSendHandshakeRequest", self._handshake)
        cdp.on("Network.webSocketFrameSent", self._sent)
        cdp.on("Network.webSocketFrameReceived", self._received)
        await cdp.send("Network.enable")

    def _handshake(self, event: dict) -> None:
        self.offset, self.pending = event["wallTime"] - event["timestamp"], None

    @staticmethod
    def _payload(event: dict) -> bytes | None:
        import base64

        frame = event.get("response", {})
        return base64.b64decode(frame.get("payloadData", "")) if frame.get("opcode") == 2 else None

    def _sent(self, event: dict) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        data = self._payload(event)
        if data is not None and BackMsg.FromString(data).WhichOneof("type") == "rerun_script":
            self.pending = event["timestamp"]  # a newer request supersedes an unanswered one

    def _received(self, event: dict) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if self.pending is None or self.offset is None:
            return
        data = self._payload(event)
        if data is None:
            return
        msg = ForwardMsg.FromString(data)
        if (
            msg.WhichOneof("type") == "script_finished"
            and msg.script_finished != ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
        ):
            self.rounds.append((self.pending + self.offset, event["timestamp"] - self.pending))
            self.pending = None


def read_run_log(path: Path) -> list[tuple[float, str, float]]:
    """The app's run log: (wall-clock start, page, milliseconds) per script run."""
    runs = []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            wall, page, ms = line.split()
            runs.append((float(wall), page, float(ms)))
    except (OSError, ValueError):
        pass
    return runs


def machine_cpu_times() -> dict[str, float]:
    """The whole machine's CPU seconds so far by kind, from /proc/stat (empty where it is missing)."""
    kinds = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()[1 : 1 + len(kinds)]
    except OSError:
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    return {k: int(v) / tick for k, v in zip(kinds, fields, strict=False)}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else float("nan")


# ---------------------------------------------------------------------------
# sessions
# ---------------------------------------------------------------------------


async def drawing_session(
    i: int,
    context,
    base_url: str,
    args,
    stats: Stats,
    start: asyncio.Event,
    stop_at: list[float],
    ready: list[int],
    open_sem: asyncio.Semaphore,
) -> None:
    who = f"draw#{i:02d}"
    rng = np.random.default_rng(args.seed * 1000 + i)
    page = await context.new_page()
    page.on("pageerror", lambda exc: stats.page_errors.append(f"{who}: {exc}"))
    if args.tap:
        await RerunTap(stats.rerun_rounds).attach(page)
    draw = AsyncDrawPage(page, base_url)
    try:
        async with open_sem:
            t = time.monotonic()
            await draw.open(timeout=args.page_timeout)
            stats.open_times.append(time.monotonic() - t)
        ready[0] += 1
        await start.wait()
        while time.monotonic() < stop_at[0]:
            digit = int(rng.integers(10))
            strokes = random_digit_strokes(digit, rng, min_height=args.min_height, max_height=args.max_height)
            height = float(np.ptp(np.vstack(strokes)[:, 1]))
            try:
                timing = await draw.draw_digit(strokes, timeout=args.timeout, step_px=args.step_px)
                snap = timing.snap
            except Exception as exc:  # the page broke: count it, reload, go on
                stats.error(who, f"{type(exc).__name__} while drawing: {str(exc).splitlines()[0][:200]}")
                await _reopen(draw, args, stats, who)
                continue
            predicted = snap["prediction"]
            stats.samples.append(
                Sample(i, digit, len(strokes), height, timing.released[-1], timing.latency, timing.latencies, predicted)
            )
            problem = None
            if timing.latency is None:
                r = timing.last_result
                problem = (
                    f"no new result within {args.timeout:.0f}s of the last stroke (digit {digit}; "
                    f"rerun seen={r.get('sawRun')}, page changed={r.get('changed')}, "
                    f"result shown={r.get('first') is not None}, script={snap.get('script')}, "
                    f"prediction={snap.get('prediction')})"
                )
            elif predicted is None:
                problem = (
                    f"result without a prediction for a drawn {digit} ({len(strokes)} strokes, "
                    f"{height:.0f}px; script={snap['script']}, alerts={snap['alerts']})"
                )
            if problem:
                stats.error(who, problem)
                await _error_screenshot(page, stats, who)
            if snap["errors"]:
                stats.error(who, f"Streamlit error element: {snap['errors'][0][:200]}")
            if snap["connection"] and snap["connection"] != "CONNECTED":
                stats.error(who, f"connection state {snap['connection']}")
            if args.screenshots and len(stats.samples) <= 3:
                await page.screenshot(path=str(ARTIFACTS / f"workshop-draw-{len(stats.samples)}.png"))
            try:
                await draw.reset(timeout=args.timeout)
                stats.resets += 1
            except Exception as exc:
                stats.error(who, f"{type(exc).__name__} on reset: {str(exc).splitlines()[0][:200]}")
                await _error_screenshot(page, stats, who)
                await _reopen(draw, args, stats, who)
                continue
            await asyncio.sleep(float(rng.uniform(0.5, 1.5)) * args.think)
    except Exception as exc:
        await _session_failed(page, stats, who, exc, ready)


async def _session_failed(page, stats, who: str, exc: Exception, ready: list) -> None:
    """Record a session that died, keep a screenshot, and never block the start barrier."""
    stats.error(who, f"session failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / f"workshop-{who.replace('#', '')}-failed.png"))
    except Exception:
        pass
    ready[0] += 1


async def _error_screenshot(page, stats: Stats, who: str, limit: int = 12) -> None:
    """A screenshot of the page for one of the first ``limit`` errors (test-artifacts/)."""
    if len(stats.errors) > limit:
        return
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"workshop-error{len(stats.errors):02d}-{who.replace('#', '')}.png"
        await page.screenshot(path=str(path), timeout=15000)
        print(f"    screenshot: {path}", flush=True)
    except Exception:
        pass


async def _reopen(draw: AsyncDrawPage, args, stats: Stats, who: str) -> None:
    try:
        await draw.open(timeout=args.page_timeout)
    except Exception as exc:
        stats.error(who, f"could not reopen /draw: {type(exc).__name__}")
        await asyncio.sleep(2)


TRAIN_STATE_JS = """
(args) => {
  const [queueText, errorSel, trainLabel] = args;
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  const text = main.innerText || '';
  const progress = document.querySelector('[data-testid="stProgress"]');
  let queue = null;
  for (const a of document.querySelectorAll('[data-testid="stAlert"]')) {
    if ((a.innerText || '').includes(queueText)) { queue = a.innerText.trim(); break; }
  }
  // The Train button by its label alone: its Material icon is an element whose text is the icon's name.
  const label = (b) => Array.from(b.querySelectorAll('p')).map(p => p.textContent.trim()).join(' ');
  const buttons = Array.from(document.querySelectorAll('button')).filter(b => label(b) === trainLabel);
  const metric = Array.from(document.querySelectorAll('[data-testid="stMetric"]')).find(m => (m.innerText || '').includes('Test accuracy'));
  const app = document.querySelector('[data-testid="stApp"]');
  return {
    queue: queue,
    training: !!progress,
    progress: progress ? progress.innerText.trim() : null,
    trainEnabled: buttons.length > 0 && !buttons[0].disabled,
    results: metric ? metric.innerText.replace(/\\s+/g, ' ').trim() : null,
    runs: (text.match(/Run \\d+ · /g) || []).length,
    errors: Array.from(document.querySelectorAll(errorSel)).map(e => (e.innerText || '').slice(0, 300)),
    connection: app ? (app.getAttribute('data-test-connection-state') || '') : '',
  };
}
"""  # noqa: E501


def train_query(args) -> str:
    """The Train page's query string for the trainers: only the settings given (none: the page's defaults)."""
    given = {"arch": args.arch, "epochs": args.epochs, "train_size": args.train_size}
    return "&".join(f"{k}={v}" for k, v in given.items() if v is not None)


async def training_session(
    i: int,
    context,
    base_url: str,
    args,
    stats: Stats,
    start: asyncio.Event,
    stop_at: list[float],
    ready: list[int],
    open_sem: asyncio.Semaphore,
) -> None:
    who = f"train#{i}"
    page = await context.new_page()
    page.on("pageerror", lambda exc: stats.page_errors.append(f"{who}: {exc}"))
    query = train_query(args)
    try:
        async with open_sem:
            await page.goto(
                f"{base_url}/train{'?' + query if query else ''}",
                wait_until="domcontentloaded",
                timeout=args.page_timeout * 1000,
            )
            button = page.get_by_role("button", name=TRAIN_BUTTON, exact=True)
            await button.wait_for(state="visible", timeout=args.page_timeout * 1000)
        ready[0] += 1
        await start.wait()
        phase = "click"  # click -> submitted -> running -> (finished) -> click ...
        clicked_at = 0.0
        last_state = None
        last_peek: float | None = None
        while time.monotonic() < stop_at[0]:
            if phase == "click":
                await page.get_by_role("button", name=TRAIN_BUTTON, exact=True).click(timeout=args.page_timeout * 1000)
                stats.train_clicks += 1
                clicked_at = time.time()
                phase = "submitted"
                print(f"  {who}: pressed Train ({query or 'the page defaults'})", flush=True)
            try:
                st = await page.evaluate(TRAIN_STATE_JS, [QUEUE_TEXT, ERROR_ELEMENTS, TRAIN_BUTTON])
            except Exception:
                await asyncio.sleep(0.5)
                continue
            now = time.time()
            if st["queue"]:
                stats.queue_messages.add(" ".join(st["queue"].split()))
                state = "queued"
            elif st["training"]:
                state = "training"
            else:
                state = "idle"
            progress = " ".join((st["progress"] or "").split())
            stats.train_obs.append((now, i, state, progress))
            if progress:
                stats.last_progress[i] = progress
            shown = _phase(state, progress) if state != "idle" else "idle"
            if shown != last_state:
                print(
                    f"  {who}: {shown} at +{now - clicked_at:.0f}s"
                    + (f" — {' '.join((st['queue'] or st['progress'] or '').split())}" if state != "idle" else ""),
                    flush=True,
                )
                last_state = shown
            for e in st["errors"]:
                stats.error(who, f"Streamlit error element: {e[:200]}")
            if st["connection"] and st["connection"] != "CONNECTED":
                stats.error(who, f"connection state {st['connection']}")
            if args.trainer_mode == "peek" and last_peek is not None and state != "idle":
                # assume the state held since the previous peek (one observation per second)
                stats.train_obs.extend((t, i, state, progress) for t in np.arange(last_peek + 1.0, now, 1.0))
            if phase == "submitted" and state in ("queued", "training"):
                phase = "running"
            elif phase == "running" and state == "idle" and st["trainEnabled"]:
                stats.train_finished += 1
                stats.train_accuracies.append(f"{who} after {now - clicked_at:.0f}s: {st['results']}")
                print(f"  {who}: run finished after {now - clicked_at:.0f}s — {st['results']}", flush=True)
                if args.screenshots:
                    await page.screenshot(
                        path=str(ARTIFACTS / f"workshop-{who.replace('#', '')}-done.png"), full_page=True
                    )
                phase = "click" if args.repeat_training else "finished"
            if args.trainer_mode == "peek" and phase == "running":
                # Leave the Train page (the run goes on in the background), come back later to look.
                last_peek = now
                await page.get_by_role("link", name="Home").first.click(timeout=args.page_timeout * 1000)
                await page.get_by_role("button", name=TRAIN_BUTTON, exact=True).wait_for(
                    state="detached", timeout=args.page_timeout * 1000
                )
                await asyncio.sleep(max(0.0, min(args.peek_every, stop_at[0] - time.monotonic())))
                await page.get_by_role("link", name="Train").first.click(timeout=args.page_timeout * 1000)
                await page.get_by_role("button", name=TRAIN_BUTTON, exact=True).wait_for(
                    timeout=args.page_timeout * 1000
                )
                try:  # the live part renders right after the form
                    await page.locator(
                        "[data-testid='stProgress'], [data-testid='stAlert'], [data-testid='stMetric']"
                    ).first.wait_for(timeout=10000)
                except Exception:
                    pass
                continue
            await asyncio.sleep(1.0)
    except Exception as exc:
        await _session_failed(page, stats, who, exc, ready)


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


async def run(
    args, server: AppServer, stats: Stats, browser_monitor_pids: list[int], server_mon: MemoryMonitor | None = None
) -> dict:
    from playwright.async_api import async_playwright

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("Chromium not found (/usr/bin/chromium or `chromium` on PATH)")
    total = args.sessions + args.trainers
    n_browsers = max(1, min(args.browsers, total))
    info: dict = {}
    async with async_playwright() as p:
        browsers = [await launch_chromium(p, chromium) for _ in range(n_browsers)]
        try:
            # Chromium's processes are children of the Playwright driver: find them by parent.
            browser_monitor_pids.extend(_browser_root_pids({server.pid}))
            if args.load_nice > 0:
                info["lowered_processes"] = lower_priority(
                    min(args.load_nice, 19), {server.pid} if server.pid else set()
                )
            # The host opens the app's home page first (this also loads MNIST samples and the model once).
            ctx0 = await browsers[0].new_context(viewport={"width": 1280, "height": 900})
            page0 = await ctx0.new_page()
            t = time.monotonic()
            await page0.goto(server.base_url + "/", wait_until="domcontentloaded", timeout=args.page_timeout * 1000)
            await page0.get_by_role("link", name="Draw").first.wait_for(timeout=args.page_timeout * 1000)
            info["home_load_s"] = time.monotonic() - t
            await ctx0.close()

            start = asyncio.Event()
            stop_at = [float("inf")]
            ready = [0]
            open_sem = asyncio.Semaphore(args.open_concurrency)
            tasks = []
            for k in range(total):
                browser = browsers[k % n_browsers]
                ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
                ctx.set_default_timeout(args.page_timeout * 1000)
                if k < args.trainers:
                    coro = training_session(k + 1, ctx, server.base_url, args, stats, start, stop_at, ready, open_sem)
                else:
                    coro = drawing_session(
                        k - args.trainers + 1, ctx, server.base_url, args, stats, start, stop_at, ready, open_sem
                    )
                tasks.append(asyncio.create_task(coro))
            t_open = time.monotonic()
            deadline = t_open + args.page_timeout * (1 + total / max(1, args.open_concurrency))
            while ready[0] < total and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            info["open_all_s"] = time.monotonic() - t_open
            info["ready"] = ready[0]
            print(
                f"  {ready[0]}/{total} sessions ready after {info['open_all_s']:.1f}s; measuring for "
                f"{args.duration:.0f}s",
                flush=True,
            )
            info["t_start"] = time.time()
            stats.machine_window.append(machine_cpu_times())
            if server_mon is not None:
                server_mon.sample()
                stats.cpu_window.append(server_mon.cpu_total())
            stop_at[0] = time.monotonic() + args.duration
            start.set()
            grace = args.timeout * 2 + 30  # an in-flight digit: strokes and a reset, each bounded by --timeout
            done, pending = await asyncio.wait(tasks, timeout=args.duration + grace)
            for task in pending:
                task.cancel()
            stats.machine_window.append(machine_cpu_times())
            if server_mon is not None:
                server_mon.sample()
                stats.cpu_window.append(server_mon.cpu_total())
            info["t_end"] = time.monotonic()
            info["stuck_sessions"] = len(pending)
        finally:
            for b in browsers:
                try:
                    await b.close()
                except Exception:
                    pass
    return info


def _browser_root_pids(exclude: set[int]) -> list[int]:
    """PIDs of the Playwright driver processes started by this process (Chromium runs under them)."""
    import psutil

    me = psutil.Process()
    return [c.pid for c in me.children(recursive=False) if c.pid not in exclude]


def lower_priority(nice: int, exclude: set[int]) -> int:
    """Give this process and all its descendants (Playwright, Chromium) CPU niceness ``nice``.

    With the kernel's scheduler autogroups, nice only orders processes within
    one session, and the server, this script and each browser run in sessions
    of their own, so each session's autogroup is lowered too
    (``/proc/PID/autogroup``). Best effort. Returns how many processes were lowered.
    """
    import psutil

    me = psutil.Process()
    skip = set(exclude)
    for pid in exclude:
        try:
            skip.update(c.pid for c in psutil.Process(pid).children(recursive=True))
        except psutil.Error:
            pass
    count = 0
    for proc in [me, *me.children(recursive=True)]:
        if proc.pid in skip:
            continue
        try:
            proc.nice(max(proc.nice(), nice))
            count += 1
        except (psutil.Error, OSError):
            continue
        try:
            Path(f"/proc/{proc.pid}/autogroup").write_text(str(nice))
        except OSError:
            pass
    return count


def _phase(state: str, progress: str) -> str:
    if state == "training":
        return "compiling" if progress.startswith("Starting") else "epochs"
    return "queued" if state == "queued" else "none"


def report(
    args,
    stats: Stats,
    info: dict,
    server_mon: MemoryMonitor,
    browser_mon: MemoryMonitor,
    server_cpu0: float,
    elapsed: float,
    health: HealthProbe | None = None,
) -> dict:
    """Print the run's figures; returns the headline ones (for ``--series``)."""
    t0, t1 = info.get("t_start", 0.0), info.get("t_start", 0.0) + args.duration
    samples = [s for s in stats.samples if s.released >= t0]
    ok = [s for s in samples if s.latency is not None]
    lat_ms = [1000 * s.latency for s in ok]
    all_strokes = [1000 * x for s in ok for x in s.stroke_latencies if x is not None]
    predicted = [s for s in ok if s.predicted is not None]
    correct = sum(1 for s in predicted if s.predicted == str(s.digit))
    timeouts = sum(1 for s in samples if s.latency is None)

    first_of_session: dict[int, Sample] = {}
    for s in sorted(ok, key=lambda s: s.released):
        first_of_session.setdefault(s.session, s)
    first_ids = {id(s) for s in first_of_session.values()}
    first_ms = [1000 * s.latency for s in ok if id(s) in first_ids]
    warm_ms = [1000 * s.latency for s in ok if id(s) not in first_ids]

    # What were the trainers doing around time t? Each is observed about once a second.
    obs = sorted((t, _phase(state, progress)) for t, _, state, progress in stats.train_obs)
    obs_t = np.array([t for t, _ in obs], dtype=float)
    training_times = [t for t, ph in obs if ph in ("compiling", "epochs")]
    rank = {"compiling": 3, "epochs": 2, "queued": 1, "none": 0}

    def phase_at(t: float) -> str:
        """The busiest trainer phase observed within 1.5 s of t ("none" without training)."""
        lo, hi = np.searchsorted(obs_t, t - 1.5), np.searchsorted(obs_t, t + 1.5)
        phases = [obs[k][1] for k in range(lo, hi)]
        return max(phases, key=rank.get, default="none")

    by_phase: dict[str, list[float]] = {}
    for s in ok:
        by_phase.setdefault(phase_at(s.released), []).append(1000 * s.latency)
    during = by_phase.get("compiling", []) + by_phase.get("epochs", [])
    idle = by_phase.get("none", []) + by_phase.get("queued", [])
    in_window = [t for t in training_times if t0 <= t <= t1]
    training_seconds = 0.0
    if in_window:
        # union of 1 s observation slots
        slots = {int(t - t0) for t in in_window}
        training_seconds = float(len(slots))

    print()
    print("=== Digit Studio workshop benchmark ===")
    print(
        f"sessions={args.sessions} trainers={args.trainers} duration_s={args.duration:.0f} "
        f"browsers={min(args.browsers, args.sessions + args.trainers)} think_s={args.think:g} "
        f"mode={info.get('mode', 'dask')} train=/train{'?' + train_query(args) if train_query(args) else ''} "
        f"trainer_mode={args.trainer_mode} load_nice={args.load_nice} "
        f"(processes lowered: {info.get('lowered_processes', 0)})"
    )
    print(
        f"sessions_ready={info.get('ready', 0)}/{args.sessions + args.trainers} "
        f"open_all_s={info.get('open_all_s', float('nan')):.1f} home_load_s={info.get('home_load_s', float('nan')):.1f}"
        f" draw_open_p50_s={pct(stats.open_times, 50):.1f} draw_open_max_s={max(stats.open_times, default=float('nan')):.1f}"  # noqa: E501
    )
    print(f"predictions={len(predicted)}")
    print(f"digits_drawn={len(samples)} predictions_per_min={len(predicted) / (args.duration / 60):.1f}")
    print(
        f"errors={len(stats.errors)} timeouts={timeouts} page_js_errors={len(stats.page_errors)} "
        f"stuck_sessions={info.get('stuck_sessions', 0)}"
    )
    print(f"accuracy={correct / len(predicted):.4f} ({correct}/{len(predicted)})" if predicted else "accuracy=nan")
    print(f"latency_p50_ms={pct(lat_ms, 50):.0f}")
    print(f"latency_p95_ms={pct(lat_ms, 95):.0f}")
    print(f"latency_max_ms={max(lat_ms, default=float('nan')):.0f}")
    print(
        f"latency_mean_ms={np.mean(lat_ms) if lat_ms else float('nan'):.0f} "
        f"every_stroke_p50_ms={pct(all_strokes, 50):.0f} every_stroke_p95_ms={pct(all_strokes, 95):.0f} "
        f"(n={len(all_strokes)})"
    )
    print(
        f"latency_first_digit_of_session_p50_ms={pct(first_ms, 50):.0f} (n={len(first_ms)}; includes the browser "
        f"lazily fetching Streamlit's HTML-markdown/chart code)  latency_later_digits_p50_ms={pct(warm_ms, 50):.0f} "
        f"latency_later_digits_p95_ms={pct(warm_ms, 95):.0f} (n={len(warm_ms)})"
    )
    print(
        "latency_over_1s={} latency_over_5s={} latency_over_20s={}".format(
            *(sum(1 for x in lat_ms if x > lim) for lim in (1000, 5000, 20000))
        )
    )
    print(
        f"latency_while_training_p50_ms={pct(during, 50):.0f} latency_while_training_p95_ms={pct(during, 95):.0f} "
        f"(n={len(during)})  latency_no_training_p50_ms={pct(idle, 50):.0f} "
        f"latency_no_training_p95_ms={pct(idle, 95):.0f} (n={len(idle)})"
    )
    print(
        "latency_by_training_phase: "
        + "  ".join(
            f"{ph}: p50={pct(v, 50):.0f}ms p95={pct(v, 95):.0f}ms n={len(v)}" for ph, v in sorted(by_phase.items())
        )
    )

    def timing_line(name: str, timed: list[tuple[float, float]], what: str) -> None:
        """p50/p95/max of (wall-clock time, ms) pairs in the window, overall and while a training runs."""
        timed = [(t, ms) for t, ms in timed if t0 <= t <= t1]
        if not timed:
            return
        every = [ms for _, ms in timed]
        training = [ms for t, ms in timed if phase_at(t) in ("compiling", "epochs")]
        print(
            f"{name}_p50_ms={pct(every, 50):.0f} {name}_p95_ms={pct(every, 95):.0f} {name}_max_ms={max(every):.0f} "
            f"(n={len(every)} {what})  while_training_p50_ms={pct(training, 50):.0f} "
            f"while_training_p95_ms={pct(training, 95):.0f} (n={len(training)})"
        )

    timing_line(
        "server_script",
        [(t, ms) for t, page, ms in stats.script_runs if page == "draw"],
        "Draw page runs, as the app times them",
    )
    timing_line(
        "server_round_trip",
        [(t, 1000 * x) for t, x in stats.rerun_rounds],
        "Draw reruns, strokes and resets: rerun request sent to script_finished received, "
        "at the browsers' network stack",
    )
    print(
        f"training_during_measurement={'yes' if in_window else 'no'} training_seconds_observed={training_seconds:.0f}"
        f" train_clicks={stats.train_clicks} train_runs_finished={stats.train_finished}"
    )
    for who, progress in sorted(stats.last_progress.items()):
        print(f"  trainer {who} last progress: {progress}")
    for acc in stats.train_accuracies:
        print(f"  finished run: {acc}")
    print(f"queue_messages_seen={len(stats.queue_messages)}")
    for q in sorted(stats.queue_messages):
        print(f"  queue message: {q}")
    if health is not None:
        hs = [(t, x) for t, x in health.samples if t0 <= t <= t1]
        ok_h = [1000 * x for _, x in hs if x is not None]
        print(
            f"health_endpoint_p50_ms={pct(ok_h, 50):.0f} health_endpoint_p95_ms={pct(ok_h, 95):.0f} "
            f"health_endpoint_max_ms={max(ok_h, default=float('nan')):.0f} failed={sum(1 for _, x in hs if x is None)} "
            f"(n={len(hs)}; the server's event loop responsiveness during the measurement)"
        )
        h_phase: dict[str, list[float]] = {}
        for t, x in hs:
            if x is not None:
                h_phase.setdefault(phase_at(t), []).append(1000 * x)
        print(
            "health_by_training_phase: "
            + "  ".join(
                f"{ph}: p50={pct(v, 50):.0f}ms max={max(v):.0f}ms n={len(v)}" for ph, v in sorted(h_phase.items())
            )
        )
    print(
        f"load_average_before={info.get('load_before', float('nan')):.2f} "
        f"load_average_after={info.get('load_after', float('nan')):.2f} (1-minute, whole machine)"
    )
    print(
        f"server_peak_rss_mb={server_mon.peak_main_rss / 2**20:.0f} "
        f"workers_peak_rss_mb={server_mon.peak_workers_rss / 2**20:.0f} "
        f"(the web server's process; its Dask worker processes together; whole tree {server_mon.peak_rss / 2**20:.0f})"
    )
    server_cpu = server_mon.cpu_total() - server_cpu0
    print(
        f"cpu_s_since_start: server {server_mon.cpu_of('main'):.0f} workers {server_mon.cpu_of('worker'):.0f} "
        f"other {server_mon.cpu_of('other'):.0f}"
    )
    reruns = sum(s.strokes for s in stats.samples) + stats.resets
    if len(stats.cpu_window) == 2 and reruns:
        window_cpu = stats.cpu_window[1] - stats.cpu_window[0]
        print(
            f"server_cpu_during_window_s={window_cpu:.0f} draw_reruns={reruns} "
            f"server_cpu_ms_per_draw_rerun={1000 * window_cpu / reruns:.0f} (upper bound: includes training and idle work)"  # noqa: E501
        )
    if len(stats.machine_window) == 2 and all(stats.machine_window):
        a, b = stats.machine_window
        used = {k: b[k] - a[k] for k in a}
        total = sum(used.values()) or 1.0
        print(
            "machine_cpu_during_window: "
            + " ".join(f"{k}={100 * v / total:.1f}%" for k, v in used.items())
            + " (whole machine; nice = the load generator and browsers, steal = taken by the hypervisor)"
        )
    print(
        f"server_cpu_s={server_cpu:.0f} browsers_cpu_s={browser_mon.cpu_total():.0f} wall_s={elapsed:.0f} "
        f"cores={os.cpu_count()} browsers_peak_rss_mb={browser_mon.peak_rss / 2**20:.0f}"
    )
    by_digit = {}
    for s in predicted:
        hit, n = by_digit.get(s.digit, (0, 0))
        by_digit[s.digit] = (hit + (s.predicted == str(s.digit)), n + 1)
    print("accuracy_by_digit=" + " ".join(f"{d}:{h}/{n}" for d, (h, n) in sorted(by_digit.items())))
    wrong = [f"{s.digit}->{s.predicted}({s.height:.0f}px)" for s in predicted if s.predicted != str(s.digit)]
    if wrong:
        print("misread=" + " ".join(wrong[:30]))
    if stats.errors:
        print("first errors:")
        for e in stats.errors[:15]:
            print(f"  {e}")
    if stats.page_errors:
        print("first page JS errors:")
        for e in stats.page_errors[:5]:
            print(f"  {e[:300]}")
    return {
        "mode": info.get("mode", "dask"),
        "p50": pct(lat_ms, 50),
        "p95": pct(lat_ms, 95),
        "n": len(lat_ms),
        "training_p50": pct(during, 50),
        "training_p95": pct(during, 95),
        "training_n": len(during),
        "digits": len(samples),
        "errors": len(stats.errors),
        "timeouts": timeouts,
        "server_mb": server_mon.peak_main_rss / 2**20,
        "workers_mb": server_mon.peak_workers_rss / 2**20,
        "server_cpu_s": server_mon.cpu_of("main"),
        "workers_cpu_s": server_mon.cpu_of("worker"),
        "training_s": training_seconds,
        "runs_finished": stats.train_finished,
        "load_after": info.get("load_after", float("nan")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workshop", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent drawing sessions")
    parser.add_argument("--trainers", type=int, default=2, help="concurrent training sessions")
    parser.add_argument("--duration", type=float, default=90, help="measurement window in seconds")
    parser.add_argument("--browsers", type=int, default=2, help="Chromium instances (sessions are spread over them)")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean pause between digits in seconds (uniform 0.5-1.5x)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60,
        help="seconds to wait for a result after a stroke before counting a timeout error "
        "(results slower than 20 s are also counted: latency_over_20s)",
    )
    parser.add_argument("--page-timeout", type=float, default=120, help="seconds to wait for a page to load")
    parser.add_argument("--open-concurrency", type=int, default=4, help="pages loading at the same time during setup")
    parser.add_argument("--min-height", type=float, default=50, help="smallest digit height in canvas pixels")
    parser.add_argument("--max-height", type=float, default=240, help="largest digit height in canvas pixels")
    parser.add_argument("--step-px", type=float, default=6, help="pixels between mouse events along a stroke")
    parser.add_argument(
        "--arch", default=None, choices=["mlp", "cnn"], help="trainers' architecture (default: the Train page's)"
    )
    parser.add_argument("--epochs", type=int, default=None, help="trainers' epochs (default: the Train page's)")
    parser.add_argument(
        "--train-size", type=int, default=None, help="trainers' training images (default: the Train page's)"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="the baseline: trainings in a thread of the web server, as before they ran on Dask "
        "(DIGIT_STUDIO_IN_PROCESS_TRAINING=1)",
    )
    parser.add_argument(
        "--series",
        type=int,
        default=0,
        metavar="N",
        help="N rounds of two runs, on the local Dask cluster then in-process, each on a fresh server; "
        "prints every run's figures and a summary of both modes",
    )
    parser.add_argument(
        "--trainer-mode",
        choices=["watch", "peek"],
        default="watch",
        help="watch: keep the Train page open while training (it updates live once a second); "
        "peek: after pressing Train go to Home and look at the Train page every --peek-every s",
    )
    parser.add_argument("--peek-every", type=float, default=15.0)
    parser.add_argument(
        "--no-repeat-training",
        dest="repeat_training",
        action="store_false",
        help="train once per trainer session (default: press Train again when a run finishes)",
    )
    parser.add_argument("--mnist-dir", default=os.environ.get("MNIST_DIR") or str(ROOT.parent / "shared" / "mnist"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--screenshots", action="store_true", help="save a few screenshots to test-artifacts/")
    parser.add_argument(
        "--no-tap",
        dest="tap",
        action="store_false",
        help="do not watch the Draw pages' WebSocket frames (server_round_trip_* lines)",
    )
    parser.add_argument(
        "--load-nice",
        type=int,
        default=19,
        help="CPU niceness of the load generator (this script, Playwright and the browsers; the "
        "server keeps normal priority): at a workshop the browsers run on the attendees' "
        "laptops, not on the server. 0 = browsers compete with the server as equals",
    )
    args = parser.parse_args(argv)
    if args.sessions < 0 or args.trainers < 0 or args.sessions + args.trainers == 0:
        parser.error("need at least one session")
    args.duration = min(max(args.duration, 5.0), 1800.0)
    args.series = min(max(args.series, 0), 20)
    if args.series:
        return run_series(args)
    run_once(args, in_process=args.in_process)
    return 0


def run_once(args, in_process: bool, label: str = "") -> dict:
    """One measurement on a fresh server: trainings on its local Dask cluster, or ``in_process`` (the baseline).

    Returns:
        The headline figures of :func:`report`.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {"MNIST_DIR": args.mnist_dir} if args.mnist_dir and Path(args.mnist_dir).is_dir() else {}
    if not env:
        print(f"warning: MNIST directory {args.mnist_dir!r} not found; the Train page will say MNIST is missing")
    run_log = ARTIFACTS / "workshop-runs.log"  # the app's own time per script run (pages.timing.timed_run)
    run_log.unlink(missing_ok=True)
    env["DIGIT_STUDIO_RUN_LOG"] = str(run_log)
    env["DIGIT_STUDIO_IN_PROCESS_TRAINING"] = "1" if in_process else "0"
    mode = "in-process" if in_process else "dask"
    server = AppServer(env=env, log_path=ARTIFACTS / f"workshop-server{label}-{mode}.log")
    stats = Stats()
    t_begin = time.monotonic()
    print(f"starting the app on {server.base_url}, trainings {mode} (log: {server.log_path})", flush=True)
    server.start(timeout=120)
    server_mon = MemoryMonitor(lambda: [server.pid] if server.pid else [])
    server_mon.sample()
    server_cpu0 = server_mon.cpu_total()
    server_mon.start()
    browser_pids: list[int] = []
    browser_mon = MemoryMonitor(lambda: list(browser_pids), interval=1.0)
    browser_mon.start()
    health = HealthProbe(server.base_url)
    health.start()
    info: dict = {}
    load_before = os.getloadavg()[0]
    try:
        info = asyncio.run(run(args, server, stats, browser_pids, server_mon))
        info["load_before"], info["load_after"] = load_before, os.getloadavg()[0]
    except KeyboardInterrupt:
        print("interrupted")
    finally:
        server_mon.sample()
        server_mon.stop()
        browser_mon.stop()
        health.stop()
        server.stop()
    stats.script_runs = read_run_log(run_log)
    info["mode"] = mode
    return report(args, stats, info, server_mon, browser_mon, server_cpu0, time.monotonic() - t_begin, health)


#: The issue's goal for stroke-to-prediction p95 with training running, in milliseconds.
GOAL_P95_MS = 1500.0


def run_series(args) -> int:
    """``--series N``: N rounds of a run on the local Dask cluster and one in-process, then a summary."""
    runs: list[dict] = []
    for k in range(args.series):
        for in_process in (False, True):
            print(f"\n##### series run {len(runs) + 1}/{2 * args.series} #####", flush=True)
            figures = run_once(args, in_process=in_process, label=f"-{k + 1}")
            runs.append({"run": len(runs) + 1, **figures})
            time.sleep(5)  # let the previous server's processes go before the next one starts
    print_series(args, runs)
    return 0


def print_series(args, runs: list[dict]) -> None:
    """Every run's headline figures, then each mode's summary (medians, worst p95, the goal met in how many runs)."""
    print()
    print(
        f"=== series: {args.series} x (dask, in-process), sessions={args.sessions} trainers={args.trainers} "
        f"duration_s={args.duration:.0f} train=/train{'?' + train_query(args) if train_query(args) else ''} ==="
    )
    head = (
        f"{'run':>3} {'mode':<10} {'p50':>6} {'p95':>6} {'train_p50':>9} {'train_p95':>9} {'n_train':>7} "
        f"{'digits':>6} {'errors':>6} {'server_MB':>9} {'workers_MB':>10} {'server_cpu':>10} {'workers_cpu':>11} "
        f"{'trained_s':>9} {'runs_done':>9}"
    )
    print("stroke-to-prediction in ms (all digits; train_*: digits drawn while a training ran); CPU in seconds")
    print(head)
    for r in runs:
        print(
            f"{r['run']:>3} {r['mode']:<10} {r['p50']:>6.0f} {r['p95']:>6.0f} {r['training_p50']:>9.0f} "
            f"{r['training_p95']:>9.0f} {r['training_n']:>7} {r['digits']:>6} {r['errors']:>6} "
            f"{r['server_mb']:>9.0f} {r['workers_mb']:>10.0f} {r['server_cpu_s']:>10.0f} {r['workers_cpu_s']:>11.0f} "
            f"{r['training_s']:>9.0f} {r['runs_finished']:>9}"
        )
    print()
    print(
        f"{'mode':<10} {'p50_med':>7} {'p95_med':>7} {'p95_worst':>9} {'train_p95_med':>13} {'train_p95_worst':>15} "
        f"{'digits_mean':>11} {'errors':>6} {'server_MB_max':>13} {'workers_MB_max':>14} "
        f"goal(train_p95<{GOAL_P95_MS:.0f}ms)"
    )
    for mode in ("dask", "in-process"):
        rs = [r for r in runs if r["mode"] == mode]
        if not rs:
            continue

        def med(key: str, rs: list[dict] = rs) -> float:
            return float(np.nanmedian([r[key] for r in rs]))

        def worst(key: str, rs: list[dict] = rs) -> float:
            values = [r[key] for r in rs if not np.isnan(r[key])]
            return max(values, default=float("nan"))

        met = sum(1 for r in rs if r["training_n"] and r["training_p95"] < GOAL_P95_MS)
        print(
            f"{mode:<10} {med('p50'):>7.0f} {med('p95'):>7.0f} {worst('p95'):>9.0f} {med('training_p95'):>13.0f} "
            f"{worst('training_p95'):>15.0f} {np.mean([r['digits'] for r in rs]):>11.1f} "
            f"{sum(r['errors'] for r in rs):>6} {max(r['server_mb'] for r in rs):>13.0f} "
            f"{max(r['workers_mb'] for r in rs):>14.0f} {met}/{len(rs)} runs"
        )


if __name__ == "__main__":
    sys.exit(main())
