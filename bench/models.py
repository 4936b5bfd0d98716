"""The shared models folder: what listing it costs on every stroke, and what each picked model costs in memory.

1. **Listing.** A temporary models folder with 3 and with 1,000 saved models
   (tiny model files, each with a real-sized card naming an owner). Per
   listing as the Draw page makes one on every script run (the listing and
   the picker's options): before, ``core.storage.list_models`` (reads every
   card); after, ``core.model_index`` (one ``stat`` of the folder while
   nothing changed; "index alone" without building the picker's options).
   Also what the index costs when it has work to do: its first build from
   the folder, a rescan after a model was copied in by hand, and a save
   through ``core.model_owners.save_owned``. And a whole Draw page script
   run (``AppTest``, before anything is drawn) with either listing.
2. **Memory per picked model.** ``--picks`` saved CNNs (the Train page's
   default settings) picked one after another, each used for one stroke
   (``predict_proba``) and, with ``--inside``, the "Inside the network" view;
   resident memory after each pick, each variant in a fresh process:
   ``before`` (an unbounded ``st.cache_resource`` that froze the garbage
   collector after each load, and ``core.inference`` as it was: an
   XLA-compiled function for one image whose closure held the model),
   ``bounded, old inference`` (the bounded cache, inference as it was),
   ``bounded, XLA`` (the bounded cache, the model held weakly, but still XLA)
   and ``after`` (``pages.model_cache``: at most ``CACHED_MODELS`` models,
   least recently used out; one plain traced function per model, holding it
   weakly). Also the time of one full garbage collection at the end, and
   what dropping XLA costs a drawing (``predict_proba`` on the bundled model).

Run::

    python -m bench.models [--picks 40] [--inside] [--skip-memory] [--skip-listing]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CARD = (ROOT / "models" / "default.json").read_text()  # a real card (2 kB): what list_models reads each time
VARIANTS = ("before", "bounded, old inference", "bounded, XLA", "after")


class _TinyModel:
    """Stands in for a Keras model when saving: the listing never opens model files."""

    def save(self, path: Path) -> None:
        Path(path).write_bytes(b"zip")


def _folder(count: int) -> Path:
    """A temporary models folder: the bundled model and ``count - 1`` saved ones, ten owners among them."""
    folder = Path(tempfile.mkdtemp(prefix="bench-models-"))
    (folder / "default.keras").write_bytes(b"zip")
    (folder / "default.json").write_text(CARD)
    card = json.loads(CARD)
    for i in range(count - 1):
        name = f"model-{i:04d}"
        (folder / f"{name}.keras").write_bytes(b"zip")
        (folder / f"{name}.json").write_text(json.dumps(card | {"name": name, "owner": f"{i % 10:032d}"}))
    past = time.time_ns() - 10 * 10**9  # as if the folder had been still for a while
    os.utime(folder, ns=(past, past))
    return folder


def _per_call_ms(call: Callable[[], object], budget_s: float = 1.0, most: int = 2000) -> float:
    """Median milliseconds of ``call`` over as many calls as fit in ``budget_s`` (at least 5)."""
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < 5 or (len(times) < most and time.perf_counter() - started < budget_s):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _once_ms(call: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    call()
    return (time.perf_counter() - t0) * 1000


def _page_run_ms(lister: Callable[[], object]) -> float:
    """Median ms of a Draw page script run (AppTest, no drawing yet) whose saved models come from ``lister``."""
    from streamlit.testing.v1 import AppTest

    import core.model_index

    real = core.model_index.saved_models
    core.model_index.saved_models = lambda directory=None: lister()  # type: ignore[assignment,misc]
    try:
        page = AppTest.from_file(str(ROOT / "pages" / "draw.py"), default_timeout=120)
        page.run()
        page.run()
        if page.exception or page.error:
            raise RuntimeError(f"the Draw page failed: {page.exception or page.error}")
        return _per_call_ms(page.run, budget_s=1.0, most=25)
    finally:
        core.model_index.saved_models = real


def _picker(models) -> dict[str, str]:
    """What the Draw page makes of a listing: the picker's options."""
    return {f"saved:{m.name}": f"Saved: {m.name}" for m in models if not m.is_default}


