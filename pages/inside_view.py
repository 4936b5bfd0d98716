"""The Draw page's "Inside the network" view: which pixels decided, and what each layer made of the drawing.

Layout only: :func:`core.inside.inside_view` makes every picture. The Draw
page imports this module only while its toggle is on, so a closed view
costs nothing.
"""

from __future__ import annotations

import contextlib

import numpy as np
import streamlit as st

from pages.widgets import show_pixels

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
    st.markdown("**Which pixels decided** — red: ink that pushed the model towards that digit, blue: away from it "
                "(gradient × input, one colour scale for both)")
    cols = st.columns(3)  # a third of the page is wider than the 224-pixel pictures: never shrunk
    show_pixels(png_bytes(view.overlays[0]), f"for {top}, the answer ({p_top:.0%})", where=cols[0])
    show_pixels(png_bytes(view.overlays[1]), f"for {second}, the runner-up ({p_second:.1%})", where=cols[1])
    if view.problem:
        st.info(view.problem)
        return
    st.markdown("**What each layer sees** — one small image per filter, brighter = a stronger response "
                "(one brightness scale per layer); a dense layer shows one square per unit")
    for layer in view.layers:
        show_pixels(png_bytes(layer.picture), f"{layer.name} · {shape_label(layer.shape)}")
    if view.units:
        st.markdown(f"**The {len(view.units)} most active units of {view.units_layer}**, and the 784 input weights "
                    "each one looks at — red: ink there raises the unit, blue: lowers it")
        show_pixels([png_bytes(u.picture) for u in view.units],
                    [f"unit {u.unit} · {u.activation:.2f}" for u in view.units])
