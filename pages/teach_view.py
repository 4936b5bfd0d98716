"""My drawings' "Teach it my handwriting": fine-tune the Draw page's model on the person's drawings.

The fine-tune is a training of the person like a Train page run (the
process-wide registry, the queue, a Dask task, Stop; ``core.finetune``
says what it trains on), so it shows here live, on the Train page too, and
ends as one of their runs, kept across reloads and offered on the Draw page.
Its report compares the model before and after on the held-out drawings and
on the MNIST test set.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core.finetune import HOLD_OUT_EVERY, MIN_DRAWINGS, FineTune, FineTuneReport, StartModel, finetune_config
from core.registry import Busy
from core.runs import Run
from core.text import plain
from pages.internals import session_alive_check
from pages.job_progress import show_queue_or_progress
from pages.state import session

__all__ = ["TEACH_LABEL", "report_table", "teach_section"]

TEACH_LABEL = "Teach it my handwriting"
#: Seconds between refreshes of the progress.
LIVE_EVERY = 1.0
_ERROR = "teach_error"


def _is_finetune(training: Any) -> bool:
    return training is not None and getattr(training.job, "finetune", None) is not None


def _start(model: Any, model_label: str, images: np.ndarray, labels: np.ndarray) -> None:
    """The button's work: start the fine-tune as the person's training."""
    data = session()
    spec = FineTune(StartModel.of(model), images, labels, base=model_label)
    config = finetune_config(model, len(images))
    try:
        data.trainings.start(data.owner, config, is_alive=session_alive_check(), finetune=spec)
    except Busy:
        st.session_state[_ERROR] = "A training of yours is already running (in another tab?): wait for it to end."


def _collect_finished() -> None:
    """Say once how the person's fine-tune ended (its run is in the store already)."""
    data = session()
    training = data.training
    if not _is_finetune(training) or training.running or training.key in data.seen:
        return
    data.seen.add(training.key)
    if training.outcome == "failed":
        st.session_state[_ERROR] = training.error
    elif training.outcome == "cancelled":
        data.notice = "Teaching was cancelled before it started."


@st.fragment(run_every=LIVE_EVERY)
def _live() -> None:
    data = session()
    job, training = data.job, data.training
    if job is None or training is None:
        return
    if not training.running:
        st.rerun(scope="app")
    snap = job.snapshot()
    if snap.state.finished:
        st.progress(1.0, text="Scoring and saving the model…")
        return
    if not show_queue_or_progress(job, snap, "teach_cancel", "Starting… (scoring the model as it is)"):
        return
    if job.stop_signal.is_set():
        st.caption("Stopping…")
    elif st.button("Stop", key="teach_stop", type="primary", icon=":material/stop:"):
        job.stop()


def _latest_taught() -> Run | None:
    """The person's latest fine-tuned run, if any."""
    return next((r for r in reversed(session().runs) if getattr(r.result, "finetune", None)), None)


def report_table(report: FineTuneReport) -> pd.DataFrame:
    """Before and after, as a table: one row per test set, one column per model."""
    rows = {
        f"your held-out drawings ({report.held_out})": ("held_out", 1),
        "MNIST test set (10,000)": ("mnist", 2),
    }
    return pd.DataFrame(
        {
            "before": [f"{report.before.get(key, float('nan')):.{places}%}" for key, places in rows.values()],
            "after": [f"{report.after.get(key, float('nan')):.{places}%}" for key, places in rows.values()],
        },
        index=list(rows),
    )


def _show_report(run: Run) -> None:
    report = FineTuneReport.from_dict(run.result.finetune)
    base = plain(report.base or "a model", limit=80)
    st.markdown(f"**{run.label}**, from {base}, taught on {report.drawings} of your drawings:")
    st.table(report_table(report))
    st.caption(
        "Held-out drawings were never trained on (every 4th of yours). The MNIST test set shows what the "
        "model kept: a drop there is what it forgot while learning your handwriting."
    )
    data = session()
    if data.active == f"run:{run.number}":
        st.caption("The Draw page uses this model.")
    elif st.button("Use it on the Draw page", key="teach_use", icon=":material/draw:"):
        data.active = f"run:{run.number}"
        st.rerun()


def teach_section(model: Any, model_label: str, images: np.ndarray, labels: np.ndarray) -> None:
    """The whole section: what it does, the button (or why not yet), the progress, the last result.

    Args:
        model: The Draw page's current model (the one to fine-tune).
        model_label: Its name.
        images: The person's drawings, (N, 28, 28) uint8, oldest first.
        labels: Their digits.
    """
    data = session()
    _collect_finished()
    st.subheader(TEACH_LABEL)
    st.markdown(
        f"Fine-tunes **{plain(model_label, limit=80)}** on your drawings mixed with MNIST digits "
        f"(with random distortions), in seconds. Every {HOLD_OUT_EVERY}th drawing is held out to test the "
        "result fairly."
    )
    training = data.training
    busy = training is not None and training.running
    enough = len(images) >= MIN_DRAWINGS
    if not enough:
        st.info(
            f"Teaching needs at least {MIN_DRAWINGS} drawings; you have {len(images)}. On the Draw page, tap the "
            "right digit under “That's wrong — it was a …” (or “Save as a …” when the model is right) to add more.",
            icon=":material/info:",
        )
    if st.button(
        TEACH_LABEL,
        key="teach_start",
        type="primary",
        icon=":material/school:",
        disabled=busy or not enough or model is None,
    ):
        _start(model, model_label, images, labels)
        st.rerun()
    if busy and not _is_finetune(training):
        st.info("A training of yours is running (Train page): teaching can start once it ends.")
    if data.job is not None and _is_finetune(data.training):
        _live()
    if st.session_state.get(_ERROR):
        st.error(st.session_state[_ERROR])
        if st.button("Dismiss", key="teach_dismiss"):
            del st.session_state[_ERROR]
            st.rerun()
    taught = _latest_taught()
    if taught is not None and not busy:
        _show_report(taught)
