"""What the Train page plots: data frames and Vega-Lite specs for its charts.

The live charts are redrawn every second while a model trains, so they are
built from plain frames and a hand-written Vega-Lite dict (no chart library
validating a schema on every redraw). Only numpy and pandas here: no
TensorFlow, no streamlit, so all of it is tested without a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # for annotations only: importing core.training loads TensorFlow
    from core.runs import Run
    from core.training import BatchUpdate, EpochUpdate

__all__ = [
    "EPOCH_AXIS",
    "MAX_EPOCH_TICKS",
    "epoch_axis",
    "LIVE_POINTS",
    "SERIES_COLOURS",
    "loss_curve",
    "metric_frame",
    "metric_spec",
    "confusion_frame",
    "validation_curves",
]

#: Points of the per-batch curve drawn at most; a long run's curve is thinned evenly.
LIVE_POINTS = 120
#: The series of a metric chart and their colours (the live curve grey, the epochs' points bold).
SERIES_COLOURS = {"training (live)": "#9aa5b8", "training (epoch)": "#1f77b4", "validation": "#ff4b4b"}
_LIVE = "training (live)"
#: The epoch axis of a chart whose span is unknown: ticks only at whole epochs (not 0.6, 0.8, ...).
EPOCH_AXIS: dict[str, Any] = {"tickMinStep": 1, "format": "d"}
#: At most this many labelled ticks on an epoch axis (every second, fifth, ... epoch beyond).
MAX_EPOCH_TICKS = 10


def epoch_axis(epochs: int, first: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """The x axis and scale of a chart over ``epochs`` whole epochs: ticks at whole epochs only.

    ``tickMinStep`` alone is not enough: over a span of one epoch or less (a
    one-epoch run, or the first epoch of a live run) Vega still puts a tick
    halfway, and the whole-number format labels it "1" beside the real 1. The
    ticks are listed instead, and the domain is the run's planned span, so a
    live chart does not rescale as it grows and a stopped run ends short of it.

    Args:
        epochs: The last epoch of the span (the planned number of epochs).
        first: The first (0 for curves that start before the first epoch ends, 1 for per-epoch points).

    Returns:
        ``(axis, scale)``: the Vega-Lite ``axis`` and ``scale`` of the x encoding.
    """
    last = max(int(epochs), first)
    if last == first:  # a single epoch's points: that epoch in the middle, no tick beside it
        return {"values": [first], "format": "d"}, {"domain": [first - 0.5, first + 0.5], "nice": False}
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, last) if (last - first) / s <= MAX_EPOCH_TICKS)
    ticks = sorted({first, *(t for t in range(step, last + 1, step) if t > first)})  # round numbers: 1, 5, 10, ...
    return {"values": ticks, "format": "d"}, {"domain": [first, last], "nice": False}


def loss_curve(
    batches: Sequence[BatchUpdate], key: str = "loss", smoothing: float = 0.6, max_points: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-group values of a metric from Keras' running epoch means, smoothed.

    Keras reports the mean since the start of the epoch; the mean over just
    the latest group of batches is recovered from two consecutive reports,
    then smoothed with an exponential moving average.

    Args:
        batches: Batch reports in order.
        key: ``"loss"`` or ``"accuracy"``.
        smoothing: EMA weight of the past, in [0, 1).
        max_points: If given, at most this many points are returned, evenly
            spaced along the curve and always including the first and last
            (a chart redrawn every second need not draw every batch of a long run).

    Returns:
        ``(x, y)``: x in epochs (e.g. 1.25 = a quarter into the second epoch), y the smoothed values.
    """
    xs, ys = [], []
    prev_epoch, prev_n, prev_mean, ema = -1, 0, 0.0, None
    for u in batches:
        mean = getattr(u, key)
        if u.epoch != prev_epoch:
            prev_n, prev_mean, prev_epoch = 0, 0.0, u.epoch
        n = u.batch
        if n <= prev_n or not np.isfinite(mean):
            continue
        value = (mean * n - prev_mean * prev_n) / (n - prev_n)
        prev_n, prev_mean = n, mean
        ema = value if ema is None else smoothing * ema + (1 - smoothing) * value
        xs.append(u.epoch + n / max(1, u.batches))
        ys.append(ema)
    x, y = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    if max_points is not None and len(x) > max(max_points, 2):
        keep = np.unique(np.linspace(0, len(x) - 1, max(max_points, 2)).round().astype(int))
        x, y = x[keep], y[keep]
    return x, y


