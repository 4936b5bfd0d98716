"""Training speed: a plain tutorial ``model.fit`` against ``core.training.train``.

On the same 50,000 MNIST training images (validation: the last 10,000), for
one epoch each, every variant in a fresh process of its own:

* ``plain``      the dense 784-128-64-10 network (dropout 0.2), batch 32, trained
                 the tutorial way: ``model.fit(x, y, batch_size=32)``, TensorFlow defaults,
                 timed over ``fit``;
* ``core``       the same network and settings through ``core.training.train``,
                 hooks on, with the app's TensorFlow settings (``core.runtime``), timed
                 over its training loop (which includes validation after the epoch) and
                 over the whole call; a run after the process's first of this kind, as
                 in the app, where the compiled training step is reused;
* ``core-cold``  the same, but the process's first run of this kind: it traces and
                 compiles the training step (the warm-up trains another dropout rate);
* ``app``        the same through the app's job object (``core.jobs.TrainingJob``, in this
                 process: ``train_fn=train``; what a Dask worker runs is the same
                 ``train``, and ``python -m bench.room`` measures trainings on the cluster)
                 while a poller builds the live-chart data twice a second, like
                 the Train page; then two sessions train at once to show the
                 data set is held once per process;
* ``tutorial-cnn``: the tutorial convnet (conv32-pool-conv64-pool-dense128) at batch 128,
  ``model.fit`` with TensorFlow's defaults: the baseline of the CNN's throughput;
* ``plain-cnn``, ``core-cnn``: the app's CNN at batch 128 (plain fit vs core, the app's thread setting);
* ``core-cnn-allcores``: core with all cores, as ``python -m core.train`` runs.

Prints samples per second, speed-ups, validation accuracies and peak resident
memory. Run::

    MNIST_DIR=../shared/mnist python -m bench.training [--repeats 3] [--skip-cnn]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _data():
    from core.data import load_mnist, split_validation

    (x_all, y_all), _ = load_mnist()
    return split_validation(x_all, y_all, 10000)


def plain_fit(arch: str, batch_size: int, dropout: float) -> tuple[float, float]:
    """The tutorial loop on float arrays with ``model.fit`` defaults. Returns (samples/s, val accuracy)."""
    import keras

    from core.model import build_model

    (x, y), (xv, yv) = _data()
    if arch == "tutorial":  # conv32-pool-conv64-pool-dense128, as the Keras tutorial writes it
        from bench.recipes import tutorial_convnet

        model = tutorial_convnet()
    elif arch == "mlp":  # written out exactly as the classic tutorial does
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((28, 28)),
                keras.layers.Flatten(),
                keras.layers.Dense(128, activation="relu"),
                keras.layers.Dropout(dropout),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dropout(dropout),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    else:
        model = build_model(arch, dropout, seed=0)
    xf, xvf = x.astype("float32") / 255.0, xv.astype("float32") / 255.0
    if arch == "tutorial":
        xf, xvf = xf[..., None], xvf[..., None]
    start = time.perf_counter()
    model.fit(xf, y, epochs=1, batch_size=batch_size, verbose=0)
    seconds = time.perf_counter() - start
    _, val_acc = model.evaluate(xvf, yv, verbose=0, batch_size=1000)
    return len(x) / seconds, float(val_acc)


def core_train(arch: str, batch_size: int, dropout: float) -> tuple[float, float, float]:
    """``core.training.train`` with hooks on.

    Returns:
        (samples/s over its training loop — the span the tutorial baseline is timed over, here
        including the per-epoch validation the baseline leaves out —, val accuracy,
        samples/s over the whole call, which adds building the model and the
        test-set evaluation).
    """
    from core.training import TrainConfig, train

    updates: list = []
    start = time.perf_counter()
    result = train(
        TrainConfig(arch=arch, epochs=1, batch_size=batch_size, dropout=dropout, seed=0),
        on_batch=updates.append,
        on_epoch=updates.append,
    )
    whole = time.perf_counter() - start
    return 50000 / result.duration, result.history["val_accuracy"][-1], 50000 / whole


def app_worker(arch: str, batch_size: int, dropout: float) -> tuple[float, float]:
    """The app's path: a TrainingJob thread, polled twice a second building chart data (the page polls once a second)."""  # noqa: E501
    import pandas as pd

    from core.charts import loss_curve
    from core.jobs import TrainingJob, TrainingSlots
    from core.training import TrainConfig, train

    job = TrainingJob(
        TrainConfig(arch=arch, epochs=1, batch_size=batch_size, dropout=dropout, seed=0),
        slots=TrainingSlots(1),
        train_fn=train,
    )

    def poll() -> None:
        while not job.state.finished:
            snap = job.snapshot()
            for key in ("loss", "accuracy"):
                x, y = loss_curve(snap.batches, key)
                pd.DataFrame({"epoch": x, "value": y}).to_dict("records")
            time.sleep(0.5)

    start = time.perf_counter()
    job.start()
    poller = threading.Thread(target=poll)
    poller.start()
    while not job.state.finished:  # the moment the page shows the results
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    poller.join()
    job.join()
    return 50000 / seconds, job.snapshot().result.history["val_accuracy"][-1]


