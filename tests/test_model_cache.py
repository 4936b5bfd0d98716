"""The in-process model cache is bounded (least recently used out), and a model it drops is freed.

Models are loaded through the page's own cached loader
(``pages.model_cache.load_cached_model``, an ``st.cache_resource``), used for
predictions and the "Inside the network" view as the Draw page uses them,
then dropped: a weak reference tells whether anything still holds them
(``core.inference``'s and ``core.explain``'s per-model functions must not).
"""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")

from core.explain import saliencies  # noqa: E402
from core.inference import predict_proba  # noqa: E402
from core.model import build_model  # noqa: E402
from pages import model_cache  # noqa: E402
from pages.model_cache import CACHED_MODELS, load_cached_model  # noqa: E402

IMAGE = np.zeros((28, 28), np.float32)


@pytest.fixture(scope="module")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """More small saved models than the cache keeps."""
    folder = tmp_path_factory.mktemp("models")
    model = build_model("mlp", seed=0)
    paths = []
    for i in range(CACHED_MODELS + 2):
        paths.append(folder / f"m{i}.keras")
        model.save(paths[-1])
    return paths


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An empty cache in a process whose libraries are not frozen yet: the first load freezes them, as in the app.

    Afterwards the garbage collector is as it was.
    """
    load_cached_model.clear()
    monkeypatch.setattr(model_cache, "_frozen", threading.Event())
    yield
    load_cached_model.clear()
    gc.unfreeze()


def pick(path: Path) -> weakref.ref:
    """Load ``path`` through the cache and use it as a stroke on the Draw page does; a weak reference to it."""
    model = load_cached_model(str(path), path.stat().st_mtime)
    predict_proba(model, IMAGE)
    saliencies(model, IMAGE, [0, 1])
    return weakref.ref(model)


def alive(refs: list[weakref.ref]) -> list[int]:
    gc.collect()
    return [i for i, ref in enumerate(refs) if ref() is not None]


def test_the_cache_keeps_at_most_its_bound_and_frees_the_least_recently_used(model_files, cache) -> None:
    refs = [pick(path) for path in model_files[:CACHED_MODELS]]
    assert alive(refs) == list(range(CACHED_MODELS))
    pick(model_files[0])  # used again: now the most recent
    refs += [pick(path) for path in model_files[CACHED_MODELS:]]
    assert alive(refs) == [0, *range(3, CACHED_MODELS + 2)]  # 1 and 2, least recently used, are gone
    assert len(alive(refs)) == CACHED_MODELS
    assert gc.get_freeze_count() > 0  # the libraries were frozen at the first load; the models were not


def test_a_model_picked_again_is_the_cached_one(model_files, cache) -> None:
    first = pick(model_files[0])
    assert pick(model_files[0])() is first()


def test_a_model_nothing_holds_is_freed_whatever_ran_on_it() -> None:
    for arch in ("cnn", "mlp"):
        model = build_model(arch, seed=0)
        predict_proba(model, np.zeros((3, 28, 28), np.float32))
        saliencies(model, IMAGE, [3])
        ref = weakref.ref(model)
        del model
        assert alive([ref]) == []
