"""Inside the network, without a browser: activations per layer, saliency, first-layer weights, per-class accuracy.

Layers are found by type, so every test states its expectations from the
model's own layers (never from today's layer names): the CNN may change.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from core import explain
from core.explain_images import (
    kernel_images,
    map_grid,
    png_bytes,
    saliency_overlay,
    unit_strip,
    weight_grid,
)
from core.inference import load_model, predict_proba
from core.inside import inside_view, shape_label
from core.learned import first_layer_kernel, first_layer_pictures, input_weights
from core.metrics import confusion_matrix, per_class_accuracy
from core.model import build_model

ROOT = Path(__file__).resolve().parent.parent
SHOWN = (*explain.CONV_LAYERS, layers.Dense)


def bar_image() -> np.ndarray:
    """A plain "1": a vertical bar, blank elsewhere."""
    image = np.zeros((28, 28), np.float32)
    image[5:23, 12:16] = 1.0
    return image


def strided_functional() -> keras.Model:
    """A functional CNN of another shape: strided convolutions, one with its own ReLU, one with BN + ReLU after it."""
    inputs = keras.Input((28, 28))
    x = layers.Reshape((28, 28, 1))(inputs)
    x = layers.Conv2D(8, 5, strides=2, padding="same", activation="relu", name="stride_a")(x)
    x = layers.Conv2D(12, 3, strides=2, padding="same", use_bias=False, name="stride_b")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(name="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(20, activation="relu", name="hidden")(x)
    outputs = layers.Dense(10, activation="softmax", name="answer")(x)
    return keras.Model(inputs, outputs, name="strided")


def strided_sequential() -> keras.Model:
    """A Sequential CNN with a nested Sequential block, input (28, 28, 1) and a separate softmax layer."""
    block = keras.Sequential(
        [
            layers.Conv2D(6, 3, strides=2, padding="same", name="inner_conv"),
            layers.Activation("relu", name="inner_relu"),
        ],
        name="block",
    )
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            block,
            layers.Conv2D(10, 3, strides=2, name="outer_conv"),
            layers.Flatten(),
            layers.Dense(10, name="logits"),
            layers.Softmax(name="softmax"),
        ]
    )


def rnn_model() -> keras.Model:
    """Another architecture altogether: an LSTM reading the rows (no convolution, no hidden dense layer)."""
    return keras.Sequential(
        [keras.Input((28, 28)), layers.LSTM(16, name="rows"), layers.Dense(10, activation="softmax", name="answer")]
    )


@pytest.fixture(scope="module")
def bundled() -> keras.Model:
    return load_model(ROOT / "models" / "default.keras")


def expected_shapes(model: keras.Model) -> dict[str, tuple[int, ...]]:
    """Every convolution and dense layer but the answer, with its output shape, from the model's own layers."""
    found = []

    def walk(m):
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                walk(layer)
            elif isinstance(layer, SHOWN):
                found.append((layer.name, tuple(layer.output.shape[1:])))

    walk(model)
    return dict(found[:-1])


# --- activations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda: build_model("cnn", width=8), lambda: build_model("mlp"), strided_functional, strided_sequential],
    ids=["cnn", "mlp", "strided-functional", "strided-nested"],
)
def test_activations_have_one_entry_per_shown_layer_with_its_shape(make) -> None:
    model = make()
    acts = explain.activations(model, bar_image())
    assert {name: a.shape for name, a in acts.items()} == expected_shapes(model)
    assert all(a.dtype == np.float32 and np.isfinite(a).all() for a in acts.values())


def test_the_bundled_model_shows_its_convolutions_after_their_relu(bundled) -> None:
    acts = explain.activations(bundled, bar_image())
    assert list(acts) == list(expected_shapes(bundled)) == ["conv1", "conv2", "conv3"]
    assert [a.ndim for a in acts.values()] == [3, 3, 3]  # feature maps; the softmax is the answer, not a layer shown
    assert all(a.min() >= 0 and a.max() > 0 for a in acts.values())  # after ReLU


