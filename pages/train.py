"""Train: choose settings, watch the network learn live, stop it, study the results."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import streamlit as st

from core.config import APP_DEFAULTS, TrainConfig
from core.estimate import estimator
from core.registry import Busy
from core.text import plain
from pages.internals import session_alive_check, use_app_navigation
from pages.job_progress import show_queue_or_progress
from pages.state import SETTINGS_PREF, run_by_number, session, show_notice
from pages.train_lock import is_locked, label, lock_picker, locked_query, locked_values, read_lock, restore, show_lock
from pages.train_results import show_charts, show_comparison, show_interrupted, show_results

use_app_navigation()

BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
#: Every training image (what ``train_size=None`` trains on), the last choice of the subset slider.
ALL_IMAGES = replace(APP_DEFAULTS, train_size=None).train_images
SUBSETS = {5000: "5k · seconds", 20000: "20k", ALL_IMAGES: f"all {ALL_IMAGES // 1000}k"}
SHARED_FIELDS = ("arch", "epochs", "batch_size", "dropout", "learning_rate", "augment", "train_size", "seed")
KEYS = {name: f"cfg_{name}" for name in SHARED_FIELDS}
#: A copy of the settings: Streamlit drops widget values while another page is shown.
KEPT = "cfg_kept"
#: The form's button (its icon is a separate Material icon, so the label is the word alone).
TRAIN_LABEL = "Train"
ESTIMATE_LABEL = "Estimate the time"

st.title("Train a model")
data = session()


# --- data availability --------------------------------------------------------------
@st.cache_data(show_spinner="Loading MNIST…")
def mnist_problem() -> str | None:
    """None when MNIST loads, else the explanation of how to provide it."""
    from core.data import MnistUnavailableError, load_mnist

    try:
        load_mnist()
    except MnistUnavailableError as exc:
        return str(exc)
    return None


problem = mnist_problem()
if problem:
    st.error("Training needs the MNIST data set, which is not available on this machine.")
    st.markdown(problem)
    st.markdown("The **Draw** page works without it, using the bundled model.")
    if st.button("Check again"):
        mnist_problem.clear()
        st.rerun()
    st.stop()


# --- settings: URL query parameters -> widget defaults -------------------------------------
def settings_from_url() -> tuple[TrainConfig, list[str]]:
    params = {k: v for k, v in st.query_params.to_dict().items() if k in SHARED_FIELDS}
    return TrainConfig.from_strings(params, base=APP_DEFAULTS)


def widget_values(config: TrainConfig) -> dict:
    """The widgets' session-state values for ``config``."""
    return {key: config.train_images if name == "train_size" else getattr(config, name) for name, key in KEYS.items()}


def load_widgets(config: TrainConfig) -> None:
    for key, value in widget_values(config).items():
        st.session_state[key] = value


def last_settings() -> TrainConfig:
    """The settings this person last trained with (stored), or the defaults."""
    stored = data.store.pref(data.owner, SETTINGS_PREF)
    return TrainConfig.from_strings(stored, base=APP_DEFAULTS)[0] if isinstance(stored, dict) else APP_DEFAULTS


if "cfg_loaded" not in st.session_state:
    # A link's settings first (it was shared on purpose), else the person's own last ones.
    from_link = any(k in (*SHARED_FIELDS, "lock") for k in st.query_params.to_dict())
    url_config, url_problems = settings_from_url() if from_link else (last_settings(), [])
    load_widgets(url_config)
    st.session_state["cfg_loaded"] = True
    for message in url_problems:
        st.warning(plain(message, limit=200) + " — using the default instead.")
    read_lock(SHARED_FIELDS, {name: widget_values(url_config)[KEYS[name]] for name in SHARED_FIELDS})
else:
    # Back from another page: restore the settings whose widget values Streamlit dropped.
    for key, value in {**widget_values(APP_DEFAULTS), **st.session_state.get(KEPT, {})}.items():
        if key not in st.session_state:
            st.session_state[key] = value
restore(KEYS)  # a presenter's link locked some controls: they keep its values


def reset_settings() -> None:
    """The Reset button's callback: default settings (locked ones kept), and a URL without settings."""
    load_widgets(APP_DEFAULTS)
    restore(KEYS)
    st.query_params.clear()
    if locked_values():
        st.query_params.from_dict(locked_query(share_query(current_config())))


def with_option(options: list, value) -> list:
    """Options for a select slider, including a (valid) value that came from a link."""
    return sorted(set(options) | {value})


