"""The Draw page's "Inside the network" view: which pixels decided, and what each layer made of the drawing.

Layout only: :func:`core.inside.inside_view` makes every picture. The Draw
page imports this module only while its toggle is on, so a closed view
costs nothing.
"""

from __future__ import annotations

import base64
import contextlib
import html

import numpy as np
import streamlit as st

SPINNER = "Looking inside the model (the first time for a model takes a few seconds)…"


def show_inside(model, image: np.ndarray, probs: np.ndarray) -> None:
    """The view for one drawing: saliency of the answer and the runner-up, each layer's activations.

    Args:
        model: The model that read the drawing.
        image: The (28, 28) image it read.
        probs: Its (10,) probabilities for it.
    """
    from core.explain import UnsupportedModel, is_prepared
    from core.explain_images import png_bytes
    from core.inside import inside_view, shape_label

    try:
        # The spinner only the first time: it starts a thread and sends a message per use.
        with contextlib.nullcontext() if is_prepared(model) else st.spinner(SPINNER):
            view = inside_view(model, image, probs)
    except UnsupportedModel as exc:
        st.info(f"This model cannot be looked inside: {exc}")
        return
    (top, second), (p_top, p_second) = view.digits, view.confidences
    st.markdown(
        "**Which pixels decided** — red: ink that pushed the model towards that digit, blue: away from it "
        "(gradient × input, one colour scale for both)"
    )
    st.markdown(
        figures(
            [
                (png_bytes(view.overlays[0]), f"for {top}, the answer ({p_top:.0%})"),
                (png_bytes(view.overlays[1]), f"for {second}, the runner-up ({p_second:.1%})"),
            ],
            gap=2,
        ),
        unsafe_allow_html=True,
    )
    if view.problem:
        st.info(view.problem)
        return
    st.markdown(
        "**What each layer sees** — one small image per filter, brighter = a stronger response "
        "(one brightness scale per layer); a dense layer shows one square per unit"
    )
    st.markdown(
        figures([(png_bytes(layer.picture), f"{layer.name} · {shape_label(layer.shape)}") for layer in view.layers]),
        unsafe_allow_html=True,
    )
    if view.units:
        st.markdown(
            f"**The {len(view.units)} most active units of {view.units_layer}**, and the 784 input weights "
            "each one looks at — red: ink there raises the unit, blue: lowers it"
        )
        st.markdown(
            figures([(png_bytes(u.picture), f"unit {u.unit} · {u.activation:.2f}") for u in view.units]),
            unsafe_allow_html=True,
        )


def figures(pictures: list[tuple[bytes, str]], gap: float = 1.0) -> str:
    """PNG pictures with captions as one block of HTML, each picture inline as a data URI.

    One element per group instead of one ``st.image`` per picture: the browser
    fetches nothing more, and the server has no media files to store and serve
    for every stroke (with ``st.image`` the open view cost the server about
    three times as much per stroke; ``python -m bench.browser_cost --inside``).
    PNG, so lossless, and shown at its own size (never smoothed) unless the page is narrower.

    Args:
        pictures: ``(PNG bytes, caption)`` pairs.
        gap: Space between the pictures, in rem.

    Returns:
        HTML for ``st.markdown(..., unsafe_allow_html=True)``.
    """
    cells = "".join(
        f"<figure style='margin:0;text-align:center'><img src='data:image/png;base64,{base64.b64encode(data).decode()}'"
        f" alt='{html.escape(caption, quote=True)}' style='max-width:100%'>"
        f"<figcaption style='font-size:.875rem;opacity:.6'>{html.escape(caption)}</figcaption></figure>"
        for data, caption in pictures
    )
    return f"<div style='display:flex;flex-wrap:wrap;align-items:flex-start;gap:.5rem {gap}rem'>{cells}</div>"
