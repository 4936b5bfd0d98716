"""The Train page's views of training runs: metric charts, a run's results, runs compared.

Layout only: the data comes from ``core.charts`` and ``core.runs``, saving
through ``core.model_owners``; these functions place it on the page.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import streamlit as st

from core.cards import model_card
from core.charts import confusion_frame, epoch_axis, metric_frame, metric_spec, validation_curves
from core.formatting import epochs_done, percent, rate, seconds
from core.model_owners import FolderFull, NameTaken, NotYours, TooManyModels, delete_owned, owned_models, save_owned
from core.runs import Run, comparison_table, epoch_updates, history_table, repeats
from core.storage import InvalidModelName, ModelExists, validate_name
from core.text import plain
from pages.state import session
from pages.widgets import show_pixels

#: What the cards of models saved from this page name as their source.
CARD_SOURCE = "Digit Studio Train page"


def show_charts(batches, epochs, curve: dict | None = None, planned: int | None = None) -> None:
    """The loss and accuracy charts side by side (live while training, and in the results).

    Args:
        batches: Batch reports (``BatchUpdate``) in order.
        epochs: Epoch reports (``EpochUpdate``) in order.
        curve: A stored run's batch curves as charted (per metric), drawn instead of ``batches``.
        planned: The run's planned epochs, the span of the epoch axis (None: not known yet).
    """
    c1, c2 = st.columns(2)
    for where, key, title in ((c1, "loss", "Loss"), (c2, "accuracy", "Accuracy")):
        frame = metric_frame(batches, epochs, key, curve=curve[key] if curve else None)
        where.vega_lite_chart(frame, metric_spec(key, title, planned), width="stretch")


def confusion_chart(matrix: np.ndarray) -> alt.Chart:
    """A heat map of the test set's confusion matrix, each cell labelled with its count."""
    base = alt.Chart(confusion_frame(matrix), height=330, title="Confusion matrix (test set)").encode(
        x=alt.X("predicted:O", title="predicted"), y=alt.Y("true:O", title="true label")
    )
    heat = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
        tooltip=["true", "predicted", "count"],
    )
    text = base.mark_text(fontSize=10).encode(
        text="count:Q", color=alt.condition("datum.count > 300", alt.value("white"), alt.value("black"))
    )
    return heat + text


def save_form(run: Run) -> None:
    """The "Save to models/" form: a name, whether to replace, and what became of the save."""
    data = session()
    limits = data.store.limits
    with st.form(f"save_{run.number}", border=False):
        name = st.text_input("Name (letters, digits, - and _)", max_chars=64)
        replace_existing = st.checkbox("Replace a saved model of mine with the same name")
        if st.form_submit_button("Save"):
            try:
                name = validate_name(name)
                save_owned(
                    run.result.model,
                    name,
                    data.owner,
                    model_card(run.result, name, source=CARD_SOURCE),
                    replace=replace_existing,
                    per_person=limits.saved_models_per_person,
                    total=limits.saved_models_total,
                )
                st.success(f"Saved as models/{plain(name, 64)}.keras — pick it on the Draw page.")
            except ModelExists as exc:
                st.error(
                    f"You have a model named “{plain(exc.name, 64)}” already: tick “Replace” to overwrite it, "
                    "or choose another name."
                )
            except (InvalidModelName, NameTaken, TooManyModels, FolderFull) as exc:
                st.error(str(exc))
            except OSError as exc:  # the reason only: the error's text names server paths
                st.error(
                    f"Could not save the model ({plain(exc.strerror or type(exc).__name__)}). Nothing was overwritten."
                )
    show_own_models()


def show_own_models() -> None:
    """The models this person saved, each with a button that deletes it."""
    data = session()
    mine = owned_models(data.owner)
    if not mine:
        return
    st.caption(f"Your saved models ({len(mine)} of {data.store.limits.saved_models_per_person}):")
    for model in mine:
        left, right = st.columns([3, 1], vertical_alignment="center")
        left.markdown(f"`{model.name}`")
        if right.button(
            "", icon=":material/delete:", key=f"delete_saved_{model.name}", help=f"Delete {model.name} from models/"
        ):
            try:
                delete_owned(data.owner, model.name)
                if data.active == f"saved:{model.name}":
                    data.active = "default"
                st.rerun()
            except NotYours as exc:
                st.error(str(exc))
            except OSError as exc:
                st.error(f"Could not delete {model.name} ({plain(exc.strerror or type(exc).__name__)}).")