def current_config() -> TrainConfig:
    s = st.session_state
    subset = int(s[KEYS["train_size"]])
    return replace(
        APP_DEFAULTS,
        arch=s[KEYS["arch"]],
        epochs=int(s[KEYS["epochs"]]),
        batch_size=int(s[KEYS["batch_size"]]),
        dropout=float(s[KEYS["dropout"]]),
        learning_rate=float(s[KEYS["learning_rate"]]),
        augment=bool(s[KEYS["augment"]]),
        seed=int(s[KEYS["seed"]]),
        train_size=None if subset >= ALL_IMAGES else subset,
    )


def share_query(config: TrainConfig) -> dict[str, str]:
    """The query string of a link to these settings: the shared fields' text form."""
    strings = config.to_strings()
    return {name: strings[name] for name in SHARED_FIELDS}


@st.cache_data(show_spinner=False, max_entries=16)
def summary_of(arch: str, dropout: float, width: int) -> tuple[str, int]:
    from core.model import build_model, model_summary

    model = build_model(arch, dropout, width=width)
    return model_summary(model), int(model.count_params())


training = data.training
busy = training is not None and training.running

# --- the form -------------------------------------------------------------------------
settings_col, info_col = st.columns([3, 2], gap="large")
with settings_col:
    show_lock()
    st.radio(
        label("Architecture", "arch"),
        ["mlp", "cnn"],
        key=KEYS["arch"],
        disabled=is_locked("arch"),
        horizontal=True,
        format_func={"mlp": "Dense network (MLP)", "cnn": "Convolutional network (CNN)"}.get,
    )
    with st.form("settings"):
        c1, c2 = st.columns(2)
        c1.slider(
            label("Epochs", "epochs"),
            *TrainConfig.LIMITS["epochs"],
            key=KEYS["epochs"],
            disabled=is_locked("epochs"),
            help="Passes over the training images.",
        )
        c2.select_slider(
            label("Batch size", "batch_size"),
            with_option(BATCH_SIZES, st.session_state[KEYS["batch_size"]]),
            key=KEYS["batch_size"],
            disabled=is_locked("batch_size"),
            help="Images per weight update.",
        )
        c1.slider(
            label("Dropout", "dropout"),
            *TrainConfig.LIMITS["dropout"],
            step=0.05,
            key=KEYS["dropout"],
            disabled=is_locked("dropout"),
            help="Fraction of units switched off at random while training (fights overfitting).",
        )
        c2.select_slider(
            label("Learning rate", "learning_rate"),
            with_option(LEARNING_RATES, st.session_state[KEYS["learning_rate"]]),
            key=KEYS["learning_rate"],
            disabled=is_locked("learning_rate"),
            format_func=lambda v: f"{v:g}",
        )
        c1.select_slider(
            label("Training images", "train_size"),
            with_option(list(SUBSETS), st.session_state[KEYS["train_size"]]),
            key=KEYS["train_size"],
            disabled=is_locked("train_size"),
            format_func=lambda v: SUBSETS.get(v, f"{v:,}"),
            help="A small subset trains in seconds — good for a live demo.",
        )
        seeds = TrainConfig.LIMITS["seed"]
        c2.number_input(
            label("Random seed", "seed"),
            min_value=seeds[0],
            max_value=seeds[1],
            step=1,
            key=KEYS["seed"],
            disabled=is_locked("seed"),
        )
        c1.toggle(
            label("Augment", "augment"),
            key=KEYS["augment"],
            disabled=is_locked("augment"),
            help="Random rotations, shifts, zoom and stroke thickness: "
            "make the model robust to how people really draw.",
        )
        submitted = st.form_submit_button(
            TRAIN_LABEL, icon=":material/rocket_launch:", type="primary", disabled=busy, width="stretch"
        )
        # Applies the settings without training: the estimate beside the form follows them.
        st.form_submit_button(ESTIMATE_LABEL, icon=":material/timer:", width="stretch")
    b1, b2 = st.columns(2)
    # A callback: widget values can only be changed before the widgets are created.
    b1.button(
        "Reset to defaults", icon=":material/restart_alt:", width="stretch", disabled=busy, on_click=reset_settings
    )
    with b2.popover("Share these settings", icon=":material/link:", width="stretch"):
        lock = lock_picker(SHARED_FIELDS)
        query = urlencode(share_query(current_config()) | ({"lock": lock} if lock else {}))
        base = getattr(st.context, "url", None) or ""
        st.caption("Anyone opening this link gets these settings on the Train page:")
        st.code(f"{base.split('?')[0]}?{query}", language=None)
