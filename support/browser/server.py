"""The app under test: ``streamlit run app.py`` on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from support import ROOT


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """The app's server (``python serve.py``, as ``make run`` starts it) as a subprocess on 127.0.0.1.

    Use as a context manager, or call :meth:`start` / :meth:`stop`. The server
    runs in its own process group so that :meth:`stop` ends it and any
    children (and nothing else).

    Args:
        port: Port to listen on (default: a free one).
        env: Extra environment variables (MNIST_DIR is passed through from the
            current environment anyway, when set). Without ``DIGIT_STUDIO_DATA``
            the server gets a fresh data folder of its own, deleted by :meth:`stop`
            (a server started again then starts empty); pass one to keep the store
            across servers (a restart).
        log_path: Where the server's stdout/stderr go (default: a temporary
            file, deleted by :meth:`stop`; read it with :meth:`log_tail`).
        python: Interpreter (default: the project's .venv, else this one).
    """

    def __init__(
        self,
        port: int | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        python: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        venv_python = ROOT / ".venv" / "bin" / "python"
        self.python = python or (str(venv_python) if venv_python.exists() else sys.executable)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self._temp_data: str | None = None
        if not (env or {}).get("DIGIT_STUDIO_DATA"):
            self._temp_data = tempfile.mkdtemp(prefix=f"digit-studio-data-{self.port}-")
            self.env["DIGIT_STUDIO_DATA"] = self._temp_data
        self.data_dir = Path(self.env["DIGIT_STUDIO_DATA"])
        self._temp_log = log_path is None
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix=f"digit-studio-{self.port}-", suffix=".log")
            os.close(fd)
            log_path = Path(name)
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen | None = None
        self._log: BinaryIO | None = None

    @property
    def pid(self) -> int | None:
        """The server's process id (None when not running)."""
        return self.proc.pid if self.proc else None

    def start(self, timeout: float = 90.0) -> AppServer:
        """Start the server and wait until it answers its health check.

        Args:
            timeout: Seconds to wait for health (the app imports TensorFlow).

        Returns:
            This server, running.

        Raises:
            RuntimeError: If streamlit exits during start-up.
            TimeoutError: If it is not healthy in time (it is stopped then).
        """
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        cmd = [
            self.python,
            "serve.py",
            "--server.port",
            str(self.port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float) -> None:
        """Poll ``/_stcore/health`` until it answers 200 (see :meth:`start` for the errors)."""
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/_stcore/health"
        proc = self.proc
        if proc is None:
            raise RuntimeError("the server is not started")
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {proc.returncode}; log:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.25)
        raise TimeoutError(f"streamlit not healthy at {url} after {timeout:.0f}s; log:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        """The last ``chars`` characters of the server's log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 15.0) -> None:
        """End the server's process group (SIGTERM, then SIGKILL after ``timeout`` s); idempotent."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._temp_log:
            self.log_path.unlink(missing_ok=True)
        if self._temp_data is not None:  # a folder it made itself: nobody else will read it
            shutil.rmtree(self._temp_data, ignore_errors=True)

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