def show_results(run: Run) -> None:
    """One finished run: its scores, what to do with the model, its charts, mistakes and history.

    Args:
        run: A run whose result is a stored one (``core.run_records.SavedResult``): a run looks the
            same just after training, after a reload and after a restart.
    """
    from core.data import load_mnist
    from core.preprocess import pixel_preview
    from pages.learned_view import show_learned

    r = run.result
    c = r.config
    if r.stopped_early:
        st.warning(
            f"Stopped early: trained {r.epochs_completed:.2f} of {c.epochs} epochs.", icon=":material/stop_circle:"
        )
    # Each metric as wide as its value, wrapping to a new line when the row is full: five equal
    # columns cut the longer values off ("8,805 i…") on a laptop.
    with st.container(horizontal=True, gap="medium"):
        st.metric("Test accuracy", percent(r.test_accuracy), width="content")
        st.metric("Test loss", f"{r.test_loss:.4f}", width="content")
        st.metric("Epochs", epochs_done(r.epochs_completed, c.epochs), width="content")
        st.metric("Training time", seconds(r.duration), width="content")
        speed = f"{r.samples_per_second:,.0f} images per second"
        st.metric("Speed", rate(r.samples_per_second), help=speed, width="content")

    a1, a2, a3 = st.columns(3)
    if a1.button("Use this model on the Draw page", icon=":material/draw:", type="primary", width="stretch"):
        session().active = f"run:{run.number}"
        st.switch_page("pages/draw.py")
    a2.download_button(
        "Download .keras",
        run.keras_bytes(),
        icon=":material/download:",
        file_name=f"digit-studio-run{run.number}.keras",
        mime="application/octet-stream",
        width="stretch",
    )
    with a3.popover("Save to models/", icon=":material/save:", width="stretch"):
        save_form(run)

    show_charts(r.batch_history, epoch_updates(r), curve=r.curve, planned=c.epochs)
    (_, _), (x_test, _) = load_mnist()
    if r.confusion is not None:
        c1, c2 = st.columns([1, 1], gap="large")
        c1.altair_chart(confusion_chart(r.confusion), width="stretch")
        with c2:
            wrong = r.mistakes
            st.markdown(
                f"**Misclassified test digits** — {r.misclassified} of {int(r.confusion.sum()):,}, "
                "most confident mistakes first"
            )
            if wrong:
                show_pixels(
                    [pixel_preview(x_test[w.index] / 255.0, 3, grid=False) for w in wrong],
                    [f"{w.true} → {w.predicted} ({w.confidence:.0%})" for w in wrong],
                    width=84,
                )
    show_learned(r)
    st.markdown("**History**")
    st.dataframe(history_table(r).style.format("{:.4f}"), width="stretch")


def show_comparison(runs: Sequence[Run]) -> None:
    """The "Your runs compared" section: a table of every run's settings and scores, and their validation curves."""
    same = repeats(runs)
    if same:
        pairs = ", ".join(f"run {later} repeats run {first}" for later, first in same.items())
        st.info(
            f"Same settings and seed, so the same results: {pairs}. Change the seed to see "
            "how much a run varies by chance.",
            icon=":material/info:",
        )
    # A table, not a data grid: its cells are text at the page's size (readable from the back of a
    # room, and they wrap rather than cut off), and a handful of runs needs no scrolling or sorting.
    st.table(comparison_table(runs), hide_index=False)
    frame = validation_curves(runs)
    if not frame.empty:
        axis, scale = epoch_axis(int(frame["epoch"].max()), first=1)
        st.altair_chart(
            alt.Chart(frame, height=260, title="Validation accuracy by run")
            .mark_line(point=True)
            .encode(
                x=alt.X("epoch:Q", axis=alt.Axis(**axis), scale=alt.Scale(**scale)),
                # As a percentage: runs that all score the same give a one-value axis, which Vega
                # would otherwise label with six decimals ("0.709600").
                y=alt.Y("validation accuracy:Q", scale=alt.Scale(zero=False), axis=alt.Axis(format=".1%")),
                color="run:N",
                tooltip=["run", "epoch", alt.Tooltip("validation accuracy:Q", format=".2%")],
            ),
            width="stretch",
        )


def show_interrupted() -> None:
    """The person's runs a server restart cut off: what they were, and a way to dismiss them."""
    data = session()
    cut = [s for s in data.stored if s.state == "interrupted"]
    if not cut:
        return
    described = ", ".join(
        f"run {s.number} ({s.record.config.get('arch', '?').upper()}, {s.record.config.get('epochs', '?')} epochs)"
        for s in cut
    )
    st.warning(
        f"The server restarted while training {described}: that training was cut off and "
        "its model is lost. Press **Train** to run it again."
    )
    if st.button("Dismiss", key="dismiss_interrupted"):
        for s in cut:
            data.store.delete_run(data.owner, s.number)
        st.rerun()
