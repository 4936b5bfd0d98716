"""How often a model reads digits drawn anywhere on the canvas correctly.

Two sources of digits, each drawn onto a 280×280 canvas at a random size
(40-250 px tall) and position:

* ``strokes``: synthetic mouse-drawn handwriting (:mod:`support.handwriting`),
  a different source from MNIST, with random brush widths;
* ``mnist-test``: real MNIST test digits, enlarged and pasted, so only the
  placement and scale differ from what the model was trained on;

plus ``backgrounds``: synthetic digits on a light background with dark ink and
on a transparent background (alpha carries the ink).

Each is classified through ``canvas_to_mnist`` + ``predict_proba`` and, for
comparison, through a naive resize of the whole canvas. Run::

    MNIST_DIR=../shared/mnist python -m bench.canvas_accuracy [--model models/default.keras] [--n 1000]

It prints one ``accuracy[...]=`` line per source and method.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from PIL import Image

from core.preprocess import canvas_to_mnist, naive_resize
from support.handwriting import random_canvas_digit

CANVAS = 280


def stroke_canvases(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` synthetic drawings (balanced over digits) and their labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    return [random_canvas_digit(int(d), rng, canvas=CANVAS)[0] for d in labels], labels


def mnist_canvases(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` MNIST test digits pasted at random sizes and positions on a dark canvas."""
    from core.data import load_mnist

    _, (x_test, y_test) = load_mnist()
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(x_test), n, replace=False)
    canvases = []
    for i in picks:
        digit = x_test[i]
        rows, cols = np.flatnonzero(digit.max(1) > 30), np.flatnonzero(digit.max(0) > 30)
        crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        height = rng.uniform(40, 250)
        scale = height / crop.shape[0]
        width = max(2, round(crop.shape[1] * scale))
        if width > CANVAS - 4:
            scale *= (CANVAS - 4) / width
        size = (max(2, round(crop.shape[1] * scale)), max(2, round(crop.shape[0] * scale)))
        big = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BILINEAR))
        canvas = np.zeros((CANVAS, CANVAS), np.uint8)
        top = int(rng.integers(0, CANVAS - size[1] + 1))
        left = int(rng.integers(0, CANVAS - size[0] + 1))
        canvas[top : top + size[1], left : left + size[0]] = big
        rgba = np.dstack([canvas, canvas, canvas, np.full_like(canvas, 255)])
        canvases.append(rgba)
    return canvases, y_test[picks].astype(np.int64)


def restyle(canvases: list[np.ndarray]) -> list[np.ndarray]:
    """Alternate light-background/dark-ink and transparent-background versions."""
    out = []
    for i, rgba in enumerate(canvases):
        ink = rgba[..., 0]
        if i % 2 == 0:
            grey = 255 - ink
            out.append(np.dstack([grey, grey, grey, np.full_like(ink, 255)]))
        else:
            out.append(np.dstack([np.zeros_like(ink)] * 3 + [ink]))
    return out


def accuracy(model, canvases: list[np.ndarray], labels: np.ndarray, method: str) -> tuple[float, float]:
    """Accuracy of ``model`` on ``canvases`` through ``method`` (normalize | naive), and ms per image."""
    from core.inference import predict_proba

    start = time.perf_counter()
    images = []
    for rgba in canvases:
        image = canvas_to_mnist(rgba) if method == "normalize" else naive_resize(rgba)
        images.append(np.zeros((28, 28), np.float32) if image is None else image)
    preprocess_ms = (time.perf_counter() - start) * 1000 / len(canvases)
    predicted = predict_proba(model, np.stack(images)).argmax(1)
    return float((predicted == labels).mean()), preprocess_ms


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.canvas_accuracy")
    parser.add_argument("--model", default="models/default.keras")
    parser.add_argument("--n", type=int, default=1000, help="drawings per source")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--errors", default=None, help="write a PNG of misread synthetic drawings here")
    args = parser.parse_args(argv)
    from core.inference import load_model, predict_proba

    model = load_model(args.model)
    strokes, stroke_labels = stroke_canvases(args.n, args.seed)
    sources = {"strokes": (strokes, stroke_labels)}
    try:
        sources["mnist-test"] = mnist_canvases(args.n, args.seed)
    except Exception as exc:  # noqa: BLE001 - MNIST is optional for this benchmark
        print(f"skipping mnist-test: {exc}")
    sources["backgrounds"] = (restyle(strokes), stroke_labels)
    print(f"model={args.model} n={args.n} per source, canvas {CANVAS}x{CANVAS}, digit height 40-250 px")
    for name, (canvases, labels) in sources.items():
        for method in ("normalize", "naive"):
            acc, ms = accuracy(model, canvases, labels, method)
            print(f"accuracy[{name},{method}]={acc:.4f}  ({ms:.1f} ms/image preprocessing)", flush=True)
    if args.errors:
        images = np.stack([canvas_to_mnist(c) for c in strokes])
        predicted = predict_proba(model, images).argmax(1)
        wrong = np.flatnonzero(predicted != stroke_labels)[:60]
        if len(wrong):
            tiles = [np.pad(images[i], 1) for i in wrong]
            rows = [
                np.concatenate(tiles[i : i + 10] + [np.zeros((30, 30))] * (10 - len(tiles[i : i + 10])), 1)
                for i in range(0, len(tiles), 10)
            ]
            Image.fromarray((np.concatenate(rows, 0) * 255).astype(np.uint8)).resize(
                (300 * 3, 30 * len(rows) * 3), Image.Resampling.NEAREST
            ).save(args.errors)
            print("misread (true->predicted):", " ".join(f"{stroke_labels[i]}->{predicted[i]}" for i in wrong))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