def _listing_row(count: int) -> str:
    """One row of the listing table: ``count`` saved models, before and after."""
    import shutil

    from core.model_index import ModelIndex, model_index
    from core.model_owners import save_owned
    from core.storage import list_models

    folder = _folder(count)
    try:
        before = _per_call_ms(lambda: _picker(list_models(folder)))
        page_before = _page_run_ms(lambda: list_models(folder))
        build = _once_ms(lambda: ModelIndex(folder).models())  # no index yet: built from the folder
        index = model_index(folder)
        after = _per_call_ms(lambda: _picker(index.models()))
        alone = _per_call_ms(index.models)
        page_after = _page_run_ms(index.models)
        (folder / "by-hand.keras").write_bytes(b"zip")  # a model copied in outside the app
        (folder / "by-hand.json").write_text(CARD)
        past = time.time_ns() - 10 * 10**9
        os.utime(folder, ns=(past, past))
        rescan = _once_ms(index.models)
        card = json.loads(CARD)
        save = _once_ms(lambda: save_owned(_TinyModel(), "new-one", "9" * 32, card, total=count + 1, directory=folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return (
        f"{count:12,d} {before:11.3f} {after:10.3f} {alone:11.4f} {page_before:11.1f} {page_after:10.1f}   "
        f"{build:11.1f} {rescan:7.1f} {save:7.1f}"
    )


def _listing(counts: list[int]) -> None:
    from pages.internals import keep_compiled_functions

    keep_compiled_functions()  # as app.py does: a rerun does not reset Keras
    print("Listing the models folder: the listing and the picker's options, and a whole Draw page run (median ms)")
    print(
        f"{'saved models':>12s} {'list before':>11s} {'list after':>10s} {'index alone':>11s} "
        f"{'page before':>11s} {'page after':>10s}   "
        f"{'index build':>11s} {'rescan':>7s} {'save':>7s}"
    )
    for count in counts:
        print(_listing_row(count), flush=True)


# --- memory per picked model (each variant in a fresh process) ------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _old_inference(holds_model: bool) -> type:
    """``core.inference``'s per-model functions as they were: XLA for one image, the model held by the closure."""
    import tensorflow as tf

    from core.inference import _input_adapter

    class OldCompiled:
        def __init__(self, model) -> None:
            adapt = _input_adapter(model)
            held = (lambda: model) if holds_model else weakref.ref(model)

            def call(x):
                return held()(adapt(x), training=False)

            self.single = tf.function(call, input_signature=[tf.TensorSpec([1, 28, 28], tf.float32)], jit_compile=True)
            self.batch = tf.function(call, input_signature=[tf.TensorSpec([None, 28, 28], tf.float32)])

        def __call__(self, x):
            return np.asarray((self.single if len(x) == 1 else self.batch)(tf.constant(x)))

    return OldCompiled


def _child(variant: str, folder: Path, picks: int, inside: bool) -> dict:
    """Pick the models of ``folder`` in turn as ``variant`` would cache them; resident MB after each pick."""
    import streamlit as st

    import core.inference as inference
    from core.explain import saliencies
    from pages import model_cache

    if variant == "before":

        @st.cache_resource(show_spinner=False)  # as pages.model_cache was: unbounded, frozen after each load
        def load(path: str, mtime: float):
            model = inference.load_model(path)
            gc.freeze()
            return model
    else:
        load = model_cache.load_cached_model
    if variant != "after":
        inference._Compiled = _old_inference(holds_model=variant != "bounded, XLA")  # type: ignore[misc]
    image = np.zeros((28, 28), np.float32)
    paths = sorted(folder.glob("*.keras"))[:picks]
    rss = [_rss_mb()]
    for path in paths:
        model = load(str(path), path.stat().st_mtime)
        inference.predict_proba(model, image)
        if inside:
            saliencies(model, image, [0, 1])
        del model
        gc.collect()
        rss.append(_rss_mb())
    gc_ms = min(_once_ms(gc.collect) for _ in range(3))
    return {"rss": rss, "gc_ms": gc_ms, "cached": model_cache.CACHED_MODELS}


def _memory(picks: int, inside: bool) -> None:
    import shutil

    from core.model import build_model

    folder = Path(tempfile.mkdtemp(prefix="bench-picks-"))
    try:
        for i in range(picks):
            build_model("cnn", seed=i).save(folder / f"saved-{i:02d}.keras")
        size = sum(p.stat().st_size for p in folder.glob("*.keras")) / picks / 2**20
        print(
            f"\nMemory per picked model: {picks} saved CNNs ({size:.1f} MB files), one stroke each"
            f"{' and the Inside view' if inside else ''}; resident MB after each pick, a fresh process per variant"
        )
        header = f"{'variant':24s} {'start':>6s} {'after 8':>8s} {f'after {picks}':>9s} {'MB/pick 1-8':>12s} "
        print(header + f"{'MB/pick 9-' + str(picks):>13s} {'full gc ms':>10s}")
        for variant in VARIANTS:
            command = [sys.executable, "-m", "bench.models", "--child", variant, "--folder", str(folder)]
            command += ["--picks", str(picks)] + (["--inside"] if inside else [])
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode != 0 or not lines:
                print(f"{variant:24s} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            result = json.loads(lines[-1])
            rss, bound = result["rss"], min(result["cached"], picks)
            first = (rss[bound] - rss[0]) / bound
            later = (rss[-1] - rss[bound]) / max(1, picks - bound)
            print(
                f"{variant:24s} {rss[0]:6.0f} {rss[bound]:8.0f} {rss[-1]:9.0f} {first:12.1f} {later:13.1f} "
                f"{result['gc_ms']:10.1f}"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _xla_per_stroke(calls: int = 1500) -> None:
    """What dropping XLA costs a stroke: ``predict_proba`` on the bundled model, plain against XLA, interleaved."""
    import core.inference as inference
    from core.preprocess import canvas_to_mnist
    from support.handwriting import random_canvas_digit

    rng = np.random.default_rng(0)
    images = [canvas_to_mnist(random_canvas_digit(i % 10, rng)[0]) for i in range(300)]
    plain = inference.load_model(ROOT / "models" / "default.keras")
    current = inference._Compiled
    inference._Compiled = _old_inference(holds_model=False)  # type: ignore[misc]
    try:
        xla = inference.load_model(ROOT / "models" / "default.keras")
    finally:
        inference._Compiled = current  # type: ignore[misc]
    times: dict[str, list[float]] = {"plain (after)": [], "XLA (before)": []}
    while len(times["XLA (before)"]) < calls:
        for name, model in (("plain (after)", plain), ("XLA (before)", xla)):
            for image in images:
                t0 = time.perf_counter()
                inference.predict_proba(model, image)
                times[name].append(time.perf_counter() - t0)
    print("\npredict_proba per drawing, bundled model (ms):")
    for name, values in times.items():
        print(f"  {name:14s} p50={np.percentile(values, 50) * 1000:.3f}  p95={np.percentile(values, 95) * 1000:.3f}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.models")
    parser.add_argument("--counts", default="3,1000", help="saved models in the listing's folder, comma-separated")
    parser.add_argument("--picks", type=int, default=40, help="saved models picked one after another")
    parser.add_argument("--inside", action="store_true", help="also open the Inside the network view on each")
    parser.add_argument("--skip-listing", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.folder, args.picks, args.inside)))
        return 0
    started = time.perf_counter()
    data = None
    if not os.environ.get("DIGIT_STUDIO_DATA"):  # the Draw page's store and identity: never the project's data/
        data = tempfile.mkdtemp(prefix="bench-models-data-")
        os.environ["DIGIT_STUDIO_DATA"] = data
    if not args.skip_listing:
        _listing([int(c) for c in args.counts.split(",")])
    if not args.skip_memory:
        if os.path.exists("/proc/self/statm"):
            _memory(max(1, args.picks), args.inside)
            _xla_per_stroke()
        else:
            print("memory per pick skipped: resident memory is read from Linux's /proc")
    if data is not None:
        import shutil

        shutil.rmtree(data, ignore_errors=True)
    print(f"\nbenchmark_seconds={time.perf_counter() - started:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
