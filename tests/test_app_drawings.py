"""The person's own handwriting in the app: "That's wrong — it was a …" on Draw, My drawings, teaching the model.

The canvas cannot be drawn on from AppTest, so drawings reach the Draw page
through its photo upload (the correction works the same for both). Teaching
runs once through the real path (a local Dask cluster of one worker, MNIST
needed) and once with a fake in-process trainer on fake MNIST (no MNIST files).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.contribution import as_uint8
from core.drawings import Drawings
from core.preprocess import canvas_to_mnist
from core.store import open_store
from pages.correction_view import WRONG_LABEL
from pages.teach_view import TEACH_LABEL
from support.handwriting import random_canvas_digit
from tests.test_app_pages import (
    assert_ok,
    data_of,
    digit_png,
    fresh_caches,  # noqa: F401 - an autouse fixture
    joined,
    model_picker,
    needs_mnist,
    new_app,
    one_worker_cluster,  # noqa: F401 - an autouse fixture
    open_page,
    poll,
    stop_jobs,
    texts,
)


@pytest.fixture
def person() -> Iterator[AppTest]:
    """A new browser's session; its training is stopped at the end."""
    at = new_app()
    yield at
    stop_jobs([at])


def upload_a_one(at: AppTest) -> AppTest:
    open_page(at, "draw")
    at.radio[0].set_value("Upload a photo").run()
    at.file_uploader[0].set_value(("one.png", digit_png(), "image/png")).run()
    assert_ok(at)
    return at


def correction(at: AppTest):
    [pills] = [p for p in at.pills if p.label == WRONG_LABEL]
    return pills


def add_drawings(owner: str, n: int) -> None:
    """``n`` generated drawings (0, 1, …) in ``owner``'s collection, as the Draw page stores them."""
    collection = Drawings(open_store())
    rng = np.random.default_rng(7)
    for i in range(n):
        rgba, _ = random_canvas_digit(i % 10, rng)
        collection.store.clock = lambda i=i: 1_000_000.0 + 60.0 * i  # (one a minute: under the rate limit)
        collection.add(owner, as_uint8(canvas_to_mnist(rgba)), np.zeros((64, 64), np.uint8), i % 10)
    collection.store.clock = __import__("time").time


def test_one_tap_keeps_the_drawing_with_the_right_label(person: AppTest) -> None:
    at = upload_a_one(person)
    pills = correction(at)
    assert pills.options == [str(d) for d in range(10)] or list(pills.options) == list(range(10))
    said = int([m.value for m in at.markdown if "data-testid='prediction'" in m.value][0].split(">")[1][0])
    pills.set_value(7).run()
    assert_ok(at)
    assert "Saved as a **7** in My drawings (1 so far)." in joined(at.success)
    assert correction(at).value is None  # ready for the next drawing
    data = data_of(at)
    [kept] = Drawings(data.store).of(data.owner)
    assert (kept.label, kept.predicted, kept.model) == (7, said, "Bundled default model")
    assert kept.image.dtype == np.uint8 and kept.image.shape == (28, 28) and kept.canvas.shape == (64, 64)
    at.button(key="correction_right").click().run()  # "Save as a N": the model was right
    assert_ok(at)
    assert f"Saved as a **{said}**" in joined(at.success)
    assert [d.label for d in Drawings(data.store).of(data.owner)] == [7, said]


def test_too_many_at_once_are_refused_with_a_message(person: AppTest, monkeypatch) -> None:
    monkeypatch.setenv("DIGIT_STUDIO_DRAWINGS_PER_MINUTE", "2")
    at = upload_a_one(person)
    for _ in range(2):
        correction(at).set_value(1).run()
    assert_ok(at)
    correction(at).set_value(1).run()
    assert_ok(at)
    assert "in the last minute" in joined(at.warning)
    data = data_of(at)
    assert Drawings(data.store).count(data.owner) == 2


def test_my_drawings_scores_the_current_model_and_deletes_a_drawing(person: AppTest) -> None:
    at = open_page(person, "my_drawings")
    assert "No drawings yet" in joined(at.info)
    data = data_of(at)
    add_drawings(data.owner, 4)
    at.run()
    assert_ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Drawings"] == "4" and metrics["The current model reads"].endswith("%")
    assert "Teaching needs at least 10 drawings; you have 4" in joined(at.info)
    assert at.button(key="teach_start").disabled
    assert len([b for b in at.button if b.key and b.key.startswith("delete_drawing_")]) == 4
    first = Drawings(data.store).of(data.owner)[0]
    at.button(key=f"delete_drawing_{first.id}").click().run()
    assert_ok(at)
    assert Drawings(data.store).count(data.owner) == 3 and "Drawing deleted." in joined(at.success)
    assert {m.label: m.value for m in at.metric}["Drawings"] == "3"


