"""Tests for core.runs: a session's run records, their numbers and the Train page's views of them."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.config import APP_DEFAULTS, TrainConfig
from core.runs import Run, comparison_rows, comparison_table, epoch_updates, history_table, next_number, repeats

ROOT = Path(__file__).resolve().parent.parent
HISTORY = {"loss": [0.5, 0.3], "accuracy": [0.85, 0.9], "val_loss": [0.4, 0.35], "val_accuracy": [0.88, 0.91]}


class _SavingModel:
    """Just enough of a keras.Model for an export: ``save(path)`` writes fixed bytes and is counted."""

    def __init__(self) -> None:
        self.saves = 0

    def save(self, path) -> None:
        self.saves += 1
        Path(path).write_bytes(b"keras zip")


def result(
    config: TrainConfig = APP_DEFAULTS, history: dict | None = None, stopped_early: bool = False, **values
) -> SimpleNamespace:
    """A stand-in for ``core.training.TrainResult`` with the fields runs read."""
    fields = {
        "model": _SavingModel(),
        "config": config,
        "history": history or HISTORY,
        "test_loss": 0.3,
        "test_accuracy": 0.9876,
        "stopped_early": stopped_early,
        "epochs_completed": 2.0,
        "duration": 12.34,
        "samples_per_second": 5000.0,
        **values,
    }
    return SimpleNamespace(**fields)


def test_importing_runs_loads_no_tensorflow():
    code = (
        "import json, sys\nimport core.runs\n"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras', 'streamlit') if m in sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


# --- Run --------------------------------------------------------------------------------


def test_label_names_number_architecture_and_accuracy():
    assert Run(2, result(TrainConfig(arch="cnn")), "done").label == "Run 2 · CNN · 98.8%"
    stopped = Run(1, result(TrainConfig(arch="mlp"), test_accuracy=0.5), "stopped")
    assert stopped.label == "Run 1 · MLP · 50.0% (stopped)"


def test_keras_bytes_exports_once_and_keeps_the_bytes():
    run = Run(1, result(), "done")
    assert run.download is None
    assert run.keras_bytes() == b"keras zip" == run.download
    assert run.keras_bytes() == b"keras zip"
    assert run.result.model.saves == 1


@pytest.mark.parametrize("numbers, expected", [([], 1), ([1], 2), ([1, 2, 3], 4), ([3, 1], 4), ([2], 3)])
def test_next_number_follows_the_highest(numbers, expected):
    assert next_number([Run(n, result(), "done") for n in numbers]) == expected


# --- epoch_updates ------------------------------------------------------------------------


def test_epoch_updates_rebuild_the_history():
    from core.training import EpochUpdate

    updates = epoch_updates(result(TrainConfig(epochs=4)))
    assert updates == [
        EpochUpdate(0, 4, 0.5, 0.85, 0.4, 0.88, 0.0, complete=True),
        EpochUpdate(1, 4, 0.3, 0.9, 0.35, 0.91, 0.0, complete=True),
    ]


def test_epoch_updates_mark_only_a_stopped_runs_last_epoch_incomplete():
    history = {**HISTORY, "val_loss": [0.4, math.nan], "val_accuracy": [0.88, math.nan]}
    updates = epoch_updates(result(history=history, stopped_early=True))
    assert [u.complete for u in updates] == [True, False]
    assert math.isnan(updates[1].val_loss)


def test_epoch_updates_of_an_empty_history():
    assert epoch_updates(result(history={"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []})) == []


# --- tables -------------------------------------------------------------------------------


def test_history_table_is_indexed_by_epoch_from_one():
    table = history_table(result())
    assert list(table.columns) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert list(table.index) == [1, 2] and table.index.name == "epoch"
    assert table.loc[2, "val_accuracy"] == 0.91


def test_comparison_rows_hold_each_runs_settings_and_scores():
    first = Run(
        1,
        result(
            TrainConfig(
                arch="mlp",
                epochs=3,
                batch_size=64,
                dropout=0.1,
                learning_rate=3e-3,
                augment=True,
                seed=7,
                train_size=5000,
            )
        ),
        "done",
    )
    second = Run(
        2,
        result(
            TrainConfig(train_size=None, epochs=5),
            epochs_completed=2.5,
            stopped_early=True,
            test_accuracy=0.95,
            duration=3.06,
        ),
        "stopped",
    )
    rows = comparison_rows([first, second])
    assert rows[0] == {
        "run": 1,
        "arch": "mlp",
        "epochs": "2/3",
        "batch": 64,
        "dropout": 0.1,
        "lr": 3e-3,
        "augment": True,
        "images": 5000,
        "seed": 7,
        "test accuracy": 0.9876,
        "time (s)": 12.3,
    }
    assert rows[1]["epochs"] == "2.5/5" and rows[1]["images"] == 50000 and rows[1]["time (s)"] == 3.1
    assert comparison_rows([]) == []


def test_repeats_names_the_first_earlier_run_with_the_same_settings_and_seed():
    a, b = TrainConfig(seed=1), TrainConfig(seed=2)
    runs = [Run(n, result(config), "done") for n, config in ((1, a), (2, b), (3, a), (5, b), (6, a))]
    assert repeats(runs) == {3: 1, 5: 2, 6: 1}
    assert repeats(list(reversed(runs))) == {3: 1, 5: 2, 6: 1}  # by number, not by order given
    assert repeats([Run(1, result(a), "done"), Run(2, result(TrainConfig(seed=1, epochs=9)), "done")]) == {}


def test_comparison_table_shows_short_text_outcome_first_and_a_note_on_repeats():
    config = TrainConfig(arch="mlp", epochs=1, batch_size=128, dropout=0.3, learning_rate=1e-3, seed=0)
    first = Run(1, result(config, duration=2.6, test_accuracy=0.70158), "done")
    second = Run(2, result(config, duration=0.43, test_accuracy=0.70158), "done")
    table = comparison_table([first, second])
    assert list(table.index) == [1, 2] and table.index.name == "run"
    assert list(table.columns[:3]) == ["test accuracy", "time", "note"]
    assert table.loc[1].to_dict() == {
        "test accuracy": "70.16%",
        "time": "2.6 s",
        "note": "",
        "arch": "mlp",
        "epochs": "2/1",
        "batch": 128,
        "dropout": "0.3",
        "lr": "0.001",
        "augment": "no",
        "images": f"{config.train_images:,}",
        "seed": 0,
    }
    assert table.loc[2, "note"] == "same as run 1" and table.loc[2, "time"] == "0.4 s"
    # No repeats, no note column; no runs, an empty table.
    other = Run(3, result(TrainConfig(seed=5, learning_rate=3e-4, dropout=0.25)), "done")
    table = comparison_table([first, other])
    assert "note" not in table.columns and list(table["lr"]) == ["0.001", "0.0003"]
    assert list(table["dropout"]) == ["0.3", "0.25"]
    assert comparison_table([]).empty
