"""Train: choose settings, watch the network learn live, stop it, study the results."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlencode

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.jobs import JobState, TrainingJob, loss_curve
from core.storage import MODELS_DIR, InvalidModelName, save_model, validate_name
from core.training import TrainConfig
from pages.common import (use_app_navigation, Run, run_by_number, session, session_alive_check, show_notice,
                          show_pixels)

use_app_navigation()

#: What a workshop starts from: a convnet that trains in about half a minute.
APP_DEFAULTS = TrainConfig(arch="cnn", epochs=3, batch_size=128, dropout=0.3, learning_rate=1e-3,
                           augment=False, seed=0, train_size=20000)
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
SUBSETS = {5000: "5k · seconds", 20000: "20k", 50000: "all 50k"}
SHARED_FIELDS = ("arch", "epochs", "batch_size", "dropout", "learning_rate", "augment", "train_size", "seed")
KEYS = {name: f"cfg_{name}" for name in SHARED_FIELDS}
#: A copy of the settings: Streamlit drops widget values while another page is shown.
KEPT = "cfg_kept"

st.title("🏋️ Train a model")
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
    return {key: 50000 if name == "train_size" and getattr(config, name) is None else getattr(config, name)
            for name, key in KEYS.items()}


def load_widgets(config: TrainConfig) -> None:
    for key, value in widget_values(config).items():
        st.session_state[key] = value


if "cfg_loaded" not in st.session_state:
    url_config, url_problems = settings_from_url()
    load_widgets(url_config)
    st.session_state["cfg_loaded"] = True
    for message in url_problems:
        st.warning(message + " — using the default instead.")
else:
    # Back from another page: restore the settings whose widget values Streamlit dropped.
    for key, value in {**widget_values(APP_DEFAULTS), **st.session_state.get(KEPT, {})}.items():
        if key not in st.session_state:
            st.session_state[key] = value


def reset_settings() -> None:
    """The Reset button's callback: default settings, and a URL without settings."""
    load_widgets(APP_DEFAULTS)
    st.query_params.clear()


def with_option(options: list, value) -> list:
    """Options for a select slider, including a (valid) value that came from a link."""
    return sorted(set(options) | {value})


def current_config() -> TrainConfig:
    s = st.session_state
    subset = int(s[KEYS["train_size"]])
    return TrainConfig(arch=s[KEYS["arch"]], epochs=int(s[KEYS["epochs"]]), batch_size=int(s[KEYS["batch_size"]]),
                       dropout=float(s[KEYS["dropout"]]), learning_rate=float(s[KEYS["learning_rate"]]),
                       augment=bool(s[KEYS["augment"]]), seed=int(s[KEYS["seed"]]),
                       train_size=None if subset >= 50000 else subset)


def share_query(config: TrainConfig) -> dict[str, str]:
    values = config.to_dict()
    values["train_size"] = "all" if config.train_size is None else config.train_size
    return {k: str(values[k]).lower() if isinstance(values[k], bool) else str(values[k]) for k in SHARED_FIELDS}


@st.cache_data(show_spinner=False, max_entries=16)
def summary_of(arch: str, dropout: float, width: int) -> tuple[str, int]:
    from core.model import build_model, model_summary

    model = build_model(arch, dropout, width=width)
    return model_summary(model), int(model.count_params())


job: TrainingJob | None = data.job
busy = job is not None and not job.state.finished

# --- the form -------------------------------------------------------------------------
settings_col, info_col = st.columns([3, 2], gap="large")
with settings_col:
    st.radio("Architecture", ["mlp", "cnn"], key=KEYS["arch"], horizontal=True,
             format_func={"mlp": "Dense network (MLP)", "cnn": "Convolutional network (CNN)"}.get)
    with st.form("settings"):
        c1, c2 = st.columns(2)
        c1.slider("Epochs", *TrainConfig.LIMITS["epochs"], key=KEYS["epochs"],
                  help="Passes over the training images.")
        c2.select_slider("Batch size", with_option(BATCH_SIZES, st.session_state[KEYS["batch_size"]]),
                         key=KEYS["batch_size"], help="Images per weight update.")
        c1.slider("Dropout", 0.0, 0.7, step=0.05, key=KEYS["dropout"],
                  help="Fraction of units switched off at random while training (fights overfitting).")
        c2.select_slider("Learning rate", with_option(LEARNING_RATES, st.session_state[KEYS["learning_rate"]]),
                         key=KEYS["learning_rate"], format_func=lambda v: f"{v:g}")
        c1.select_slider("Training images", with_option(list(SUBSETS), st.session_state[KEYS["train_size"]]),
                         key=KEYS["train_size"], format_func=lambda v: SUBSETS.get(v, f"{v:,}"),
                         help="A small subset trains in seconds — good for a live demo.")
        c2.number_input("Random seed", min_value=0, max_value=2**31 - 1, step=1, key=KEYS["seed"])
        c1.toggle("Augment", key=KEYS["augment"],
                  help="Random rotations, shifts, zoom and stroke thickness: make the model robust to how people really draw.")
        submitted = st.form_submit_button("🚀 Train", type="primary", disabled=busy, width="stretch")
    b1, b2 = st.columns(2)
    # A callback: widget values can only be changed before the widgets are created.
    b1.button("↺ Reset to defaults", width="stretch", disabled=busy, on_click=reset_settings)
    with b2.popover("🔗 Share these settings", width="stretch"):
        query = urlencode(share_query(current_config()))
        base = getattr(st.context, "url", None) or ""
        st.caption("Anyone opening this link gets these settings on the Train page:")
        st.code(f"{base.split('?')[0]}?{query}", language=None)
