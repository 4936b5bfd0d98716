"""The Home, Train and Draw pages, driven headlessly with Streamlit's AppTest.

Every test starts the real app (``app.py``) and moves between its pages as a
user would. Training runs use tiny settings (MLP, one epoch, 5k images), so
the whole file takes one to two minutes on two busy cores.

The Train page's live progress is a fragment with ``run_every``; AppTest does
not drive timers, so tests poll by rerunning the whole app (``at.run()``)
until the background job has finished. The drawing canvas cannot be used
from AppTest (the browser test covers it); the Draw page is tested through
its photo-upload path instead.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.config import TrainConfig
from core.text import plain

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
MODELS = ROOT / "models"
TIMEOUT = 120  #: seconds for one script run (the first import of TensorFlow is slow)
JOB_TIMEOUT = 120  #: seconds for a tiny training run on a busy 2-core machine
TRAIN_LABEL = "Train"
#: The Train page's widgets on a first visit: the default run, ``TrainConfig()``.
DEFAULTS = {
    "cfg_arch": TrainConfig().arch,
    "cfg_epochs": TrainConfig().epochs,
    "cfg_batch_size": TrainConfig().batch_size,
    "cfg_dropout": TrainConfig().dropout,
    "cfg_learning_rate": TrainConfig().learning_rate,
    "cfg_train_size": TrainConfig().train_images,
    "cfg_seed": TrainConfig().seed,
    "cfg_augment": TrainConfig().augment,
}
TINY = {"cfg_arch": "mlp", "cfg_epochs": 1, "cfg_batch_size": 128, "cfg_train_size": 5000}

needs_mnist = pytest.mark.skipif(not os.environ.get("MNIST_DIR"), reason="set MNIST_DIR to the MNIST folder")


# --- helpers ------------------------------------------------------------------------


def new_app() -> AppTest:
    """The app, run once (it opens on Home)."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert_ok(at)
    return at


def assert_ok(at: AppTest) -> None:
    """The last run raised nothing."""
    assert not at.exception, "\n".join(f"{e.message}\n{''.join(e.stack_trace)}" for e in at.exception)


def open_page(at: AppTest, page: str) -> AppTest:
    """Switch to ``pages/<page>.py`` and render it."""
    at.switch_page(f"pages/{page}.py").run()
    assert_ok(at)
    return at


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def joined(elements) -> str:
    return "\n".join(texts(elements))


def data_of(at: AppTest):
    """The session's :class:`pages.state.SessionData`."""
    return at.session_state["digit_studio"]


def train_button(at: AppTest):
    buttons = [b for b in at.get("form_submit_button") if b.label == TRAIN_LABEL]
    assert len(buttons) == 1, [b.label for b in at.get("form_submit_button")]
    return buttons[0]


def set_settings(at: AppTest, **values) -> None:
    """Set Train-page widgets by key (``cfg_arch=...``) through the widgets themselves.

    Most of them are in the settings form: like in a browser, their new values
    only count when the form is submitted in the same interaction (``press_train``).
    """
    kinds = {
        "cfg_arch": at.radio,
        "cfg_epochs": at.slider,
        "cfg_dropout": at.slider,
        "cfg_batch_size": at.select_slider,
        "cfg_learning_rate": at.select_slider,
        "cfg_train_size": at.select_slider,
        "cfg_seed": at.number_input,
        "cfg_augment": at.toggle,
    }
    for key, value in values.items():
        kinds[key](key=key).set_value(value)


def press_train(at: AppTest, **settings) -> None:
    """Set the widgets (see ``set_settings``) and press the form's Train button."""
    set_settings(at, **settings)
    train_button(at).click()
    at.run()
    assert_ok(at)
    assert data_of(at).job is not None or data_of(at).runs, "pressing Train started nothing"


def poll(at: AppTest, done: Callable[[], bool], what: str, timeout: float = JOB_TIMEOUT) -> float:
    """Rerun the app until ``done()``; returns the seconds it took."""
    start = time.monotonic()
    while True:
        at.run()
        assert_ok(at)
        if done():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.3)  # leave the CPU to the training


