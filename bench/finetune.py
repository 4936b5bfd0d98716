"""Teaching a model someone's handwriting: how long a fine-tune takes, and what it gains and forgets.

A "person" is the repo's handwriting generator (:mod:`support.handwriting`)
drawing with one kind of brush, as :mod:`bench.drawings` does: a brush whose
width is a fixed share of the digit's height (``heavy``: 25-50%, ``marker``:
50-90%), or the generator's own mix of sizes and brushes (``typical``). Each
person's collection is ``--drawings`` drawings (0-9 in turn) through
``canvas_to_mnist``, as the Draw page stores them; :func:`core.finetune.fine_tune`
(what the Dask task runs) fine-tunes a model on it with the app's settings,
and the table shows, before and after:

* ``held-out``: the collection's held-out drawings (every 4th, never trained on),
  the figure the app shows;
* ``new``: ``--new`` more drawings by the same person (a larger, fairer test);
* ``MNIST``: the MNIST test set (what the model forgot).

``time`` is the fine-tune's wall time in this process (scoring the model
before, MNIST sample, training, scoring after); ``train`` the training loop
alone. Models: the bundled model, and the default run (``TrainConfig()``,
trained here first; ``--quick`` trains 2 epochs of 10,000 images instead).
``--cluster`` also times one fine-tune end to end through ``core.jobs.TrainingJob``
on a local cluster of one worker, as the My drawings page starts it (queue,
submission, the worker's run, the model rebuilt here). Seeds are fixed. Run::

    MNIST_DIR=../shared/mnist python -m bench.finetune [--quick] [--skip-train] [--cluster]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from bench.drawings import CANVAS, _size_for
from core.contribution import as_uint8
from core.preprocess import canvas_to_mnist
from support.handwriting import digit_strokes, place_strokes, random_canvas_digit, render_strokes

#: Brush width as a share of the digit's height, per person (None: the generator's own mix).
PERSONS: dict[str, tuple[float, float] | None] = {"typical": None, "heavy": (0.25, 0.5), "marker": (0.5, 0.9)}


def person_drawings(person: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` drawings (0, 1, …, 9, 0, …) by ``person``, as the Draw page stores them: (n, 28, 28) uint8, labels."""
    rng = np.random.default_rng(seed)
    ratios = PERSONS[person]
    images = []
    for i in range(n):
        digit = i % 10
        if ratios is None:
            rgba, _ = random_canvas_digit(digit, rng)
        else:
            strokes = digit_strokes(digit, rng)
            points = np.vstack(strokes)
            aspect = float(np.ptp(points[:, 0]) / max(np.ptp(points[:, 1]), 1e-9))
            brush, height = _size_for(float(rng.uniform(*ratios)), aspect, rng)
            margin = brush / 2 + 1.5
            x0 = float(rng.uniform(margin, max(margin, CANVAS - margin - height * aspect)))
            y0 = float(rng.uniform(margin, max(margin, CANVAS - margin - height)))
            rgba = render_strokes(place_strokes(strokes, x0, y0, height), size=(CANVAS, CANVAS), width=brush)
        image = canvas_to_mnist(rgba)
        images.append(np.zeros((28, 28), np.uint8) if image is None else as_uint8(image))
    return np.stack(images), (np.arange(n) % 10).astype(np.uint8)


def default_run(quick: bool) -> object:
    """The default run (``TrainConfig()``), trained here; smaller with ``quick``."""
    from core.config import TrainConfig
    from core.training import train

    config = TrainConfig() if not quick else replace(TrainConfig(), epochs=2, train_size=10000)
    result = train(config)
    print(
        f"trained the {'default' if not quick else 'quick'} run: {config.arch} {config.epochs} epochs of "
        f"{config.train_images:,} images in {result.duration:.0f} s, test accuracy {result.test_accuracy:.4f}",
        flush=True,
    )
    return result.model


def accuracy(model: object, images: np.ndarray, labels: np.ndarray) -> float:
    from core.inference import predict_proba

    return float(np.mean(predict_proba(model, images / 255.0).argmax(1) == labels))