def test_mlp_activations_are_its_hidden_units() -> None:
    acts = explain.activations(build_model("mlp"), bar_image())
    assert [a.shape for a in acts.values()] == [(128,), (64,)]


def test_a_layer_is_shown_where_its_batch_norm_and_relu_end() -> None:
    model = strided_functional()
    acts = explain.activations(model, bar_image())
    x = bar_image()[None]
    for name, after in [("stride_a", "stride_a"), ("stride_b", "relu"), ("hidden", "hidden")]:
        reference = keras.Model(model.inputs[0], model.get_layer(after).output)(x, training=False)
        np.testing.assert_allclose(acts[name], np.asarray(reference)[0], atol=1e-5)


def test_functions_are_built_once_per_model_and_not_retraced(bundled) -> None:
    explain.saliencies(bundled, bar_image(), [1, 7])
    prepared = explain._explainers[bundled]
    assert explain.is_prepared(bundled)
    traces = prepared.gradients.experimental_get_tracing_count()
    rng = np.random.default_rng(0)
    for digits in ([3, 8], [0, 1], [9, 2]):
        explain.saliencies(bundled, rng.random((28, 28)).astype(np.float32), digits)
        explain.activations(bundled, rng.random((28, 28)).astype(np.float32))
    assert explain._explainers[bundled] is prepared
    assert prepared.gradients.experimental_get_tracing_count() == traces
    assert not explain.is_prepared(build_model("mlp"))


def test_a_models_functions_go_when_the_model_goes() -> None:
    """The cache holds models weakly, and what it keeps for a model does not hold the model."""
    import gc
    import weakref

    model = build_model("cnn", width=4)
    explain.saliencies(model, bar_image(), [1, 2])
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None


def test_a_model_whose_layers_do_not_fit_gets_a_message() -> None:
    model = rnn_model()
    with pytest.raises(explain.UnsupportedModel, match="no convolution or hidden dense layer"):
        explain.activations(model, bar_image())
    assert "LSTM" in explain.layers_problem(model)
    assert explain.saliency(model, bar_image(), 3).shape == (28, 28)  # which pixels decided still works
    view = inside_view(model, bar_image(), predict_proba(model, bar_image())[0])
    assert view.problem and not view.layers and len(view.overlays) == 2


def test_a_model_that_does_not_read_digit_images_is_refused_with_a_message() -> None:
    model = keras.Sequential([keras.Input((32, 32)), layers.Flatten(), layers.Dense(10, activation="softmax")])
    with pytest.raises(explain.UnsupportedModel, match="32, 32"):
        explain.saliency(model, bar_image(), 0)


def test_one_image_is_required() -> None:
    with pytest.raises(ValueError, match="28, 28"):
        explain.activations(build_model("mlp"), np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="0-9"):
        explain.saliency(build_model("mlp"), bar_image(), 10)


# --- saliency ----------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: build_model("cnn", width=8), lambda: build_model("mlp"), strided_functional])
def test_saliency_is_zero_on_blank_pixels(make) -> None:
    model = make()
    image = bar_image()
    for digit in (1, 7):
        s = explain.saliency(model, image, digit)
        assert s.shape == (28, 28) and s.dtype == np.float32
        assert np.abs(s[image == 0]).max() < 1e-6
        assert np.abs(s[image > 0]).max() > 0


def test_saliencies_of_several_digits_match_one_at_a_time(bundled) -> None:
    image = bar_image()
    acts, maps = explain.saliencies(bundled, image, [1, 7])
    np.testing.assert_allclose(maps[1], explain.saliency(bundled, image, 7), rtol=1e-4, atol=1e-6)
    for name, values in explain.activations(bundled, image).items():
        np.testing.assert_allclose(acts[name], values, rtol=1e-4, atol=1e-5)


def test_saliency_of_a_confident_answer_is_not_blank(bundled) -> None:
    """Logits, not probabilities: the top probability is 1.0 in float32 and its gradient would vanish."""
    image = bar_image()
    assert predict_proba(bundled, image)[0].max() > 0.999
    assert np.abs(explain.saliency(bundled, image, 1)).max() > 1e-3