def wait_for_run(at: AppTest, runs: int = 1, timeout: float = JOB_TIMEOUT) -> float:
    """Rerun until the session's job has ended and it holds ``runs`` finished runs."""
    data = data_of(at)
    return poll(at, lambda: data.job is None and len(data.runs) >= runs, f"run {runs} to finish", timeout)


def model_picker(at: AppTest):
    pickers = [s for s in at.selectbox if s.label == "Model"]
    assert len(pickers) == 1, "the Draw page has no model picker"
    return pickers[0]


def charts(at: AppTest) -> list[str]:
    """The Vega-Lite specs (JSON text) of the Altair charts on the page."""
    return [c.proto.spec for c in at.get("vega_lite_chart")]


def digit_png(size: int = 200) -> bytes:
    """A photo-like "1": a thick dark stroke on light paper."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), (235, 232, 225))
    stroke = [(size // 2, size // 6), (size // 2, size * 5 // 6)]
    ImageDraw.Draw(image).line(stroke, fill=(20, 20, 30), width=size // 12)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def stop_jobs(apps: list[AppTest]) -> None:
    """Stop and wait for any training the apps left running (never leak CPU into later tests)."""
    for at in apps:
        try:
            job = data_of(at).job
        except Exception:  # noqa: BLE001 - the app never got far enough to have state
            continue
        if job is not None:
            job.stop()
            job.join(60)


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clear Streamlit's data caches (e.g. the Train page's MNIST check) around every test.

    Without MNIST_DIR, downloads are disabled so the Home page never reaches for the network.
    """
    if not os.environ.get("MNIST_DIR"):
        _block_download(monkeypatch)
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def _block_download(monkeypatch: pytest.MonkeyPatch) -> None:
    import keras

    def no_download(*args, **kwargs):
        raise OSError("downloads are disabled in this test")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_download)


@pytest.fixture(scope="module", autouse=True)
def one_worker_cluster() -> Iterator[None]:
    """Trainings go to a local Dask cluster of one worker process (unless a scheduler is named), closed afterwards."""
    from core import cluster

    saved = {name: os.environ.get(name) for name in ("DIGIT_STUDIO_WORKERS", "DIGIT_STUDIO_WORKER_THREADS")}
    os.environ.update(DIGIT_STUDIO_WORKERS="1", DIGIT_STUDIO_WORKER_THREADS="1")
    try:
        yield
    finally:
        cluster.shutdown()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def apps() -> Iterator[Callable[[], AppTest]]:
    """A factory of independent app sessions; their trainings are stopped at teardown."""
    made: list[AppTest] = []

    def make() -> AppTest:
        at = new_app()
        made.append(at)
        return at

    yield make
    stop_jobs(made)


@pytest.fixture(scope="module")
def trained() -> Iterator[AppTest]:
    """One session that has trained a tiny model through the Train page (shared, read-mostly)."""
    if not os.environ.get("MNIST_DIR"):
        pytest.skip("set MNIST_DIR to the MNIST folder")
    st.cache_data.clear()
    at = new_app()
    try:
        open_page(at, "train")
        press_train(at, **TINY)
        wait_for_run(at)
        yield at
    finally:
        stop_jobs([at])


@pytest.fixture
def scratch_model_name() -> Iterator[str]:
    """A unique model name whose files in models/ are removed afterwards."""
    name = f"apptest-{uuid.uuid4().hex[:10]}"
    yield name
    for path in MODELS.glob(f"*{name}*"):
        path.unlink(missing_ok=True)


# --- 1. every page renders ---------------------------------------------------------


def test_home_page_shows_the_active_model() -> None:
    at = new_app()
    assert "Digit Studio" in joined(at.title)
    info = joined(at.info)
    assert "Active model:" in info and "Bundled default model" in info
    assert not at.warning, texts(at.warning)
    assert texts(at.get("page_link")) == ["Train a model", "Draw a digit"]


def test_a_spawned_worker_process_leaves_the_app_alone(monkeypatch) -> None:
    # Dask spawns its worker processes, and a spawned process imports the parent's main script as
    # __mp_main__: under Streamlit that is app.py, which must then neither draw a page nor start a cluster.
    import runpy

    from core import cluster

    started: list[bool] = []
    monkeypatch.setattr(cluster, "start_in_background", lambda: started.append(True))
    monkeypatch.setattr(st, "navigation", lambda *a, **k: pytest.fail("the app ran in a worker process"))
    runpy.run_path(str(APP), run_name="__mp_main__")
    assert started == []


