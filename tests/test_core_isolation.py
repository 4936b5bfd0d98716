"""core/ is plain Python: no streamlit anywhere, and the light modules stay light.

Also: the app never imports the test/benchmark tooling (support/, bench/), and
nothing but the tests imports from tests/.

The Draw page calls core.preprocess on every stroke and the data loader is
used by command-line tools, so importing them must not pull in TensorFlow
(seconds of start-up, hundreds of MB) or streamlit.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"


def _imported_modules(path: Path) -> set[str]:
    """Top-level names of every module imported anywhere in a file (including inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
            "import_module",
            "__import__",
        ):
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    names.add(arg.value.split(".")[0])
    return names


CORE_FILES = sorted(CORE.rglob("*.py"))


def test_core_has_python_files():
    assert {"data.py", "preprocess.py", "training.py", "inference.py"} <= {p.name for p in CORE_FILES}


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_never_imports_streamlit(path):
    imported = _imported_modules(path)
    assert "streamlit" not in imported, f"{path.relative_to(ROOT)} imports streamlit"
    assert "st_canvas" not in imported and "streamlit_drawable_canvas" not in imported


def test_scanner_sees_imports(tmp_path):
    """Guard against the AST scan silently finding nothing."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os.path\nfrom streamlit import x\n"
        "def f():\n    import tensorflow as tf\n    importlib.import_module('keras.layers')\n"
    )
    assert _imported_modules(sample) >= {"os", "streamlit", "tensorflow", "keras"}


def heavy_modules_after(*imports: str) -> list[str]:
    """The model libraries and streamlit a fresh interpreter has loaded after running ``imports``."""
    code = "\n".join(
        [
            *imports,
            "import json, sys",
            "heavy = sorted(m for m in ('tensorflow', 'keras', 'streamlit', 'jax', 'torch') if m in sys.modules)",
            "print(json.dumps(heavy))",
        ]
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_light_modules_do_not_import_tensorflow_or_streamlit():
    assert heavy_modules_after("import core.preprocess, core.data, core.images, core.metrics") == []


def test_config_does_not_import_tensorflow():
    """TrainConfig is used by ``python -m core.train --help`` and by job servers: no model library."""
    assert heavy_modules_after("import core.config") == []


@pytest.mark.parametrize("folder", ["bench", "support"])
def test_only_tests_import_from_tests(folder: str) -> None:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files
    assert [str(p.relative_to(ROOT)) for p in files if "tests" in _imported_modules(p)] == []


def test_the_app_never_imports_support() -> None:
    files = [ROOT / "app.py", *sorted((ROOT / "core").rglob("*.py")), *sorted((ROOT / "pages").rglob("*.py"))]
    assert [str(p.relative_to(ROOT)) for p in files if {"support", "bench"} & _imported_modules(p)] == []


def test_the_store_and_identity_do_not_import_tensorflow():
    """Every page reads a person's runs on every script run: that must not load a model library."""
    assert (
        heavy_modules_after(
            "import core.identity, core.store, core.store_limits, core.store_records, core.atomic, core.registry",
            "import core.run_records",
        )
        == []
    )


def test_the_collection_and_the_fine_tune_spec_do_not_import_tensorflow():
    """A drawing is checked and stored on the Draw page's thread; a fine-tune's spec travels to a worker."""
    assert heavy_modules_after("import core.drawings, core.contribution, core.finetune") == []


def test_the_job_server_does_not_import_tensorflow():
    """The web server's side of a training (queue, cluster client, dispatch) loads no model library."""
    assert heavy_modules_after("import core.jobs, core.slots, core.cluster, core.dispatch, core.remote") == []


def test_listing_and_owning_saved_models_do_not_import_tensorflow():
    """The Draw page lists saved models on every script run, and the sidebar's "Forget my data" deletes them."""
    assert heavy_modules_after("import core.model_index, core.model_owners, core.storage") == []
