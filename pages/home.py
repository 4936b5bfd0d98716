"""Home: what Digit Studio does, which model is active, and what MNIST looks like."""

import numpy as np
import streamlit as st

from pages.internals import use_app_navigation
from pages.model_cache import active_model
from pages.state import session
from pages.widgets import show_pixels

use_app_navigation()

st.title("Digit Studio")
st.markdown(
    "Train a neural network to read handwritten digits, watching it learn live — "
    "then **draw a digit** and see what the network sees and how sure it is."
)
st.markdown("Go to **Train** to teach a model with your own settings, or straight to **Draw** to try the bundled one.")

model, label, problem = active_model()
if problem:
    st.warning(problem)
runs = session().runs
st.info(f"**Active model:** {label}" + (f" · you have {len(runs)} training run(s)" if runs else ""))

c1, c2 = st.columns(2)
c1.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
c2.page_link("pages/draw.py", label="Draw a digit", icon=":material/draw:")

st.subheader("What the network learns from: MNIST")


@st.cache_data(show_spinner=False)
def sample_digits(count: int = 30, seed: int = 7) -> tuple[list[np.ndarray], list[str]] | str:
    """A few training digits and their labels, or the reason MNIST is unavailable."""
    from core.data import MnistUnavailableError, load_mnist

    try:
        (x, y), _ = load_mnist()
    except MnistUnavailableError as exc:
        return str(exc)
    picks = np.random.default_rng(seed).choice(len(x), count, replace=False)
    return [np.asarray(x[i]) for i in picks], [f"label {int(y[i])}" for i in picks]


samples = sample_digits()
if isinstance(samples, str):
    st.info("MNIST is not available on this machine, so no samples can be shown. " + samples)
else:
    st.caption("70,000 digits written by Census Bureau staff and students, each 28×28 pixels, white on black.")
    show_pixels(samples[0], samples[1], width=64)