st.session_state[KEPT] = {key: st.session_state[key] for key in KEYS.values()}

with info_col:
    chosen = current_config()
    text, params = summary_of(chosen.arch, chosen.dropout, chosen.width)
    st.metric("Trainable parameters", f"{params:,}")
    with st.expander("Layer summary", expanded=False):
        st.code(text, language=None)

if submitted and not busy:
    config = current_config()
    st.query_params.from_dict(share_query(config))
    data.job = TrainingJob(config, is_alive=session_alive_check()).start()
    st.rerun()  # render the page again as busy: Train and Reset disabled, progress shown


# --- charts ---------------------------------------------------------------------------
SERIES_COLOURS = {"training (live)": "#9aa5b8", "training (epoch)": "#1f77b4", "validation": "#ff4b4b"}
#: Seconds between refreshes of the live view (progress bar and charts). Each refresh costs
#: the browser a re-render of the page, whatever changed; once a second is as lively as a
#: chart needs, and a presenter's laptop showing this page often serves the app too
#: (python -m bench.browser_cost).
LIVE_EVERY = 1.0
#: Points of the per-batch curve drawn at most; a long run's curve is thinned evenly.
LIVE_POINTS = 120


def metric_frame(batches, epochs, key: str) -> pd.DataFrame:
    """Long-form data for one chart: the live per-batch curve and the per-epoch points."""
    x, y = loss_curve(batches, key, max_points=LIVE_POINTS)
    frames = [pd.DataFrame({"epoch": x, "value": y, "series": "training (live)"})]
    if epochs:
        ep = np.array([e.epoch + (1.0 if e.complete else 0.0) for e in epochs], dtype=float)
        frames.append(pd.DataFrame({"epoch": ep, "value": [getattr(e, key) for e in epochs], "series": "training (epoch)"}))
        frames.append(pd.DataFrame({"epoch": ep, "value": [getattr(e, f"val_{key}") for e in epochs], "series": "validation"}))
    return pd.concat(frames, ignore_index=True).dropna()


def metric_spec(key: str, title: str) -> dict:
    """A Vega-Lite spec written out directly: it is rendered every second while training,
    and a plain dict skips the schema validation a chart library would repeat every time.
    Lines for every series, symbols only on the few per-epoch points (not the live curve's)."""
    return {
        # fit-x: the width follows the column, 240 px is the plot's own height (Streamlit's default
        # "fit" squeezes the plot into 240 px together with the title, axes and legend).
        "title": title, "height": 240, "autosize": {"type": "fit-x", "contains": "padding"},
        "encoding": {
            "x": {"field": "epoch", "type": "quantitative", "title": "epoch"},
            "y": {"field": "value", "type": "quantitative", "title": key, "scale": {"zero": False}},
            "color": {"field": "series", "type": "nominal", "legend": {"orient": "bottom", "title": None},
                      "scale": {"domain": list(SERIES_COLOURS), "range": list(SERIES_COLOURS.values())}},
        },
        "layer": [
            {"mark": {"type": "line"}},
            {"mark": {"type": "point", "filled": True, "size": 40, "opacity": 1},
             "transform": [{"filter": "datum.series !== 'training (live)'"}],
             "encoding": {"tooltip": [{"field": "series"}, {"field": "epoch", "format": ".2f", "type": "quantitative"},
                                      {"field": "value", "format": ".4f", "type": "quantitative"}]}},
        ],
    }


def show_charts(batches, epochs) -> None:
    c1, c2 = st.columns(2)
    c1.vega_lite_chart(metric_frame(batches, epochs, "loss"), metric_spec("loss", "Loss"), width="stretch")
    c2.vega_lite_chart(metric_frame(batches, epochs, "accuracy"), metric_spec("accuracy", "Accuracy"), width="stretch")