def through_the_cluster(model: object, spec: object, config: object) -> tuple[float, str]:
    """One fine-tune as the app runs it (a TrainingJob on a local cluster of one worker): seconds and state."""
    from core import cluster
    from core.jobs import TrainingJob

    os.environ.pop("DASK_SCHEDULER_ADDRESS", None)
    os.environ.update(DIGIT_STUDIO_WORKERS="1", DIGIT_STUDIO_WORKER_THREADS="1")
    try:
        connected = cluster.get_cluster()
        connected.client.wait_for_workers(1, timeout=120)
        warm = TrainingJob(config, finetune=spec).start()  # the worker's first fine-tune imports and loads MNIST
        warm.join(600)
        started = time.perf_counter()
        job = TrainingJob(config, finetune=spec).start()
        job.join(600)
        return time.perf_counter() - started, job.state.value
    finally:
        cluster.shutdown()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m bench.finetune")
    parser.add_argument("--bundled", default="models/default.keras", help="the bundled model")
    parser.add_argument("--drawings", type=int, default=40, help="drawings in each person's collection")
    parser.add_argument("--new", type=int, default=300, help="more drawings per person to test on")
    parser.add_argument("--persons", nargs="+", default=list(PERSONS), choices=list(PERSONS))
    parser.add_argument("--skip-train", action="store_true", help="only the bundled model")
    parser.add_argument("--quick", action="store_true", help="a default run of 2 epochs of 10,000 images")
    parser.add_argument("--cluster", action="store_true", help="also time one fine-tune through a local cluster")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)

    from core.data import load_mnist
    from core.finetune import FineTune, StartModel, fine_tune, finetune_config, held_out
    from core.inference import load_model
    from core.runtime import configure_tensorflow

    configure_tensorflow()
    mnist = load_mnist()
    models = {"bundled": load_model(args.bundled)}
    if not args.skip_train:
        models["default run" if not args.quick else "quick run"] = default_run(args.quick)
    persons = {
        p: (person_drawings(p, args.drawings, args.seed + i), person_drawings(p, args.new, args.seed + 100 + i))
        for i, p in enumerate(args.persons)
    }
    print(f"cores={os.cpu_count()} drawings={args.drawings} new={args.new} seed={args.seed}", flush=True)
    head = f"{'model':12s}{'person':9s}{'time':>7s}{'train':>7s}  {'held-out':>15s}  {'new':>15s}  {'MNIST':>15s}"
    rows = [head]
    for name, model in models.items():
        for person, ((images, labels), (new_x, new_y)) in persons.items():
            spec = FineTune(StartModel.of(model), images, labels, base=name)
            config = finetune_config(model, len(images), seed=args.seed)
            started = time.perf_counter()
            result = fine_tune(config, spec, data=mnist)
            seconds = time.perf_counter() - started
            r = result.finetune
            new = (accuracy(model, new_x, new_y), accuracy(result.model, new_x, new_y))
            rows.append(
                f"{name:12s}{person:9s}{seconds:6.1f}s{result.duration:6.1f}s  "
                f"{r['before']['held_out']:6.1%} → {r['after']['held_out']:6.1%}  "
                f"{new[0]:6.1%} → {new[1]:6.1%}  {r['before']['mnist']:6.2%} → {r['after']['mnist']:6.2%}"
            )
            print(rows[-1], flush=True)
    print(f"held-out: {int(held_out(args.drawings).sum())} of {args.drawings} drawings; new: {args.new} per person")
    print("\n".join(rows))
    if args.cluster:
        (images, labels), _ = next(iter(persons.values()))
        model = models["bundled"]
        spec = FineTune(StartModel.of(model), images, labels, base="bundled")
        seconds, state = through_the_cluster(model, spec, finetune_config(model, len(images), seed=args.seed))
        print(f"through the cluster (TrainingJob, 1 local worker, warm): {seconds:.1f} s from start to result, {state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
