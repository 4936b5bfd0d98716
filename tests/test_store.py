"""core.store: runs survive reopening, owners are kept apart, caps, retention, forget, and crash safety."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.atomic import write_atomically
from core.store import DB_FILE, SCHEMA_VERSION, Store, StoreError
from core.store_limits import PROJECT_DATA, StoreLimits, data_folder
from core.store_records import RunRecord

ROOT = Path(__file__).resolve().parent.parent
ALICE, BOB = "a" * 32, "b" * 32
DAY = 86400.0


class Clock:
    """A settable clock (Unix seconds)."""

    def __init__(self, now: float = 1_000_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def record(accuracy: float = 0.9) -> RunRecord:
    return RunRecord(
        config={"arch": "mlp", "epochs": 1},
        history={"loss": [0.5], "val_loss": [float("nan")]},
        metrics={"test_accuracy": accuracy, "test_loss": 0.3},
        curve={"loss": {"epoch": [0.5, 1.0], "value": [1, 0.5]}},
        confusion=[[1] * 10] * 10,
        mistakes=[{"index": 3, "true": 1, "predicted": 7, "confidence": 0.9}],
    )


def model_writer(content: bytes = b"model"):
    return lambda path: path.write_bytes(content)


def finished(store: Store, owner: str, accuracy: float = 0.9, content: bytes = b"model") -> tuple[int, list[str]]:
    number = store.begin_run(owner, {"arch": "mlp"})
    return number, store.finish_run(owner, number, "done", record(accuracy), model_writer(content))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    s = Store(tmp_path, StoreLimits(runs_per_person=3, max_bytes=10 * 2**20, retention_days=30), clock)
    yield s
    s.close()


def reopen(store: Store, **limits) -> Store:
    store.close()
    return Store(store.folder, StoreLimits(**{"runs_per_person": 3, "max_bytes": 10 * 2**20, **limits}), store.clock)


# -- the basics -------------------------------------------------------------------------
def test_a_finished_run_comes_back_after_reopening(store):
    number, notes = finished(store, ALICE, 0.97, b"weights")
    assert (number, notes) == (1, [])
    again = reopen(store)
    try:
        (run,) = again.runs(ALICE)
        assert (run.number, run.state) == (1, "done")
        assert run.record.metrics["test_accuracy"] == 0.97 and run.record.confusion[0][0] == 1
        assert run.record.mistakes[0]["predicted"] == 7 and run.record.curve["loss"]["epoch"] == [0.5, 1.0]
        assert run.record.history["val_loss"][0] != run.record.history["val_loss"][0]  # NaN kept
        assert run.model_path.read_bytes() == b"weights"
    finally:
        again.close()


def test_numbers_go_up_per_owner(store):
    assert [store.begin_run(ALICE, {}) for _ in range(2)] == [1, 2]
    assert store.begin_run(BOB, {}) == 1


def test_one_owner_never_sees_or_deletes_anothers_runs(store):
    finished(store, ALICE)
    assert store.runs(BOB) == [] and store.run(BOB, 1) is None
    assert store.delete_run(BOB, 1) is False
    with pytest.raises(KeyError):
        store.finish_run(BOB, 1, "done", record(), model_writer())
    assert store.run(ALICE, 1).model_path.exists()
    assert store.pref(BOB, "draw") is None
    store.set_pref(ALICE, "draw", "run:1")
    assert store.pref(BOB, "draw") is None and store.pref(ALICE, "draw") == "run:1"


def test_delete_run_removes_its_row_and_file(store):
    finished(store, ALICE)
    path = store.run(ALICE, 1).model_path
    assert store.delete_run(ALICE, 1) and not path.exists() and store.runs(ALICE) == []


def test_preferences_and_notes(store):
    store.set_pref(ALICE, "settings", {"epochs": 3})
    store.set_pref(ALICE, "settings", {"epochs": 4})
    assert store.pref(ALICE, "settings") == {"epochs": 4}
    store.add_note(ALICE, "one")
    store.add_note(ALICE, "two")
    assert store.pop_notes(ALICE) == ["one", "two"] and store.pop_notes(ALICE) == []


def test_only_done_or_stopped_runs_are_finished(store):
    number = store.begin_run(ALICE, {})
    with pytest.raises(ValueError):
        store.finish_run(ALICE, number, "running", record(), model_writer())


# -- restarts ---------------------------------------------------------------------------
def test_a_training_cut_off_by_a_restart_is_marked_interrupted(store):
    finished(store, ALICE)
    store.begin_run(ALICE, {"arch": "cnn"})
    assert store.start_up().interrupted == 0  # this process's own training is not cut off
    again = reopen(store)
    try:
        assert again.start_up().interrupted == 1
        states = [(r.number, r.state, r.model_path) for r in again.runs(ALICE)]
        assert states[0][:2] == (1, "done") and states[1] == (2, "interrupted", None)
        assert again.run(ALICE, 2).record.config == {"arch": "cnn"}
    finally:
        again.close()


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    Store(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StoreError, match="newer"):
        Store(tmp_path)


def test_the_database_runs_in_wal_mode(store):
    with sqlite3.connect(store.folder / DB_FILE) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- caps, retention, forget ------------------------------------------------------------
def test_the_oldest_runs_beyond_the_per_person_cap_are_dropped_with_a_note(store):
    for _ in range(3):
        finished(store, ALICE)
    oldest = store.run(ALICE, 1).model_path
    running = store.begin_run(ALICE, {})  # a training in progress is never dropped
    number, notes = finished(store, ALICE)
    assert number == 5 and notes == ["Run 1 was removed: you keep your latest 3 runs."]
    assert [r.number for r in store.runs(ALICE)] == [2, 3, running, 5] and not oldest.exists()
    assert store.pop_notes(ALICE) == notes
    finished(store, BOB)  # someone else's runs do not count
    assert len(store.runs(ALICE)) == 4


def test_the_size_cap_drops_the_oldest_runs_of_anyone(tmp_path, clock):
    store = Store(tmp_path, StoreLimits(runs_per_person=10, max_bytes=2_500_000), clock)
    try:
        finished(store, BOB, content=b"x" * 1_000_000)
        clock.now += 1
        finished(store, ALICE, content=b"x" * 1_000_000)
        clock.now += 1
        _, notes = finished(store, ALICE, content=b"x" * 1_000_000)
        assert notes == [] and store.runs(BOB) == []
        assert store.pop_notes(BOB) == ["Run 1 was removed: the app keeps 2 MB of runs in all."]
        assert [r.number for r in store.runs(ALICE)] == [1, 2]
        assert store.total_bytes() <= 2_500_000
        assert len(list(store.runs_folder.iterdir())) == 2
    finally:
        store.close()


def test_retention_removes_old_runs_at_start_up(store, clock):
    finished(store, ALICE)
    store.set_pref(ALICE, "settings", {"epochs": 2})
    old_file = store.run(ALICE, 1).model_path
    clock.now += 31 * DAY
    finished(store, ALICE)
    store.set_pref(BOB, "settings", {"epochs": 9})
    report = store.start_up()
    assert report.expired == 1 and not old_file.exists()
    assert [r.number for r in store.runs(ALICE)] == [2]
    assert store.pref(ALICE, "settings") is None and store.pref(BOB, "settings") == {"epochs": 9}


def test_retention_zero_keeps_everything(store, clock):
    finished(store, ALICE)
    clock.now += 3650 * DAY
    again = reopen(store, retention_days=0)
    try:
        assert again.start_up().expired == 0 and len(again.runs(ALICE)) == 1
    finally:
        again.close()


def test_forget_leaves_nothing_of_that_person(store):
    finished(store, ALICE)
    finished(store, ALICE)
    store.begin_run(ALICE, {})
    store.set_pref(ALICE, "draw", "run:2")
    store.add_note(ALICE, "hello")
    finished(store, BOB)
    assert store.forget(ALICE) == 3
    assert not store.has_data(ALICE) and store.runs(ALICE) == []
    with sqlite3.connect(store.folder / DB_FILE) as db:
        for table in ("runs", "prefs", "notes"):
            assert db.execute(f"SELECT COUNT(*) FROM {table} WHERE owner=?", (ALICE,)).fetchone()[0] == 0
    assert [p.name for p in store.runs_folder.iterdir()] == [store.run(BOB, 1).model_path.name]
    assert store.has_data(BOB)
    assert store.begin_run(ALICE, {}) == 1  # a fresh start


# -- crash safety -----------------------------------------------------------------------
def test_a_failing_write_leaves_the_previous_file(tmp_path):
    path = tmp_path / "m.keras"
    write_atomically(path, lambda p: p.write_bytes(b"old"))

    def half_then_fail(p: Path) -> None:
        p.write_bytes(b"ne")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomically(path, half_then_fail)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["m.keras"]


def test_a_failing_rename_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    write_atomically(path, lambda p: p.write_bytes(b"old"))

    def no_rename(*_):
        raise OSError("no rename")

    monkeypatch.setattr("core.atomic.os.replace", no_rename)
    with pytest.raises(OSError):
        write_atomically(path, lambda p: p.write_bytes(b"new"))
    assert path.read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


def test_a_failure_between_the_file_and_the_row_keeps_the_previous_state(store, monkeypatch):
    finished(store, ALICE)
    number = store.begin_run(ALICE, {"arch": "cnn"})

    def fail(*_, **__):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Store, "_drop_beyond_caps", fail)  # inside the transaction, after the UPDATE
    with pytest.raises(sqlite3.OperationalError):
        store.finish_run(ALICE, number, "done", record(), model_writer())
    run = store.run(ALICE, number)
    assert (run.state, run.model_path, run.record.metrics) == ("running", None, {})
    assert [p.name for p in store.runs_folder.iterdir()] == [store.run(ALICE, 1).model_path.name]


CRASH = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from core.store import Store
    from core.store_records import RunRecord
    store = Store(Path({folder!r}))
    number = store.begin_run("{owner}", {{"arch": "cnn"}})
    where = {where!r}
    def crash(*_, **__):
        os._exit(3)
    if where == "mid-file":
        write = lambda path: (path.write_bytes(b"half"), crash())
    else:
        write = lambda path: path.write_bytes(b"whole")
        if where == "before-commit":
            Store._drop_beyond_caps = crash  # the row's UPDATE is done, its COMMIT is not
        else:
            Store._write = crash  # the file is in place, the transaction not begun
    store.finish_run("{owner}", number, "done", RunRecord(config={{}}), write)
""")