def test_masking_the_most_salient_pixels_hurts_more_than_masking_random_ink(bundled, mnist) -> None:
    """Black out the third of the ink that is most salient, or as many random inked pixels (five draws):
    on every digit the first lowers the answer's confidence more, and by much more on average."""
    (_, _), (x_test, _) = mnist
    rng = np.random.default_rng(0)
    gaps = []
    for index in range(8):
        image = x_test[index].astype(np.float32) / 255.0
        digit = int(predict_proba(bundled, image)[0].argmax())
        s = explain.saliency(bundled, image, digit).reshape(-1)
        inked = np.flatnonzero(image.reshape(-1) > 0.1)
        k = len(inked) // 3
        salient = image.copy().reshape(-1)
        salient[np.argsort(-s)[:k]] = 0.0
        randoms = []
        for _ in range(5):
            masked = image.copy().reshape(-1)
            masked[rng.choice(inked, k, replace=False)] = 0.0
            randoms.append(masked.reshape(28, 28))
        p_salient = float(predict_proba(bundled, salient.reshape(28, 28))[0, digit])
        p_random = float(predict_proba(bundled, np.stack(randoms))[:, digit].mean())
        assert p_salient < p_random, (index, digit, p_salient, p_random)
        gaps.append(p_random - p_salient)
    assert np.mean(gaps) > 0.3, gaps


# --- the Draw page's view ------------------------------------------------------------------


def test_inside_view_of_the_bundled_model(bundled) -> None:
    image = bar_image()
    probs = predict_proba(bundled, image)[0]
    view = inside_view(bundled, image, probs)
    assert view.digits[0] == int(probs.argmax()) and view.digits[1] == int(np.argsort(-probs)[1])
    assert view.problem is None and [p.name for p in view.layers] == list(expected_shapes(bundled))
    assert all(p.picture.dtype == np.uint8 and p.picture.ndim == 2 for p in view.layers)  # grey
    assert [o.shape for o in view.overlays] == [(224, 224, 3)] * 2
    assert not view.units  # a convolution reads the pixels: no dense units' weights to picture


def test_inside_view_of_the_mlp_pictures_its_most_active_units() -> None:
    model = build_model("mlp", seed=0)
    image = bar_image()
    view = inside_view(model, image, predict_proba(model, image)[0], units=5)
    acts = explain.activations(model, image)
    first = view.units_layer
    assert first == "dense_128" and len(view.units) == 5
    assert [u.unit for u in view.units] == list(np.argsort(-acts[first], kind="stable")[:5])
    assert all(u.picture.shape[:2] == (86, 86) for u in view.units)  # 28×28 enlarged 3×, with a border


def test_shape_labels() -> None:
    assert shape_label((14, 14, 32)) == "14×14 × 32 filters"
    assert shape_label((128,)) == "128 units"


# --- pictures --------------------------------------------------------------------------------


def test_pictures_are_grids_of_the_right_size() -> None:
    maps = np.random.default_rng(0).random((7, 7, 20)).astype(np.float32)
    grid = map_grid(maps, columns=8, cell=49)  # 7 px maps enlarged 7×, 8 to a row, 3 rows
    assert grid.shape == (3 * 50 + 1, 8 * 50 + 1) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[1:50, 1:50], np.kron(np.round(maps[..., 0] / maps.max() * 255), np.ones((7, 7))))
    assert grid[0, 0] == grid[50, 10] == 70  # the lines between the cells
    assert unit_strip(np.arange(64.0), columns=32, cell=10).shape == (2 * 11 + 1, 32 * 11 + 1)
    assert weight_grid(np.ones((4, 3, 3)), columns=4, cell=30).shape == (31 + 1, 4 * 31 + 1, 3)


def test_saliency_overlay_colours_only_salient_pixels() -> None:
    image = bar_image()
    s = np.zeros((28, 28), np.float32)
    s[6, 13], s[20, 14] = 1.0, -1.0
    out = saliency_overlay(image, s, scale=1)
    assert tuple(out[6, 13]) == (255, 75, 75) and tuple(out[20, 14]) == (60, 140, 255)
    assert tuple(out[0, 0]) == (0, 0, 0) and out[10, 13, 0] == out[10, 13, 1] > 0  # grey ink


