"""Processes the benchmark starts: each in its own process group, and each stopped, whatever happens.

A server is started with `start_new_session`, so that Ctrl-C in the terminal reaches the benchmark (which then
stops its servers in order) rather than every server at once, and so that `stop()` can end the server together
with any children it forked (Prism's node processes). Readiness is a probe the caller supplies, checked while
the process is alive, so that a port taken by someone else's server is never mistaken for ours.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx


class ServerError(RuntimeError):
    """A server did not start or did not become ready; the message quotes its log."""


class Server:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        log: Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ):
        self.name, self.argv, self.port, self.log, self.cwd = name, list(argv), port, log, cwd
        self.env = {**os.environ, **env} if env else None
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ServerError(f"{self.name} was not started")
        return self.process.pid

    def start(self) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
            )
        self.started_at = time.perf_counter()
        return self

    def wait_ready(self, probe: Callable[[str], bool], timeout: float = 120.0) -> float:
        """Seconds from start until `probe(base_url)` holds; a ServerError if the process dies or time runs out."""
        deadline = self.started_at + timeout
        while time.perf_counter() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise ServerError(f"{self.name} exited before it was ready:\n{self.tail()}")
            try:
                if probe(self.base_url):
                    return time.perf_counter() - self.started_at
            except (OSError, httpx.TransportError):
                pass  # not listening yet
            time.sleep(0.02)
        raise ServerError(f"{self.name} was not ready after {timeout:.0f} s:\n{self.tail()}")

    def memory_mb(self) -> tuple[float, float]:
        """(resident, peak resident) memory in MB, from /proc."""
        fields: dict[str, float] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
        return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (the durability check uses SIGKILL mid-write)."""
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=30)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds: the group is gone when this returns."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=grace)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # children left behind in the group, if any
        except (ProcessLookupError, PermissionError):
            pass
        if self.process.poll() is None:
            self.process.wait(timeout=30)

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
