"""Cached models and the model the Draw page uses.

Models loaded from disk are cached with ``st.cache_resource``: one read-only
copy per process, used only for inference, at most :data:`CACHED_MODELS` of
them (the least recently used is dropped: each costs 3-10 MB, and a room
picking each other's saved models would otherwise fill the memory). A
person's trained models are never shared: each session holds (or loads from
the person's store) its own.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import streamlit as st

from core.storage import DEFAULT_MODEL, MODELS_DIR
from core.text import plain
from pages.state import run_by_number, session

DEFAULT_PATH = MODELS_DIR / f"{DEFAULT_MODEL}.keras"
#: Models read from files that stay loaded (the bundled one, saved ones), least recently used out.
CACHED_MODELS = 8

_frozen = threading.Event()


def freeze_libraries() -> None:
    """Move what is alive now (TensorFlow's and Keras' objects, once imported) out of the garbage collector's way.

    Once per process, before the first model is loaded: automatic full
    collections then stay cheap (about 185 ms of held GIL each otherwise),
    while models, which are not frozen, are freed once the cache drops them.
    """
    if not _frozen.is_set():
        _frozen.set()
        gc.freeze()


@st.cache_resource(max_entries=CACHED_MODELS, show_spinner="Loading the model…")
def load_cached_model(path: str, mtime: float):
    """Load a model file once per process (read-only: inference only).

    ``mtime`` is part of the cache key, so a re-saved file is loaded afresh.
    """
    from core.inference import load_model  # imports TensorFlow and Keras

    freeze_libraries()
    return load_model(path)


def load_file_model(path: Path):
    """The cached model at ``path``; raises ``ModelLoadError`` with a clear message."""
    from core.inference import ModelLoadError

    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise ModelLoadError(f"No model file {path.name} (it may have been deleted).") from None
    return load_cached_model(str(path), mtime)


def active_model() -> tuple[object | None, str, str | None]:
    """The model the Draw page should use.

    Returns:
        ``(model, label, problem)``: falls back to the bundled default (with
        ``problem`` saying why) when the chosen model is gone or broken;
        ``model`` is None only if even the default cannot be loaded.
    """
    from core.inference import ModelLoadError

    data = session()
    problem = None
    if data.active.startswith("run:"):
        number = data.active[4:]
        run = run_by_number(int(number)) if number.isdigit() else None
        if run is None:
            problem = "That training run is no longer available."
        else:
            try:
                return run.result.model, run.label, None
            except ModelLoadError as exc:  # a stored run whose file is unreadable
                problem = f"Could not use {run.label}: {exc}"
    elif data.active.startswith("saved:"):
        name = data.active[6:]
        try:
            return load_file_model(MODELS_DIR / f"{name}.keras"), f"Saved model “{plain(name, 64)}”", None
        except ModelLoadError as exc:
            problem = f"Could not use saved model “{plain(name, 64)}”: {plain(exc, 300)}"
    try:
        model = load_file_model(DEFAULT_PATH)
    except ModelLoadError as exc:
        return None, "none", f"{problem + ' ' if problem else ''}The bundled model cannot be loaded either: {exc}"
    if problem:
        data.active = "default"
        problem += " Using the bundled default model instead."
    return model, "Bundled default model", problem