# --- a run in progress ----------------------------------------------------------------
def collect_finished() -> None:
    """Move a finished job into this session's runs (once)."""
    job = data.job
    if job is None or not job.state.finished:
        return
    snap = job.snapshot()
    data.job = None
    if snap.result is not None and snap.state in (JobState.DONE, JobState.STOPPED):
        number = max((r.number for r in data.runs), default=0) + 1
        data.runs.append(Run(number, snap.result, snap.state.value))
        st.session_state["results_run"] = number
        if snap.state is JobState.STOPPED:
            data.notice = (f"Stopped early after {snap.result.epochs_completed:.2f} of {snap.config.epochs} epochs; "
                           "the model is kept as trained so far.")
    elif snap.state is JobState.FAILED:
        st.session_state["last_error"] = snap.error
    elif snap.state is JobState.CANCELLED:
        data.notice = "Training was cancelled before it started."


@st.fragment(run_every=LIVE_EVERY)
def live_progress() -> None:
    job = data.job
    if job is None:
        return
    snap = job.snapshot()
    if snap.state.finished:
        st.rerun(scope="app")
    if snap.state is JobState.QUEUED:
        room = f"up to {snap.limit} at once" if snap.limit else "no trainer has joined the cluster yet"
        st.info(f"⏳ Waiting for a free trainer: you are **#{snap.queue_position or 1}** in the queue "
                f"({snap.running} training now, {room}).")
        if st.button("Cancel", key="cancel_queued"):
            job.stop()
        return
    latest = snap.latest
    if latest is None:
        st.progress(0.0, text="Starting… (compiling the model)")
    else:
        eta = f" · about {snap.eta:.0f}s left" if snap.eta is not None else ""
        st.progress(snap.fraction, text=f"Epoch {latest.epoch + 1}/{latest.epochs} · batch {latest.batch}/{latest.batches}"
                                        f" · {snap.elapsed:.0f}s{eta}")
    if job.stop_signal.is_set():
        st.caption("Stopping…")
    elif st.button("⏹ Stop", key="stop_training", type="primary"):
        job.stop()
    show_charts(snap.batches, snap.epochs)


collect_finished()
show_notice()  # after collecting, so a notice about the run that just ended shows at once
if data.job is not None:
    st.subheader("Training")
    live_progress()

if st.session_state.get("last_error"):
    st.error(st.session_state["last_error"])
    if st.button("Dismiss"):
        del st.session_state["last_error"]
        st.rerun()


# --- results ----------------------------------------------------------------------------
def confusion_chart(matrix: np.ndarray) -> alt.Chart:
    rows = [{"true": str(t), "predicted": str(p), "count": int(matrix[t, p])} for t in range(10) for p in range(10)]
    frame = pd.DataFrame(rows)
    base = alt.Chart(frame, height=330, title="Confusion matrix (test set)").encode(
        x=alt.X("predicted:O", title="predicted"), y=alt.Y("true:O", title="true label"))
    heat = base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
                                   tooltip=["true", "predicted", "count"])
    text = base.mark_text(fontSize=10).encode(
        text="count:Q", color=alt.condition("datum.count > 300", alt.value("white"), alt.value("black")))
    return heat + text


def model_bytes(run: Run) -> bytes:
    if run.download is None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            run.result.model.save(path)
            run.download = path.read_bytes()
    return run.download


def card_for(run: Run, name: str) -> dict:
    r = run.result
    return {"name": name, "config": r.config.to_dict(), "test_accuracy": round(r.test_accuracy, 4),
            "test_loss": round(r.test_loss, 4), "history": r.history, "stopped_early": r.stopped_early,
            "epochs_completed": round(r.epochs_completed, 2), "source": "Digit Studio Train page"}


