"""How well models read digits drawn with one brush whatever their size.

A person draws with the same brush width at any size, so a small digit drawn
with a wide brush has strokes far thicker, for its size, than MNIST's, and a
large one drawn with a fine brush has hairlines. This benchmark draws digits
with :mod:`support.handwriting` on a 280×280 canvas with FIXED brush widths from
4 to 40 px at heights from 40 to 250 px (the same number in each bin of
brush-width/height ratio, a random place), and scores, per ratio bin:

* the bundled model (``models/default.keras``),
* the default run (a fresh ``core.training.TrainConfig()``, trained here),
* the MLP with the same settings (``TrainConfig(arch="mlp")``),

each through ``canvas_to_mnist`` with the stroke-width step (``stroke``) and
without it (``plain``: crop, fit and centre only), and through a naive resize
of the whole canvas (``naive``) for reference. Run::

    MNIST_DIR=../shared/mnist python -m bench.drawings [--quick] [--skip-train] [--model PATH ...]

``--quick`` draws fewer digits and trains on 10,000 images for 2 epochs (its
trained rows are then not the default run: the table says so). ``--save DIR``
keeps the trained models, so a later run can pass them with ``--model`` and
``--skip-train``. Seeds are fixed: the drawings and the training are the same
in every run.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from core.preprocess import canvas_to_mnist, naive_resize
from support.handwriting import digit_strokes, place_strokes, render_strokes

CANVAS = 280
BRUSH = (4.0, 40.0)  #: brush widths, px
HEIGHT = (40.0, 250.0)  #: digit heights (centre line of the strokes), px
#: Brush-width/height bins; the last two are where a person's brush is more than a quarter of the digit.
BINS = (0.016, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0)
METHODS = ("naive", "plain", "stroke")


def _size_for(ratio: float, aspect: float, rng: np.random.Generator) -> tuple[float, float]:
    """A (brush, height) pair with ``brush / height == ratio`` that fits the canvas."""
    room = CANVAS - 4.0
    lo = max(BRUSH[0], ratio * HEIGHT[0])
    hi = min(BRUSH[1], ratio * HEIGHT[1], ratio * room / (1 + ratio), ratio * room / (aspect + ratio))
    brush = float(rng.uniform(lo, max(lo, hi)))
    return brush, brush / ratio


def drawings(per_bin: int, seed: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``per_bin`` digits (balanced over 0-9) in every ratio bin.

    Args:
        per_bin: Drawings per brush/height bin.
        seed: Seed of the handwriting, sizes and places.

    Returns:
        ``(canvases, labels, brushes, heights)``: RGBA canvases, true digits,
        brush widths and digit heights (px).
    """
    rng = np.random.default_rng(seed)
    canvases, labels, brushes, heights = [], [], [], []
    for lo, hi in pairwise(BINS):
        for i in range(per_bin):
            digit = i % 10
            strokes = digit_strokes(digit, rng)
            points = np.vstack(strokes)
            aspect = float(np.ptp(points[:, 0]) / max(np.ptp(points[:, 1]), 1e-9))
            brush, height = _size_for(float(rng.uniform(lo, hi)), aspect, rng)
            margin = brush / 2 + 1.5
            x0 = float(rng.uniform(margin, max(margin, CANVAS - margin - height * aspect)))
            y0 = float(rng.uniform(margin, max(margin, CANVAS - margin - height)))
            placed = place_strokes(strokes, x0, y0, height)
            canvases.append(render_strokes(placed, size=(CANVAS, CANVAS), width=brush))
            labels.append(digit)
            brushes.append(brush)
            heights.append(height)
    return canvases, np.asarray(labels), np.asarray(brushes), np.asarray(heights)


def inputs(canvases: list[np.ndarray], method: str) -> tuple[np.ndarray, float]:
    """The 28×28 model inputs of ``canvases`` through ``method``, and ms per canvas."""
    start = time.perf_counter()
    images = []
    for rgba in canvases:
        image = naive_resize(rgba) if method == "naive" else canvas_to_mnist(rgba, stroke=method == "stroke")
        images.append(np.zeros((28, 28), np.float32) if image is None else image)
    return np.stack(images), (time.perf_counter() - start) * 1000 / len(canvases)


