"""A Dask cluster started the way a user would, with the ``dask`` command line, on loopback.

``dask scheduler`` and ``dask worker`` run as separate processes, each in a
process group of its own, listening on 127.0.0.1 only and without
dashboards. The scheduler gets nothing of this project (a user's scheduler needs
only Dask); the workers can import it (``PYTHONPATH``) and take trainings
(``--resources training=N``), unless started plain. Used by
``python -m bench.room`` and by ``tests/test_cluster.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from core.cluster_settings import WORKER_ENVIRON_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
DASK = Path(sys.executable).with_name("dask")

__all__ = ["DASK", "DaskProcesses"]


class DaskProcesses:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1; use as a context manager.

    Args:
        workdir: Where the scheduler file, the workers' scratch space and every process's log go.
        start_timeout: Seconds to wait for the scheduler to publish its address.
    """

    def __init__(self, workdir: Path, start_timeout: float = 90.0) -> None:
        self.workdir = workdir
        self.start_timeout = start_timeout
        self.processes: list[subprocess.Popen] = []
        self.logs: list[IO[bytes]] = []
        self.address = ""

    def __enter__(self) -> DaskProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
        for unwanted in ("DASK_SCHEDULER_ADDRESS", "PYTHONPATH"):
            if unwanted not in (env or {}):
                full_env.pop(unwanted, None)
        if full_env.get("MNIST_DIR"):  # the processes run in workdir: a relative path would point elsewhere
            full_env["MNIST_DIR"] = str(Path(full_env["MNIST_DIR"]).resolve())
        log = (self.workdir / f"{name}.log").open("ab")
        self.logs.append(log)
        process = subprocess.Popen(
            [str(DASK), *args], cwd=self.workdir, env=full_env, stdout=log, stderr=log, start_new_session=True
        )
        self.processes.append(process)
        return process

    def start_scheduler(self) -> str:
        """Start ``dask scheduler`` on a free port of 127.0.0.1; returns its address once it is listening."""
        scheduler_file = self.workdir / "scheduler.json"
        scheduler_file.unlink(missing_ok=True)
        # --no-dashboard alone still serves Dask's HTTP routes on 0.0.0.0:8787: bind them to loopback too.
        args = [
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--dashboard-address",
            "127.0.0.1:0",
            "--scheduler-file",
            str(scheduler_file),
        ]
        process = self._spawn("scheduler", args)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline and process.poll() is None:
            try:
                self.address = json.loads(scheduler_file.read_text())["address"]
                return self.address
            except (OSError, ValueError, KeyError):
                time.sleep(0.05)
        raise RuntimeError(f"dask scheduler did not start (see {self.workdir / 'scheduler.log'})")

    def start_worker(
        self, name: str, trainings: int = 1, tf_threads: int = 1, nanny: bool = True, plain: bool = False
    ) -> None:
        """Start ``dask worker`` for the scheduler: ``trainings`` threads, as many ``training`` resource units.

        Args:
            name: The worker's name (and its log file's).
            trainings: Threads, and trainings at once.
            tf_threads: TensorFlow threads of the worker process (``DIGIT_STUDIO_TF_THREADS``).
            nanny: Run it under a nanny, which starts a new worker process when this one dies.
            plain: Start it as ``dask worker ADDRESS`` would be by someone who skipped the README:
                no ``--resources`` and no ``PYTHONPATH`` (the project is found on this machine anyway).
        """
        resources = [] if plain else ["--resources", f"training={trainings}"]
        args = [
            "worker",
            self.address,
            "--host",
            "127.0.0.1",
            "--nthreads",
            str(trainings),
            *resources,
            "--no-dashboard",
            "--dashboard-address",
            "127.0.0.1:0",
            "--name",
            name,
            "--local-directory",
            str(self.workdir),
        ]
        env = {"DIGIT_STUDIO_TF_THREADS": str(tf_threads)} | ({} if plain else {"PYTHONPATH": str(ROOT)})
        if not plain:  # as the README starts workers: without Dask's small malloc trim threshold
            env |= dict([WORKER_ENVIRON_VARIABLE])
        self._spawn(name, args + ([] if nanny else ["--no-nanny"]), env)

    def stop(self) -> None:
        """Kill every process started (and their children), then close the logs."""
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.wait(30)
        self.processes.clear()
        for log in self.logs:
            log.close()
        self.logs.clear()