def test_reruns_leave_keras_and_compiled_functions_alone(monkeypatch) -> None:
    """Streamlit's own clean-up would call keras.backend.clear_session() after every run,
    clearing TensorFlow's kernel cache for every session in the process."""
    import keras
    from streamlit.runtime.scriptrunner import script_runner

    new_app()
    calls: list[str] = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append("clear_session"))
    script_runner._clean_problem_modules()  # what Streamlit calls after each run
    assert calls == []
    plt = pytest.importorskip("matplotlib.pyplot")
    plt.figure()
    script_runner._clean_problem_modules()
    assert plt.get_fignums() == []  # pyplot figures are still closed, as Streamlit does


def test_each_run_is_timed_only_when_a_run_log_is_named(monkeypatch, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    monkeypatch.setenv("DIGIT_STUDIO_RUN_LOG", str(log))
    new_app()  # (AppTest runs a switched-to page without app.py, so only Home's runs are seen here)
    lines = [line.split() for line in log.read_text().splitlines()]
    assert len(lines) == 1 and lines[0][1] == "home" and float(lines[0][2]) > 0
    monkeypatch.delenv("DIGIT_STUDIO_RUN_LOG")
    log.unlink()
    new_app()
    assert not log.exists()


@needs_mnist
def test_train_page_shows_the_settings_form_and_train_button() -> None:
    at = open_page(new_app(), "train")
    assert "Train a model" in joined(at.title)
    assert len(at.get("form")) >= 1
    button = train_button(at)
    assert not button.disabled
    for key, value in DEFAULTS.items():
        assert at.session_state[key] == value, key
    assert at.radio(key="cfg_arch").value == "cnn"
    assert at.slider(key="cfg_epochs").value == TrainConfig().epochs
    assert any(b.label.startswith("Reset") for b in at.button)
    assert any(m.label == "Trainable parameters" for m in at.metric)
    assert "press **Train**" in joined(at.info)


@needs_mnist
def test_pressing_train_on_a_first_visit_trains_the_default_run(monkeypatch) -> None:
    from core.registry import Busy, Trainings

    started: list[TrainConfig] = []

    def start(self, owner, config, *args, **kwargs):
        started.append(config)
        raise Busy  # nothing needs to train: the page says so and carries on

    monkeypatch.setattr(Trainings, "start", start)
    at = open_page(new_app(), "train")
    train_button(at).click()
    at.run()
    assert started == [TrainConfig()]


@needs_mnist
def test_the_train_page_estimates_the_time_for_the_chosen_settings(monkeypatch) -> None:
    from core.estimate import estimator

    estimator.clear()
    at = open_page(new_app(), "train")
    (shown,) = [m for m in at.metric if m.label == "Estimated time"]
    assert shown.value == estimator.estimate(TrainConfig()).text() and shown.value.startswith("about ")
    # Settings in the form count once applied: "Estimate the time" applies them without training.
    set_settings(at, cfg_epochs=20)
    next(b for b in at.get("form_submit_button") if b.label == "Estimate the time").click()
    at.run()
    assert_ok(at)
    (longer,) = [m for m in at.metric if m.label == "Estimated time"]
    assert longer.value == estimator.estimate(dataclasses.replace(TrainConfig(), epochs=20)).text() != shown.value
    assert data_of(at).job is None


def test_draw_page_shows_the_model_picker_and_the_empty_canvas_prompt() -> None:
    at = open_page(new_app(), "draw")
    assert "Draw a digit" in joined(at.title)
    picker = model_picker(at)
    assert picker.value == "default"
    assert "Draw a digit (0–9)" in joined(at.info)
    assert not at.warning and not at.error, (texts(at.warning), texts(at.error))


def test_the_canvas_script_targets_the_installed_canvas_component() -> None:
    """The Draw page sends each stroke at once by pressing the canvas component's own send
    button, found by its title: that title must be the one the installed component uses."""
    import streamlit_drawable_canvas

    from pages.internals import CANVAS_SCRIPT, SEND_BUTTON_TITLE

    build = Path(streamlit_drawable_canvas.__file__).parent / "frontend" / "build"
    bundle = "".join(f.read_text(encoding="utf-8") for f in build.glob("index-*.js"))
    assert f'"{SEND_BUTTON_TITLE}"' in bundle
    assert f"button[title='{SEND_BUTTON_TITLE}']" in CANVAS_SCRIPT


def test_draw_page_classifies_an_uploaded_photo_and_refuses_a_bad_file() -> None:
    at = open_page(new_app(), "draw")
    at.radio[0].set_value("Upload a photo").run()
    assert_ok(at)
    assert "Upload a photo of a single digit" in joined(at.info)
    uploader = at.file_uploader[0]
    uploader.set_value(("one.png", digit_png(), "image/png")).run()
    assert_ok(at)
    prediction = [m.value for m in at.markdown if "data-testid='prediction'" in m.value]
    assert len(prediction) == 1
    assert any(caption.startswith("Model: Bundled default model") for caption in texts(at.caption))
    bars = [m.value for m in at.markdown if "confidence for each digit" in m.value]
    assert len(bars) == 1 and all(f"data-testid='confidence-{d}'" in bars[0] for d in range(10))
    # "What the model receives" is sent losslessly: exactly the model's pixels, no JPEG artefacts.
    preview = [i for e in at.get("image") for i in e.proto.imgs if i.caption.startswith("What the model receives")]
    assert len(preview) == 1 and preview[0].url.endswith(".png"), preview
    assert not [t for t in at.toggle if t.key == "compare_naive"]  # steps are made only on demand
    at.toggle(key="show_steps").set_value(True).run()
    assert_ok(at)
    assert any("centre of mass" in c for c in texts(at.caption))
    at.toggle(key="compare_naive").set_value(True).run()
    assert_ok(at)
    assert "Naive resize →" in joined(at.markdown)
    urls = [i.url for e in at.get("image") for i in e.proto.imgs]
    assert len(urls) >= 6 and all(u.endswith(".png") for u in urls), urls

    at.file_uploader[0].set_value(("broken.png", os.urandom(2000), "image/png")).run()
    assert_ok(at)
    assert "not an image Digit Studio can read" in joined(at.error)
    assert not [m for m in at.markdown if "data-testid='prediction'" in m.value]


def test_draw_steps_show_the_stroke_width_step() -> None:
    """A digit drawn with a brush far too wide for its size: the steps say its strokes were thinned."""
    from PIL import Image, ImageDraw

    from core.stroke import STROKE_TARGET

    image = Image.new("RGB", (200, 200), (235, 232, 225))
    ImageDraw.Draw(image).line([(100, 40), (100, 160)], fill=(20, 20, 30), width=40)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    at = open_page(new_app(), "draw")
    at.radio[0].set_value("Upload a photo").run()
    at.file_uploader[0].set_value(("thick.png", buffer.getvalue(), "image/png")).run()
    at.toggle(key="show_steps").set_value(True).run()
    assert_ok(at)
    captions = [i.caption for e in at.get("image") for i in e.proto.imgs]
    step = [c for c in captions if c.startswith("3. strokes")]
    assert len(step) == 1, captions
    before, after = (float(w) for w in re.findall(r"(\d+\.\d) (?:→|px)", step[0]))
    assert before > 5 and after == pytest.approx(STROKE_TARGET, abs=0.3), step
    assert any(c.startswith("4. fitted into 20×20") for c in captions)


# --- 2. a tiny training run through the UI ------------------------------------------------


@needs_mnist
def test_a_tiny_training_run_shows_its_results(trained: AppTest) -> None:
    at = open_page(trained, "train")
    data = data_of(at)
    assert len(data.runs) == 1 and data.runs[0].state == "done"
    config = data.runs[0].result.config
    assert (config.arch, config.epochs, config.batch_size, config.train_size) == ("mlp", 1, 128, 5000)

    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"].endswith("%")
    assert float(metrics["Test accuracy"].rstrip("%")) > 50.0
    assert metrics["Epochs"] == "1 / 1"
    specs = charts(at)
    assert any('"Loss"' in s for s in specs) and any('"Accuracy"' in s for s in specs)
    # 240 px of plot, not 240 px for plot, axes and legend together (which left a sliver of plot).
    assert all('"fit-x"' in s for s in specs if '"Loss"' in s or '"Accuracy"' in s)
    assert any("Confusion matrix" in s for s in specs)
    history = at.dataframe[0].value
    assert list(history.columns) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert len(history) == 1 and np.isfinite(history.to_numpy(dtype=float)).all()
    assert any(b.label.startswith("Download") for b in at.get("download_button"))
    assert not at.warning, texts(at.warning)  # not stopped early
    # The settings of the run are in the URL, ready to share.
    assert at.query_params.get("arch") == "mlp" and at.query_params.get("epochs") == "1"

    open_page(at, "draw")
    picker = model_picker(at)
    assert [o for o in picker.options if o.startswith("Your run ")] == [data.runs[0].own_label]
    assert data.runs[0].own_label.startswith("Your run 1 · MLP") and "Run 1 · MLP" in data.runs[0].label
    assert picker.value == "default"
    picker.set_value("run:1").run()
    assert_ok(at)
    assert not at.warning and data_of(at).active == "run:1"

    data.active = "default"  # the results' button picks the run and opens the Draw page
    open_page(at, "train")
    [b for b in at.button if b.label.startswith("Use this model")][0].click().run()
    assert_ok(at)
    assert "Draw a digit" in joined(at.title)
    assert model_picker(at).value == "run:1" and not at.warning
    open_page(at, "home")
    assert "Run 1 · MLP" in joined(at.info)
    data_of(at).active = "default"


@needs_mnist
def test_a_second_run_is_compared_with_the_first(trained: AppTest) -> None:
    at = open_page(trained, "train")
    press_train(at, cfg_batch_size=256, cfg_seed=3)
    wait_for_run(at, runs=2)
    data = data_of(at)
    assert [r.number for r in data.runs] == [1, 2]
    chooser = [s for s in at.selectbox if s.label == "Run"]
    assert len(chooser) == 1 and chooser[0].value == 2  # the newest run is shown
    assert "Your runs compared" in joined(at.subheader)
    table = at.table[0].value
    assert list(table.index) == [1, 2] and list(table["batch"]) == [128, 256]
    assert any("Validation accuracy by run" in spec for spec in charts(at))
    chooser[0].set_value(1).run()
    assert_ok(at)
    assert {m.label: m.value for m in at.metric}["Test accuracy"] == f"{data.runs[0].result.test_accuracy:.2%}"
    open_page(at, "draw")
    assert len([o for o in model_picker(at).options if o.startswith("Your run ")]) == 2


# --- 3. stop -----------------------------------------------------------------------------


@needs_mnist
def test_stop_ends_a_run_quickly_and_keeps_a_usable_model(apps) -> None:
    at = open_page(apps(), "train")
    press_train(at, cfg_arch="mlp", cfg_epochs=8, cfg_batch_size=16, cfg_train_size=20000)
    data = data_of(at)
    assert train_button(at).disabled, "Train stays clickable while training"
    assert [b for b in at.button if b.label.startswith("Reset")][0].disabled
    poll(
        at,
        lambda: (
            data.job is not None
            and data.job.snapshot().latest is not None
            and any(b.key == "stop_training" for b in at.button)
        ),
        "training to report progress",
    )
    assert any(p.type == "progress" for p in at)
    at.button(key="stop_training").click()
    at.run()
    assert_ok(at)
    seconds = wait_for_run(at, timeout=60)
    assert seconds < 30, f"the run took {seconds:.1f}s to end after Stop"

    run = data.runs[0]
    assert run.state == "stopped" and run.result.stopped_early
    assert run.result.epochs_completed < 8
    warning = joined(at.warning)
    assert "Stopped early" in warning and "of 8 epochs" in warning
    assert "Stopped early after" in joined(at.success)  # the one-off notice, shown at once
    assert "(stopped)" in run.label

    open_page(at, "draw")
    model_picker(at).set_value("run:1").run()
    assert_ok(at)
    assert not at.warning and not at.error
    at.radio[0].set_value("Upload a photo").run()
    at.file_uploader[0].set_value(("one.png", digit_png(), "image/png")).run()
    assert_ok(at)
    assert [m for m in at.markdown if "data-testid='prediction'" in m.value]
    assert any("Run 1 · MLP" in c and "(stopped)" in c for c in texts(at.caption))


# --- 4. sessions are isolated ------------------------------------------------------------


@needs_mnist
def test_two_sessions_training_at_once_see_only_their_own_runs(apps, monkeypatch) -> None:
    from core.jobs import SLOTS

    monkeypatch.setattr(SLOTS, "limit", 2)
    a, b = open_page(apps(), "train"), open_page(apps(), "train")
    press_train(a, **TINY, cfg_seed=11, cfg_dropout=0.1)
    press_train(b, **{**TINY, "cfg_batch_size": 256}, cfg_seed=22, cfg_dropout=0.5)
    wait_for_run(a)
    wait_for_run(b)
    for at, seed, batch, dropout in ((a, 11, 128, 0.1), (b, 22, 256, 0.5)):
        data = data_of(at)
        assert len(data.runs) == 1
        config = data.runs[0].result.config
        assert (config.seed, config.batch_size, config.dropout) == (seed, batch, dropout)
        assert at.session_state["cfg_seed"] == seed and at.session_state["cfg_batch_size"] == batch
        assert not [s for s in at.selectbox if s.label == "Run"]  # one run: no run chooser
        open_page(at, "draw")
        assert [o for o in model_picker(at).options if o.startswith("Your run ")] == [data.runs[0].own_label]
        open_page(at, "home")
        assert "1 training run(s)" in joined(at.info)
    assert data_of(a).runs[0].result.model is not data_of(b).runs[0].result.model


# --- 5. the queue ------------------------------------------------------------------------


@needs_mnist
def test_the_queue_admits_no_more_than_the_limit(apps, monkeypatch) -> None:
    from core.jobs import SLOTS, JobState

    monkeypatch.setattr(SLOTS, "limit", 1)
    first, second, third = (open_page(apps(), "train") for _ in range(3))
    # A long run for the first session, so the others certainly queue behind it; it is stopped below.
    press_train(first, cfg_arch="mlp", cfg_epochs=10, cfg_batch_size=16, cfg_train_size=20000)
    job = data_of(first).job
    poll(first, lambda: job.state is JobState.RUNNING, "the first run to start")

    press_train(second, **TINY)
    assert data_of(second).job.state is JobState.QUEUED
    queued = joined(second.info)
    assert "#1** in the queue" in queued and "up to 1 at once" in queued
    assert not any(b.key == "stop_training" for b in second.button)
    assert any(b.key == "cancel_queued" for b in second.button)
    assert train_button(second).disabled
    first.run()
    assert_ok(first)
    assert "in the queue" not in joined(first.info)
    assert any(b.key == "stop_training" for b in first.button)

    # A third session queues behind the second, then gives up.
    press_train(third, **TINY)
    assert "#2** in the queue" in joined(third.info)
    third.button(key="cancel_queued").click()
    third.run()
    poll(third, lambda: data_of(third).job is None, "the cancelled job to end", timeout=30)
    assert data_of(third).runs == []
    assert "cancelled before it started" in joined(third.success)
    assert not third.get("vega_lite_chart")

    second.run()
    assert data_of(second).job.state is JobState.QUEUED, "the second run started before the first ended"
    assert "#1** in the queue" in joined(second.info)
    first.button(key="stop_training").click()
    first.run()
    wait_for_run(first, timeout=60)
    assert data_of(first).runs[0].state == "stopped"
    wait_for_run(second)  # the freed slot goes to the second session
    assert len(data_of(second).runs) == 1 and data_of(second).runs[0].state == "done"
    assert SLOTS.running == 0 and SLOTS.waiting == 0


# --- 6. settings from the URL ------------------------------------------------------------


@needs_mnist
def test_bad_url_settings_are_ignored_with_a_warning() -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"epochs": "999", "batch_size": "abc", "dropout": "5"})
    at.switch_page("pages/train.py").run()
    assert_ok(at)
    warning = joined(at.warning)
    assert "epochs='999'" in warning and "batch_size='abc'" in warning and "dropout='5'" in warning
    assert warning.count("using the default instead") == 3
    assert at.slider(key="cfg_epochs").value == DEFAULTS["cfg_epochs"]
    assert at.select_slider(key="cfg_batch_size").value == DEFAULTS["cfg_batch_size"]
    assert at.slider(key="cfg_dropout").value == pytest.approx(DEFAULTS["cfg_dropout"])
    assert not train_button(at).disabled


