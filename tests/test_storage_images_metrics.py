"""Tests for core.storage (names, atomic saves, listing), core.images (uploads) and core.metrics (scores)."""

from __future__ import annotations

import io
import json
import math
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.images import MAX_BYTES, WORK_SIZE, BadImageError, decode_upload
from core.metrics import Mistake, confusion_matrix, evaluate, mistakes, predict_dataset, scores
from core.storage import (
    InvalidModelName,
    ModelExists,
    list_models,
    model_bytes,
    read_card,
    save_model,
    save_new,
    validate_name,
    write_card,
)

# --- validate_name ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["my-model_2", "A", "cnn16", "x" * 64, "  padded  ", "Default2"])
def test_validate_name_accepts(name):
    assert validate_name(name) == name.strip()


@pytest.mark.parametrize(
    "name, words",
    [
        ("", "name"),
        ("   ", "name"),
        (None, "name"),
        ("a/b", "not a valid name"),
        ("..", "not a valid name"),
        ("../evil", "not a valid name"),
        ("has space", "not a valid name"),
        ("x" * 65, "not a valid name"),
        ("default", "bundled"),
        ("DEFAULT", "bundled"),
        ("naïve", "not a valid name"),
        ("a.keras", "not a valid name"),
        ("a\\b", "not a valid name"),
        ("tab\there", "not a valid name"),
    ],
)
def test_validate_name_rejects(name, words):
    with pytest.raises(InvalidModelName, match=words):
        validate_name(name)


def test_validate_name_default_allowed_for_rebuild():
    assert validate_name("default", allow_default=True) == "default"


def test_invalid_model_name_is_a_value_error():
    assert issubclass(InvalidModelName, ValueError)


# --- save_model / cards -------------------------------------------------------------------------


