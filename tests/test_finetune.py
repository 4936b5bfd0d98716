"""core.finetune: teaching a model someone's handwriting, through the Train page's training path.

The drawings are the repo's handwriting generator's, through ``canvas_to_mnist``
as the Draw page makes them; "MNIST" is the synthetic digits of ``conftest``
(no MNIST files needed), and the starting model a small convnet trained on
those for one epoch, so the run is small, fast and the same every time.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from core.contribution import as_uint8
from core.finetune import (
    MIN_DRAWINGS,
    FineTune,
    FineTuneReport,
    StartModel,
    fine_tune,
    finetune_config,
    held_out,
    mixed_data,
)
from core.jobs import JobState, TrainingJob, TrainingSlots
from core.preprocess import canvas_to_mnist
from core.registry import Trainings
from core.remote import pack_result, unpack_result
from core.store import Store
from support.handwriting import random_canvas_digit


def handwriting(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` generated drawings (0, 1, …, 9, 0, …) as the Draw page would store them."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = []
    for digit in labels:
        image = canvas_to_mnist(random_canvas_digit(int(digit), rng)[0])
        assert image is not None
        images.append(as_uint8(image))
    return np.stack(images), labels.astype(np.uint8)


@pytest.fixture(scope="module")
def drawings() -> tuple[np.ndarray, np.ndarray]:
    return handwriting(40, seed=3)


@pytest.fixture(scope="module")
def fake_mnist(synthetic_digits):
    (x, y), (xt, yt) = synthetic_digits(3000, seed=1), synthetic_digits(500, seed=2)
    return (x, y), (xt, yt)


@pytest.fixture(scope="module")
def start_model(fake_mnist):
    """A small convnet that knows the fake MNIST (one epoch), not handwriting."""
    from core.config import TrainConfig
    from core.training import train

    config = TrainConfig(arch="cnn", width=8, dropout=0.2, epochs=1, train_size=3000, val_size=0, seed=11)
    return train(config, data=fake_mnist).model


def spec_of(model, drawings, mnist_images: int = 1500) -> FineTune:
    return FineTune(StartModel.of(model), *drawings, base="a small CNN", mnist_images=mnist_images)


def test_every_fourth_drawing_is_held_out_and_at_least_one() -> None:
    assert np.flatnonzero(held_out(10)).tolist() == [3, 7]
    assert np.flatnonzero(held_out(3)).tolist() == [2]
    assert held_out(0).tolist() == []


def test_a_fine_tune_needs_enough_drawings_of_the_right_kind(start_model, drawings) -> None:
    images, labels = drawings
    with pytest.raises(ValueError, match=f"at least {MIN_DRAWINGS}"):
        FineTune(StartModel.of(start_model), images[: MIN_DRAWINGS - 1], labels[: MIN_DRAWINGS - 1])
    with pytest.raises(ValueError, match="uint8"):
        FineTune(StartModel.of(start_model), images.astype(np.float32), labels)


def test_the_start_model_travels_as_plain_data(start_model) -> None:
    start = StartModel.of(start_model)
    rebuilt = start.build()
    x = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    assert rebuilt is not start_model and np.allclose(rebuilt(x), start_model(x), atol=1e-6)


def test_the_config_and_the_mix(start_model, drawings, fake_mnist) -> None:
    config = finetune_config(start_model, 40)
    assert (config.arch, config.width, config.augment, config.val_size) == ("cnn", 8, True, 10)
    assert config.dropout == pytest.approx(0.2)
    spec = spec_of(start_model, drawings)
    x, y = mixed_data(spec, fake_mnist[0], seed=0)
    assert x.dtype == np.uint8 and len(x) == len(y)
    keep = held_out(40)
    assert np.array_equal(x[-10:], drawings[0][keep]) and np.array_equal(y[-10:], drawings[1][keep])
    mine = len(x) - 10 - 1500  # the trained-on drawings, repeated
    assert mine % 30 == 0 and 0.2 < mine / (len(x) - 10) < 0.3


def test_fine_tuning_on_a_tiny_set_reads_those_drawings_better(start_model, drawings, fake_mnist) -> None:
    spec = spec_of(start_model, drawings)
    # Bolder than the app's settings: the fake MNIST is far from handwriting, and the run stays short.
    config = replace(finetune_config(start_model, 40), learning_rate=3e-3, epochs=3, seed=4)
    epochs = []
    result = fine_tune(config, spec, on_epoch=epochs.append, data=fake_mnist)
    report = FineTuneReport.from_dict(result.finetune)
    assert (report.drawings, report.held_out, report.base) == (40, 10, "a small CNN")
    assert report.after["held_out"] > report.before["held_out"], report
    assert report.after["mnist"] == pytest.approx(result.test_accuracy) and report.after["mnist"] > 0.9
    assert [e.epoch for e in epochs] == [0, 1, 2]
    assert epochs[-1].val_accuracy == pytest.approx(report.after["held_out"])  # validation: the held-out drawings
    from core.inference import predict_proba

    x_mine, y_mine = drawings[0][~held_out(40)], drawings[1][~held_out(40)]
    before = (predict_proba(start_model, x_mine / 255.0).argmax(1) == y_mine).mean()
    after = (predict_proba(result.model, x_mine / 255.0).argmax(1) == y_mine).mean()
    assert after > before + 0.5 and after > 0.8, (before, after)
    again = fine_tune(config, spec, data=fake_mnist)  # deterministic
    assert again.finetune == result.finetune
    # What a worker returns rebuilds the fine-tuned model, architecture and all.
    back = unpack_result(pack_result(result))
    assert back.finetune == result.finetune
    rebuilt, trained = (predict_proba(m, x_mine / 255.0) for m in (back.model, result.model))
    assert np.allclose(rebuilt, trained, atol=1e-5)


def test_a_fine_tune_job_becomes_a_stored_run_of_the_person(tmp_path, start_model, drawings, fake_mnist) -> None:
    store = Store(tmp_path)

    def make_job(config, is_alive, **extra):
        def run_here(config, **kwargs):
            return fine_tune(config, data=fake_mnist, **kwargs)

        return TrainingJob(config, slots=TrainingSlots(1), is_alive=is_alive, train_fn=run_here, **extra)

    trainings = Trainings(store, make_job=make_job, test_labels=lambda: fake_mnist[1][1])
    try:
        spec = spec_of(start_model, drawings, mnist_images=500)
        training = trainings.start("o" * 32, finetune_config(start_model, 40), finetune=spec)
        assert training.job.finetune is spec
        assert training.stored.wait(120)
        assert training.job.state is JobState.DONE and training.outcome == "done"
        [stored] = store.runs("o" * 32)
        assert stored.record.metrics["finetune"]["held_out"] == 10
        from core.run_records import run_from

        run = run_from(stored)
        assert run.result.finetune == stored.record.metrics["finetune"] and "your handwriting" in run.label
    finally:
        store.close()


def test_a_fine_tune_stops_within_a_batch_and_keeps_its_report(start_model, drawings, fake_mnist) -> None:
    def slow(config, **kwargs):
        def on_batch(update):
            time.sleep(0.05)
            kwargs["on_batch"](update)

        return fine_tune(config, **{**kwargs, "on_batch": on_batch}, data=fake_mnist)

    config = replace(finetune_config(start_model, 40), epochs=5)
    job = TrainingJob(config, slots=TrainingSlots(1), train_fn=slow, finetune=spec_of(start_model, drawings)).start()
    deadline = time.monotonic() + 60
    while not job.snapshot().batches and time.monotonic() < deadline:
        time.sleep(0.05)
    job.stop()
    assert job.join(60) and job.state is JobState.STOPPED
    result = job.snapshot().result
    assert result is not None and result.stopped_early and result.finetune["after"]["held_out"] >= 0.0
