"""Cost per stroke of the Draw page's "Inside the network" view, on the server.

For each model (the bundled one, and fresh MLP and CNN models as a session's
run would have), on drawings made by :mod:`support.handwriting` and normalised
as the page does, it times what the open view adds to a stroke:

* ``saliencies``: the one call into the model's traced function (activations of
  every shown layer, and the saliency maps of the answer and the runner-up);
* ``inside_view``: that, plus every picture the view shows;
* ``inside_view + PNG``: that, plus writing each picture as the PNG the page sends;

beside ``predict_proba`` (what every stroke costs with the view closed), and
the one-off cost of building and tracing a model's functions the first time.
It prints p50/p95 of each, in wall-clock and in CPU milliseconds. Run::

    python -m bench.explain [--model models/default.keras] [--calls 200]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

GOAL_P50_MS = 30.0  #: what the view may add to a stroke on the 2-core CPU, for the bundled model


def _timed(paths: dict, inputs) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Wall and CPU milliseconds of every path on every input, the paths taking turns on each input.

    Taking turns, a burst of load from other processes slows every path alike;
    the process's CPU time is the server's own cost, which that load hardly changes.
    """
    wall: dict[str, list[float]] = {name: [] for name in paths}
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    for item in inputs:
        for name, fn in paths.items():
            started, used = time.perf_counter(), time.process_time()
            fn(item)
            wall[name].append((time.perf_counter() - started) * 1000.0)
            cpu[name].append((time.process_time() - used) * 1000.0)
    return {name: (np.asarray(wall[name]), np.asarray(cpu[name])) for name in paths}


def _line(name: str, wall: np.ndarray, cpu: np.ndarray) -> None:
    print(
        f"  {name:36s} wall p50={np.percentile(wall, 50):6.2f} p95={np.percentile(wall, 95):6.2f} ms   "
        f"cpu p50={np.percentile(cpu, 50):6.2f} p95={np.percentile(cpu, 95):6.2f} ms  (n={len(wall)})"
    )


def measure(label: str, model, images: list[np.ndarray]) -> tuple[float, float]:
    """Print the figures for one model; return the view's wall and CPU p50 (inside_view + PNG) in ms."""
    from core.explain import saliencies
    from core.explain_images import png_bytes
    from core.inference import predict_proba
    from core.inside import inside_view

    def probs(image):
        return predict_proba(model, image)[0]

    def view(image):
        return inside_view(model, image, probs(image))

    def view_and_png(image):
        v = inside_view(model, image, probs(image))
        for picture in [*v.overlays, *(p.picture for p in v.layers), *(u.picture for u in v.units)]:
            png_bytes(picture)

    def top_two(image):
        p = probs(image)
        return saliencies(model, image, [int(d) for d in np.argsort(-p)[:2]])

    started = time.perf_counter()
    first = view(images[0])
    first_ms = (time.perf_counter() - started) * 1000
    for image in images[:10]:  # warm-up of every path
        view_and_png(image)
    print(
        f"{label}: {len(first.layers)} layers shown, {len(first.units)} unit pictures; "
        f"first view (builds and traces the model's functions) {first_ms:.0f} ms"
    )
    paths = {
        "predict_proba (the view closed)": probs,
        "saliencies (+ predict_proba)": top_two,
        "inside_view (+ predict_proba)": view,
        "inside_view + PNG (+ predict_proba)": view_and_png,
    }
    times = _timed(paths, images)
    for name, (wall, cpu) in times.items():
        _line(name, wall, cpu)
    wall, cpu = times["inside_view + PNG (+ predict_proba)"]
    return float(np.percentile(wall, 50)), float(np.percentile(cpu, 50))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.explain")
    parser.add_argument("--model", default="models/default.keras")
    parser.add_argument("--calls", type=int, default=200, help="drawings per model (each timed once per path)")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from core.inference import load_model
    from core.model import build_model
    from core.preprocess import canvas_to_mnist
    from support.handwriting import random_canvas_digit

    rng = np.random.default_rng(0)
    drawn = [canvas_to_mnist(random_canvas_digit(i % 10, rng)[0]) for i in range(max(10, args.calls))]
    images = [image for image in drawn if image is not None]  # (a drawing is never blank, but the type says it may be)
    print(
        f"cpu_threads={os.cpu_count()}  gpu={bool(tf.config.list_physical_devices('GPU'))}  "
        f"load_average={' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    wall, cpu = measure(f"bundled ({args.model})", load_model(args.model), images)
    for arch in ("mlp", "cnn"):
        measure(f"fresh {arch} (as a session's run)", build_model(arch, seed=0), images)
    print(
        f"view_p50_ms_bundled wall={wall:.2f} cpu={cpu:.2f}  goal={GOAL_P50_MS:.0f}  "
        f"{'met' if wall < GOAL_P50_MS else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
