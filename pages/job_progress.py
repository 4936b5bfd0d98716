"""A training job's place in the queue or its progress bar: what the Train page and My drawings' teaching share."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.jobs import JobState

__all__ = ["show_queue_or_progress"]


def show_queue_or_progress(job: Any, snap: Any, cancel_key: str, starting: str) -> bool:
    """While queued, the place in the queue and a Cancel button; once running, the progress bar.

    Args:
        job: The ``core.jobs.TrainingJob``.
        snap: Its ``snapshot()``.
        cancel_key: The Cancel button's key.
        starting: The progress bar's text before the first report (e.g. "Starting… (compiling the model)").

    Returns:
        True once the job runs (its progress is shown), False while it is queued.
    """
    if snap.state is JobState.QUEUED and snap.queue_position != 0:  # (0: admitted, being handed to a trainer)
        room = f"up to {snap.limit} at once" if snap.limit else "no trainer has joined the cluster yet"
        st.info(
            f"Waiting for a free trainer: you are **#{snap.queue_position or 1}** in the queue "
            f"({snap.running} training now, {room}).",
            icon=":material/hourglass_top:",
        )
        if st.button("Cancel", key=cancel_key):
            job.stop()
        return False
    latest = snap.latest
    if latest is None:
        handing = "Starting… (handing the run to a trainer)"
        st.progress(0.0, text=starting if snap.state is JobState.RUNNING else handing)
    else:
        eta = f" · about {snap.eta:.0f}s left" if snap.eta is not None else ""
        st.progress(
            snap.fraction,
            text=f"Epoch {latest.epoch + 1}/{latest.epochs} · batch {latest.batch}/{latest.batches}"
            f" · {snap.elapsed:.0f}s{eta}",
        )
    return True
