"""Command line: train a digit model and save it with its card.

Example (this is how ``models/default.keras`` is rebuilt)::

    MNIST_DIR=../shared/mnist python -m core.train --arch cnn --epochs 12 \\
        --batch-size 128 --dropout 0.3 --augment --out models/default.keras

Prints one line per epoch and, last, ``test_accuracy=0.XXXX``. With
``--cluster`` the run is a task on the app's Dask cluster instead of in this
process: the scheduler at ``$DASK_SCHEDULER_ADDRESS``, or a local cluster
started for the run (see :mod:`core.cluster`); Ctrl-C then stops it and keeps
the model as trained so far.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import TrainConfig
    from core.progress import EpochUpdate, TrainResult

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# No web server to leave a core for: use them all (see core.runtime).
os.environ.setdefault("DIGIT_STUDIO_TF_THREADS", "0")


def _parser() -> argparse.ArgumentParser:
    from core.config import ARCHS, SCHEDULES, TrainConfig

    d = TrainConfig()
    p = argparse.ArgumentParser(prog="python -m core.train", description="Train an MNIST digit classifier.")
    p.add_argument("--arch", choices=ARCHS, default=d.arch)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--dropout", type=float, default=d.dropout)
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    p.add_argument("--augment", action="store_true", help="random rotation, shift, zoom, shear and stroke thickness")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--train-size", type=int, default=None, help="training images (default: all but the validation set)")
    p.add_argument("--val-size", type=int, default=d.val_size)
    p.add_argument("--width", type=int, default=d.width, help="CNN filters in the first block")
    p.add_argument("--out", type=Path, default=None, help="where to save the .keras model (with a .json card)")
    p.add_argument(
        "--cluster",
        action="store_true",
        help="train on the Dask cluster at $DASK_SCHEDULER_ADDRESS (default: a local one, started for this)",
    )
    return p


def _train_on_cluster(config: TrainConfig, on_epoch: Callable[[EpochUpdate], None]) -> TrainResult:
    """Train as a task on the cluster, printing epochs as they arrive; Ctrl-C stops the run and keeps its model.

    Raises:
        RuntimeError: The run failed or was cancelled (with the app's message).
    """
    from core import cluster
    from core.jobs import TrainingJob

    job = TrainingJob(config).start()
    shown = 0
    try:
        while True:
            try:
                ended = job.join(0.2)
            except KeyboardInterrupt:
                print("stopping (the model is kept as trained so far)...", file=sys.stderr, flush=True)
                job.stop()
                continue
            epochs = job.snapshot().epochs
            for update in epochs[shown:]:
                on_epoch(update)
            shown = len(epochs)
            if ended:
                break
    finally:
        job.stop()  # no-op once ended; otherwise the worker would train on for nobody
        job.join(60)
        cluster.shutdown()
    snap = job.snapshot()
    if snap.result is None:
        raise RuntimeError(snap.error or f"the run ended {snap.state.value}")
    return snap.result


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, train, print progress, save. Returns the exit code."""
    args = _parser().parse_args(argv)
    from core.cards import model_card
    from core.data import MnistUnavailableError
    from core.storage import save_model
    from core.training import TrainConfig, train

    config = TrainConfig(
        arch=args.arch,
        epochs=args.epochs,
        batch_size=args.batch_size,
        dropout=args.dropout,
        learning_rate=args.learning_rate,
        schedule=args.schedule,
        augment=args.augment,
        seed=args.seed,
        train_size=args.train_size,
        val_size=args.val_size,
        width=args.width,
    )
    try:
        config.validate()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def on_epoch(u: EpochUpdate) -> None:
        print(
            f"epoch {u.epoch + 1}/{u.epochs}  loss={u.loss:.4f}  accuracy={u.accuracy:.4f}  "
            f"val_loss={u.val_loss:.4f}  val_accuracy={u.val_accuracy:.4f}  elapsed={u.elapsed:.1f}s",
            flush=True,
        )

    try:
        result = _train_on_cluster(config, on_epoch) if args.cluster else train(config, on_epoch=on_epoch)
    except (MnistUnavailableError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"test_loss={result.test_loss:.4f}  trained {result.epochs_completed:g} epochs in {result.duration:.1f}s "
        f"({result.samples_per_second:.0f} samples/s)",
        flush=True,
    )
    if args.out is not None:
        command = "python -m core.train " + shlex.join(sys.argv[1:] if argv is None else argv)
        card = model_card(result, args.out.stem, source="core.train command line", command=command)
        save_model(result.model, args.out, card)
        print(f"saved {args.out}", flush=True)
    print(f"test_accuracy={result.test_accuracy:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
