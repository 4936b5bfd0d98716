"""How close the Train page's time estimate comes to the real time, run after run.

Starts the app's local Dask cluster (``core.cluster``, as ``make run`` does),
waits for its workers' calibration runs to reach the estimator
(``core.estimate``), then trains a series of settings the way the Train page
does (``core.jobs.TrainingJob``): for each, the estimate shown before pressing
Train, the real time from pressing it to the result back in this process
(nothing else queued), and the error. Each finished run is then given to the
estimator, as the app's registry does, so later estimates are refined by it.
The default run comes first (estimated from the calibration alone) and again
later (estimated from runs). Run::

    MNIST_DIR=../shared/mnist python -m bench.estimate
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: (label, changes to the default run), in the order they are trained.
SERIES = [
    ("default run", {}),
    ("default run, again", {}),
    ("MLP", {"arch": "mlp"}),
    ("CNN, 5k images, 1 epoch", {"train_size": 5000, "epochs": 1}),
    ("CNN, batch 128, 3 epochs", {"batch_size": 128, "epochs": 3}),
    ("CNN, width 32, 1 epoch", {"width": 32, "epochs": 1}),
    ("default run, third time", {}),
]
TIMEOUT = 600.0  #: seconds for the calibration, and for each run


def main(argv: list[str] | None = None) -> int:
    """Print estimate, real time and error for each run of the series."""
    parser = argparse.ArgumentParser(prog="python -m bench.estimate", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    from core import cluster
    from core.config import TrainConfig
    from core.estimate import estimator
    from core.jobs import TrainingJob
    from core.model import build_model

    build_model("cnn")  # the web server has TensorFlow loaded (the Draw page's model) before anyone trains
    started = time.perf_counter()
    connected = cluster.get_cluster()  # starts the local cluster and its workers' warm-up and calibration
    while not estimator.estimate(TrainConfig()).measured and time.perf_counter() - started < TIMEOUT:
        time.sleep(0.1)
    print(f"cluster up and calibrated in {time.perf_counter() - started:.1f} s ({connected.capacity()} trainer(s))")
    print(f"{'run':28s} {'estimate':>9s} {'real':>7s} {'error':>7s}  estimated from")
    errors = []
    try:
        for label, changes in SERIES:
            config = replace(TrainConfig(), **changes)
            guess = estimator.estimate(config)
            source = f"{guess.runs} run(s)" if guess.runs else "calibration" if guess.measured else "reference CPU"
            job = TrainingJob(config)
            begun = time.perf_counter()
            job.start()
            while not job.state.finished and time.perf_counter() - begun < TIMEOUT:
                time.sleep(0.01)  # the moment the page shows the results
            real = time.perf_counter() - begun
            job.join(TIMEOUT)  # then the job readies the model for drawing, after reporting
            snap = job.snapshot()
            if snap.result is None:
                print(f"{label:28s} failed: {snap.error}")
                continue
            estimator.observe(config, snap.elapsed)  # as core.registry does when a run is stored
            error = guess.seconds / real - 1
            errors.append((label, error))
            worker = f"on the worker {snap.elapsed:.1f} s (training loop {snap.result.duration:.1f} s)"
            print(f"{label:28s} {guess.seconds:8.1f}s {real:6.1f}s {error:+7.0%}  {source}; {worker}", flush=True)
    finally:
        cluster.shutdown()
    defaults = [e for label, e in errors if label.startswith("default")]
    print(
        f"default run: errors {', '.join(f'{e:+.0%}' for e in defaults)}; "
        f"largest error over the series {max((abs(e) for _, e in errors), default=float('nan')):.0%}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
