"""Tests for core.model and core.inference: architectures, fast prediction, safe loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from core.inference import ModelLoadError, load_model, predict_proba, warm_up  # noqa: E402
from core.model import ARCHITECTURES, build_model, model_summary  # noqa: E402

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default.keras"


@pytest.fixture(scope="module")
def tiny_cnn():
    """A small untrained CNN (width 4), shared by the tests of this module (never trained here)."""
    return build_model("cnn", width=4, seed=0)


@pytest.fixture(scope="module")
def saved_cnn(tiny_cnn, tmp_path_factory) -> Path:
    """``tiny_cnn`` saved once as a .keras file."""
    path = tmp_path_factory.mktemp("models") / "tiny.keras"
    tiny_cnn.save(path)
    return path


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 28, 28), dtype=np.float32)


# --- build_model ---------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_build_model_outputs_probabilities(arch):
    model = build_model(arch, width=4, seed=1)
    assert model.input_shape == (None, 28, 28)
    assert model.output_shape == (None, 10)
    out = predict_proba(model, _images(3))
    assert out.shape == (3, 10) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    assert (out >= 0).all()
    assert model.optimizer is not None  # compiled, ready for fit
    assert "probabilities" in model_summary(model)


def test_architectures_listed():
    assert set(ARCHITECTURES) == {"mlp", "cnn"}


def test_cnn_width_sets_filters():
    model = build_model("cnn", width=4)
    assert [model.get_layer(f"conv{i}").filters for i in (1, 2, 3)] == [4, 8, 16]


def test_seed_makes_weights_reproducible():
    a = build_model("mlp", seed=3).get_weights()
    b = build_model("mlp", seed=3).get_weights()
    for wa, wb in zip(a, b, strict=False):
        np.testing.assert_array_equal(wa, wb)
    other = build_model("mlp", seed=4).get_weights()
    assert not np.array_equal(a[0], other[0])
    layers = [build_model("cnn", width=4, seed=3).get_weights()[i] for i in (0, 5)]
    assert layers[0].shape != layers[1].shape or not np.array_equal(*layers)  # each layer its own seed


def test_seeded_build_leaves_global_random_state_alone():
    """Setting TensorFlow's global seed clears its kernel cache: every compiled function
    in the process (other sessions' inference and training) would compile again."""
    from tensorflow.python.eager import context

    before = context.global_seed()
    build_model("mlp", seed=11)
    assert context.global_seed() == before


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"arch": "resnet"}, "unknown architecture"),
        ({"arch": "mlp", "dropout": -0.1}, "dropout"),
        ({"arch": "mlp", "dropout": 0.9}, "dropout"),
        ({"arch": "cnn", "dropout": 1.5}, "dropout"),
    ],
)
def test_build_model_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_model(**kwargs)


# --- predict_proba --------------------------------------------------------------------


def test_predict_proba_single_and_batch(tiny_cnn):
    images = _images(5)
    batch = predict_proba(tiny_cnn, images)
    single = predict_proba(tiny_cnn, images[2])
    assert batch.shape == (5, 10) and single.shape == (1, 10)
    np.testing.assert_allclose(single[0], batch[2], atol=1e-5)
    # Same answer as Keras' own (slow) path, and uint8-free float64 input works too.
    np.testing.assert_allclose(batch, tiny_cnn(images, training=False).numpy(), atol=1e-5)
    np.testing.assert_allclose(predict_proba(tiny_cnn, images.astype(np.float64)), batch, atol=1e-5)


def test_predict_proba_empty_batch(tiny_cnn):
    assert predict_proba(tiny_cnn, np.zeros((0, 28, 28), np.float32)).shape == (0, 10)


@pytest.mark.parametrize("shape", [(28,), (28, 27), (2, 28, 28, 1), (4, 784), (1, 32, 32)])
def test_predict_proba_rejects_bad_shapes(tiny_cnn, shape):
    with pytest.raises(ValueError, match="28, 28"):
        predict_proba(tiny_cnn, np.zeros(shape, np.float32))


@pytest.mark.parametrize("input_shape", [(28, 28, 1), (784,)])
def test_other_input_layouts(input_shape, tmp_path):
    model = keras.Sequential(
        [keras.Input(input_shape), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    images = _images(4)
    out = predict_proba(model, images)
    assert out.shape == (4, 10)
    expected = model(images.reshape((4,) + input_shape), training=False).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # And it survives save/load.
    model.save(tmp_path / "layout.keras")
    np.testing.assert_allclose(predict_proba(load_model(tmp_path / "layout.keras"), images), out, atol=1e-5)


def test_warm_up_returns_model(tiny_cnn):
    assert warm_up(tiny_cnn) is tiny_cnn


# --- load_model -------------------------------------------------------------------------


def test_save_load_round_trip(tiny_cnn, saved_cnn):
    images = _images(6, seed=2)
    loaded = load_model(saved_cnn)
    assert loaded is not tiny_cnn
    np.testing.assert_allclose(predict_proba(loaded, images), predict_proba(tiny_cnn, images), atol=1e-6)


def test_load_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match="No model file") as exc:
        load_model(tmp_path / "ghost.keras")
    assert "ghost.keras" in str(exc.value)


def test_load_directory(tmp_path):
    with pytest.raises(ModelLoadError):
        load_model(tmp_path)


def test_load_text_file_renamed(tmp_path):
    path = tmp_path / "notes.keras"
    path.write_text("these are my notes, not a model\n")
    with pytest.raises(ModelLoadError, match="not a Keras model file") as exc:
        load_model(path)
    assert "notes.keras" in str(exc.value)


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_load_truncated_model(saved_cnn, tmp_path, keep):
    raw = saved_cnn.read_bytes()
    path = tmp_path / "cut.keras"
    path.write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(ModelLoadError) as exc:
        load_model(path)
    assert "cut.keras" in str(exc.value)
    assert "truncated" in str(exc.value) or "could not be loaded" in str(exc.value)


def test_load_corrupted_zip_member(saved_cnn, tmp_path):
    """The zip directory is intact but the weights inside are garbage."""
    raw = bytearray(saved_cnn.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 2000] = bytes(2000)
    path = tmp_path / "garbled.keras"
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelLoadError, match="garbled.keras"):
        load_model(path)


def test_load_rejects_non_digit_models(tmp_path):
    five = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")]
    )
    five.save(tmp_path / "five.keras")
    with pytest.raises(ModelLoadError, match="10 digit classes"):
        load_model(tmp_path / "five.keras")
    big = keras.Sequential(
        [keras.Input((32, 32)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    big.save(tmp_path / "big.keras")
    with pytest.raises(ModelLoadError, match="28×28"):
        load_model(tmp_path / "big.keras")


# --- the bundled model ----------------------------------------------------------------------


def test_default_model_accuracy(mnist):
    if not DEFAULT_MODEL.is_file():
        pytest.skip("models/default.keras is not there (yet)")
    model = load_model(DEFAULT_MODEL)
    (_, _), (x_test, y_test) = mnist
    probabilities = predict_proba(model, x_test[:2000].astype(np.float32) / 255.0)
    accuracy = float((probabilities.argmax(axis=1) == y_test[:2000]).mean())
    assert accuracy >= 0.99, f"default model accuracy on the first 2000 test images: {accuracy:.4f}"