@needs_mnist
def test_valid_url_settings_fill_the_widgets() -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"epochs": "7", "arch": "mlp", "train_size": "all", "augment": "true"})
    at.switch_page("pages/train.py").run()
    assert_ok(at)
    assert not at.warning, texts(at.warning)
    assert at.slider(key="cfg_epochs").value == 7
    assert at.radio(key="cfg_arch").value == "mlp"
    assert at.select_slider(key="cfg_train_size").value == 50000
    assert at.toggle(key="cfg_augment").value is True
    assert at.select_slider(key="cfg_batch_size").value == DEFAULTS["cfg_batch_size"]


@needs_mnist
def test_settings_survive_a_visit_to_another_page() -> None:
    at = open_page(new_app(), "train")
    at.session_state["cfg_epochs"] = 5
    at.session_state["cfg_arch"] = "mlp"
    at.run()
    assert_ok(at)
    open_page(at, "draw")
    open_page(at, "home")
    open_page(at, "train")
    assert at.slider(key="cfg_epochs").value == 5
    assert at.radio(key="cfg_arch").value == "mlp"
    assert at.select_slider(key="cfg_batch_size").value == DEFAULTS["cfg_batch_size"]


# --- 7. reset ----------------------------------------------------------------------------


@needs_mnist
def test_reset_restores_the_default_settings() -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"epochs": "7", "arch": "mlp"})
    at.switch_page("pages/train.py").run()
    assert_ok(at)
    changed = {
        "cfg_dropout": 0.5,
        "cfg_batch_size": 32,
        "cfg_learning_rate": 1e-2,
        "cfg_train_size": 5000,
        "cfg_seed": 42,
        "cfg_augment": True,
    }
    for key, value in changed.items():
        at.session_state[key] = value
    at.run()
    assert_ok(at)
    assert at.slider(key="cfg_epochs").value == 7 and at.slider(key="cfg_dropout").value == pytest.approx(0.5)
    assert at.select_slider(key="cfg_batch_size").value == 32 and at.toggle(key="cfg_augment").value is True
    reset = [b for b in at.button if b.label.startswith("Reset")][0]
    reset.click().run()
    assert_ok(at)
    for key, value in DEFAULTS.items():
        assert at.session_state[key] == value, key
    assert at.radio(key="cfg_arch").value == "cnn"
    assert at.slider(key="cfg_epochs").value == DEFAULTS["cfg_epochs"]
    assert at.toggle(key="cfg_augment").value is False
    assert not any(k in at.query_params for k in ("epochs", "arch"))


