"""A session's finished training runs: the record of each, its number, and the views of them.

A :class:`Run` wraps what :func:`core.training.train` returned with the
run's number in the session and how it ended. The functions here turn runs
into what the Train page shows: epoch reports for the charts, the history
table and the rows of "Your runs compared". Importing this module loads no
TensorFlow (pages import it on every script run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.formatting import decimal, learning_rate, percent, seconds

if TYPE_CHECKING:  # for annotations only: importing core.training loads TensorFlow
    from core.run_records import SavedResult
    from core.training import EpochUpdate, TrainResult

__all__ = ["Run", "next_number", "epoch_updates", "history_table", "comparison_rows", "comparison_table", "repeats"]


@dataclass
class Run:
    """A finished training run of this session.

    Attributes:
        number: 1-based run number within the session.
        result: What ``core.training.train`` returned, or a stored run's
            ``core.run_records.SavedResult`` (the same fields, the model loaded on first use).
        state: ``"done"`` or ``"stopped"``.
        download: The ``.keras`` bytes, made on first request (see :meth:`keras_bytes`).
    """

    number: int
    result: TrainResult | SavedResult
    state: str
    download: bytes | None = None

    @property
    def label(self) -> str:
        """Short label, e.g. ``Run 2 · CNN · 98.9%`` (``… · your handwriting`` for a fine-tune)."""
        return f"Run {self.number} · {self._summary}"

    @property
    def own_label(self) -> str:
        """The label among other people's models, e.g. ``Your run 2 · CNN · 98.9%`` (runs are kept per person)."""
        return f"Your run {self.number} · {self._summary}"

    @property
    def _summary(self) -> str:
        c = self.result.config
        stopped = " (stopped)" if self.state == "stopped" else ""
        mine = " · your handwriting" if getattr(self.result, "finetune", None) else ""
        return f"{c.arch.upper()} · {self.result.test_accuracy:.1%}{mine}{stopped}"

    def keras_bytes(self) -> bytes:
        """The model as a ``.keras`` file's bytes, made once and kept for later downloads."""
        if self.download is None:
            stored = getattr(self.result, "model_path", None)  # a stored run: its file is the export
            if stored is not None and Path(stored).is_file():
                self.download = Path(stored).read_bytes()
            else:
                from core.storage import model_bytes  # Keras, loaded only once a model is exported

                self.download = model_bytes(self.result.model)
        return self.download


def next_number(runs: Sequence[Run]) -> int:
    """The number for a session's next run: one more than the highest so far (1 for the first)."""
    return max((r.number for r in runs), default=0) + 1


def epoch_updates(result: TrainResult) -> list[EpochUpdate]:
    """The per-epoch reports of a finished run, rebuilt from its history (for its charts).

    Args:
        result: A finished run's result.

    Returns:
        One ``EpochUpdate`` per epoch in the history; the last is marked
        incomplete when a stop cut it short. ``elapsed`` is not kept in a
        history and is 0.
    """
    from core.training import EpochUpdate  # only results (made by core.training) reach here

    h = result.history
    n = len(h["loss"])
    return [
        EpochUpdate(
            i,
            result.config.epochs,
            h["loss"][i],
            h["accuracy"][i],
            h["val_loss"][i],
            h["val_accuracy"][i],
            0.0,
            complete=not (result.stopped_early and i == n - 1),
        )
        for i in range(n)
    ]


def history_table(result: TrainResult) -> pd.DataFrame:
    """A run's per-epoch history as a table: one column per metric, indexed by epoch from 1."""
    table = pd.DataFrame(result.history)
    table.index = pd.RangeIndex(1, len(table) + 1, name="epoch")
    return table


def comparison_rows(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per run for "Your runs compared": its settings, test accuracy and time.

    Args:
        runs: Finished runs, in the order to show them.

    Returns:
        Dicts with the keys ``run``, ``arch``, ``epochs`` (done/planned),
        ``batch``, ``dropout``, ``lr``, ``augment``, ``images``, ``seed``,
        ``test accuracy`` and ``time (s)``.
    """
    rows = []
    for run in runs:
        r = run.result
        c = r.config
        rows.append(
            {
                "run": run.number,
                "arch": c.arch,
                "epochs": f"{r.epochs_completed:g}/{c.epochs}",
                "batch": c.batch_size,
                "dropout": c.dropout,
                "lr": c.learning_rate,
                "augment": c.augment,
                "images": c.train_images,
                "seed": c.seed,
                "test accuracy": r.test_accuracy,
                "time (s)": round(r.duration, 1),
            }
        )
    return rows


def repeats(runs: Sequence[Run]) -> dict[int, int]:
    """Runs that repeat an earlier run's settings and seed, each with the first run it repeats.

    Training is deterministic for given settings and seed, so such runs give
    the same results; the page says so, or the comparison would look broken.

    Args:
        runs: Finished runs, oldest first.

    Returns:
        Run number to the number of the first earlier run with the same config (seed included).
    """
    first: dict[tuple, int] = {}
    found: dict[int, int] = {}
    for run in sorted(runs, key=lambda r: r.number):
        key = tuple(sorted(run.result.config.to_dict().items()))
        if key in first:
            found[run.number] = first[key]
        else:
            first[key] = run.number
    return found


def comparison_table(runs: Sequence[Run]) -> pd.DataFrame:
    """ "Your runs compared" as text to show: :func:`comparison_rows` with each number at a readable precision.

    The outcome comes first (test accuracy, time, and the note), then the settings: on a phone,
    where the table scrolls sideways inside its frame, what each run scored is in view at once.

    Args:
        runs: Finished runs, in the order to show them.

    Returns:
        A frame indexed by run number, every cell a short string (dropout ``0.3``, learning rate
        ``0.001``, time ``2.6 s``) but batch size and seed (numbers); when a run repeats an
        earlier one (same settings and seed, so the same results), a ``note`` column names it.
    """
    same = repeats(runs)
    rows = []
    for row in comparison_rows(runs):
        note = {"note": f"same as run {same[row['run']]}" if row["run"] in same else ""} if same else {}
        rows.append(
            {
                "run": row["run"],
                "test accuracy": percent(row["test accuracy"]),
                "time": seconds(row["time (s)"]),
                **note,
                "arch": row["arch"],
                "epochs": row["epochs"],
                "batch": row["batch"],
                "dropout": decimal(row["dropout"]),
                "lr": learning_rate(row["lr"]),
                "augment": "yes" if row["augment"] else "no",
                "images": f"{row['images']:,}",
                "seed": row["seed"],
            }
        )
    table = pd.DataFrame(rows)
    return table.set_index("run") if len(table) else table