def two_sessions() -> int:
    """Two jobs training at once in one process; returns how many dataset tensors the process holds."""
    from core.jobs import TrainingJob, TrainingSlots
    from core.pipeline import cached_tensor_count
    from core.training import TrainConfig, train

    slots = TrainingSlots(2)
    jobs = [
        TrainingJob(TrainConfig(arch="mlp", epochs=1, batch_size=128, seed=s), slots=slots, train_fn=train).start()
        for s in (1, 2)
    ]
    for job in jobs:
        job.join()
    return cached_tensor_count()


VARIANTS = {
    "plain": (plain_fit, "mlp", 32, 0.2),
    "core": (core_train, "mlp", 32, 0.2),
    "core-cold": (core_train, "mlp", 32, 0.2),
    "app": (app_worker, "mlp", 32, 0.2),
    "tutorial-cnn": (plain_fit, "tutorial", 128, 0.0),
    "plain-cnn": (plain_fit, "cnn", 128, 0.3),
    "core-cnn": (core_train, "cnn", 128, 0.3),
    "core-cnn-allcores": (core_train, "cnn", 128, 0.3),
}


def run_variant(name: str, repeats: int) -> dict:
    """Inside a child process: warm up, time ``repeats`` runs, report as a dict."""
    import tensorflow as tf

    fn, arch, batch_size, dropout = VARIANTS[name]
    if fn is plain_fit:
        import keras

        keras.config.disable_interactive_logging()
    else:
        from core.runtime import configure_tensorflow

        configure_tensorflow()
    _data()
    # Warm-up: TensorFlow's one-time start-up belongs to neither side. "core-cold" warms up
    # another dropout rate, so its timed run compiles its own training step.
    fn("mlp", 512, 0.5 if name == "core-cold" else 0.2)
    gc.freeze()  # as the app does at start-up: no full collections of TensorFlow's objects mid-run
    runs = [fn(arch, batch_size, dropout) for _ in range(1 if name == "core-cold" else repeats)]
    result = {
        "variant": name,
        "samples_per_second": statistics.median(r[0] for r in runs),
        "val_accuracy": statistics.median(r[1] for r in runs),
        "all": [round(r[0]) for r in runs],
        "whole_call": statistics.median(r[2] for r in runs) if len(runs[0]) > 2 else None,
        "threads": tf.config.threading.get_intra_op_parallelism_threads(),
    }
    if name == "app":
        result["dataset_tensors"] = two_sessions()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _child(name: str, repeats: int) -> dict:
    env = dict(os.environ)
    if name.startswith(("plain", "tutorial")) or name == "core-cnn-allcores":
        env["DIGIT_STUDIO_TF_THREADS"] = "0"  # TensorFlow's own defaults
    out = subprocess.run(
        [sys.executable, "-m", "bench.training", "--variant", name, "--repeats", str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Run every variant in its own process and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.training")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per dense variant (median reported)")
    parser.add_argument("--skip-cnn", action="store_true")
    parser.add_argument("--variant", choices=list(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.repeats)))
        return 0

    print(f"MNIST train 50,000 / validation 10,000; one epoch per run; cpu cores={os.cpu_count()}", flush=True)
    results = {}
    names = ["plain", "core", "core-cold", "app"] + (
        [] if args.skip_cnn else ["tutorial-cnn", "plain-cnn", "core-cnn", "core-cnn-allcores"]
    )
    for name in names:
        r = results[name] = _child(name, args.repeats if "cnn" not in name else 1)
        print(
            f"{name:18s} {r['samples_per_second']:9.0f} samples/s  ({50000 / r['samples_per_second']:6.2f} s/epoch)  "
            f"val_accuracy={r['val_accuracy']:.4f}  tf_threads={r['threads'] or 'default'}  "
            f"peak_rss={r['peak_rss_mb']:.0f} MB  runs={r['all']}",
            flush=True,
        )
    plain, core, app = results["plain"], results["core"], results["app"]
    print(
        f"speedup_dense_b32={core['samples_per_second'] / plain['samples_per_second']:.2f}x "
        f"(first run in a process, compiling its step: "
        f"{results['core-cold']['samples_per_second'] / plain['samples_per_second']:.2f}x)"
    )
    print(f"val_accuracy_diff_pp={(core['val_accuracy'] - plain['val_accuracy']) * 100:+.2f}")
    print(
        f"core whole train() call (model build + fit + test evaluation): {core['whole_call']:.0f} samples/s; "
        f"speedup {core['whole_call'] / plain['samples_per_second']:.2f}x"
    )
    print(
        f"app_vs_core_pct={(app['samples_per_second'] / core['whole_call'] - 1) * 100:+.1f} "
        "(app worker until the run is reported vs the whole train() call)"
    )
    print(f"peak_rss_mb_core_run={core['peak_rss_mb']:.0f}")
    print(f"dataset_tensors_with_two_sessions={app['dataset_tensors']} (images + labels: held once per process)")
    if not args.skip_cnn:
        core_cnn, tutorial = results["core-cnn"]["samples_per_second"], results["tutorial-cnn"]["samples_per_second"]
        print(f"cnn_b128_vs_tutorial_convnet_fit={core_cnn / tutorial:.2f}x (the app's CNN through core, app threads)")
        print(
            f"speedup_cnn_b128={core_cnn / results['plain-cnn']['samples_per_second']:.2f}x "
            "(the same CNN through model.fit; "
            f"all cores: {results['core-cnn-allcores']['samples_per_second'] / results['plain-cnn']['samples_per_second']:.2f}x)"  # noqa: E501
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