# --- 8. saving a model -------------------------------------------------------------------


def _save_as(at: AppTest, name: str, replace: bool = False) -> None:
    at.text_input[0].set_value(name)
    at.checkbox[0].set_value(replace)
    [b for b in at.get("form_submit_button") if b.label == "Save"][0].click()
    at.run()
    assert_ok(at)


@needs_mnist
def test_save_refuses_bad_names_and_writes_a_good_one(trained: AppTest, scratch_model_name: str) -> None:
    from core.inference import load_model, predict_proba

    at = open_page(trained, "train")
    before = sorted(p.name for p in MODELS.iterdir())
    bad_names = {
        "../x": "not a valid name",
        "a b": "not a valid name",
        "x/../../y": "not a valid name",
        "default": "bundled model's name",
        "": "Give the model a name",
        # shown as typed, no link
        "[click](https://example.com)": "“\\[click\\]\\(https\\:\u200b//example\\.com\\)” is not a valid name",
    }
    for bad, message in bad_names.items():
        _save_as(at, bad)
        assert message in joined(at.error), (bad, texts(at.error))
        assert not at.success
        assert sorted(p.name for p in MODELS.iterdir()) == before, f"the name {bad!r} wrote something"
    assert not (ROOT / "x.keras").exists() and not (ROOT.parent / "x.keras").exists()

    _save_as(at, scratch_model_name)
    assert not at.error, texts(at.error)
    assert f"models/{plain(scratch_model_name)}.keras" in joined(at.success)
    path = MODELS / f"{scratch_model_name}.keras"
    assert path.is_file() and path.with_suffix(".json").is_file()
    assert not [p for p in MODELS.iterdir() if p.name.startswith(f".{scratch_model_name}")], "temp files left"
    probs = predict_proba(load_model(path), np.zeros((1, 28, 28), np.float32))
    assert probs.shape == (1, 10)
    mtime = path.stat().st_mtime_ns

    _save_as(at, scratch_model_name)  # the same name again, without "Replace"
    assert "You have a model named" in joined(at.error) and "tick “Replace”" in joined(at.error)
    assert path.stat().st_mtime_ns == mtime

    # A name someone else saved: a clear message, Replace ticked or not, and their model untouched.
    theirs = MODELS / f"{scratch_model_name}-theirs.keras"
    shutil.copyfile(MODELS / "default.keras", theirs)
    theirs.with_suffix(".json").write_text(json.dumps({"owner": "someone else's key"}))
    for replace in (False, True):
        _save_as(at, theirs.stem.upper(), replace=replace)
        assert f"Someone else has saved a model named “{plain(theirs.stem)}”: choose another name." in texts(at.error)
        assert not at.success and theirs.read_bytes() == (MODELS / "default.keras").read_bytes()
    assert not (MODELS / f"{theirs.stem.upper()}.keras").exists()

    open_page(at, "draw")
    picker = model_picker(at)
    assert f"Saved: {scratch_model_name}" in picker.options and f"Saved: {theirs.stem}" in picker.options
    picker.set_value(f"saved:{scratch_model_name}").run()
    assert_ok(at)
    assert not at.warning, texts(at.warning)
    data_of(at).active = "default"


