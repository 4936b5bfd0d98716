"""Canvas-to-probabilities latency: the Draw page's hot path, against ``model.predict``.

Measures, on 280×280 canvases drawn by :mod:`support.handwriting`, with the
bundled model:

* ``canvas_to_mnist`` alone, and without its stroke-width step,
* ``canvas_to_mnist`` + ``predict_proba`` (what the page does per stroke),
* ``canvas_to_mnist`` + ``model.predict`` (the tutorial way), in the same run,

and prints p50/p95 of each and the speed-up. Run::

    python -m bench.inference [--model models/default.keras] [--calls 300]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np


def _timed(fn, inputs) -> np.ndarray:
    times = []
    for item in inputs:
        start = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - start) * 1000.0)
    return np.asarray(times)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.inference")
    parser.add_argument("--model", default="models/default.keras")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--predict-calls", type=int, default=100, help="model.predict is slow; fewer calls suffice")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from core.inference import load_model, predict_proba
    from core.preprocess import canvas_to_mnist
    from support.handwriting import random_canvas_digit

    started = time.perf_counter()
    model = load_model(args.model)
    load_ms = (time.perf_counter() - started) * 1000
    rng = np.random.default_rng(0)
    canvases = [random_canvas_digit(i % 10, rng)[0] for i in range(args.calls)]
    for rgba in canvases[:20]:  # warm-up of every path
        image = canvas_to_mnist(rgba)
        predict_proba(model, image)
        model.predict(image[None], verbose=0)

    pre = _timed(canvas_to_mnist, canvases)
    plain = _timed(lambda rgba: canvas_to_mnist(rgba, stroke=False), canvases)
    fast = _timed(lambda rgba: predict_proba(model, canvas_to_mnist(rgba)), canvases)
    slow = _timed(lambda rgba: model.predict(canvas_to_mnist(rgba)[None], verbose=0), canvases[: args.predict_calls])

    def line(name: str, t: np.ndarray) -> None:
        print(f"{name:42s} p50={np.percentile(t, 50):7.2f} ms  p95={np.percentile(t, 95):7.2f} ms  (n={len(t)})")

    print(
        f"model={args.model}  load+warm-up={load_ms:.0f} ms  cpu_threads={os.cpu_count()}  "
        f"gpu={bool(tf.config.list_physical_devices('GPU'))}"
    )
    line("canvas_to_mnist (280x280)", pre)
    line("canvas_to_mnist without the stroke step", plain)
    line("canvas_to_mnist + predict_proba", fast)
    line("canvas_to_mnist + model.predict", slow)
    print(f"inference_p50_ms={np.percentile(fast, 50):.2f}")
    print(f"inference_p95_ms={np.percentile(fast, 95):.2f}")
    print(f"speedup_vs_model_predict_p50={np.percentile(slow, 50) / np.percentile(fast, 50):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
