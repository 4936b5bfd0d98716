"""Cached models and the model the Draw page uses.

Models loaded from disk are cached with ``st.cache_resource``: one read-only
copy per process, used only for inference. Models trained in a session live
in that session's state and are never shared.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.storage import DEFAULT_MODEL, MODELS_DIR
from pages.state import run_by_number, session

DEFAULT_PATH = MODELS_DIR / f"{DEFAULT_MODEL}.keras"


@st.cache_resource(show_spinner="Loading the model…")
def load_cached_model(path: str, mtime: float):
    """Load a model file once per process (read-only: inference only).

    ``mtime`` is part of the cache key, so a re-saved file is loaded afresh.
    """
    import gc

    from core.inference import load_model

    model = load_model(path)
    # TensorFlow, Keras and the model are loaded for good: move their objects out of
    # the garbage collector's way so automatic full collections stay cheap.
    gc.freeze()
    return model


def load_file_model(path: Path):
    """The cached model at ``path``; raises ``ModelLoadError`` with a clear message."""
    from core.inference import ModelLoadError

    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise ModelLoadError(f"No model file at {path}.") from None
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
        run = run_by_number(int(data.active[4:]))
        if run is not None:
            return run.result.model, run.label, None
        problem = "That training run is no longer available."
    elif data.active.startswith("saved:"):
        name = data.active[6:]
        try:
            return load_file_model(MODELS_DIR / f"{name}.keras"), f"Saved model “{name}”", None
        except ModelLoadError as exc:
            problem = f"Could not use saved model “{name}”: {exc}"
    try:
        model = load_file_model(DEFAULT_PATH)
    except ModelLoadError as exc:
        return None, "none", f"{problem + ' ' if problem else ''}The bundled model cannot be loaded either: {exc}"
    if problem:
        data.active = "default"
        problem += " Using the bundled default model instead."
    return model, "Bundled default model", problem