class _FakeModel:
    """Just enough of a keras.Model for save_model: ``save(path)`` writes bytes or fails midway."""

    def __init__(self, payload: bytes = b"model bytes", fail: bool = False) -> None:
        self.payload, self.fail = payload, fail
        self.saved_to: list[Path] = []

    def save(self, path) -> None:
        path = Path(path)
        self.saved_to.append(path)
        path.write_bytes(self.payload[: len(self.payload) // 2])
        if self.fail:
            raise OSError("No space left on device")
        path.write_bytes(self.payload)


def test_save_model_writes_atomically(tmp_path):
    model = _FakeModel(b"new model")
    target = tmp_path / "digits.keras"
    assert save_model(model, target, card={"test_accuracy": 0.98}) == target
    assert target.read_bytes() == b"new model"
    # Written under a hidden temporary name in the same folder, then renamed.
    tmp = model.saved_to[0]
    assert tmp.parent == tmp_path and tmp.name.startswith(".") and tmp.suffix == ".keras"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits.json", "digits.keras"]
    assert read_card(target) == {"test_accuracy": 0.98}


def test_saved_files_are_readable_by_others(tmp_path):
    """Temp files are created 0600; the final model and card must not stay private to one user."""
    target = tmp_path / "shared.keras"
    save_model(_FakeModel(), target, card={"a": 1})
    for path in (target, target.with_suffix(".json")):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & stat.S_IRGRP and mode & stat.S_IROTH, oct(mode)


def test_crash_during_save_keeps_old_model(tmp_path):
    target = tmp_path / "digits.keras"
    target.write_bytes(b"old model")
    write_card(target.with_suffix(".json"), {"version": 1})
    with pytest.raises(OSError, match="No space"):
        save_model(_FakeModel(b"new model that never lands", fail=True), target, card={"version": 2})
    assert target.read_bytes() == b"old model"
    assert read_card(target) == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits.json", "digits.keras"]  # no temp left


def test_crash_during_first_save_leaves_nothing(tmp_path):
    with pytest.raises(OSError):
        save_model(_FakeModel(fail=True), tmp_path / "fresh.keras")
    assert list(tmp_path.iterdir()) == []


def test_save_model_creates_folder_and_requires_keras_suffix(tmp_path):
    target = tmp_path / "sub" / "dir" / "m.keras"
    save_model(_FakeModel(), target)
    assert target.is_file() and not target.with_suffix(".json").exists()
    with pytest.raises(ValueError, match=".keras"):
        save_model(_FakeModel(), tmp_path / "m.h5")


def test_save_model_real_keras_round_trip(tmp_path):
    pytest.importorskip("keras")
    from core.inference import load_model, predict_proba
    from core.model import build_model

    model = build_model("mlp", seed=0)
    path = save_model(model, tmp_path / "real.keras", card={"name": "real"})
    images = np.random.default_rng(0).random((3, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(predict_proba(load_model(path), images), predict_proba(model, images), atol=1e-6)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cards(tmp_path):
    model_path = tmp_path / "m.keras"
    assert read_card(model_path) == {}
    write_card(model_path.with_suffix(".json"), {"b": 2, "a": [1, 2], "when": Path("x")})
    assert read_card(model_path) == {"a": [1, 2], "b": 2, "when": "x"}  # non-JSON values become strings
    model_path.with_suffix(".json").write_text("{broken")
    assert read_card(model_path) == {}
    model_path.with_suffix(".json").write_text("[1, 2]")
    assert read_card(model_path) == {}


# --- save_new / model_bytes ----------------------------------------------------------------------


def test_save_new_writes_model_and_card_under_the_name(tmp_path):
    path = save_new(_FakeModel(b"first"), "  digits-1 ", card={"name": "digits-1"}, directory=tmp_path)
    assert path == tmp_path / "digits-1.keras" and path.read_bytes() == b"first"
    assert read_card(path) == {"name": "digits-1"}


def test_save_new_refuses_a_taken_name_and_leaves_it_alone(tmp_path):
    save_new(_FakeModel(b"first"), "digits", card={"v": 1}, directory=tmp_path)
    second = _FakeModel(b"second")
    with pytest.raises(ModelExists, match="“digits” already exists") as caught:
        save_new(second, "digits", card={"v": 2}, directory=tmp_path)
    assert caught.value.name == "digits" and not isinstance(caught.value, OSError)
    assert second.saved_to == []  # nothing was even written to a temporary file
    assert (tmp_path / "digits.keras").read_bytes() == b"first" and read_card(tmp_path / "digits.keras") == {"v": 1}
    save_new(second, "digits", card={"v": 2}, replace=True, directory=tmp_path)
    assert (tmp_path / "digits.keras").read_bytes() == b"second" and read_card(tmp_path / "digits.keras") == {"v": 2}


@pytest.mark.parametrize("name", ["", "../x", "a b", "default"])
def test_save_new_refuses_bad_names_before_writing(tmp_path, name):
    model = _FakeModel()
    with pytest.raises(InvalidModelName):
        save_new(model, name, directory=tmp_path)
    assert model.saved_to == [] and list(tmp_path.iterdir()) == []


def test_save_new_failed_write_is_an_os_error(tmp_path):
    with pytest.raises(OSError, match="No space"):
        save_new(_FakeModel(fail=True), "digits", directory=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_model_bytes_are_the_saved_file_and_leave_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where TemporaryDirectory makes its folder
    model = _FakeModel(b"zip of a model")
    assert model_bytes(model) == b"zip of a model"
    assert model.saved_to[0].suffix == ".keras"
    assert list(tmp_path.iterdir()) == []


def test_model_bytes_real_keras_round_trip(tmp_path):
    pytest.importorskip("keras")
    from core.inference import load_model, predict_proba
    from core.model import build_model

    model = build_model("mlp", seed=0)
    path = tmp_path / "downloaded.keras"
    path.write_bytes(model_bytes(model))
    images = np.random.default_rng(1).random((2, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(predict_proba(load_model(path), images), predict_proba(model, images), atol=1e-6)


# --- list_models -----------------------------------------------------------------------------------


def test_list_models_order_and_filtering(tmp_path):
    for name in ("zeta", "default", "Alpha", "beta"):
        (tmp_path / f"{name}.keras").write_bytes(b"x")
    (tmp_path / ".beta.k2j3l4.tmp.keras").write_bytes(b"half")  # an interrupted save
    (tmp_path / "bad name.keras").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "orphan.json").write_text("{}")
    (tmp_path / "Alpha.json").write_text(json.dumps({"test_accuracy": 0.97}))
    (tmp_path / "zeta.json").write_text("not json")
    models = list_models(tmp_path)
    assert [m.name for m in models] == ["default", "Alpha", "beta", "zeta"]
    assert models[0].is_default and not any(m.is_default for m in models[1:])
    assert models[1].card == {"test_accuracy": 0.97} and models[3].card == {}
    assert all(m.path.parent == tmp_path and m.path.suffix == ".keras" for m in models)


def test_list_models_without_default_or_folder(tmp_path):
    (tmp_path / "b.keras").write_bytes(b"x")
    (tmp_path / "a.keras").write_bytes(b"x")
    assert [m.name for m in list_models(tmp_path)] == ["a", "b"]
    assert list_models(tmp_path / "missing") == []


# --- decode_upload ------------------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kw)
    return buffer.getvalue()


def test_png_rgba_kept_exactly():
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, (40, 50, 4), dtype=np.uint8)
    out = decode_upload(_encode(Image.fromarray(array, "RGBA")))
    assert out.shape == (40, 50, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, array)


def test_palette_png_with_transparency():
    image = Image.new("P", (30, 20), 0)
    image.putpalette([255, 255, 255, 10, 20, 30] + [0] * 762)
    image.paste(1, (5, 5, 15, 10))
    out = decode_upload(_encode(image, transparency=0))
    assert out.shape == (20, 30, 4)
    assert out[0, 0, 3] == 0  # index 0 is transparent
    assert out[7, 7].tolist() == [10, 20, 30, 255]


def test_la_png():
    grey = np.full((16, 16), 200, np.uint8)
    alpha = np.zeros((16, 16), np.uint8)
    alpha[4:12, 4:12] = 255
    out = decode_upload(_encode(Image.fromarray(np.dstack([grey, alpha]), "LA")))
    assert out.shape == (16, 16, 4)
    assert (out[..., :3] == 200).all()
    np.testing.assert_array_equal(out[..., 3], alpha)


def test_16_bit_grey_png_is_stretched():
    values = (np.arange(80 * 100).reshape(80, 100) * 8).astype(np.uint16)
    out = decode_upload(_encode(Image.fromarray(values)))
    assert out.shape == (80, 100, 4) and out.dtype == np.uint8
    assert out[..., 0].min() == 0 and out[..., 0].max() == 255
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 3] == 255).all()
    assert out[0, 0, 0] < out[-1, -1, 0]  # order kept


def test_flat_16_bit_image_does_not_divide_by_zero():
    out = decode_upload(_encode(Image.fromarray(np.full((10, 10), 1000, np.uint16))))
    assert (out[..., 0] == 0).all()


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
def test_jpeg(mode):
    image = Image.new(mode, (64, 48), "white" if mode != "CMYK" else (0, 0, 0, 0))
    out = decode_upload(_encode(image, "JPEG", quality=95))
    assert out.shape == (48, 64, 4) and out.dtype == np.uint8
    assert (out[..., 3] == 255).all()
    assert out[..., :3].min() > 240  # white (within JPEG error)


def test_large_images_are_shrunk():
    out = decode_upload(_encode(Image.new("L", (1200, 900), 255), "JPEG"))
    assert max(out.shape[:2]) <= WORK_SIZE and out.shape[2] == 4
    out = decode_upload(_encode(Image.new("RGB", (900, 1200), "white")))
    assert out.shape == (WORK_SIZE, 420, 4)


def test_uploaded_drawing_can_be_classified():
    """A dark-on-light photo of a digit goes through decode_upload and canvas_to_mnist."""
    from PIL import ImageDraw

    from core.preprocess import canvas_to_mnist

    image = Image.new("RGB", (300, 400), (235, 230, 220))
    ImageDraw.Draw(image).line([(150, 60), (150, 340)], fill=(30, 30, 40), width=18)
    digit = canvas_to_mnist(decode_upload(_encode(image, "JPEG")))
    assert digit is not None and digit.shape == (28, 28)


def test_rejects_empty():
    with pytest.raises(BadImageError, match="empty"):
        decode_upload(b"", "blank.png")


def test_rejects_non_image():
    with pytest.raises(BadImageError, match="not an image") as exc:
        decode_upload(b"%PDF-1.4 this is a document, not a picture" * 10, "report.pdf")
    assert "report.pdf" in str(exc.value)


def test_rejects_truncated_png():
    data = _encode(Image.fromarray(np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8)))
    with pytest.raises(BadImageError, match="truncated") as exc:
        decode_upload(data[: len(data) // 2], "cut.png")
    assert "cut.png" in str(exc.value)


def test_rejects_too_many_bytes():
    with pytest.raises(BadImageError, match="MB"):
        decode_upload(b"\x00" * (MAX_BYTES + 1), "big.bin")


@pytest.fixture(scope="module")
def huge_png() -> bytes:
    """A real, valid 8000×6250 (50 megapixel) 1-bit PNG: ~6 MB in memory, a few kB encoded."""
    return _encode(Image.new("1", (8000, 6250), 0))


def test_rejects_huge_image(huge_png):
    assert len(huge_png) < 100_000
    with pytest.raises(BadImageError, match="megapixels") as exc:
        decode_upload(huge_png, "poster.png")
    assert "8000×6250" in str(exc.value) and "poster.png" in str(exc.value)


# --- metrics ----------------------------------------------------------------------------------------------


def test_confusion_matrix():
    y_true = [0, 0, 1, 2, 2, 2, 9]
    y_pred = [0, 1, 1, 2, 2, 0, 9]
    matrix = confusion_matrix(np.array(y_true), np.array(y_pred))
    assert matrix.shape == (10, 10) and matrix.dtype == np.int64
    assert matrix.sum() == len(y_true)
    assert matrix[0, 0] == 1 and matrix[0, 1] == 1 and matrix[2, 2] == 2 and matrix[2, 0] == 1 and matrix[9, 9] == 1
    assert np.trace(matrix) == 5
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), matrix)  # lists work too
    small = confusion_matrix([0, 1, 1], [1, 1, 0], classes=2)
    np.testing.assert_array_equal(small, [[0, 1], [1, 1]])
    assert confusion_matrix([], [], classes=3).sum() == 0


def test_mistakes_most_confident_first():
    probabilities = np.array(
        [
            [0.9, 0.1, 0.0],  # right
            [0.3, 0.7, 0.0],  # wrong (true 0), confidence 0.7
            [0.05, 0.0, 0.95],  # wrong (true 1), confidence 0.95
            [0.2, 0.2, 0.6],  # right
            [0.6, 0.4, 0.0],  # wrong (true 2), confidence 0.6
        ]
    )
    y_true = np.array([0, 0, 1, 2, 2])
    found = mistakes(probabilities, y_true)
    assert found == [Mistake(2, 1, 2, 0.95), Mistake(1, 0, 1, 0.7), Mistake(4, 2, 0, 0.6)]
    assert [m.index for m in mistakes(probabilities, y_true, limit=2)] == [2, 1]
    assert mistakes(probabilities, probabilities.argmax(1)) == []
    assert all(isinstance(m.index, int) and isinstance(m.confidence, float) for m in found)


def test_scores():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], np.float32)
    loss, accuracy = scores(probabilities, np.array([0, 1, 1]))
    assert accuracy == pytest.approx(2 / 3)
    assert loss == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3, rel=1e-5)
    assert all(math.isnan(v) for v in scores(np.zeros((0, 10)), np.zeros(0)))


def test_predict_dataset_in_chunks_and_evaluate():
    pytest.importorskip("tensorflow")
    from core.inference import predict_proba
    from core.model import build_model

    model = build_model("mlp", 0.0, seed=0)
    x = np.random.default_rng(0).integers(0, 256, (25, 28, 28)).astype(np.uint8)
    y = np.arange(25) % 10
    chunked = predict_dataset(model, x, chunk=7)
    assert chunked.shape == (25, 10) and chunked.dtype == np.float32
    np.testing.assert_allclose(chunked, predict_proba(model, x.astype(np.float32) / 255.0), rtol=1e-5, atol=1e-6)
    assert evaluate(model, x, y) == pytest.approx(scores(chunked, y))
    assert predict_dataset(model, x[:0]).shape == (0, 10)
