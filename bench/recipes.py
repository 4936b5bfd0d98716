"""Time to accuracy on a CPU: the tutorial convnet's epoch against the default run and other recipes.

Every row runs in a fresh Python process; TensorFlow is imported and MNIST
loaded before any clock starts (a worker has both before anyone presses Train):

* ``tutorial``: the tutorial convnet (conv32-pool-conv64-pool-dense128, Adam),
  trained the tutorial way, ``model.fit(x, y, batch_size=128, epochs=1)`` on
  the 50,000 training images with TensorFlow's default threads; timed over
  ``fit`` (one epoch, its tracing included); MNIST test accuracy after it.
* ``default``: ``core.training.train(TrainConfig())``, the Train page's default
  run, with the app's thread setting (``core.runtime``), timed over the whole
  call: building, compiling, training, validation and the test evaluation.
  ``cold`` is the process's first run, ``warm`` its second (a worker that has
  trained before keeps its compiled step).
* candidates (``--candidates``): the same call, cold, for other
  architectures (swapped into ``core.model`` in the child process) and recipes,
  including the previous default run.

The tutorial and the default run alternate ``--repeats`` times, so each ratio
compares runs made moments apart on this (noisy) machine. Run::

    MNIST_DIR=../shared/mnist python -m bench.recipes [--repeats 3] [--candidates]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: The default run before it was chosen by this benchmark: 2×(conv-conv-BN-pool) + dense, 3 epochs of 20,000.
PREVIOUS_DEFAULT = dict(epochs=3, batch_size=128, learning_rate=1e-3, dropout=0.3, train_size=20000)
#: Candidate rows: (name, architecture, TrainConfig changes). Architectures are defined in :func:`_body`.
CANDIDATES: list[tuple[str, str, dict[str, Any]]] = [
    ("previous default run", "classic", PREVIOUS_DEFAULT),
    ("classic, 2 ep, b64, 3e-3 cosine", "classic", dict(dropout=0.0)),
    ("tutorial net through core", "tutorial", {}),
    ("strided 16-32-64", "strided", {}),
    ("strided 32-64 + dense128", "strided-dense", {}),
    ("default net, batch 128", "default", dict(batch_size=128)),
    ("default net, batch 32", "default", dict(batch_size=32, learning_rate=2e-3)),
    ("default net, constant 1e-3", "default", dict(schedule="constant", learning_rate=1e-3)),
    ("default net, 1 epoch", "default", dict(epochs=1)),
    ("default net, 3 epochs", "default", dict(epochs=3)),
    ("default net, dropout 0.3", "default", dict(dropout=0.3)),
    ("default net, augment", "default", dict(augment=True)),
    ("default net, width 32, 3 ep, augment", "default", dict(width=32, epochs=3, augment=True)),
]


def _body(arch: str, dropout: float, width: int, seeds: Any) -> list:
    """The hidden layers of a candidate architecture (the output layer is added by ``core.model``)."""
    import keras
    from keras import layers

    def conv(filters: int, size: int, strides: int = 1, padding: str = "valid", bn: bool = False) -> list:
        init = keras.initializers.HeNormal(seed=next(seeds))
        if not bn:
            return [layers.Conv2D(filters, size, strides, padding, activation="relu", kernel_initializer=init)]
        return [
            layers.Conv2D(filters, size, strides, padding, use_bias=False, kernel_initializer=init),
            layers.BatchNormalization(momentum=0.9),
            layers.ReLU(),
        ]

    def dense(units: int) -> layers.Dense:
        return layers.Dense(units, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed=next(seeds)))

    head = [layers.Flatten(), layers.Dropout(dropout, seed=next(seeds))]
    if arch == "classic":  # the app's CNN before: 2×(conv-BN-conv-BN-pool), dense 128
        blocks = [*conv(width, 3, padding="same", bn=True), *conv(width, 3, padding="same", bn=True)]
        blocks += [layers.MaxPooling2D(), *conv(2 * width, 3, padding="same", bn=True)]
        blocks += [*conv(2 * width, 3, padding="same", bn=True), layers.MaxPooling2D()]
        return [layers.Reshape((28, 28, 1)), *blocks, *head, dense(128), layers.Dropout(dropout, seed=next(seeds))]
    if arch == "tutorial":
        blocks = [*conv(32, 3), layers.MaxPooling2D(), *conv(64, 3), layers.MaxPooling2D()]
        return [layers.Reshape((28, 28, 1)), *blocks, layers.Flatten(), dense(128)]
    if arch == "strided":
        blocks = [*conv(width, 4, 2, "same"), *conv(2 * width, 3, 2, "same"), *conv(4 * width, 3)]
        return [layers.Reshape((28, 28, 1)), *blocks, *head]
    if arch == "valid":  # the default net with an unpadded first convolution: 13×13, 11×11, 5×5, 3×3 maps
        blocks = [*conv(width, 4, 2), *conv(2 * width, 3), layers.MaxPooling2D(), *conv(4 * width, 3)]
        return [layers.Reshape((28, 28, 1)), *blocks, *head]
    if arch == "strided-dense":
        blocks = [*conv(2 * width, 3, 2, "same"), *conv(4 * width, 3, 2, "same")]
        return [layers.Reshape((28, 28, 1)), *blocks, *head, dense(128)]
    raise ValueError(f"unknown candidate architecture {arch!r}")


def tutorial_convnet():
    """The tutorial convnet, conv32-pool-conv64-pool-dense128, compiled with Adam (seed 0)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def tutorial_epoch() -> dict[str, float]:
    """One epoch of the tutorial convnet through ``model.fit`` (TensorFlow defaults)."""
    import keras

    from core.data import load_mnist, split_validation

    keras.config.disable_interactive_logging()
    (x_all, y_all), (x_test, y_test) = load_mnist()
    (x, y), _ = split_validation(x_all, y_all, 10000)
    x = x.astype("float32")[..., None] / 255.0
    model = tutorial_convnet()
    started = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    accuracy = model.evaluate(x_test[..., None] / 255.0, y_test, verbose=0, batch_size=1000)[1]
    return {"seconds": seconds, "accuracy": float(accuracy)}