def show_results(run: Run) -> None:
    from core.data import load_mnist
    from core.metrics import confusion_matrix, mistakes
    from core.preprocess import pixel_preview

    r = run.result
    c = r.config
    if r.stopped_early:
        st.warning(f"⏹ Stopped early: trained {r.epochs_completed:.2f} of {c.epochs} epochs.")
    m = st.columns(5)
    m[0].metric("Test accuracy", f"{r.test_accuracy:.2%}")
    m[1].metric("Test loss", f"{r.test_loss:.4f}")
    m[2].metric("Epochs", f"{r.epochs_completed:.2f}".rstrip("0").rstrip(".") + f" / {c.epochs}")
    m[3].metric("Training time", f"{r.duration:.1f} s")
    m[4].metric("Speed", f"{r.samples_per_second:,.0f} img/s")

    a1, a2, a3 = st.columns(3)
    if a1.button("✏️ Use this model on the Draw page", type="primary", width="stretch"):
        data.active = f"run:{run.number}"
        st.switch_page("pages/draw.py")
    a2.download_button("⬇️ Download .keras", model_bytes(run), file_name=f"digit-studio-run{run.number}.keras",
                       mime="application/octet-stream", width="stretch")
    with a3.popover("💾 Save to models/", width="stretch"):
        with st.form(f"save_{run.number}", border=False):
            name = st.text_input("Name (letters, digits, - and _)", max_chars=64)
            replace_existing = st.checkbox("Replace a saved model with the same name")
            if st.form_submit_button("Save"):
                try:
                    name = validate_name(name)
                    path = MODELS_DIR / f"{name}.keras"
                    if path.exists() and not replace_existing:
                        st.error(f"A model named “{name}” already exists. Tick “Replace” or choose another name.")
                    else:
                        save_model(r.model, path, card_for(run, name))
                        st.success(f"Saved as models/{name}.keras — pick it on the Draw page.")
                except InvalidModelName as exc:
                    st.error(str(exc))
                except OSError as exc:
                    st.error(f"Could not save the model: {exc}. Nothing was overwritten.")

    show_charts(r.batch_history, [e for e in _epoch_updates(r)])
    (_, _), (x_test, y_test) = load_mnist()
    if r.test_probabilities is not None:
        c1, c2 = st.columns([1, 1], gap="large")
        predicted = r.test_probabilities.argmax(1)
        c1.altair_chart(confusion_chart(confusion_matrix(y_test, predicted)), width="stretch")
        with c2:
            wrong = mistakes(r.test_probabilities, y_test, limit=24)
            st.markdown(f"**Misclassified test digits** — {int((predicted != y_test).sum())} of {len(y_test):,}, "
                        "most confident mistakes first")
            if wrong:
                show_pixels([pixel_preview(x_test[w.index] / 255.0, 3, grid=False) for w in wrong],
                            [f"{w.true} → {w.predicted} ({w.confidence:.0%})" for w in wrong], width=84)
    hist = pd.DataFrame(r.history)
    hist.index = pd.RangeIndex(1, len(hist) + 1, name="epoch")
    st.markdown("**History**")
    st.dataframe(hist.style.format("{:.4f}"), width="stretch")


def _epoch_updates(r):
    from core.training import EpochUpdate

    n = len(r.history["loss"])
    return [EpochUpdate(i, r.config.epochs, r.history["loss"][i], r.history["accuracy"][i], r.history["val_loss"][i],
                        r.history["val_accuracy"][i], 0.0, complete=not (r.stopped_early and i == n - 1))
            for i in range(n)]


def show_comparison(runs: list[Run]) -> None:
    rows, curves = [], []
    for run in runs:
        c, r = run.result.config, run.result
        rows.append({"run": run.number, "arch": c.arch, "epochs": f"{r.epochs_completed:g}/{c.epochs}",
                     "batch": c.batch_size, "dropout": c.dropout, "lr": c.learning_rate, "augment": c.augment,
                     "images": c.train_size or 50000, "seed": c.seed, "test accuracy": r.test_accuracy,
                     "time (s)": round(r.duration, 1)})
        for i, v in enumerate(r.history["val_accuracy"]):
            curves.append({"epoch": i + 1, "validation accuracy": v, "run": f"Run {run.number}"})
    table = pd.DataFrame(rows).set_index("run")
    st.dataframe(table.style.format({"test accuracy": "{:.2%}", "lr": "{:g}"}), width="stretch")
    frame = pd.DataFrame(curves).dropna()
    if not frame.empty:
        st.altair_chart(alt.Chart(frame, height=260, title="Validation accuracy by run").mark_line(point=True).encode(
            x="epoch:Q", y=alt.Y("validation accuracy:Q", scale=alt.Scale(zero=False)), color="run:N",
            tooltip=["run", "epoch", alt.Tooltip("validation accuracy:Q", format=".2%")]), width="stretch")


if data.runs:
    st.divider()
    st.subheader("Results")
    numbers = [r.number for r in reversed(data.runs)]
    if st.session_state.get("results_run") not in numbers:
        st.session_state["results_run"] = numbers[0]
    if len(numbers) > 1:
        labels = {r.number: r.label for r in data.runs}  # (not looked up in session state: AppTest-friendly)
        st.selectbox("Run", numbers, key="results_run", format_func=labels.get)
    show_results(run_by_number(st.session_state["results_run"]))
    if len(data.runs) > 1:
        st.subheader("Your runs compared")
        show_comparison(data.runs)
elif not busy:
    st.info("Choose settings and press **Train**. Training runs in the background: you can watch it here, "
            "visit other pages, and come back.")
