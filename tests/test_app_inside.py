"""The "Inside the network" views in the app, driven with AppTest: the Draw page's toggle for every kind
of model it can pick, and the Train page's per-digit accuracy and first-layer weights.

The canvas cannot be used from AppTest, so drawings come in through the photo upload
(the browser test opens the view on a drawn digit). Session runs are made with
``core.training.train`` directly and put in the session, which is much quicker
than training through the Train page.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app_pages import (
    MODELS,
    assert_ok,
    data_of,
    digit_png,
    joined,
    model_picker,
    needs_mnist,
    new_app,
    open_page,
    texts,
)

INSIDE = "show_inside"
FIGURE = re.compile(r"<img src='([^']*)'.*?<figcaption[^>]*>(.*?)</figcaption>", re.DOTALL)


@pytest.fixture
def scratch_name() -> Iterator[str]:
    """A unique model name whose files in models/ are removed afterwards."""
    name = f"apptest-inside-{uuid.uuid4().hex[:8]}"
    yield name
    for path in MODELS.glob(f"*{name}*"):
        path.unlink(missing_ok=True)


def upload_a_one(at: AppTest) -> None:
    at.radio[0].set_value("Upload a photo").run()
    at.file_uploader[0].set_value(("one.png", digit_png(), "image/png")).run()
    assert_ok(at)
    assert [m for m in at.markdown if "data-testid='prediction'" in m.value]


def captions(at: AppTest) -> list[str]:
    return [i.caption for e in at.get("image") for i in e.proto.imgs]


def figure_captions(at: AppTest) -> list[str]:
    """Captions of the view's pictures, which it sends inline in its HTML (PNG data URIs)."""
    found = []
    for m in at.markdown:
        for picture, caption in FIGURE.findall(m.value):
            assert picture.startswith("data:image/png;base64,"), picture[:40]
            found.append(html.unescape(caption))
    return found


def open_inside(at: AppTest) -> list[str]:
    """Turn the view on; return the captions of its pictures."""
    assert not figure_captions(at)
    at.toggle(key=INSIDE).set_value(True).run()
    assert_ok(at)
    assert "Which pixels decided" in joined(at.markdown)
    shown = figure_captions(at)
    assert any(", the answer (" in c for c in shown) and any(", the runner-up (" in c for c in shown), shown
    return shown


def pick(at: AppTest, key: str) -> None:
    model_picker(at).set_value(key).run()
    assert_ok(at)
    assert not at.warning, texts(at.warning)


def session_run(arch: str, epochs: int = 1, data=None):
    """A finished run of ``arch`` as the Train page keeps it (synthetic data unless ``data`` is given)."""
    from core.config import TrainConfig
    from core.runs import Run
    from core.training import train
    from tests.conftest import _synthetic_digits

    if data is None:
        data = _synthetic_digits(400, seed=0), _synthetic_digits(60, seed=1)
    config = TrainConfig(arch=arch, epochs=epochs, batch_size=64, val_size=60, seed=0, width=8)
    return Run(number=1, result=train(config, data=data), state="done")


def store_run(data, run) -> None:
    """Keep ``run`` in the person's store, as the registry does when a training ends (runs are read from there)."""
    from core.run_records import record_of
    from core.storage import save_model

    number = data.store.begin_run(data.owner, run.result.config.to_dict())
    data.store.finish_run(
        data.owner, number, run.state, record_of(run.result, None), lambda path: save_model(run.result.model, path)
    )


def test_the_view_is_off_until_asked_and_shows_the_bundled_models_layers() -> None:
    at = open_page(new_app(), "draw")
    assert at.toggle(key=INSIDE).disabled  # nothing drawn yet
    upload_a_one(at)
    assert at.toggle(key=INSIDE).value is False
    assert "Which pixels decided" not in joined(at.markdown)  # closed: nothing made
    shown = open_inside(at)
    layers = [c for c in shown if "filters" in c or "units" in c]
    assert sum("filters" in c for c in layers) == 3, shown  # the bundled convnet: three convolutions
    assert "What each layer sees" in joined(at.markdown) and not at.info
    at.toggle(key=INSIDE).set_value(False).run()
    assert "Which pixels decided" not in joined(at.markdown)


def test_the_view_shows_a_session_run_and_its_units_weights() -> None:
    at = open_page(new_app(), "draw")
    store_run(data_of(at), session_run("mlp"))
    at.run()  # the picker lists the new run
    pick(at, "run:1")
    upload_a_one(at)
    shown = open_inside(at)
    assert sum(c.startswith("unit ") for c in shown) == 8, shown
    assert "most active units of dense_128" in joined(at.markdown)


def test_the_view_shows_a_saved_model(scratch_name: str) -> None:
    from core.model import build_model
    from core.storage import save_model

    save_model(build_model("cnn", width=4, seed=1), MODELS / f"{scratch_name}.keras")
    at = open_page(new_app(), "draw")
    pick(at, f"saved:{scratch_name}")
    upload_a_one(at)
    shown = open_inside(at)
    assert any("× 4 filters" in c for c in shown) and any("× 8 filters" in c for c in shown), shown


def test_a_saved_model_whose_layers_do_not_fit_gets_a_message(scratch_name: str) -> None:
    import keras
    from keras import layers

    from core.storage import save_model

    rnn = keras.Sequential([keras.Input((28, 28)), layers.LSTM(8), layers.Dense(10, activation="softmax")])
    save_model(rnn, MODELS / f"{scratch_name}.keras")
    at = open_page(new_app(), "draw")
    pick(at, f"saved:{scratch_name}")
    upload_a_one(at)
    open_inside(at)  # which pixels decided: works for any model
    assert "no convolution or hidden dense layer" in joined(at.info)
    assert "What each layer sees" not in joined(at.markdown)


@needs_mnist
@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_train_results_show_accuracy_per_digit_and_the_first_layer(arch: str, mnist) -> None:
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    from core.metrics import per_class_accuracy

    (x_train, y_train), test = mnist
    at = new_app()
    run = session_run(arch, epochs=2, data=((x_train[:2500], y_train[:2500]), test))
    expected = per_class_accuracy(test[1], run.result.test_probabilities.argmax(1))
    # Runs are read back from the person's store, as after a reload.
    from core.run_records import record_of
    from core.storage import save_model

    data = data_of(at)
    number = data.store.begin_run(data.owner, run.result.config.to_dict())
    data.store.finish_run(
        data.owner, number, "done", record_of(run.result, test[1]), lambda path: save_model(run.result.model, path)
    )
    open_page(at, "train")
    [chart] = [c.proto for c in at.get("vega_lite_chart") if "Accuracy per digit" in c.proto.spec]
    [frame] = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.datasets]
    np.testing.assert_allclose(frame.sort_values("digit")["accuracy"], expected)
    shown = captions(at)
    # A stored run keeps its final weights only (the epoch-1 kernel lives on the fresh TrainResult).
    assert any(c.startswith("after 2 epoch") for c in shown), shown
    assert ("filters of 4×4 pixels" if arch == "cnn" else "784 input weights") in joined(at.markdown)