def test_forget_my_data_deletes_the_drawings(person: AppTest) -> None:
    data = data_of(person)
    add_drawings(data.owner, 2)
    person.sidebar.button(key="forget_confirm").click().run()
    assert_ok(person)
    # (AppTest runs app.py, and so the sidebar, on a session's first run only: the message is read where it waits.)
    assert "2 drawing(s)" in person.session_state["digit_studio_forgotten"]
    assert Drawings(data.store).count(data.owner) == 0


def teach_and_wait(at: AppTest) -> None:
    at.button(key="teach_start").click().run()
    assert_ok(at)
    data = data_of(at)
    poll(at, lambda: data.training is not None and not data.training.running and data.job is None, "teaching")
    assert not at.error, texts(at.error)


def check_taught(at: AppTest) -> None:
    """The report, the run, and the model offered on the Draw page."""
    data = data_of(at)
    [run] = data.runs
    assert "your handwriting" in run.label and run.result.finetune["held_out"] == 3
    [table] = at.table
    assert "your held-out drawings (3)" in table.value.index[0] and list(table.value.columns) == ["before", "after"]
    assert "Bundled default model" in joined(at.markdown)
    at.button(key="teach_use").click().run()
    assert_ok(at)
    assert data.active == f"run:{run.number}" and "The Draw page uses this model." in joined(at.caption)
    open_page(at, "draw")
    assert model_picker(at).value == f"run:{run.number}"


@needs_mnist
def test_teaching_runs_on_the_cluster_and_becomes_a_run(person: AppTest) -> None:
    at = open_page(person, "my_drawings")
    add_drawings(data_of(at).owner, 12)
    at.run()
    assert_ok(at)
    assert TEACH_LABEL in joined(at.subheader) and not at.button(key="teach_start").disabled
    teach_and_wait(at)
    check_taught(at)


def in_process_trainer(monkeypatch, at: AppTest, synthetic_digits, pause: float = 0.0) -> None:
    """The session's trainings run ``core.finetune.fine_tune`` in this process on fake MNIST (``pause`` s a batch)."""
    from core.finetune import fine_tune
    from core.jobs import TrainingJob, TrainingSlots

    fake = synthetic_digits(1200, seed=1), synthetic_digits(300, seed=2)

    def make_job(config, is_alive, **extra):
        def run_here(config, on_batch, **kwargs):
            def slowly(update):
                time.sleep(pause)
                on_batch(update)

            return fine_tune(config, data=fake, on_batch=slowly, **kwargs)

        return TrainingJob(config, slots=TrainingSlots(1), is_alive=is_alive, train_fn=run_here, **extra)

    trainings = data_of(at).trainings
    monkeypatch.setattr(trainings, "make_job", make_job)
    monkeypatch.setattr(trainings, "test_labels", lambda: fake[1][1])


def test_teaching_with_a_fake_trainer_shows_before_and_after(person: AppTest, monkeypatch, synthetic_digits) -> None:
    in_process_trainer(monkeypatch, person, synthetic_digits)
    at = open_page(person, "my_drawings")
    add_drawings(data_of(at).owner, 12)
    at.run()
    teach_and_wait(at)
    check_taught(at)


def test_stop_ends_the_teaching_and_keeps_the_model(person: AppTest, monkeypatch, synthetic_digits) -> None:
    in_process_trainer(monkeypatch, person, synthetic_digits, pause=0.2)
    at = open_page(person, "my_drawings")
    data = data_of(at)
    add_drawings(data.owner, 12)
    at.run()
    at.button(key="teach_start").click().run()
    assert_ok(at)
    assert at.button(key="teach_start").disabled  # one training at a time
    poll(at, lambda: any(b.key == "teach_stop" for b in at.button), "the teaching to report progress")
    assert any(p.type == "progress" for p in at)
    at.button(key="teach_stop").click().run()
    assert_ok(at)
    poll(at, lambda: data.job is None and len(data.runs) == 1, "the stopped teaching to be stored")
    [run] = data.runs
    assert run.state == "stopped" and "your handwriting" in run.label and run.result.finetune["held_out"] == 3
    assert len(at.table) == 1 and not at.error
