"""Browser-side cost of the app's pages: what a visitor's own computer spends.

At a workshop the server runs on one machine while each visitor's browser runs
on their own laptop (or the presenter's laptop projects the Train page while it
also serves the app), so the work a page makes its browser do counts as much as
the server's. This benchmark starts the app on 127.0.0.1 and, in one headless
Chromium (Debian's, through Playwright), reads Chromium's own counters
(DevTools ``Performance.getMetrics``: main-thread task time, of which script,
layout and style) for:

* an idle Draw page (per second: what a page costs just by being open);
* each stroke on the Draw page, from the mouse-up to the new result settled
  on screen (exporting the canvas, receiving and rendering the result), and
  the server's CPU time per stroke over the same strokes (its reruns, and
  the canvas resets between digits); with the time from each mouse-up to its
  result on screen, on an otherwise idle machine (``--inside``: with the
  "Inside the network" view open);
* a Train page while a training runs and it updates live (per second).

Run::

    MNIST_DIR=/path/to/mnist python -m bench.browser_cost [--digits 8] [--seconds 15] [--inside]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from support.browser import TRAIN_BUTTON, AppServer, DrawPage, launch_chromium, mouse_ops
from support.handwriting import random_digit_strokes

METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


class PageMeter:
    """Chromium's main-thread time counters of one page (DevTools Performance domain)."""

    def __init__(self, page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable", {"timeDomain": "threadTicks"})

    def read(self) -> dict[str, float]:
        values = {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}
        return {k: float(values.get(k, 0.0)) for k in METRICS}

    @staticmethod
    def delta(before: dict, after: dict) -> dict[str, float]:
        return {k: after[k] - before[k] for k in METRICS}


def fmt(values: dict[str, float], scale: float = 1000.0, unit: str = "ms") -> str:
    task = values["TaskDuration"] * scale
    return (
        f"task={task:.1f}{unit} (script={values['ScriptDuration'] * scale:.1f} "
        f"layout={values['LayoutDuration'] * scale:.1f} style={values['RecalcStyleDuration'] * scale:.1f})"
    )


def idle_cost(page, seconds: float) -> dict[str, float]:
    meter = PageMeter(page)
    a = meter.read()
    time.sleep(seconds)
    d = PageMeter.delta(a, meter.read())
    return {k: v / seconds for k, v in d.items()}


def open_inside(draw: DrawPage, timeout: float) -> None:
    """Switch the Draw page's "Inside the network" view on (a digit is drawn) and wait for its pictures."""
    draw.page.get_by_text("Inside the network").click(timeout=timeout * 1000)
    draw.page.get_by_text("What each layer sees").first.wait_for(timeout=timeout * 1000)


def stroke_costs(
    draw: DrawPage, digits: int, rng: np.random.Generator, timeout: float, before_reset=None
) -> list[dict]:
    """Per stroke: the page's main-thread time from mouse-up to the result settled.

    Each entry also has ``latency``: seconds from the mouse-up to the result on screen.
    ``before_reset(draw, timeout)`` is called after each digit, before the canvas is cleared.
    """
    meter = PageMeter(draw.page)
    costs = []
    for _ in range(digits):
        digit = int(rng.integers(10))
        for ops in mouse_ops(random_digit_strokes(digit, rng), draw.box(), 6.0):
            draw.arm()
            draw.play(ops[:-1])  # all but the mouse-up: the cost counted starts there
            before = meter.read()
            released = draw.play(ops[-1:])
            result = draw.wait_result(timeout)
            if result["settled"] is None or result["first"] is None:
                raise RuntimeError("a stroke got no result in time")
            cost = PageMeter.delta(before, meter.read())
            cost["latency"] = max(0.0, result["first"] / 1000.0 - released)
            costs.append(cost)
        if before_reset is not None:
            before_reset(draw, timeout)
        draw.reset(timeout)
    return costs


def train_cost(page, base_url: str, seconds: float, query: str, timeout: float) -> dict[str, float]:
    page.goto(f"{base_url}/train?{query}", wait_until="domcontentloaded", timeout=timeout * 1000)
    page.get_by_role("button", name=TRAIN_BUTTON, exact=True).click(timeout=timeout * 1000)
    page.locator("[data-testid='stProgress']").first.wait_for(timeout=timeout * 1000)
    page.get_by_text("Epoch 1/").first.wait_for(timeout=timeout * 1000)  # compiled: the live part is running
    meter = PageMeter(page)
    a = meter.read()
    time.sleep(seconds)
    d = PageMeter.delta(a, meter.read())
    if page.locator("[data-testid='stProgress']").count() == 0:
        print("warning: the training ended during the measurement; use a longer run (--train-query)")
    return {k: v / seconds for k, v in d.items()}


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the server process has used so far."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.browser_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--digits", type=int, default=8, help="digits drawn on the Draw page")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the idle and training measurements")
    parser.add_argument(
        "--train-query",
        default="arch=cnn&epochs=3&train_size=20000",
        help="Train page settings (URL query) for the training measurement",
    )
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist-dir", default=os.environ.get("MNIST_DIR") or "")
    parser.add_argument("--inside", action="store_true", help="draw with the Draw page's 'Inside the network' open")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    env = {"MNIST_DIR": args.mnist_dir} if args.mnist_dir else {}
    rng = np.random.default_rng(args.seed)
    with AppServer(env=env) as server, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            draw = DrawPage(page, server.base_url).open(args.timeout)
            stroke_costs(draw, 1, rng, args.timeout)  # warm-up: the first result loads code
            if args.inside:  # the toggle stays on from digit to digit
                stroke_costs(draw, 1, rng, args.timeout, before_reset=open_inside)
            idle = idle_cost(page, args.seconds)
            server_cpu = server_cpu_seconds(server.pid)
            strokes = stroke_costs(draw, args.digits, rng, args.timeout)
            server_cpu = server_cpu_seconds(server.pid) - server_cpu
            page.close()
            train = train_cost(
                browser.new_page(viewport={"width": 1280, "height": 900}),
                server.base_url,
                args.seconds,
                args.train_query,
                args.timeout,
            )
        finally:
            browser.close()
    task = np.array([s["TaskDuration"] for s in strokes]) * 1000
    latency = np.array([s["latency"] for s in strokes]) * 1000
    mean = {k: float(np.mean([s[k] for s in strokes])) for k in METRICS}
    print(
        "=== Digit Studio browser cost (one headless Chromium page, main thread) ==="
        + ("  [Inside the network open]" if args.inside else "")
    )
    print(f"draw_idle_per_s: {fmt(idle)}")
    print(
        f"draw_stroke_mean: {fmt(mean)}  p50={np.percentile(task, 50):.1f}ms p95={np.percentile(task, 95):.1f}ms "
        f"(n={len(strokes)} strokes, mouse-up to result settled)"
    )
    print(
        f"draw_stroke_latency: p50={np.percentile(latency, 50):.0f}ms p95={np.percentile(latency, 95):.0f}ms "
        f"(mouse-up to the result on screen, one page, nothing else running)"
    )
    print(
        f"server_cpu_per_stroke: {1000 * server_cpu / len(strokes):.1f}ms (its reruns and the resets between "
        f"{args.digits} digits, over {len(strokes)} strokes)"
    )
    print(f"train_live_per_s: {fmt(train)}  ({args.train_query}, while training)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
