"""Tests for core.cards: the model card written beside a saved model."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
import types
from pathlib import Path

from core.cards import model_card
from core.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent


def _result(**changes) -> types.SimpleNamespace:
    """A stand-in for a TrainResult: the card reads only these attributes."""
    values = {
        "config": TrainConfig(arch="mlp", epochs=3),
        "test_accuracy": 0.987654,
        "test_loss": 0.0432109,
        "history": {"loss": [0.5, 0.3], "accuracy": [0.8, 0.9], "val_loss": [0.4, 0.2], "val_accuracy": [0.85, 0.95]},
        "stopped_early": True,
        "epochs_completed": 2.3456,
        "duration": 12.345,
    }
    return types.SimpleNamespace(**{**values, **changes})


def test_card_fields():
    result = _result()
    card = model_card(result, "mine", source="Digit Studio Train page")
    assert card["name"] == "mine" and card["source"] == "Digit Studio Train page"
    assert card["config"] == TrainConfig(arch="mlp", epochs=3).to_dict()
    assert card["test_accuracy"] == 0.9877 and card["test_loss"] == 0.0432
    assert card["history"] == result.history
    assert card["stopped_early"] is True and card["epochs_completed"] == 2.35 and card["train_seconds"] == 12.3
    assert "command" not in card
    date = dt.datetime.fromisoformat(card["date"])
    assert date.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.UTC) - date).total_seconds()) < 3600
    json.dumps(card)  # JSON-friendly as it is


def test_card_command():
    card = model_card(_result(), "cli", source="core.train command line", command="python -m core.train --epochs 3")
    assert card["command"] == "python -m core.train --epochs 3"


def test_tensorflow_version_only_when_already_imported(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", types.SimpleNamespace(__version__="9.9.9"))
    assert model_card(_result(), "a", source="test")["tensorflow"] == "9.9.9"
    monkeypatch.delitem(sys.modules, "tensorflow")
    assert "tensorflow" not in model_card(_result(), "a", source="test")


def test_card_does_not_import_tensorflow():
    code = (
        "import json, sys, types\n"
        "from core.cards import model_card\n"
        "from core.config import TrainConfig\n"
        "r = types.SimpleNamespace(config=TrainConfig(), test_accuracy=0.9, test_loss=0.1, history={},\n"
        "                          stopped_early=False, epochs_completed=1.0, duration=1.0)\n"
        "card = model_card(r, 'x', source='test')\n"
        "print(json.dumps(['tensorflow' in card] + sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [False]


def test_card_of_a_run_without_test_images():
    card = model_card(_result(test_accuracy=float("nan"), test_loss=float("nan")), "e", source="test")
    assert math.isnan(card["test_accuracy"]) and math.isnan(card["test_loss"])