# --- 9. a broken saved model -------------------------------------------------------------


def test_draw_page_falls_back_to_the_default_for_a_broken_model(scratch_model_name: str) -> None:
    name = f"{scratch_model_name}-broken"
    (MODELS / f"{name}.keras").write_bytes(os.urandom(4096))
    at = open_page(new_app(), "draw")
    picker = model_picker(at)
    assert f"Saved: {name}" in picker.options
    picker.set_value(f"saved:{name}").run()
    assert_ok(at)
    warning = joined(at.warning)
    assert f"Could not use saved model “{plain(name)}”" in warning
    assert "Using the bundled default model instead" in warning
    assert data_of(at).active == "default"
    at.run()  # the next render is back to normal
    assert_ok(at)
    assert model_picker(at).value == "default"
    assert not at.warning
    open_page(at, "home")
    assert "Bundled default model" in joined(at.info)


# --- 10. no MNIST --------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["empty MNIST_DIR", "no MNIST_DIR, offline"])
def test_without_mnist_train_explains_and_draw_still_works(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.data

    empty = tmp_path / "mnist"
    empty.mkdir()
    (tmp_path / "keras").mkdir()
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    if how == "empty MNIST_DIR":
        monkeypatch.setenv("MNIST_DIR", str(empty))
    else:
        monkeypatch.delenv("MNIST_DIR", raising=False)
    _block_download(monkeypatch)
    core.data.clear_cache()
    st.cache_data.clear()
    try:
        at = new_app()
        assert "MNIST is not available" in joined(at.info)
        open_page(at, "train")
        assert "Training needs the MNIST data set" in joined(at.error)
        assert "MNIST_DIR" in joined(at.markdown)
        assert not at.get("form_submit_button"), "the settings form is shown without data"
        assert any(b.label == "Check again" for b in at.button)
        open_page(at, "draw")
        assert model_picker(at).value == "default"
        assert "Draw a digit (0–9)" in joined(at.info)
        assert not at.error
    finally:
        core.data.clear_cache()
