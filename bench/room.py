"""A room pressing Train at once: N trainings submitted together to the Dask cluster.

For each setup, on a fresh cluster: how long the cluster takes to come up and
its workers to warm (TensorFlow imported, MNIST loaded), then ``--runs``
trainings (the Train page's defaults, one seed each, as different people
would) submitted at the same moment through ``core.jobs.TrainingJob``, the
app's own path: the time from submission to each result back in this
process (model rebuilt, as the page gets it), the makespan (the last one),
the time each run waited in the queue, its training time on its worker, and
the workers' peak memory. Setups:

* ``local1``, ``local2``: the app's local cluster (``core.cluster``) with 1 or 2
  worker processes of one training each;
* ``cli2``: ``dask scheduler`` and two ``dask worker`` processes started with the
  command line on loopback, as on two machines, joined through
  ``DASK_SCHEDULER_ADDRESS``.

``--quick`` trains the dense network for one epoch of 5,000 images instead of
the default run (the CNN, two epochs of 50,000). Run::

    MNIST_DIR=../shared/mnist python -m bench.room [--quick] [--runs 8] [--setups local1 local2 cli2]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import psutil

#: Changes to the Train page's defaults (core.config.APP_DEFAULTS) for each kind of run: none, and a run of seconds.
CONFIGS = {"default": {}, "quick": dict(arch="mlp", epochs=1, dropout=0.2, train_size=5000)}
TIMEOUT = 3600.0  #: seconds for a whole setup, at most


def _workers(pids: list[int]) -> list[psutil.Process]:
    """The Dask worker processes among the children of ``pids`` (each under its nanny)."""
    found: dict[int, psutil.Process] = {}  # by pid: the command-line workers are this process's grandchildren too
    for pid in pids:
        try:
            found |= {
                p.pid: p for p in psutil.Process(pid).children(recursive=True) if "spawn_main" in " ".join(p.cmdline())
            }
        except psutil.Error:
            continue
    return list(found.values())


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    """User and system CPU seconds the processes have used so far (those still alive)."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def run_setup(setup: str, runs: int, quick: bool, tf_threads: int | None, workdir: Path) -> dict:
    """Start ``setup``'s cluster, warm it, train ``runs`` at once, take it down; the figures as a dict."""
    from bench.dask_cli import DaskProcesses
    from core import cluster
    from core.config import APP_DEFAULTS
    from core.jobs import JobState, TrainingJob
    from core.remote import portable, warm_up_worker

    workers = int(setup.removeprefix("local").removeprefix("cli"))
    os.environ.pop(
        "DIGIT_STUDIO_TF_THREADS", None
    )  # the previous setup's: each gets the app's default (or --tf-threads)
    threads = tf_threads or cluster.worker_tf_threads(workers, 1)
    os.environ.pop("DASK_SCHEDULER_ADDRESS", None)
    os.environ.update(
        DIGIT_STUDIO_WORKERS=str(workers), DIGIT_STUDIO_WORKER_THREADS="1", DIGIT_STUDIO_TF_THREADS=str(threads)
    )
    processes = DaskProcesses(workdir)
    started = time.perf_counter()
    try:
        if setup.startswith("cli"):
            os.environ["DASK_SCHEDULER_ADDRESS"] = processes.start_scheduler()
            for i in range(workers):
                processes.start_worker(f"worker-{i}", tf_threads=threads)
        connected = cluster.get_cluster()
        connected.client.wait_for_workers(workers, timeout=120)
        deadline = time.monotonic() + 60
        while connected.capacity() < workers and time.monotonic() < deadline:
            time.sleep(0.05)
        up = time.perf_counter() - started
        addresses = list(connected.client.scheduler_info(n_workers=-1)["workers"])
        warm_up = portable(warm_up_worker)
        connected.client.gather([connected.client.submit(warm_up, workers=[a], pure=False) for a in addresses])
        warm = time.perf_counter() - started - up
        pids = [os.getpid()] + [p.pid for p in processes.processes]

        base = replace(APP_DEFAULTS, **CONFIGS["quick" if quick else "default"])
        jobs = [TrainingJob(replace(base, seed=seed)) for seed in range(runs)]
        workers_now, me = _workers(pids), psutil.Process()
        cpu_before, server_before = _cpu_seconds(workers_now), _cpu_seconds([me])
        begun = time.perf_counter()
        for job in jobs:
            job.start()
        waited: dict[int, float] = {}
        done: dict[int, float] = {}
        peak: dict[int, int] = {}
        last_sample = 0.0
        while len(done) < runs and time.perf_counter() - begun < TIMEOUT:
            now = time.perf_counter() - begun
            for i, job in enumerate(jobs):
                state = job.state
                if i not in waited and state is not JobState.QUEUED:
                    waited[i] = now
                if i not in done and state.finished:
                    done[i] = now
            if now - last_sample > 1.0:
                for process in workers_now:
                    try:
                        peak[process.pid] = max(peak.get(process.pid, 0), process.memory_info().rss)
                    except psutil.Error:
                        continue
                last_sample = now
            time.sleep(0.02)
        worker_cpu, server_cpu = _cpu_seconds(workers_now) - cpu_before, _cpu_seconds([me]) - server_before
        snaps = [job.snapshot() for job in jobs]
        for job in jobs:
            job.join(60)
    finally:
        cluster.shutdown()
        processes.stop()
        os.environ.pop("DASK_SCHEDULER_ADDRESS", None)
    states = [s.state.value for s in snaps]
    ok = [s.result for s in snaps if s.result is not None]
    return {
        "setup": setup,
        "workers": workers,
        "tf_threads": threads,
        "cluster_up": up,
        "warm_up": warm,
        "makespan": max(done.values()) if done else float("nan"),
        "results_at": sorted(done.values()),
        "queue_waits": sorted(waited.values()),
        "run_seconds": [r.duration for r in ok],
        "test_accuracy": statistics.fmean(r.test_accuracy for r in ok) if ok else float("nan"),
        "states": states,
        "workers_peak_rss_gb": sorted(v / 1e9 for v in peak.values()),
        "workers_run": sorted({s.worker for s in snaps if s.worker}),
        "errors": sorted({s.error for s in snaps if s.error}),
        "worker_cpu_per_run": worker_cpu / runs,
        "server_cpu_per_run": server_cpu / runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="dense network, one epoch of 5,000 images")
    parser.add_argument("--setups", nargs="+", default=["local1", "local2", "cli2"])
    parser.add_argument(
        "--tf-threads",
        type=int,
        default=None,
        help="TensorFlow threads per worker (default: cores - 1 shared out, at least 1)",
    )
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import core.inference  # noqa: F401 - as in the app's server, whose pages predict: TensorFlow is loaded already

    print(
        f"cores={os.cpu_count()} runs={args.runs} config={'quick' if args.quick else 'default'} "
        f"load_average_1min={os.getloadavg()[0]:.1f}",
        flush=True,
    )
    results = []
    for setup in args.setups:
        with tempfile.TemporaryDirectory(prefix="bench-room-") as workdir:
            r = run_setup(setup, args.runs, args.quick, args.tf_threads, Path(workdir))
        results.append(r)
        print(
            f"setup={r['setup']} workers={r['workers']} tf_threads={r['tf_threads']} "
            f"cluster_up={r['cluster_up']:.1f}s warm_up={r['warm_up']:.1f}s makespan={r['makespan']:.1f}s "
            f"mean_accuracy={r['test_accuracy']:.4f} states={','.join(sorted(set(r['states'])))} "
            f"load_average_1min={os.getloadavg()[0]:.1f}",
            flush=True,
        )
        print("  results_at_s=" + " ".join(f"{t:.1f}" for t in r["results_at"]), flush=True)
        print("  started_at_s=" + " ".join(f"{t:.1f}" for t in r["queue_waits"]), flush=True)
        for error in r["errors"]:
            print(f"  error: {error}", flush=True)
        mean = statistics.fmean(r["run_seconds"]) if r["run_seconds"] else float("nan")
        print(
            "  run_seconds_on_worker=" + " ".join(f"{t:.1f}" for t in r["run_seconds"]) + f" (mean {mean:.1f})",
            flush=True,
        )
        print(
            "  workers_peak_rss_gb="
            + " ".join(f"{g:.2f}" for g in r["workers_peak_rss_gb"])
            + f" workers_used={len(r['workers_run'])}",
            flush=True,
        )
        print(
            f"  cpu_seconds_per_run: workers {r['worker_cpu_per_run']:.1f}, this process (app side: queue, "
            f"scheduler if local, model rebuilt) {r['server_cpu_per_run']:.2f}",
            flush=True,
        )
    print_table(results, args.runs, args.quick)