st.session_state[KEPT] = {key: st.session_state[key] for key in KEYS.values()}

with info_col:
    chosen = current_config()
    text, params = summary_of(chosen.arch, chosen.dropout, chosen.width)
    st.metric("Trainable parameters", f"{params:,}")
    guess = estimator.estimate(chosen)
    st.metric(
        "Estimated time",
        guess.text(),
        help="From pressing Train to the results, waiting in the queue not counted: "
        + (
            "measured on this machine, and refined by every run."
            if guess.measured
            else "not yet timed on this machine."
        ),
    )
    with st.expander("Layer summary", expanded=False):
        st.code(text, language=None)

if submitted and not busy:
    config = current_config()
    st.query_params.from_dict(locked_query(share_query(config)))
    data.store.set_pref(data.owner, SETTINGS_PREF, share_query(config))
    try:
        st.session_state["watching"] = data.trainings.start(data.owner, config, is_alive=session_alive_check()).key
    except Busy:
        st.session_state["last_error"] = "You are already training a model (in another tab?): wait for it to end."
    st.rerun()  # render the page again as busy: Train and Reset disabled, progress shown
elif busy and st.session_state.get("watching") != training.key:
    training.watch(session_alive_check())  # a reloaded tab: this session keeps the training alive now
    st.session_state["watching"] = training.key


# --- a run in progress ----------------------------------------------------------------
#: Seconds between refreshes of the live view (progress bar and charts). Each refresh costs
#: the browser a re-render of the page, whatever changed; once a second is as lively as a
#: chart needs, and a presenter's laptop showing this page often serves the app too
#: (python -m bench.browser_cost).
LIVE_EVERY = 1.0


def collect_finished() -> None:
    """Say how the person's training ended, once per session (its run is in the store already)."""
    training = data.training
    if training is None or training.running or training.key in data.seen:
        return
    data.seen.add(training.key)
    if training.outcome in ("done", "stopped"):
        st.session_state["results_run"] = training.number
        run = run_by_number(training.number)
        if training.outcome == "stopped" and run is not None:
            data.notice = (
                f"Stopped early after {run.result.epochs_completed:.2f} of {run.result.config.epochs} "
                "epochs; the model is kept as trained so far."
            )
    elif training.outcome == "failed":
        st.session_state["last_error"] = training.error
    elif training.outcome == "cancelled":
        data.notice = "Training was cancelled before it started."


@st.fragment(run_every=LIVE_EVERY)
def live_progress() -> None:
    job, training = data.job, data.training
    if job is None or training is None:  # (ended, and this session has said so)
        return
    if not training.running:
        st.rerun(scope="app")
    snap = job.snapshot()
    if snap.state.finished:
        st.progress(1.0, text="Saving the model…")
        return
    if not show_queue_or_progress(job, snap, "cancel_queued", "Starting… (compiling the model)"):
        return
    latest = snap.latest
    if job.stop_signal.is_set():
        st.caption("Stopping…")
    elif st.button("Stop", icon=":material/stop:", key="stop_training", type="primary"):
        job.stop()
    show_charts(snap.batches, snap.epochs, planned=latest.epochs if latest is not None else None)


collect_finished()
show_notice()  # after collecting, so a notice about the run that just ended shows at once
show_interrupted()
if data.job is not None:
    st.subheader("Training")
    live_progress()

if st.session_state.get("last_error"):
    st.error(st.session_state["last_error"])
    if st.button("Dismiss"):
        del st.session_state["last_error"]
        st.rerun()


# --- results ----------------------------------------------------------------------------
runs = data.runs
if runs:
    st.divider()
    st.subheader("Results")
    numbers = [r.number for r in reversed(runs)]
    if st.session_state.get("results_run") not in numbers:
        st.session_state["results_run"] = numbers[0]
    if len(numbers) > 1:
        labels = {r.number: r.label for r in runs}  # (not looked up in session state: AppTest-friendly)
        st.selectbox("Run", numbers, key="results_run", format_func=labels.get)
    show_results(run_by_number(st.session_state["results_run"]))
    if len(runs) > 1:
        st.subheader("Your runs compared")
        show_comparison(runs)
elif not busy:
    st.info(
        "Choose settings and press **Train**. Training runs in the background: you can watch it here, "
        "visit other pages, and come back."
    )