@pytest.mark.parametrize("where", ["mid-file", "after-file", "before-commit"])
def test_a_process_killed_mid_save_leaves_the_previous_state(tmp_path, where):
    """A real crash (``os._exit``) at each step of saving a run; the next start-up tidies up."""
    store = Store(tmp_path)
    finished(store, ALICE, 0.95, b"first")
    store.close()
    script = CRASH.format(root=str(ROOT), folder=str(tmp_path), owner=ALICE, where=where)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 3, done.stderr.decode()[-2000:]
    store = Store(tmp_path)
    try:
        report = store.start_up()
        assert report.interrupted == 1 and report.orphan_files == 1
        first, second = store.runs(ALICE)
        assert (first.state, first.model_path.read_bytes()) == ("done", b"first")
        assert first.record.metrics["test_accuracy"] == 0.95
        assert (second.state, second.model_path) == ("interrupted", None)
        assert [p.name for p in store.runs_folder.iterdir()] == [first.model_path.name]
    finally:
        store.close()


# -- settings ---------------------------------------------------------------------------
def test_limits_and_folder_come_from_the_environment(tmp_path):
    env = {
        "DIGIT_STUDIO_DATA": str(tmp_path),
        "DIGIT_STUDIO_MAX_RUNS": "7",
        "DIGIT_STUDIO_MAX_STORE_MB": "64",
        "DIGIT_STUDIO_RETENTION_DAYS": "0",
        "DIGIT_STUDIO_MAX_SAVED_MODELS": "2",
        "DIGIT_STUDIO_MAX_MODELS_FOLDER": "30",
    }
    assert data_folder(env) == tmp_path and data_folder({}) == PROJECT_DATA
    assert StoreLimits.from_env(env) == StoreLimits(7, 64 * 2**20, 0.0, 2, 30)
    assert StoreLimits.from_env({}) == StoreLimits()


@pytest.mark.parametrize("value", ["many", "-1", "0", "nan", ""])
def test_a_bad_limit_falls_back_to_the_default(value):
    assert StoreLimits.from_env({"DIGIT_STUDIO_MAX_RUNS": value}).runs_per_person == StoreLimits().runs_per_person


def test_the_default_data_folder_is_git_ignored():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert f"/{PROJECT_DATA.name}/" in ignored