def core_runs(arch: str, changes: dict[str, Any], runs: int) -> dict[str, Any]:
    """``runs`` calls of ``core.training.train`` in this process, each timed whole."""
    import core.model
    from core.config import TrainConfig
    from core.data import load_mnist
    from core.runtime import configure_tensorflow

    threads = configure_tensorflow()
    if arch != "default":
        core.model._cnn = lambda dropout, width, seeds: _body(arch, dropout, width, seeds)
    from core.training import train

    data = load_mnist()
    config = TrainConfig(**changes).validate()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        result = train(config, data=data)
        out.append({"seconds": time.perf_counter() - started, "accuracy": result.test_accuracy})
    return {"runs": out, "threads": threads}


def _child(*args: str) -> dict[str, Any]:
    """Run this module with ``args`` in a fresh process; its last output line, as JSON."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.recipes", *args], capture_output=True, text=True, check=True, timeout=900
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(name: str, seconds: float, ratio: float, accuracy: float) -> None:
    print(f"{name:40s} {seconds:8.2f} {ratio:9.2f} {accuracy:9.2%}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Alternate the tutorial epoch and the default run, then the candidates; print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.recipes", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="tutorial / default pairs (default 3)")
    parser.add_argument("--candidates", action="store_true", help="also time the candidate recipes")
    parser.add_argument("--child", nargs=2, metavar=("ARCH", "CHANGES"), help=argparse.SUPPRESS)
    parser.add_argument("--tutorial", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tutorial:
        print(json.dumps(tutorial_epoch()))
        return 0
    if args.child:
        print(json.dumps(core_runs(args.child[0], json.loads(args.child[1]), args.runs)))
        return 0

    from core.config import TrainConfig

    print(f"cpu cores={os.cpu_count()}; default run: {TrainConfig()}", flush=True)
    print(f"{'row':40s} {'seconds':>8s} {'/tutorial':>9s} {'test acc':>9s}", flush=True)
    tutorial, cold, warm = [], [], []
    for _ in range(args.repeats):
        t = _child("--tutorial")
        tutorial.append(t["seconds"])
        print(
            f"{'tutorial convnet, one epoch of fit':40s} {t['seconds']:8.2f} {1:9.2f} {t['accuracy']:9.2%}", flush=True
        )
        d = _child("--child", "default", "{}", "--runs", "2")
        (c, w), threads = d["runs"], d["threads"]
        cold.append(c["seconds"] / t["seconds"])
        warm.append(w["seconds"] / t["seconds"])
        for label, r in (("default run, cold", c), ("default run, warm", w)):
            print(
                f"{label:40s} {r['seconds']:8.2f} {r['seconds'] / t['seconds']:9.2f} {r['accuracy']:9.2%}", flush=True
            )
    print(
        f"default run / tutorial epoch: cold {statistics.median(cold):.2f} (range {min(cold):.2f}-{max(cold):.2f}), "
        f"warm {statistics.median(warm):.2f} (range {min(warm):.2f}-{max(warm):.2f}); app TF threads={threads}; "
        f"tutorial epoch median {statistics.median(tutorial):.2f} s"
    )
    if args.candidates:
        reference = statistics.median(tutorial)
        for name, arch, changes in CANDIDATES:
            r = _child("--child", arch, json.dumps(changes))["runs"][0]
            _row(name, r["seconds"], r["seconds"] / reference, r["accuracy"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
