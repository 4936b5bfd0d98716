"""What a room's leaderboard costs: the background scoring, and what a page's refresh pays.

On a temporary data folder, a room of ``--people`` participants, each with
``--runs`` finished runs (untrained models of the app's two architectures:
scoring costs the same trained or not), and ``--drawings`` shared drawings
from the repository's handwriting generator. Measures:

* the background thread: seconds to score every model on the room's set the
  first time (load and classify), then after one more drawing is shared
  (one answer per model; models beyond the few kept loaded are loaded again),
  with the thread's rests included (``rest`` = 1: it sleeps as long as it worked);
* a page's refresh (what every viewer pays every 5 s): the room's runs read,
  the room's set read (cached per version), every model's score asked, with the
  scores complete (the steady state) and right after a new drawing.

Prints the figures. Run::

    python -m bench.room_scores [--people 10] [--runs 2] [--drawings 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.store import percentiles, timed
from core.contribution import as_uint8
from core.preprocess import canvas_to_mnist
from core.presenter import PresenterKey
from core.room_rules import RoomLimits
from core.room_schema import Contribution
from core.room_scores import Scoreboard
from core.rooms import Rooms
from core.store import Store
from core.store_records import RunRecord
from support.handwriting import random_canvas_digit

KEY = "bench-presenter-key"


def drawings(n: int, seed: int = 0) -> list[Contribution]:
    """``n`` generated handwritten digits as contributions."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        digit = int(rng.integers(10))
        image = canvas_to_mnist(random_canvas_digit(digit, rng)[0])
        if image is not None:
            out.append(Contribution(f"s{len(out)}", as_uint8(image), digit))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=10)
    parser.add_argument("--runs", type=int, default=2, help="finished runs per participant")
    parser.add_argument("--drawings", type=int, default=200)
    parser.add_argument("--calls", type=int, default=50, help="page refreshes timed")
    args = parser.parse_args()

    from core.model import build_model

    with tempfile.TemporaryDirectory(prefix="bench-room-") as folder:
        store = Store(Path(folder))
        unlimited = RoomLimits(drawings_per_room=10**6, drawings_per_person=10**6, shares_per_minute=10**6)
        rooms = Rooms(store, PresenterKey(KEY, False), unlimited)
        room = rooms.open_room("Bench", KEY)
        pool = drawings(args.drawings)
        models = {arch: build_model(arch, 0.3) for arch in ("mlp", "cnn")}
        for p in range(args.people):
            owner = f"{p:032x}"
            rooms.join("Bench", owner, f"Person {p}")
            for r in range(args.runs):
                arch = "cnn" if (p + r) % 2 else "mlp"
                number = store.begin_run(owner, {"arch": arch, "epochs": 3, "dropout": 0.3})
                record = RunRecord({"arch": arch, "epochs": 3, "dropout": 0.3}, metrics={"test_accuracy": 0.98})
                store.finish_run(owner, number, "done", record, lambda path, m=models[arch]: m.save(path))
            share = pool[p * len(pool) // args.people : (p + 1) * len(pool) // args.people]
            rooms.drawings.share(owner, share)
        board = Scoreboard()  # the app's: one thread, rests as long as it works

        def refresh() -> list:
            test_set = rooms.drawings.test_set(room.id)
            return [board.score(r.model_path, test_set) for r in rooms.member_runs(room.id)]

        n_models = args.people * args.runs
        print(f"room: {args.people} people, {n_models} models (MLP and CNN), {args.drawings} drawings")
        start = time.perf_counter()
        refresh()
        first_ask = time.perf_counter() - start
        assert board.idle(1800)
        first = time.perf_counter() - start
        print(f"first page refresh (queues every model): {1000 * first_ask:.1f} ms")
        print(f"background: every model scored the first time in {first:.1f} s ({first / n_models:.2f} s a model)")
        print(f"page refresh, scores complete:          {percentiles(timed(refresh, args.calls))}")

        extra = drawings(1, seed=99)
        rooms.drawings.share("0" * 32, [Contribution("extra", extra[0].image, extra[0].label)])
        start = time.perf_counter()
        scores = refresh()
        asked = time.perf_counter() - start
        complete = sum(s.complete for s in scores)
        print(f"page refresh right after a new drawing:  {1000 * asked:.1f} ms ({complete} scores complete)")
        assert board.idle(1800)
        again = time.perf_counter() - start
        print(f"background: the new drawing answered by every model in {again:.1f} s ({again / n_models:.2f} s each)")
        store.close()


if __name__ == "__main__":
    main()
