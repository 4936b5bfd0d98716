"""Training speed: a plain tutorial ``model.fit`` against ``core.training.train``.

In one run, on the same 50,000 MNIST training images (validation: the last
10,000), this trains for one epoch each:

1. the dense 784-128-64-10 network (dropout 0.2) at batch 32 with a plain,
   tutorial-style ``model.fit(x, y, batch_size=32)``;
2. the same network and settings with ``core.training.train`` and its hooks on;
3. the same through the app's worker (:class:`core.jobs.TrainingJob`) while a
   poller reads snapshots and builds the live chart data twice a second, as
   the Train page does;
4. the CNN at batch 128, plain ``fit`` against ``core.training.train``;

and prints samples per second, the speed-ups, validation accuracies, peak
resident memory and how many copies of the dataset the process holds. Run::

    MNIST_DIR=../shared/mnist python -m bench.training [--repeats 2] [--skip-cnn]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np


def plain_fit(arch: str, batch_size: int, dropout: float, x: np.ndarray, y: np.ndarray,
              xv: np.ndarray, yv: np.ndarray, width: int = 16) -> tuple[float, float]:
    """The tutorial loop: float arrays in memory, ``model.fit`` with defaults. Returns (samples/s, val acc)."""
    import keras

    from core.model import build_model

    if arch == "mlp":  # written out exactly as the classic tutorial does
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((28, 28)), keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(dropout),
            keras.layers.Dense(64, activation="relu"), keras.layers.Dropout(dropout),
            keras.layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    else:
        model = build_model(arch, dropout, seed=0, width=width)
    xf, xvf = x.astype("float32") / 255.0, xv.astype("float32") / 255.0
    start = time.perf_counter()
    model.fit(xf, y, epochs=1, batch_size=batch_size, verbose=0)
    seconds = time.perf_counter() - start
    _, val_acc = model.evaluate(xvf, yv, verbose=0, batch_size=1000)
    return len(x) / seconds, float(val_acc)


def core_train(config, hooks: bool = True) -> tuple[float, float, int]:
    """``core.training.train`` with hooks. Returns (samples/s over the whole call, val acc, hook calls)."""
    from core.training import train

    calls = [0]

    def hook(_update) -> None:
        calls[0] += 1

    start = time.perf_counter()
    result = train(config, on_batch=hook if hooks else None, on_epoch=hook if hooks else None)
    seconds = time.perf_counter() - start
    n = min(config.train_size or 50000, 50000)
    return n * config.epochs / seconds, result.history["val_accuracy"][-1], calls[0]


def app_worker(config) -> tuple[float, float, int]:
    """The app's path: a TrainingJob thread, polled twice a second building chart data like the page."""
    import pandas as pd

    from core.jobs import TrainingJob, TrainingSlots, loss_curve

    job = TrainingJob(config, slots=TrainingSlots(1))
    polls = [0]

    def poll() -> None:
        while not job.state.finished:
            snap = job.snapshot()
            for key in ("loss", "accuracy"):
                x, y = loss_curve(snap.batches, key)
                pd.DataFrame({"epoch": x, "value": y}).to_dict("records")
            polls[0] += 1
            time.sleep(0.5)

    start = time.perf_counter()
    job.start()
    poller = threading.Thread(target=poll)
    poller.start()
    job.join()
    poller.join()
    seconds = time.perf_counter() - start
    snap = job.snapshot()
    n = min(config.train_size or 50000, 50000)
    return n * config.epochs / seconds, snap.result.history["val_accuracy"][-1], polls[0]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.training")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each dense-network variant (median reported)")
    parser.add_argument("--skip-cnn", action="store_true")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from core import training
    from core.data import load_mnist, split_validation
    from core.training import TrainConfig

    (x_all, y_all), _ = load_mnist()
    (x, y), (xv, yv) = split_validation(x_all, y_all, 10000)
    print(f"MNIST: {len(x)} training / {len(xv)} validation images; tensorflow {tf.__version__}; "
          f"cpu_threads={os.cpu_count()} gpu={bool(tf.config.list_physical_devices('GPU'))}", flush=True)
    mlp = TrainConfig(arch="mlp", epochs=1, batch_size=32, dropout=0.2, seed=0)
    # Warm-up: first-time kernel and graph set-up belongs to neither side.
    plain_fit("mlp", 32, 0.2, x[:2000], y[:2000], xv[:500], yv[:500])
    core_train(TrainConfig(arch="mlp", epochs=1, batch_size=32, dropout=0.2, train_size=2000, val_size=500))

    plain, fast, app = [], [], []
    for _ in range(args.repeats):
        plain.append(plain_fit("mlp", 32, 0.2, x, y, xv, yv))
        fast.append(core_train(mlp))
        app.append(app_worker(mlp))
    p_sps, f_sps, a_sps = (statistics.median(r[0] for r in runs) for runs in (plain, fast, app))
    p_acc, f_acc = statistics.median(r[1] for r in plain), statistics.median(r[1] for r in fast)
    print(f"dense batch 32, plain model.fit        : {p_sps:9.0f} samples/s  ({50000 / p_sps:5.2f} s/epoch)  "
          f"val_accuracy={p_acc:.4f}")
    print(f"dense batch 32, core.training.train    : {f_sps:9.0f} samples/s  ({50000 / f_sps:5.2f} s/epoch)  "
          f"val_accuracy={f_acc:.4f}  hook calls/epoch={fast[-1][2]}")
    print(f"dense batch 32, app worker + live polls: {a_sps:9.0f} samples/s  ({50000 / a_sps:5.2f} s/epoch)  "
          f"polls={app[-1][2]}")
    print(f"speedup_dense_b32={f_sps / p_sps:.2f}x")
    print(f"val_accuracy_diff_pp={(f_acc - p_acc) * 100:+.2f}")
    print(f"app_overhead_pct={(f_sps / a_sps - 1) * 100:+.1f}")
    print(f"all plain runs: {[round(r[0]) for r in plain]}  core: {[round(r[0]) for r in fast]}  "
          f"app: {[round(r[0]) for r in app]}")

    if not args.skip_cnn:
        cnn = TrainConfig(arch="cnn", epochs=1, batch_size=128, dropout=0.3, seed=0)
        c_plain = plain_fit("cnn", 128, 0.3, x, y, xv, yv)
        c_fast = core_train(cnn)
        print(f"cnn batch 128, plain model.fit         : {c_plain[0]:9.0f} samples/s  ({50000 / c_plain[0]:5.1f} s/epoch)  "
              f"val_accuracy={c_plain[1]:.4f}")
        print(f"cnn batch 128, core.training.train     : {c_fast[0]:9.0f} samples/s  ({50000 / c_fast[0]:5.1f} s/epoch)  "
              f"val_accuracy={c_fast[1]:.4f}")
        print(f"speedup_cnn_b128={c_fast[0] / c_plain[0]:.2f}x")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak_rss_mb={peak_mb:.0f}")
    print(f"dataset_tensors_held={len(training._tensors)} (images + labels, shared by every run in the process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
