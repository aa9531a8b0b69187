"""The mock as a separate process (`collect-mock serve`), for tests that kill it, restart it or read its output."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ADMIN = "test-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MockProcess:
    """`with MockProcess("--db", path) as mock:` a server on a free port; `mock.kill()` ends it with SIGKILL."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, preexec_fn: Callable[[], None] | None = None):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.args = ["serve", "--port", str(self.port), "--admin-token", ADMIN, *args]
        self.output = tempfile.NamedTemporaryFile(prefix="collect-mock-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {**os.environ, **(env or {})}
        self.preexec_fn = preexec_fn

    def __enter__(self) -> MockProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mockserver", *self.args],
            stdout=self.output,
            stderr=subprocess.STDOUT,
            env=self.env,
            preexec_fn=self.preexec_fn,  # noqa: PLW1509 - a test's resource limits, set in the child only
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"collect-mock exited: {self.log()}")
            try:
                if httpx.get(f"{self.base_url}/_mock/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"collect-mock did not start: {self.log()}")

    def __exit__(self, *_: object) -> None:
        self.stop()
        self.output.close()
        os.unlink(self.output.name)

    def stop(self) -> None:
        """A clean stop (SIGINT), as Ctrl-C would do."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """`kill -9`: no chance to flush, compact or close anything."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def log(self) -> str:
        return Path(self.output.name).read_text(errors="replace")

    def admin(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return httpx.request(
            method, f"{self.base_url}/_mock/{path}", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30, **kwargs
        )  # type: ignore[arg-type]
