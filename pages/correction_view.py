"""The Draw page's "That's wrong — it was a …": one tap on the right digit keeps the drawing in the person's collection.

Ten digit buttons (``st.pills``: they wrap onto a second line on a phone, each
big enough for a thumb) under the model's answer, and "Save as a N" for when
the model was right. A tap stores what the page had when it was drawn: the
28×28 the model saw, the drawing at 64×64, the label, and what the model said
(``core.drawings``); the next run confirms it, or says why it was refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.contribution import as_uint8, canvas_thumbnail
from core.drawings import Drawings, Refused
from pages.state import session

__all__ = ["WRONG_LABEL", "offer_correction"]

WRONG_LABEL = "That's wrong — it was a …"
DIGITS_KEY, RIGHT_KEY = "correction_digit", "correction_right"
_PENDING, _OUTCOME = "correction_pending", "correction_outcome"


@dataclass(frozen=True)
class _Pending:
    """What the page showed: the drawing, what the model saw and said (kept for the tap's callback)."""

    image: np.ndarray
    drawing: np.ndarray
    background: str
    predicted: int
    confidence: float
    model: str


def _keep(label: int) -> None:
    """Store the shown drawing with ``label``; leave the outcome for the next run to show."""
    pending: _Pending | None = st.session_state.get(_PENDING)
    if pending is None:
        return
    data = session()
    try:
        Drawings(data.store).add(
            data.owner,
            as_uint8(pending.image),
            canvas_thumbnail(pending.drawing, pending.background),
            label,
            pending.predicted,
            pending.confidence,
            pending.model,
        )
    except Refused as exc:
        st.session_state[_OUTCOME] = ("refused", str(exc))
        return
    count = Drawings(data.store).count(data.owner)
    st.session_state[_OUTCOME] = ("saved", f"Saved as a **{label}** in My drawings ({count} so far).")


def _tapped() -> None:
    label = st.session_state.get(DIGITS_KEY)
    st.session_state[DIGITS_KEY] = None  # ready for the next drawing
    if label is not None:
        _keep(int(label))


def offer_correction(
    image: np.ndarray, drawing: np.ndarray, background: str, probs: np.ndarray, model_label: str
) -> None:
    """The ten digit buttons and "Save as a N", and the outcome of the last tap.

    Args:
        image: The (28, 28) float image the model saw.
        drawing: The canvas (or photo) it came from.
        background: Its background style (as given to ``core.preprocess.normalize``).
        probs: The model's (10,) probabilities.
        model_label: Which model answered.
    """
    top = int(np.argmax(probs))
    st.session_state[_PENDING] = _Pending(image, drawing, background, top, float(probs[top]), model_label)
    outcome = st.session_state.pop(_OUTCOME, None)
    st.pills(WRONG_LABEL, list(range(10)), key=DIGITS_KEY, on_change=_tapped, help="Keeps this drawing in My drawings.")
    st.button(
        f"Save as a {top}",
        key=RIGHT_KEY,
        icon=":material/bookmark_add:",
        on_click=_keep,
        args=(top,),
        help="The model is right: keep this drawing in My drawings too.",
    )
    if outcome is not None:
        kind, text = outcome
        if kind == "saved":
            st.success(text, icon=":material/check_circle:")
            st.page_link("pages/my_drawings.py", label="My drawings", icon=":material/photo_library:")
        else:
            st.warning(text, icon=":material/block:")
