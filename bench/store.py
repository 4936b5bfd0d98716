"""What keeping runs costs: the store's operations, timed on a temporary data folder.

Measures, with a fake model file of a typical size (2.7 MB, the bundled CNN's):

* ``finish_run``: a finished run stored (model file written atomically, then its row),
* ``runs``: one person's runs read back (20 of them: the default cap),
* ``version``: the check a page makes on every script run to know whether to read them
  again (when nothing changed, that is all a page pays),
* ``start_up``: a server's start-up tidying, over ``--people`` people's runs.

Prints p50/p95 of each. Run::

    python -m bench.store [--people 50] [--calls 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from core.store import Store
from core.store_limits import StoreLimits
from core.store_records import RunRecord

MODEL_BYTES = 2_700_000


def record() -> RunRecord:
    """A run's record of the size a 3-epoch run makes (120-point curves, full confusion matrix, 24 mistakes)."""
    curve = {"epoch": list(np.linspace(0, 3, 120)), "value": list(np.linspace(2, 0.1, 120))}
    history = {k: [0.5, 0.3, 0.2] for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
    metrics = {
        "test_loss": 0.05,
        "test_accuracy": 0.98,
        "epochs_completed": 3.0,
        "duration": 30.0,
        "samples_per_second": 2000.0,
        "stopped_early": False,
    }
    mistakes = [{"index": i, "true": 1, "predicted": 7, "confidence": 0.9} for i in range(24)]
    return RunRecord(
        {"arch": "cnn", "epochs": 3}, history, metrics, {"loss": curve, "accuracy": curve}, [[100] * 10] * 10, mistakes
    )


def percentiles(times: list[float]) -> str:
    ms = np.asarray(times) * 1000.0
    return f"p50 {np.percentile(ms, 50):7.2f} ms   p95 {np.percentile(ms, 95):7.2f} ms   (n={len(ms)})"


def timed(fn, calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.store")
    parser.add_argument("--people", type=int, default=50, help="people with 20 runs each, for start_up")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    payload = b"\0" * MODEL_BYTES
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder), StoreLimits(runs_per_person=20, max_bytes=100 * 2**30))
        owner = "a" * 32
        saves = []
        for _ in range(20):
            number = store.begin_run(owner, {"arch": "cnn"})
            start = time.perf_counter()
            store.finish_run(owner, number, "done", record(), lambda p: p.write_bytes(payload))
            saves.append(time.perf_counter() - start)
        print(f"finish_run (2.7 MB model, fsync'd)   {percentiles(saves)}")
        print(f"runs (20 runs read back)             {percentiles(timed(lambda: store.runs(owner), args.calls))}")
        print(f"version (each script run)            {percentiles(timed(lambda: store.version(owner), args.calls))}")
        for p in range(args.people):
            who = f"{p:032x}"
            for _ in range(20):
                store.finish_run(who, store.begin_run(who, {}), "done", record(), lambda p: p.write_bytes(b"m"))
        store.close()
        again = Store(Path(folder), StoreLimits(runs_per_person=20, max_bytes=100 * 2**30))
        start = time.perf_counter()
        report = again.start_up()
        print(
            f"start_up over {(args.people + 1) * 20} runs            {(time.perf_counter() - start) * 1000:7.1f} ms"
            f"   ({report})"
        )
        again.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
