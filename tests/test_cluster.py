"""Trainings on a real Dask cluster started with Dask's own command line, on loopback.

A scheduler (``dask scheduler``) and one worker (``dask worker``, with its
nanny) run as separate processes for the whole module, as a user would
start them on other machines; the app's side connects through
``DASK_SCHEDULER_ADDRESS``. Trainings are tiny dense networks on random
images, so no MNIST is needed. Every process is started in its own process
group and killed at teardown; every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from bench.dask_cli import DASK, ROOT, DaskProcesses
from core.jobs import JobState, TrainingJob
from core.registry import Trainings
from core.training import TrainConfig

START_TIMEOUT = 90.0  #: seconds for a process to come up on a busy 2-core machine
JOB_TIMEOUT = 180.0  #: seconds for a tiny run, the worker's first TensorFlow import included
BLOCK = 128  #: batches per call into the graph for the dense network at batch size 16


def wait_for(predicate: Callable[[], object], what: str, timeout: float = JOB_TIMEOUT) -> None:
    """Poll ``predicate`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def random_digits(n: int, seed: int = 0) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``n`` random 28x28 images with random labels, and 200 more as a test set."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n + 200, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, n + 200).astype(np.uint8)
    return (x[:n], y[:n]), (x[n:], y[n:])


def listening(pids: list[int]) -> set[str]:
    """The IP addresses that the processes ``pids`` and their children accept connections on."""
    import psutil

    found = set()
    for pid in pids:
        parent = psutil.Process(pid)
        for process in [parent, *parent.children(recursive=True)]:
            found |= {c.laddr.ip for c in process.net_connections("inet") if c.status == psutil.CONN_LISTEN}
    return found


def astuple_of(update) -> tuple:
    """What identifies a progress report."""
    return (update.epoch, update.batch, round(update.loss, 6))


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    """A scheduler and one worker started with the ``dask`` command line, connected to through the environment."""
    if not DASK.exists():
        pytest.skip(f"no dask command next to {sys.executable}")
    from core import cluster

    processes = DaskProcesses(tmp_path_factory.mktemp("dask"), START_TIMEOUT)
    old = os.environ.get("DASK_SCHEDULER_ADDRESS")
    try:
        address = processes.start_scheduler()
        assert address.startswith("tcp://127.0.0.1:")
        processes.start_worker("trainer")
        os.environ["DASK_SCHEDULER_ADDRESS"] = address
        connected = cluster.get_cluster()
        connected.client.wait_for_workers(1, timeout=START_TIMEOUT)
        wait_for(lambda: connected.capacity() == 1, "the worker's training resource", START_TIMEOUT)
        yield processes
    finally:
        cluster.shutdown()
        if old is None:
            os.environ.pop("DASK_SCHEDULER_ADDRESS", None)
        else:
            os.environ["DASK_SCHEDULER_ADDRESS"] = old
        processes.stop()


def test_the_command_line_cluster_listens_on_loopback_only(dask_cluster: DaskProcesses) -> None:
    assert listening([p.pid for p in dask_cluster.processes]) == {"127.0.0.1"}


def test_workers_started_as_the_readme_says_keep_freed_memory_for_the_next_batch(monkeypatch) -> None:
    import subprocess

    from core.cluster_settings import WORKER_ENVIRON_VARIABLE, slow_memory_trimming

    name, value = WORKER_ENVIRON_VARIABLE
    ask = "import dask.config as c, distributed; print(c.get('distributed.nanny.pre-spawn-environ'))"
    out = subprocess.run([sys.executable, "-c", ask], env={**os.environ, name: value}, capture_output=True, text=True)
    assert "'MALLOC_TRIM_THRESHOLD_': None" in out.stdout, out.stderr  # Dask's setting, read as a nanny reads it
    for trim, slow in (("65536", True), ("268435456", False), ("x", False)):
        monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", trim)
        assert slow_memory_trimming() is slow
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    assert not slow_memory_trimming()


def test_a_run_reports_progress_and_returns_its_model(dask_cluster: DaskProcesses) -> None:
    from core import cluster

    assert cluster.get_cluster().scheduler == dask_cluster.address and cluster.get_cluster().local is None
    config = TrainConfig(arch="mlp", epochs=2, batch_size=64, train_size=1500, val_size=300, seed=1)
    job = TrainingJob(config, data=random_digits(1800)).start()
    wait_for(lambda: job.snapshot().batches, "the first progress report")
    snap = job.snapshot()
    assert snap.state is JobState.RUNNING and snap.worker is not None and snap.worker.startswith("tcp://127.0.0.1:")
    assert (snap.running, snap.limit) == (1, 1)
    assert job.join(JOB_TIMEOUT)
    snap = job.snapshot()
    assert snap.state is JobState.DONE and snap.error is None
    result = snap.result
    assert result.config == config and not result.stopped_early and result.epochs_completed == 2
    assert len(result.history["loss"]) == 2 and len(snap.epochs) == 2
    assert [astuple_of(u) for u in snap.batches] == [astuple_of(u) for u in result.batch_history]
    assert result.test_probabilities.shape == (200, 10)
    probabilities = result.model.predict(random_digits(10, seed=5)[0][0].astype("float32") / 255.0, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)  # a working model, rebuilt here
    assert (snap.running, snap.limit) == (0, 1)
    # The worker process keeps the compiled trainer for the next run with these settings.
    client = cluster.get_cluster().client
    idle = client.run(lambda: __import__("core.trainer", fromlist=["trainer_pool"]).trainer_pool.idle())
    assert idle[snap.worker] >= 1


def test_stop_ends_a_run_within_the_running_block(dask_cluster: DaskProcesses) -> None:
    """Stop reaches the graph's loop, checked before every batch: the last block ends early.

    Each block of 128 batches lasts a fraction of a second, and the stop travels from here
    to the worker through the scheduler, so on a busy machine it may reach a later block
    than the one running when it was sent, or, rarely, land right on a block's end. A stop
    checked only between blocks would always land there: one stop of up to three that ends
    its block early shows the check inside the graph.
    """
    landed = []
    for seed in range(3):
        config = TrainConfig(arch="mlp", epochs=5, batch_size=16, train_size=4000, val_size=500, seed=seed)
        job = TrainingJob(config, data=random_digits(4500)).start()
        wait_for(lambda job=job: job.snapshot().batches, "the first block of batches")
        job.stop()
        assert job.join(JOB_TIMEOUT)
        snap = job.snapshot()
        assert snap.state is JobState.STOPPED and snap.result.stopped_early
        assert 0 < snap.result.epochs_completed < config.epochs
        last = snap.result.batch_history[-1]
        assert last.batches == 250 and [astuple_of(u) for u in snap.batches] == [
            astuple_of(u) for u in snap.result.batch_history
        ]
        landed.append((last.epoch, last.batch))
        if last.batch % BLOCK and last.batch != last.batches:  # blocks are batches 1-128 and 129-250
            return
    raise AssertionError(f"every stop landed at the end of a block: {landed}")


def test_a_closed_session_stops_its_run(dask_cluster: DaskProcesses, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TrainingJob, "ALIVE_EVERY", 0.05)
    alive = [True]
    config = TrainConfig(arch="mlp", epochs=20, batch_size=16, train_size=4000, val_size=500, seed=3)
    job = TrainingJob(config, is_alive=lambda: alive[0], data=random_digits(4500)).start()
    wait_for(lambda: job.snapshot().batches, "progress")
    alive[0] = False  # the browser tab is gone
    assert job.join(JOB_TIMEOUT)
    assert job.abandoned and job.state is JobState.STOPPED


class FakeRuntime:
    """Streamlit's ``Runtime.is_active_session``, for sessions a test opens and closes."""

    def __init__(self) -> None:
        self.active: set[str] = set()

    def is_active_session(self, session_id: str) -> bool:
        return session_id in self.active


def registry(store_folder, data) -> Trainings:
    """The app's registry of people's trainings over a store in ``store_folder``, training on ``data``."""
    from core.store import Store

    return Trainings(
        Store(store_folder),
        make_job=lambda config, is_alive: TrainingJob(config, is_alive=is_alive, data=data),
        test_labels=lambda: data[1][1],
    )


def test_a_closed_browser_frees_the_cluster_for_the_next_in_line(
    dask_cluster: DaskProcesses, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """The page's whole chain: session liveness -> the person's training -> its job -> the worker's stop flag."""
    from pages.internals import SessionLiveness

    monkeypatch.setattr(TrainingJob, "ALIVE_EVERY", 0.05)
    runtime = FakeRuntime()
    runtime.active |= {"alice-tab", "bob-tab"}
    trainings = registry(tmp_path, random_digits(4500))
    long = TrainConfig(arch="mlp", epochs=20, batch_size=16, train_size=4000, val_size=500, seed=5)
    short = TrainConfig(arch="mlp", epochs=1, batch_size=128, train_size=500, val_size=100, seed=6)
    alice = trainings.start("a" * 32, long, is_alive=SessionLiveness(runtime.is_active_session, "alice-tab", 0.2))
    wait_for(lambda: alice.job.snapshot().batches, "Alice's progress")
    bob = trainings.start("b" * 32, short, is_alive=SessionLiveness(runtime.is_active_session, "bob-tab", 0.2))
    wait_for(lambda: bob.job.snapshot().queue_position == 1, "Bob to queue behind Alice")
    runtime.active.discard("alice-tab")  # Alice closed her browser: after the grace period her run stops
    assert alice.stored.wait(JOB_TIMEOUT) and alice.outcome == "stopped" and alice.job.abandoned
    assert bob.stored.wait(JOB_TIMEOUT) and bob.outcome == "done"
    assert trainings.store.run("a" * 32, 1).state == "stopped"  # kept as trained so far, as after Stop


def test_a_worker_dying_mid_run_fails_the_job_and_keeps_the_previous_model(
    dask_cluster: DaskProcesses, tmp_path
) -> None:
    from core import cluster
    from core.inference import load_model, predict_proba

    owner, data = "c" * 32, random_digits(4500)
    trainings = registry(tmp_path, data)
    first = trainings.start(owner, TrainConfig(arch="mlp", epochs=1, batch_size=128, train_size=500, val_size=100))
    assert first.stored.wait(JOB_TIMEOUT) and first.outcome == "done"
    config = TrainConfig(arch="mlp", epochs=30, batch_size=16, train_size=4000, val_size=500, seed=4)
    second = trainings.start(owner, config)
    job = second.job
    wait_for(lambda: job.snapshot().batches, "progress")
    worker = job.snapshot().worker
    client = cluster.get_cluster().client
    pid = client.run(os.getpid, workers=[worker])[worker]
    os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    assert job.join(60)
    snap = job.snapshot()
    assert snap.state is JobState.FAILED and snap.result is None
    assert "stopped before the end" in snap.error and "previous model is still in use" in snap.error
    assert (snap.running, snap.queue_position) == (0, None)
    # What the page shows: the message, and the previous run's model, still there and working.
    assert second.stored.wait(JOB_TIMEOUT) and second.outcome == "failed" and second.error == snap.error
    (kept,) = trainings.store.runs(owner)
    assert kept.number == first.number and kept.state == "done"
    probabilities = predict_proba(load_model(kept.model_path), data[1][0][:5].astype("float32") / 255.0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)

    # The nanny starts a fresh worker process, and the next run trains there.
    wait_for(lambda: cluster.get_cluster().capacity() == 1, "the restarted worker", START_TIMEOUT)
    again = TrainingJob(
        TrainConfig(arch="mlp", epochs=1, batch_size=128, train_size=500, val_size=100), data=random_digits(600)
    ).start()
    assert again.join(JOB_TIMEOUT)
    assert again.state is JobState.DONE and again.snapshot().worker != worker


def test_a_second_run_waits_its_turn_and_can_leave_the_queue(dask_cluster: DaskProcesses) -> None:
    long = TrainingJob(
        TrainConfig(arch="mlp", epochs=30, batch_size=16, train_size=4000, val_size=500), data=random_digits(4500)
    ).start()
    wait_for(lambda: long.state is JobState.RUNNING, "the first run to start")
    second = TrainingJob(
        TrainConfig(arch="mlp", epochs=1, batch_size=128, train_size=500, val_size=100), data=random_digits(600)
    ).start()
    third = TrainingJob(
        TrainConfig(arch="mlp", epochs=1, batch_size=128, train_size=500, val_size=100), data=random_digits(600)
    ).start()
    wait_for(lambda: third.snapshot().queue_position == 2, "the third run to queue behind the second")
    snap = second.snapshot()
    assert (snap.state, snap.queue_position, snap.running, snap.limit) == (JobState.QUEUED, 1, 1, 1)
    third.stop()
    assert third.join(30) and third.state is JobState.CANCELLED
    long.stop()
    assert long.join(JOB_TIMEOUT) and long.state is JobState.STOPPED
    assert second.join(JOB_TIMEOUT) and second.state is JobState.DONE


# --- the local cluster and the settings -----------------------------------------------------


def test_the_local_cluster_listens_on_loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.cluster import RESOURCE, Cluster

    monkeypatch.delenv("DIGIT_STUDIO_TF_THREADS", raising=False)
    local = Cluster(None, workers=1, threads=2)
    try:
        assert local.local is not None and local.scheduler.startswith("tcp://127.0.0.1:")
        assert not local.client.dashboard_link.startswith("http://0.0.0.0")
        workers = local.client.scheduler_info(n_workers=-1)["workers"]
        assert len(workers) == 1 and local.capacity() == 2
        ((address, info),) = workers.items()
        assert address.startswith("tcp://127.0.0.1:") and info["nanny"].startswith("tcp://127.0.0.1:")
        assert info["resources"] == {RESOURCE: 2} and info["nthreads"] == 2
        assert listening([os.getpid()]) == {"127.0.0.1"}  # scheduler and nanny here, the worker in a child
        threads = local.client.run(lambda: os.environ.get("DIGIT_STUDIO_TF_THREADS"))
        assert list(threads.values()) == [str(max(1, (os.cpu_count() or 2) // 2))]
        # Dask's nanny would start it with MALLOC_TRIM_THRESHOLD_=65536, which slows training down.
        trim = local.client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        assert list(trim.values()) == [None]
        from core.config import TrainConfig
        from core.estimate import estimator

        estimator.clear()
        local.warm_workers()  # imports TensorFlow, loads MNIST and times a short run, at a lower priority
        (calibration,) = local._calibrations
        timing = calibration.result(timeout=300)
        assert list(local.client.run(lambda: os.nice(0)).values()) == [10]  # below the web server's priority
        if os.environ.get("MNIST_DIR"):
            assert timing["config"]["train_size"] == 4096 and timing["seconds"] > 0
            deadline = time.monotonic() + 10  # (the callback runs on the client's thread)
            while not estimator.estimate(TrainConfig()).measured and time.monotonic() < deadline:
                time.sleep(0.05)
            assert estimator.estimate(TrainConfig()).measured, "the calibration did not reach the estimator"
    finally:
        local.close()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from core import cluster

    for name in ("DIGIT_STUDIO_WORKERS", "DIGIT_STUDIO_WORKER_THREADS", "DIGIT_STUDIO_TF_THREADS"):
        monkeypatch.delenv(name, raising=False)
    cores = os.cpu_count() or 2
    assert cluster.local_workers() == max(1, cores // 2) and cluster.local_threads() == 1
    assert cluster.worker_tf_threads(1, 1) == cores
    monkeypatch.setenv("DIGIT_STUDIO_WORKERS", "3")
    monkeypatch.setenv("DIGIT_STUDIO_WORKER_THREADS", "two")  # not a number: the default
    assert (cluster.local_workers(), cluster.local_threads()) == (3, 1)
    monkeypatch.setenv("DIGIT_STUDIO_TF_THREADS", "4")
    assert cluster.worker_tf_threads(3, 1) == 4
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:1")
    assert cluster.scheduler_address() == "tcp://127.0.0.1:1"
    if cluster._cluster is None:
        assert cluster.capacity() == 0  # a named scheduler's workers are unknown until connected
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    if cluster._cluster is None:
        assert cluster.capacity() == 3  # what the local cluster would offer


def test_the_queue_follows_a_changing_capacity() -> None:
    from core.slots import TrainingSlots

    room = [0]
    slots = TrainingSlots(capacity=lambda: room[0])
    assert slots.limit is None and slots.allowed == 0
    admitted: list[str] = []
    threads = [threading.Thread(target=lambda t=t: slots.acquire(t, poll=0.01) and admitted.append(t)) for t in "ab"]
    for thread in threads:
        thread.start()
        wait_for(lambda t=thread: slots.waiting == threads.index(t) + 1, "the ticket to queue", 10)
    time.sleep(0.05)
    assert admitted == [] and slots.position("a") == 1 and slots.position("b") == 2
    room[0] = 1  # a worker joined
    wait_for(lambda: admitted == ["a"], "the first ticket", 10)
    room[0] = 2
    wait_for(lambda: admitted == ["a", "b"], "the second ticket", 10)
    slots.limit = 1  # pinned below the capacity
    assert slots.allowed == 1
    slots.limit = None
    room[0] = "broken"  # type: ignore[assignment]  - a failing count admits nobody
    assert slots.allowed == 0
    for thread in threads:
        thread.join(10)


def test_a_plain_worker_takes_trainings_one_at_a_time(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dask scheduler`` and a plain ``dask worker ADDRESS`` (no ``--resources`` nor ``PYTHONPATH``) still train."""
    if not DASK.exists():
        pytest.skip(f"no dask command next to {sys.executable}")
    from core import cluster

    with DaskProcesses(tmp_path_factory.mktemp("plain"), START_TIMEOUT) as processes:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", processes.start_scheduler())
        processes.start_worker("plain", trainings=2, plain=True, nanny=False)  # two threads, as `dask worker` gives
        try:
            connected = cluster.get_cluster()
            connected.client.wait_for_workers(1, timeout=START_TIMEOUT)
            wait_for(lambda: connected.capacity() == 1, "the plain worker to count as one trainer", START_TIMEOUT)
            assert connected.task_resources() is None
            job = TrainingJob(
                TrainConfig(arch="mlp", epochs=1, batch_size=128, train_size=500, val_size=100), data=random_digits(600)
            ).start()
            assert job.join(JOB_TIMEOUT)
            assert job.state is JobState.DONE, job.snapshot().error
            assert job.snapshot().batches and job.snapshot().result.model is not None
        finally:
            cluster.shutdown()


needs_mnist = pytest.mark.skipif(not os.environ.get("MNIST_DIR"), reason="set MNIST_DIR to the MNIST folder")


@needs_mnist
def test_the_command_line_trains_on_the_cluster(dask_cluster: DaskProcesses, tmp_path) -> None:
    import json
    import subprocess

    out = tmp_path / "tiny.keras"
    env = {**os.environ, "DASK_SCHEDULER_ADDRESS": dask_cluster.address}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.train",
            "--cluster",
            "--arch",
            "mlp",
            "--epochs",
            "2",
            "--train-size",
            "2000",
            "--val-size",
            "500",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert [line.split()[1] for line in lines if line.startswith("epoch ")] == ["1/2", "2/2"]
    assert lines[-1].startswith("test_accuracy=") and float(lines[-1].split("=")[1]) > 0.5
    assert out.is_file() and json.loads(out.with_suffix(".json").read_text())["config"]["train_size"] == 2000