def print_table(results: list[dict], runs: int, quick: bool) -> None:
    """The setups side by side, how the makespan scales, and what the per-run cost gives elsewhere."""
    print()
    print(f"=== {runs} {'quick' if quick else 'default'} trainings submitted at once ===")
    print(
        f"{'setup':<7} {'workers':>7} {'tf_thr':>6} {'up_s':>5} {'warm_s':>6} {'makespan_s':>10} {'first_s':>7} "
        f"{'median_s':>8} {'last_s':>6} {'run_s':>6} {'cpu_s/run':>9} {'app_cpu_s/run':>13} {'peak_GB':>7}  states"
    )
    for r in results:
        at = r["results_at"] or [float("nan")]
        run_s = statistics.fmean(r["run_seconds"]) if r["run_seconds"] else float("nan")
        peak = max(r["workers_peak_rss_gb"], default=float("nan"))
        print(
            f"{r['setup']:<7} {r['workers']:>7} {r['tf_threads']:>6} {r['cluster_up']:>5.1f} {r['warm_up']:>6.1f} "
            f"{r['makespan']:>10.1f} {at[0]:>7.1f} {statistics.median(at):>8.1f} {at[-1]:>6.1f} {run_s:>6.1f} "
            f"{r['worker_cpu_per_run']:>9.1f} {r['server_cpu_per_run']:>13.2f} {peak:>7.2f}  "
            + ",".join(f"{state}={r['states'].count(state)}" for state in sorted(set(r["states"])))
        )
    print(
        "  (up_s: cluster up; warm_s: TensorFlow and MNIST loaded on every worker; *_s: seconds from submission "
        "to a result back here; run_s: mean training time on its worker; cpu_s/run: workers' CPU per run; "
        "app_cpu_s/run: this process's, the app's side; peak_GB: the largest worker's peak memory)"
    )
    first = results[0]
    for r in results[1:]:
        print(
            f"makespan {first['setup']} / {r['setup']} = {first['makespan'] / r['makespan']:.2f}x "
            f"({r['workers']} workers against {first['workers']}; cores here: {os.cpu_count()})"
        )
    base = next((r for r in results if r["workers"] == 1), first)
    cost = base["worker_cpu_per_run"]
    if not cost or math.isnan(cost):
        return
    print(
        f"per-run cost: {cost:.1f} CPU seconds on a worker with {base['tf_threads']} TensorFlow thread(s) "
        f"(setup {base['setup']}); one worker in turn would take {runs} x {cost:.1f} = {runs * cost:.0f} s "
        f"(measured makespan {base['makespan']:.0f} s)"
    )
    for machine, slots in (
        ("a 16-core machine, 15 one-thread workers (a core left for the web server)", 15),
        ("two 2-core machines as workers only, 2 one-thread workers each", 4),
        ("two 2-core machines, 1 worker each (the README's example)", 2),
    ):
        waves = math.ceil(runs / slots)
        print(f"  extrapolated, {machine}: {waves} wave(s) of up to {slots} -> about {waves * cost:.0f} s")
    print(
        "  (an estimate, not a measurement: it assumes each run keeps a core to itself at the speed measured here "
        "and no other bottleneck; start-up and warm-up come on top, once per worker)"
    )


if __name__ == "__main__":
    main()
