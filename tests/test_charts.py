"""Tests for core.charts: the Train page's chart data and Vega-Lite spec (no model, no TensorFlow needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.charts import (
    EPOCH_AXIS,
    LIVE_POINTS,
    MAX_EPOCH_TICKS,
    SERIES_COLOURS,
    confusion_frame,
    epoch_axis,
    loss_curve,
    metric_frame,
    metric_spec,
    validation_curves,
)

ROOT = Path(__file__).resolve().parent.parent


def batch(epoch: int, n: int, batches: int, loss: float, accuracy: float) -> SimpleNamespace:
    """A batch report (the fields ``loss_curve`` reads of a ``BatchUpdate``)."""
    return SimpleNamespace(epoch=epoch, epochs=2, batch=n, batches=batches, loss=loss, accuracy=accuracy, elapsed=0.0)


def epoch(index: int, loss: float, val_loss: float, complete: bool = True) -> SimpleNamespace:
    """An epoch report (the fields of an ``EpochUpdate`` that ``metric_frame`` reads)."""
    return SimpleNamespace(
        epoch=index,
        epochs=2,
        loss=loss,
        accuracy=1 - loss,
        val_loss=val_loss,
        val_accuracy=1 - val_loss,
        elapsed=0.0,
        complete=complete,
    )


def test_importing_charts_loads_no_tensorflow():
    code = (
        "import json, sys\nimport core.charts\n"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras', 'streamlit') if m in sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


# --- metric_frame -------------------------------------------------------------------------


def test_metric_frame_live_curve_only_while_the_first_epoch_runs():
    batches = [batch(0, n, 10, 2.0 - 0.1 * n, 0.1 * n) for n in range(1, 6)]
    frame = metric_frame(batches, [], "loss")
    assert list(frame.columns) == ["epoch", "value", "series"]
    assert set(frame["series"]) == {"training (live)"}
    x, y = loss_curve(batches, "loss", max_points=LIVE_POINTS)
    np.testing.assert_allclose(frame["epoch"], x)
    np.testing.assert_allclose(frame["value"], y)


def test_metric_frame_places_epoch_points_at_their_end_and_a_stopped_one_where_it_stopped():
    epochs = [epoch(0, 0.5, 0.4), epoch(1, 0.3, float("nan"), complete=False)]
    frame = metric_frame([], epochs, "loss")
    trained = frame[frame["series"] == "training (epoch)"]
    assert list(trained["epoch"]) == [1.0, 1.0] and list(trained["value"]) == [0.5, 0.3]
    # The stopped epoch has no validation score: that point is left out, not drawn at NaN.
    validation = frame[frame["series"] == "validation"]
    assert list(validation["epoch"]) == [1.0] and list(validation["value"]) == [0.4]
    assert not frame.isna().any().any()


def test_metric_frame_reads_the_accuracy_pair_for_accuracy():
    frame = metric_frame([], [epoch(0, 0.25, 0.5)], "accuracy")
    values = dict(zip(frame["series"], frame["value"], strict=False))
    assert values == {"training (epoch)": 0.75, "validation": 0.5}


def test_metric_frame_thins_the_live_curve():
    batches = [batch(0, n, 1000, 1.0, 0.5) for n in range(1, 1001)]
    assert len(metric_frame(batches, [], "loss")) == LIVE_POINTS
    assert len(metric_frame(batches, [], "loss", max_points=10)) == 10


def test_metric_frame_of_nothing_is_empty():
    frame = metric_frame([], [], "loss")
    assert frame.empty and list(frame.columns) == ["epoch", "value", "series"]


# --- metric_spec --------------------------------------------------------------------------


def test_metric_spec_is_plain_json_with_the_series_colours():
    spec = metric_spec("loss", "Loss")
    assert json.loads(json.dumps(spec)) == spec
    assert spec["title"] == "Loss" and spec["height"] == 240
    assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
    assert spec["encoding"]["y"]["title"] == "loss"
    colour = spec["encoding"]["color"]["scale"]
    assert colour == {"domain": list(SERIES_COLOURS), "range": list(SERIES_COLOURS.values())}
    assert "data" not in spec  # the frame is passed beside it


def test_metric_spec_draws_symbols_only_on_epoch_points():
    line, points = metric_spec("accuracy", "Accuracy")["layer"]
    assert line["mark"]["type"] == "line" and "transform" not in line
    assert points["mark"]["type"] == "point"
    assert points["transform"] == [{"filter": "datum.series !== 'training (live)'"}]


def test_metric_spec_spans_the_planned_epochs_with_ticks_at_whole_epochs_only():
    # One epoch: Vega would put a tick at 0.5, labelled "1" by the whole-number format, beside the real 1.
    x = metric_spec("loss", "Loss", epochs=1)["encoding"]["x"]
    assert x["axis"] == {"values": [0, 1], "format": "d"} and x["scale"] == {"domain": [0, 1], "nice": False}
    x = metric_spec("loss", "Loss", epochs=3)["encoding"]["x"]
    assert x["axis"]["values"] == [0, 1, 2, 3] and x["scale"]["domain"] == [0, 3]
    # Before the planned epochs are known (a live run's first moments), whole steps all the same.
    assert metric_spec("loss", "Loss")["encoding"]["x"]["axis"] == EPOCH_AXIS


@pytest.mark.parametrize(
    "epochs, first, ticks",
    [
        (1, 0, [0, 1]),
        (10, 0, list(range(11))),
        (12, 0, [0, 2, 4, 6, 8, 10, 12]),
        (30, 0, [0, 5, 10, 15, 20, 25, 30]),
        (3, 1, [1, 2, 3]),
        (30, 1, [1, 5, 10, 15, 20, 25, 30]),
        (250, 0, [0, 50, 100, 150, 200, 250]),
    ],
)
def test_epoch_axis_ticks_whole_epochs_at_most_ten(epochs, first, ticks):
    axis, scale = epoch_axis(epochs, first)
    assert axis["values"] == ticks and axis["format"] == "d"
    assert len(ticks) <= MAX_EPOCH_TICKS + 1 and all(isinstance(t, int) for t in ticks)
    assert scale["domain"] == [first, epochs]


def test_epoch_axis_of_a_single_epochs_points_centres_it():
    axis, scale = epoch_axis(1, first=1)
    assert axis["values"] == [1] and scale["domain"] == [0.5, 1.5]


# --- confusion_frame and validation_curves ----------------------------------------------------


def test_confusion_frame_has_a_row_per_cell_in_reading_order():
    matrix = np.arange(100).reshape(10, 10)
    frame = confusion_frame(matrix)
    assert list(frame.columns) == ["true", "predicted", "count"] and len(frame) == 100
    assert frame.iloc[0].to_dict() == {"true": "0", "predicted": "0", "count": 0}
    assert frame.iloc[23].to_dict() == {"true": "2", "predicted": "3", "count": 23}
    assert frame["count"].sum() == matrix.sum()


def test_confusion_frame_follows_the_matrix_size():
    assert len(confusion_frame(np.ones((3, 3), np.int64))) == 9


def _run(number: int, val_accuracy: list[float]) -> SimpleNamespace:
    return SimpleNamespace(number=number, result=SimpleNamespace(history={"val_accuracy": val_accuracy}))


def test_validation_curves_one_line_per_run_without_missing_scores():
    frame = validation_curves([_run(1, [0.9, 0.95]), _run(3, [0.8, float("nan")])])
    assert list(frame.columns) == ["epoch", "validation accuracy", "run"]
    assert frame.to_dict("records") == [
        {"epoch": 1, "validation accuracy": 0.9, "run": "Run 1"},
        {"epoch": 2, "validation accuracy": 0.95, "run": "Run 1"},
        {"epoch": 1, "validation accuracy": 0.8, "run": "Run 3"},
    ]


@pytest.mark.parametrize("runs", [[], [_run(1, [])]])
def test_validation_curves_of_no_epochs_is_empty(runs):
    frame = validation_curves(runs)
    assert isinstance(frame, pd.DataFrame) and frame.empty
