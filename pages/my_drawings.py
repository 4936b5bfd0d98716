"""My drawings: the person's labelled drawings, what the current model says of each, and teaching it their hand.

A page of its own (not a view inside Draw): the Draw page stays one screen on
a phone, and the collection with its fine-tuning has room here. "The current
model" is the Draw page's choice, so a taught model picked there is scored here.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.drawings import Drawing, Drawings
from core.inference import predict_proba
from core.rooms import open_rooms
from core.text import plain
from pages.internals import use_app_navigation
from pages.model_cache import active_model
from pages.state import session, show_notice
from pages.teach_view import teach_section

use_app_navigation()

#: Drawings per page of the gallery, and per row.
PAGE_SIZE, PER_ROW = 24, 4

st.title("My drawings")
data = session()
collection = Drawings(data.store)
show_notice()


def delete(drawing_id: int) -> None:
    """A delete button's callback."""
    if collection.delete(data.owner, drawing_id):
        withdrawn = open_rooms().drawings.unshare(data.owner, [str(drawing_id)])  # and from the room it was shared with
        data.notice = "Drawing deleted" + (" (and withdrawn from the room)." if withdrawn else ".")


drawings = collection.of(data.owner)
model, model_label, problem = active_model()
if problem:
    st.warning(problem)
if not drawings:
    st.info(
        "No drawings yet. On the Draw page, when the model reads your digit wrong, tap the right digit under "
        "“That's wrong — it was a …”: the drawing is kept here with its label. Once you have a few, "
        "you can teach the model your handwriting.",
        icon=":material/info:",
    )
    st.page_link("pages/draw.py", label="Draw a digit", icon=":material/draw:")

images = np.stack([d.image for d in drawings]) if drawings else np.zeros((0, 28, 28), np.uint8)
labels = np.asarray([d.label for d in drawings], np.int64)
answers = predict_proba(model, images.astype(np.float32) / 255.0).argmax(1) if model is not None and drawings else None

if drawings:
    c1, c2 = st.columns(2)
    c1.metric("Drawings", len(drawings))
    if answers is not None:
        right = answers == labels
        c2.metric("The current model reads", f"{right.mean():.0%}", help=f"{int(right.sum())} of {len(right)} right")
    st.caption(
        f"Current model: {plain(model_label, limit=80)} (chosen on the Draw page). Drawings a model was "
        "taught on count here too; the held-out figures under “Teach it my handwriting” are the fair test."
    )

teach_section(model, model_label, images.astype(np.uint8), labels.astype(np.uint8))


def cell(drawing: Drawing, answer: int | None) -> None:
    """One drawing: the picture, its label and the current model's answer, a delete button."""
    said = "" if answer is None else (" · read right" if answer == drawing.label else f" · read as {answer}")
    st.image(drawing.canvas, caption=f"a {drawing.label}{said}", width="stretch", output_format="PNG")
    st.button(
        "Delete",
        key=f"delete_drawing_{drawing.id}",
        icon=":material/delete:",
        on_click=delete,
        args=(drawing.id,),
        help="Delete this drawing",
    )


if drawings:
    st.subheader("Your drawings")
    newest = list(reversed(range(len(drawings))))
    pages = max(1, -(-len(newest) // PAGE_SIZE))
    page = 1
    if pages > 1:
        page = int(st.number_input("Page", min_value=1, max_value=pages, value=1, step=1, key="drawings_page"))
    shown = newest[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    for row in range(0, len(shown), PER_ROW):
        for column, index in zip(st.columns(PER_ROW), shown[row : row + PER_ROW], strict=False):
            with column:
                cell(drawings[index], None if answers is None else int(answers[index]))
