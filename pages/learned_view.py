"""The Train page's view of what a run learned: accuracy per digit, and the first layer's weights.

Layout only: the numbers come from :mod:`core.metrics`, the pictures from
:mod:`core.learned`.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from pages.widgets import show_pixels


def per_class_chart(accuracy: np.ndarray, totals: np.ndarray) -> alt.Chart:
    """Bars of the test accuracy per digit, the weakest in red, each labelled with its value."""
    frame = pd.DataFrame(
        {
            "digit": np.arange(len(accuracy)),
            "accuracy": accuracy,
            "images": totals,
            "weakest": accuracy == np.nanmin(accuracy),
        }
    )
    low = float(np.floor(np.nanmin(accuracy) * 50) / 50) - 0.02  # zoomed in: the digits differ by a point or two
    base = alt.Chart(frame, height=330, title="Accuracy per digit (test set)").encode(
        x=alt.X("digit:O", title="true digit", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[max(0.0, min(low, 0.96)), 1.0]), axis=alt.Axis(format="%")),
    )
    bars = base.mark_bar(clip=True).encode(
        color=alt.condition("datum.weakest", alt.value("#ff4b4b"), alt.value("#7d8799")),
        tooltip=["digit", alt.Tooltip("accuracy:Q", format=".2%"), "images"],
    )
    text = base.mark_text(dy=-6, fontSize=10, color="#7d8799").encode(text=alt.Text("accuracy:Q", format=".1%"))
    return bars + text


def show_first_layer(result) -> None:
    """The first layer's weights as pictures, after the first epoch and at the end, with the change.

    Args:
        result: A finished run's ``TrainResult``.
    """
    from core.explain_images import png_bytes
    from core.learned import first_layer_pictures

    # A stored run keeps no epoch-1 kernel (only a fresh TrainResult has one): show the end alone.
    pictures = first_layer_pictures(result.model, getattr(result, "first_layer_after_epoch1", None))
    if pictures is None:
        st.info("This model's first layer does not read the pixels directly, so its weights are not pictures.")
        return
    what = (
        f"its {pictures.count} filters of {pictures.size[0]}×{pictures.size[1]} pixels"
        if pictures.is_conv
        else f"its {pictures.count} units, each one's 784 input weights as a 28×28 picture"
    )
    st.markdown(f"**First layer ({pictures.name})**: {what} — red: a positive weight, blue: a negative one")
    epochs = len(result.history["loss"])
    where = st.columns(3)
    if pictures.after_epoch1 is None or pictures.difference is None or epochs < 2:
        show_pixels(png_bytes(pictures.final), f"after {result.epochs_completed:g} epoch(s)", where=where[0])
        return
    show_pixels(png_bytes(pictures.after_epoch1), "after epoch 1", where=where[0])
    show_pixels(png_bytes(pictures.final), f"after epoch {epochs} (the end), same colour scale", where=where[1])
    show_pixels(
        png_bytes(pictures.difference),
        f"what the later epochs changed: the weights moved {pictures.change:.0%} of their size",
        where=where[2],
    )


def show_learned(result) -> None:
    """Per-digit accuracy bars beside the first layer's weights.

    Args:
        result: A finished run's result (its ``confusion`` matrix gives the per-digit accuracy).
    """
    from core.metrics import per_class_from_confusion

    bars, weights = st.columns([4, 9], gap="large")
    if result.confusion is not None:
        accuracy = per_class_from_confusion(result.confusion)
        bars.altair_chart(per_class_chart(accuracy, result.confusion.sum(axis=1)), width="stretch")
    with weights:
        show_first_layer(result)