def test_png_bytes_decode_to_the_same_pixels() -> None:
    from PIL import Image

    for shape in [(31, 57, 3), (20, 45)]:
        picture = (np.random.default_rng(0).random(shape) * 255).astype(np.uint8)
        decoded = Image.open(io.BytesIO(png_bytes(picture)))
        assert decoded.format == "PNG" and np.array_equal(np.asarray(decoded), picture)


def test_kernel_images() -> None:
    assert kernel_images(np.zeros((3, 3, 1, 16))).shape == (16, 3, 3)
    dense = np.arange(784 * 4, dtype=np.float32).reshape(784, 4)
    images = kernel_images(dense)
    assert images.shape == (4, 28, 28) and images[2, 0, 1] == dense[1, 2]
    assert kernel_images(np.zeros((3, 3, 8, 16))) is None and kernel_images(np.zeros((100, 10))) is None


# --- the first layer, and the Train page's view -------------------------------------------------


@pytest.mark.parametrize("arch, shape", [("cnn", (16, 4, 4)), ("mlp", (128, 28, 28))])
def test_first_layer_weights_as_pictures(arch: str, shape: tuple[int, ...]) -> None:
    model = build_model(arch, seed=0)
    kernel = first_layer_kernel(model)
    assert type(kernel) is np.ndarray and kernel.dtype == np.float32  # plain NumPy: it travels between processes
    assert kernel_images(kernel).shape == shape
    assert (input_weights(model) is not None) == (arch == "mlp")
    alone = first_layer_pictures(model)
    assert alone.count == shape[0] and alone.size == shape[1:] and alone.after_epoch1 is None
    moved = first_layer_pictures(model, kernel * 0.5)
    assert moved.after_epoch1.shape == moved.final.shape == moved.difference.shape
    assert moved.change == pytest.approx(1.0, rel=1e-5)  # ‖k − k/2‖ / ‖k/2‖
    assert first_layer_pictures(model, np.zeros((2, 2))).after_epoch1 is None  # another layer's shape: ignored


def test_first_layer_pictures_of_a_model_without_pixel_weights() -> None:
    assert first_layer_pictures(rnn_model()) is None


def test_training_keeps_the_first_layer_after_epoch_one(synthetic_digits) -> None:
    from core.config import TrainConfig
    from core.training import train

    data = synthetic_digits(300, seed=0), synthetic_digits(50, seed=1)
    result = train(TrainConfig(arch="mlp", epochs=2, batch_size=64, val_size=50, seed=0), data=data)
    kept = result.first_layer_after_epoch1
    assert type(kept) is np.ndarray and kept.shape == (784, 128)
    assert not np.allclose(kept, first_layer_kernel(result.model))  # the second epoch changed it


def test_per_class_accuracy_agrees_with_the_confusion_matrix() -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 9, 500)  # no 9s at all
    y_pred = np.where(rng.random(500) < 0.8, y_true, rng.integers(0, 10, 500))
    matrix = confusion_matrix(y_true, y_pred)
    accuracy = per_class_accuracy(y_true, y_pred)
    np.testing.assert_allclose(accuracy[:9], np.diag(matrix)[:9] / matrix.sum(1)[:9])
    assert np.isnan(accuracy[9])


def test_explain_images_is_light() -> None:
    """The pictures module is plain NumPy: no model library at import."""
    code = (
        "import json, sys\nimport core.explain_images\n"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras', 'streamlit') if m in sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_per_class_accuracy_from_the_confusion_matrix_agrees_with_the_labels():
    from core.metrics import confusion_matrix, per_class_accuracy, per_class_from_confusion

    rng = np.random.default_rng(3)
    y_true, y_pred = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    assert np.allclose(per_class_from_confusion(confusion_matrix(y_true, y_pred)), per_class_accuracy(y_true, y_pred))
