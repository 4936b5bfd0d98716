"""Tests for the command line, python -m core.train: --help loads no model library, bad settings exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import ARCHS, SCHEDULES

ROOT = Path(__file__).resolve().parent.parent


def test_help_does_not_import_tensorflow():
    code = (
        "import contextlib, io, json, sys\n"
        "import core.train\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        core.train.main(['--help'])\n"
        "    except SystemExit as exc:\n"
        "        code = exc.code\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'numpy', 'jax', 'torch') if m in sys.modules)\n"
        "print(json.dumps({'code': code, 'heavy': heavy, 'help': out.getvalue()}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    assert answer["code"] == 0 and answer["heavy"] == []
    assert "--arch {" + ",".join(ARCHS) + "}" in answer["help"]
    assert "--schedule {" + ",".join(SCHEDULES) + "}" in answer["help"]


def test_module_help_answers():
    proc = subprocess.run(
        [sys.executable, "-m", "core.train", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and "usage: python -m core.train" in proc.stdout


@pytest.mark.parametrize("argv, word", [(["--epochs", "0"], "Epochs"), (["--width", "100"], "Width")])
def test_invalid_settings_exit_2_before_training(argv, word, capsys):
    pytest.importorskip("tensorflow")
    from core.train import main

    assert main(argv) == 2
    assert word in capsys.readouterr().err
