"""Draw: a canvas, what the model sees, and how sure it is about every digit."""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from core.images import BadImageError, decode_upload
from core.inference import predict_proba
from core.model_index import saved_models
from core.novelty import digit_doubt
from core.preprocess import ink_as_drawn, normalize, pixel_preview
from core.text import plain
from pages.correction_view import offer_correction
from pages.internals import canvas_script, phone_style, use_app_navigation
from pages.model_cache import active_model
from pages.presentation import presentation_control
from pages.state import session
from pages.widgets import show_pixels

use_app_navigation()

STEPS_TOGGLE = "How the app sees it"
INSIDE_TOGGLE = "Inside the network"
UNSURE_BELOW = 0.6  #: top confidence under which the page says the model is not sure
CANVAS_SIZE = 280

PROMPTS = {
    "empty": "Draw a digit (0–9) anywhere on the black canvas — big or small, the app will centre it.",
    "too_small": "That looks like a stray dot. Draw a whole digit.",
    "filled": "The canvas is almost entirely covered — clear it (the bin above the canvas) and draw a single digit.",
}
UPLOAD_PROMPTS = {
    "empty": "No digit found in this image: it looks blank or has too little contrast.",
    "too_small": "Only a tiny mark was found in this image. Use a photo where the digit is larger.",
    "filled": "This image is mostly ink. Use a photo of one digit on plain paper.",
}

st.title("Draw a digit")
presentation_control()  # ?present=1: a projector's layout
data = session()

# --- model picker ---------------------------------------------------------------
choices = {"default": "Bundled default model"}
choices.update({f"run:{r.number}": r.own_label for r in reversed(data.runs)})
choices.update({f"saved:{m.name}": f"Saved: {m.name}" for m in saved_models() if not m.is_default})
if data.active not in choices:
    data.active = "default"


def pick_model() -> None:
    data.active = st.session_state["draw_model"]


model, model_label, problem = active_model()  # may fall back to the default, changing data.active
st.session_state["draw_model"] = data.active  # so the picker always shows the model in use
st.selectbox("Model", list(choices), key="draw_model", format_func=choices.get, on_change=pick_model)
if problem:
    st.warning(problem)
if model is None:
    st.error("No model is available. Rebuild the bundled one (see the README) or train one on the Train page.")
    st.stop()

left, right = st.columns([1, 1], gap="large")

with left:
    source = st.radio("Input", ["Draw", "Upload a photo"], horizontal=True, label_visibility="collapsed")
    rgba, background, prompts = None, "dark", PROMPTS
    if source == "Draw":
        stroke = st.slider("Stroke width", 4, 40, 18, help="Any width works: the drawing is normalised.")
        canvas = st_canvas(
            stroke_width=stroke,
            stroke_color="#FFFFFF",
            background_color="#000000",
            height=CANVAS_SIZE,
            width=CANVAS_SIZE,
            drawing_mode="freedraw",
            return_image_data=True,
            key="draw_canvas",
        )
        strip = st.empty()  # the answer right under the canvas, shown on phones only (filled below)
        st.html(canvas_script(), unsafe_allow_javascript=True)
        st.html(phone_style())
        st.caption(
            "Above the canvas: :material/undo: undo, :material/redo: redo, :material/edit: edit (move or "
            "resize strokes; press it again to draw), and :material/delete: clears it. The digit is "
            "classified as each stroke ends."
        )
        rgba = canvas.image_data
    else:
        upload = st.file_uploader("Photo or scan of one digit (PNG or JPEG)", type=["png", "jpg", "jpeg"])
        prompts, background = UPLOAD_PROMPTS, "auto"
        if upload is None:
            st.info("Upload a photo of a single digit written on paper (dark on light or light on dark).")
        else:
            try:
                name = plain(upload.name)  # messages and captions are Markdown: the name must show as typed
                rgba = decode_upload(upload.getvalue(), name)
                st.image(rgba, caption=name, width=CANVAS_SIZE)
            except BadImageError as exc:
                st.error(str(exc))