def metric_frame(
    batches: Sequence[BatchUpdate],
    epochs: Sequence[EpochUpdate],
    key: str,
    max_points: int = LIVE_POINTS,
    curve: Mapping[str, Sequence[float]] | None = None,
) -> pd.DataFrame:
    """Long-form data for one metric's chart: the live per-batch curve and the per-epoch points.

    Args:
        batches: Batch reports in order (the live curve, smoothed and thinned).
        epochs: Epoch reports; an epoch cut short by a stop is placed where it stopped.
        key: ``"loss"`` or ``"accuracy"`` (the validation series uses ``val_<key>``).
        max_points: Points of the live curve at most.
        curve: The live curve as already charted (a stored run's ``epoch`` and ``value``
            lists), drawn instead of one computed from ``batches``.

    Returns:
        Columns ``epoch``, ``value``, ``series`` (one of :data:`SERIES_COLOURS`), without missing values.
    """
    if curve is not None:
        x, y = np.asarray(curve["epoch"], np.float64), np.asarray(curve["value"], np.float64)
    else:
        x, y = loss_curve(batches, key, max_points=max_points)
    frames = [pd.DataFrame({"epoch": x, "value": y, "series": _LIVE})]
    if epochs:
        at = np.array([e.epoch + (1.0 if e.complete else 0.0) for e in epochs], dtype=float)
        frames.append(
            pd.DataFrame({"epoch": at, "value": [getattr(e, key) for e in epochs], "series": "training (epoch)"})
        )
        frames.append(
            pd.DataFrame({"epoch": at, "value": [getattr(e, f"val_{key}") for e in epochs], "series": "validation"})
        )
    return pd.concat(frames, ignore_index=True).dropna()


def metric_spec(key: str, title: str, epochs: int | None = None) -> dict[str, Any]:
    """The Vega-Lite spec of a metric chart (data from :func:`metric_frame`).

    Lines for every series, symbols only on the few per-epoch points (not the
    live curve's), with tooltips on those points.

    Args:
        key: The metric, the y axis' title.
        title: The chart's title.
        epochs: The run's planned epochs (the x axis spans them, ticked at whole epochs); None when
            not known yet (ticks at whole epochs of the data's span).

    Returns:
        A Vega-Lite spec without data.
    """
    x: dict[str, Any] = {"field": "epoch", "type": "quantitative", "title": "epoch", "axis": dict(EPOCH_AXIS)}
    if epochs:
        x["axis"], x["scale"] = epoch_axis(epochs)
    return {
        # fit-x: the width follows the column, 240 px is the plot's own height (Streamlit's default
        # "fit" squeezes the plot into 240 px together with the title, axes and legend).
        "title": title,
        "height": 240,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "encoding": {
            "x": x,
            "y": {"field": "value", "type": "quantitative", "title": key, "scale": {"zero": False}},
            "color": {
                "field": "series",
                "type": "nominal",
                "legend": {"orient": "bottom", "title": None},
                "scale": {"domain": list(SERIES_COLOURS), "range": list(SERIES_COLOURS.values())},
            },
        },
        "layer": [
            {"mark": {"type": "line"}},
            {
                "mark": {"type": "point", "filled": True, "size": 40, "opacity": 1},
                "transform": [{"filter": f"datum.series !== '{_LIVE}'"}],
                "encoding": {
                    "tooltip": [
                        {"field": "series"},
                        {"field": "epoch", "format": ".2f", "type": "quantitative"},
                        {"field": "value", "format": ".4f", "type": "quantitative"},
                    ]
                },
            },
        ],
    }


def confusion_frame(matrix: np.ndarray) -> pd.DataFrame:
    """A confusion matrix in long form, one row per (true, predicted) cell.

    Args:
        matrix: (C, C) counts; row = true label, column = prediction.

    Returns:
        Columns ``true`` and ``predicted`` (labels as text, so charts treat them
        as categories) and ``count``, row by row.
    """
    classes = range(len(matrix))
    return pd.DataFrame(
        [{"true": str(t), "predicted": str(p), "count": int(matrix[t][p])} for t in classes for p in classes]
    )


def validation_curves(runs: Sequence[Run]) -> pd.DataFrame:
    """Validation accuracy per epoch of several runs, to draw one line per run.

    Args:
        runs: Finished runs.

    Returns:
        Columns ``epoch`` (1-based), ``validation accuracy`` and ``run``
        (``"Run N"``); epochs without a validation score are left out.
    """
    rows = [
        {"epoch": i + 1, "validation accuracy": value, "run": f"Run {run.number}"}
        for run in runs
        for i, value in enumerate(run.result.history["val_accuracy"])
    ]
    return pd.DataFrame(rows, columns=["epoch", "validation accuracy", "run"]).dropna()
