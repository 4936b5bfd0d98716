"""Trainings on a real Dask cluster started with Dask's own command line, on loopback.

A scheduler (``dask scheduler``) and one worker (``dask worker``, with its
nanny) run as separate processes for the whole module, as a user would
start them on other machines; the app's side connects through
``DASK_SCHEDULER_ADDRESS``. Trainings are tiny dense networks on random
images, so no MNIST is needed. Every process is started in its own process
group and killed at teardown; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Callable, Iterator

import numpy as np
import pytest

from core.jobs import JobState, TrainingJob
from core.training import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
DASK = Path(sys.executable).with_name("dask")
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


def astuple_of(update) -> tuple:
    """What identifies a progress report."""
    return (update.epoch, update.batch, round(update.loss, 6))


class DaskProcesses:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, each in its own process group."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[subprocess.Popen] = []
        self.logs: list[IO[bytes]] = []
        self.address = ""

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DIGIT_STUDIO_TF_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("DASK_SCHEDULER_ADDRESS", None)
        log = (self.workdir / f"{name}.log").open("ab")
        self.logs.append(log)
        process = subprocess.Popen([str(DASK), *args], cwd=self.workdir, env=env, stdout=log, stderr=log,
                                   start_new_session=True)
        self.processes.append(process)
        return process

    def start_scheduler(self) -> str:
        scheduler_file = self.workdir / "scheduler.json"
        self._spawn("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(scheduler_file))

        def address() -> str:
            try:
                return json.loads(scheduler_file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                return ""

        wait_for(address, "the scheduler's address", START_TIMEOUT)
        self.address = address()
        assert self.address.startswith("tcp://127.0.0.1:")
        return self.address

    def start_worker(self, name: str) -> None:
        self._spawn(name, "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1", "--resources",
                    "training=1", "--no-dashboard", "--name", name, "--local-directory", str(self.workdir))

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.wait(30)
        for log in self.logs:
            log.close()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and one worker started with the ``dask`` command line; yields the scheduler's address."""
    if not DASK.exists():
        pytest.skip(f"no dask command next to {sys.executable}")
    from core import cluster

    processes = DaskProcesses(tmp_path_factory.mktemp("dask"))
    old = os.environ.get("DASK_SCHEDULER_ADDRESS")
    try:
        address = processes.start_scheduler()
        processes.start_worker("trainer")
        os.environ["DASK_SCHEDULER_ADDRESS"] = address
        connected = cluster.get_cluster()
        connected.client.wait_for_workers(1, timeout=START_TIMEOUT)
        wait_for(lambda: connected.capacity() == 1, "the worker's training resource", START_TIMEOUT)
        yield address
    finally:
        cluster.shutdown()
        if old is None:
            os.environ.pop("DASK_SCHEDULER_ADDRESS", None)
        else:
            os.environ["DASK_SCHEDULER_ADDRESS"] = old
        processes.stop()


def test_a_run_reports_progress_and_returns_its_model(dask_cluster: str) -> None:
    from core import cluster

    assert cluster.get_cluster().scheduler == dask_cluster and cluster.get_cluster().local is None
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


def test_stop_ends_a_run_within_the_running_block(dask_cluster: str) -> None:
    config = TrainConfig(arch="mlp", epochs=5, batch_size=16, train_size=4000, val_size=500, seed=2)
    job = TrainingJob(config, data=random_digits(4500)).start()
    wait_for(lambda: job.snapshot().batches, "the first block of batches")
    job.stop()
    assert job.join(JOB_TIMEOUT)
    snap = job.snapshot()
    assert snap.state is JobState.STOPPED and snap.result.stopped_early
    last = snap.result.batch_history[-1]
    assert (last.epoch, last.batches) == (0, 250)
    # The flag reached the graph's loop inside the second block (batches 129-250), not at its end.
    assert BLOCK < last.batch < last.batches, last
    assert 0 < snap.result.epochs_completed < 1


def test_a_closed_session_stops_its_run(dask_cluster: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TrainingJob, "ALIVE_EVERY", 0.05)
    alive = [True]
    config = TrainConfig(arch="mlp", epochs=20, batch_size=16, train_size=4000, val_size=500, seed=3)
    job = TrainingJob(config, is_alive=lambda: alive[0], data=random_digits(4500)).start()
    wait_for(lambda: job.snapshot().batches, "progress")
    alive[0] = False  # the browser tab is gone
    assert job.join(JOB_TIMEOUT)
    assert job.abandoned and job.state is JobState.STOPPED


def test_a_worker_dying_mid_run_fails_the_job_with_a_message(dask_cluster: str) -> None:
    from core import cluster

    client = cluster.get_cluster().client
    config = TrainConfig(arch="mlp", epochs=30, batch_size=16, train_size=4000, val_size=500, seed=4)
    job = TrainingJob(config, data=random_digits(4500)).start()
    wait_for(lambda: job.snapshot().batches, "progress")
    worker = job.snapshot().worker
    pid = client.run(os.getpid, workers=[worker])[worker]
    os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    assert job.join(60)
    snap = job.snapshot()
    assert snap.state is JobState.FAILED and snap.result is None
    assert "stopped before the end" in snap.error and "previous model is still in use" in snap.error
    assert (snap.running, snap.queue_position) == (0, None)

    # The nanny starts a fresh worker process, and the next run trains there.
    wait_for(lambda: cluster.get_cluster().capacity() == 1, "the restarted worker", START_TIMEOUT)
    again = TrainingJob(TrainConfig(arch="mlp", epochs=1, batch_size=128, train_size=500, val_size=100),
                        data=random_digits(600)).start()
    assert again.join(JOB_TIMEOUT)
    assert again.state is JobState.DONE and again.snapshot().worker != worker


def test_a_second_run_waits_its_turn_and_can_leave_the_queue(dask_cluster: str) -> None:
    long = TrainingJob(TrainConfig(arch="mlp", epochs=30, batch_size=16, train_size=4000, val_size=500),
                       data=random_digits(4500)).start()
    wait_for(lambda: long.state is JobState.RUNNING, "the first run to start")
    second = TrainingJob(TrainConfig(arch="mlp", epochs=1, batch_size=128, train_size=500, val_size=100),
                         data=random_digits(600)).start()
    third = TrainingJob(TrainConfig(arch="mlp", epochs=1, batch_size=128, train_size=500, val_size=100),
                        data=random_digits(600)).start()
    wait_for(lambda: third.snapshot().queue_position == 2, "the third run to queue behind the second")
    snap = second.snapshot()
    assert (snap.state, snap.queue_position, snap.running, snap.limit) == (JobState.QUEUED, 1, 1, 1)
    third.stop()
    assert third.join(30) and third.state is JobState.CANCELLED
    long.stop()
    assert long.join(JOB_TIMEOUT) and long.state is JobState.STOPPED
    assert second.join(JOB_TIMEOUT) and second.state is JobState.DONE
