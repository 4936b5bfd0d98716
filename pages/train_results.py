"""The Train page's views of training runs: metric charts, a run's results, runs compared.

Layout only: the data comes from ``core.charts`` and ``core.runs``, saving
from ``core.storage``; these functions place it on the page.
"""

from __future__ import annotations

from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.cards import model_card
from core.charts import confusion_frame, metric_frame, metric_spec, validation_curves
from core.runs import Run, comparison_rows, epoch_updates, history_table
from core.storage import InvalidModelName, ModelExists, save_new, validate_name
from pages.state import session
from pages.widgets import show_pixels

#: What the cards of models saved from this page name as their source.
CARD_SOURCE = "Digit Studio Train page"


def show_charts(batches, epochs) -> None:
    """The loss and accuracy charts side by side (live while training, and in the results).

    Args:
        batches: Batch reports (``BatchUpdate``) in order.
        epochs: Epoch reports (``EpochUpdate``) in order.
    """
    c1, c2 = st.columns(2)
    c1.vega_lite_chart(metric_frame(batches, epochs, "loss"), metric_spec("loss", "Loss"), width="stretch")
    c2.vega_lite_chart(metric_frame(batches, epochs, "accuracy"), metric_spec("accuracy", "Accuracy"), width="stretch")


def confusion_chart(matrix: np.ndarray) -> alt.Chart:
    """A heat map of the test set's confusion matrix, each cell labelled with its count."""
    base = alt.Chart(confusion_frame(matrix), height=330, title="Confusion matrix (test set)").encode(
        x=alt.X("predicted:O", title="predicted"), y=alt.Y("true:O", title="true label"))
    heat = base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
                                   tooltip=["true", "predicted", "count"])
    text = base.mark_text(fontSize=10).encode(
        text="count:Q", color=alt.condition("datum.count > 300", alt.value("white"), alt.value("black")))
    return heat + text


def save_form(run: Run) -> None:
    """The "Save to models/" form: a name, whether to replace, and what became of the save."""
    with st.form(f"save_{run.number}", border=False):
        name = st.text_input("Name (letters, digits, - and _)", max_chars=64)
        replace_existing = st.checkbox("Replace a saved model with the same name")
        if st.form_submit_button("Save"):
            try:
                name = validate_name(name)
                save_new(run.result.model, name, model_card(run.result, name, source=CARD_SOURCE),
                         replace=replace_existing)
                st.success(f"Saved as models/{name}.keras — pick it on the Draw page.")
            except InvalidModelName as exc:
                st.error(str(exc))
            except ModelExists as exc:
                st.error(f"{exc} Tick “Replace” or choose another name.")
            except OSError as exc:
                st.error(f"Could not save the model: {exc}. Nothing was overwritten.")


def show_results(run: Run) -> None:
    """One finished run: its scores, what to do with the model, its charts, mistakes and history."""
    from core.data import load_mnist
    from core.metrics import confusion_matrix, mistakes
    from core.preprocess import pixel_preview

    r = run.result
    c = r.config
    if r.stopped_early:
        st.warning(f"⏹ Stopped early: trained {r.epochs_completed:.2f} of {c.epochs} epochs.")
    m = st.columns(5)
    m[0].metric("Test accuracy", f"{r.test_accuracy:.2%}")
    m[1].metric("Test loss", f"{r.test_loss:.4f}")
    m[2].metric("Epochs", f"{r.epochs_completed:.2f}".rstrip("0").rstrip(".") + f" / {c.epochs}")
    m[3].metric("Training time", f"{r.duration:.1f} s")
    m[4].metric("Speed", f"{r.samples_per_second:,.0f} img/s")

    a1, a2, a3 = st.columns(3)
    if a1.button("✏️ Use this model on the Draw page", type="primary", width="stretch"):
        session().active = f"run:{run.number}"
        st.switch_page("pages/draw.py")
    a2.download_button("⬇️ Download .keras", run.keras_bytes(), file_name=f"digit-studio-run{run.number}.keras",
                       mime="application/octet-stream", width="stretch")
    with a3.popover("💾 Save to models/", width="stretch"):
        save_form(run)

    show_charts(r.batch_history, epoch_updates(r))
    (_, _), (x_test, y_test) = load_mnist()
    if r.test_probabilities is not None:
        c1, c2 = st.columns([1, 1], gap="large")
        predicted = r.test_probabilities.argmax(1)
        c1.altair_chart(confusion_chart(confusion_matrix(y_test, predicted)), width="stretch")
        with c2:
            wrong = mistakes(r.test_probabilities, y_test, limit=24)
            st.markdown(f"**Misclassified test digits** — {int((predicted != y_test).sum())} of {len(y_test):,}, "
                        "most confident mistakes first")
            if wrong:
                show_pixels([pixel_preview(x_test[w.index] / 255.0, 3, grid=False) for w in wrong],
                            [f"{w.true} → {w.predicted} ({w.confidence:.0%})" for w in wrong], width=84)
    st.markdown("**History**")
    st.dataframe(history_table(r).style.format("{:.4f}"), width="stretch")


def show_comparison(runs: Sequence[Run]) -> None:
    """The "Your runs compared" section: a table of every run's settings and scores, and their validation curves."""
    table = pd.DataFrame(comparison_rows(runs)).set_index("run")
    st.dataframe(table.style.format({"test accuracy": "{:.2%}", "lr": "{:g}"}), width="stretch")
    frame = validation_curves(runs)
    if not frame.empty:
        st.altair_chart(alt.Chart(frame, height=260, title="Validation accuracy by run").mark_line(point=True).encode(
            x="epoch:Q", y=alt.Y("validation accuracy:Q", scale=alt.Scale(zero=False)), color="run:N",
            tooltip=["run", "epoch", alt.Tooltip("validation accuracy:Q", format=".2%")]), width="stretch")