def train_models(quick: bool, save: Path | None) -> dict[str, object]:
    """Train the default run and the MLP with the same settings (smaller with ``quick``)."""
    from core.storage import save_model
    from core.training import TrainConfig, train

    base = TrainConfig()
    if quick:
        base = replace(base, epochs=min(base.epochs, 2), train_size=10000)
    label = "default run" if not quick else "quick run"
    models = {}
    for name, config in ((label, base), (f"{label} mlp", replace(base, arch="mlp"))):
        result = train(config)
        print(
            f"trained {name}: {config.arch} {config.epochs} epochs of {config.train_size or 'all'} in "
            f"{result.duration:.0f} s, test accuracy {result.test_accuracy:.4f}",
            flush=True,
        )
        models[name] = result.model
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            path = save / (name.replace(" ", "-") + ".keras")
            save_model(
                result.model,
                path,
                {"name": path.stem, "config": config.to_dict(), "test_accuracy": round(result.test_accuracy, 4)},
            )
            print(f"saved {path}", flush=True)
    return models


def table(scores: dict[tuple[str, str], np.ndarray], ratios: np.ndarray, labels: np.ndarray) -> str:
    """One row per (model, method): accuracy in every brush/height bin and overall."""
    bins = np.digitize(ratios, BINS[1:-1])
    heads = [f"{lo:g}-{hi:g}" for lo, hi in pairwise(BINS)] + [">0.25", "all"]
    width = max(len(model) for model, _ in scores) + 2
    lines = [
        f"{'model':{width}s}{'method':8s}" + "".join(f"{h:>10s}" for h in heads),
        f"{'':{width}s}{'n':8s}"
        + "".join(f"{int(np.sum(bins == b)):>10d}" for b in range(len(BINS) - 1))
        + f"{int(np.sum(ratios > 0.25)):>10d}{len(labels):>10d}",
    ]
    for (model, method), predicted in scores.items():
        right = predicted == labels
        cells = [right[bins == b].mean() for b in range(len(BINS) - 1)] + [right[ratios > 0.25].mean(), right.mean()]
        lines.append(f"{model:{width}s}{method:8s}" + "".join(f"{100 * c:>9.1f}%" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m bench.drawings")
    parser.add_argument("--bundled", default="models/default.keras", help="the bundled model")
    parser.add_argument("--model", action="append", default=[], help="also score this saved model (repeatable)")
    parser.add_argument("--skip-train", action="store_true", help="do not train the default run and the MLP")
    parser.add_argument("--quick", action="store_true", help="60 drawings per bin; train 2 epochs of 10,000 images")
    parser.add_argument("--per-bin", type=int, default=None, help="drawings per brush/height bin (default 300)")
    parser.add_argument("--save", type=Path, default=None, help="save the trained models in this folder")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    per_bin = args.per_bin or (60 if args.quick else 300)

    from core.inference import load_model, predict_proba
    from core.runtime import configure_tensorflow

    configure_tensorflow()
    started = time.perf_counter()
    canvases, labels, brushes, heights = drawings(per_bin, args.seed)
    print(
        f"{len(canvases)} drawings ({per_bin} per bin, seed {args.seed}), brush {BRUSH[0]:g}-{BRUSH[1]:g} px, "
        f"height {HEIGHT[0]:g}-{HEIGHT[1]:g} px, canvas {CANVAS}x{CANVAS}: {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    images = {}
    for method in METHODS:
        images[method], ms = inputs(canvases, method)
        print(f"preprocessing[{method}] {ms:.2f} ms/canvas", flush=True)
    models = {"bundled": load_model(args.bundled)}
    models.update({Path(path).stem: load_model(path) for path in args.model})
    if not args.skip_train:
        try:
            models.update(train_models(args.quick, args.save))
        except Exception as exc:  # noqa: BLE001 - MNIST is optional: score the saved models anyway
            print(f"skipping training: {exc}")
    scores = {
        (name, method): predict_proba(model, images[method]).argmax(1)
        for name, model in models.items()
        for method in METHODS
    }
    print(table(scores, brushes / heights, labels))
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