def confidence_bars(probs: np.ndarray, highlight: bool = True) -> str:
    """Ten horizontal bars as HTML, the top one highlighted (unless ``highlight`` is False).

    Plain HTML costs microseconds per stroke; a chart library spends tens of
    milliseconds building and validating a spec, which adds up with a room of
    people drawing at once.
    """
    top = int(probs.argmax()) if highlight else -1
    rows = []
    for digit, p in enumerate(probs):
        colour = "#ff4b4b" if digit == top else "#7d8799"
        weight = "800" if digit == top else "400"
        rows.append(
            f"<div data-testid='confidence-{digit}' style='display:flex;align-items:center;gap:.6rem;margin:.18rem 0'>"
            f"<span style='width:1.2rem;font-weight:{weight};font-size:1.15rem;text-align:right'>{digit}</span>"
            f"<span style='flex:1;height:1.05rem;background:rgba(125,135,153,.18);border-radius:.2rem'>"
            f"<span style='display:block;height:100%;width:{p * 100:.1f}%;background:{colour};"
            "border-radius:.2rem'></span></span>"
            "<span style='width:3.6rem;text-align:right;font-variant-numeric:tabular-nums;"
            f"font-weight:{weight}'>{p:.1%}</span>"
            "</div>"
        )
    return "<div aria-label='confidence for each digit'>" + "".join(rows) + "</div>"


def result_strip(probs: np.ndarray | None) -> str:
    """The compact answer under the canvas on a phone: the digit and the top three confidences.

    A phone stacks the result column under the canvas, out of view while drawing;
    this strip keeps the answer on the same screen (``phone_layout.css`` shows it
    below 640 px only). Without a digit yet it holds a hint, at the same height.
    """
    if probs is None:
        return "<div class='ds-strip'><span class='ds-hint'>Draw a digit: the answer shows here.</span></div>"
    order = np.argsort(-probs)[:3]
    others = "".join(f"<span class='ds-alt'>{int(d)} · {probs[d]:.0%}</span>" for d in order[1:])
    return (
        f"<div class='ds-strip' aria-label='prediction'><span data-testid='prediction' class='ds-digit'>"
        f"{int(order[0])}</span><span class='ds-top'>{probs[order[0]]:.1%}</span>{others}</div>"
    )


def show_prediction(probs: np.ndarray, doubt: str | None = None) -> None:
    """The big answer, the unsure (or not-a-digit) message, and the bars."""
    order = np.argsort(-probs)
    top, second = int(order[0]), int(order[1])
    st.markdown(
        f"<div data-testid='prediction' style='font-size:6rem;font-weight:800;line-height:1'>{top}</div>",
        unsafe_allow_html=True,
    )
    if doubt:
        st.warning(f"{doubt} The model still has to name a digit: **{top}** ({probs[top]:.0%}).")
    elif probs[top] < UNSURE_BELOW:
        st.warning(
            f"Not sure — it looks most like a **{top}** ({probs[top]:.0%}), "
            f"but it could be a **{second}** ({probs[second]:.0%})."
        )
    else:
        st.markdown(f"**{probs[top]:.1%}** sure it is a **{top}**.")
    st.markdown(confidence_bars(probs), unsafe_allow_html=True)


with right:
    result = normalize(rgba, background) if rgba is not None else None
    if result is None or result.image is None:
        if source == "Draw":
            strip.markdown(result_strip(None), unsafe_allow_html=True)
        if source == "Draw" or rgba is not None:
            st.info(prompts[result.reason if result is not None else "empty"])
        if source == "Draw":
            # The result's elements, empty: the layout does not jump at the first stroke, and
            # the browser loads the code for these elements now rather than on the first digit.
            st.markdown(confidence_bars(np.zeros(10), highlight=False), unsafe_allow_html=True)
            show_pixels(
                pixel_preview(np.zeros((28, 28), np.float32), 8),
                "What the model will receive: 28×28, centred like MNIST",
            )
    else:
        probs = predict_proba(model, result.image)[0]
        if source == "Draw":
            strip.markdown(result_strip(probs), unsafe_allow_html=True)
        show_prediction(probs, digit_doubt(ink_as_drawn(result, rgba, background), probs))
        offer_correction(result.image, rgba, background, probs, model_label)
        show_pixels(pixel_preview(result.image, 8), "What the model receives: 28×28, centred like MNIST")
        st.caption(f"Model: {model_label}")

if result is not None and result.image is not None:
    # A toggle, not an expander: the step images are made only when someone asks.
    if st.toggle(STEPS_TOGGLE, key="show_steps"):
        from pages.draw_steps import show_steps  # loaded, and drawn, only while the view is open

        show_steps(result, rgba, probs, model, background)
    if st.toggle(INSIDE_TOGGLE, key="show_inside"):
        from pages.inside_view import show_inside  # loaded, and computed, only while the view is open

        show_inside(model, result.image, probs)
elif source == "Draw":
    st.toggle(STEPS_TOGGLE, key="show_steps", disabled=True, help="Draw a digit first.")
    st.toggle(INSIDE_TOGGLE, key="show_inside", disabled=True, help="Draw a digit first.")
