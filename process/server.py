"""A server run as a child process, started, waited for and stopped the same way by everyone who needs one.

Every server this project starts in a separate process (the mock for the suite, the fuzz script, the tests and
the benchmark; Prism; the benchmark's ceiling; Chromium) goes through `ServerProcess`:

- **its own process group** (`start_new_session`): Ctrl-C in a terminal reaches the program that started the
  server, which then stops it in order, rather than every process at once; and `stop()` reaches whatever the
  server forked (Prism's node processes, the mock's compaction child);
- **readiness** is a probe the caller supplies, checked only while the process is alive, so that a port taken by
  someone else's server is never mistaken for ours, and a server that dies at start is reported with its output;
- **stop** sends a signal (SIGTERM unless told otherwise: SIGINT is what Ctrl-C sends) to the group, waits, then
  SIGKILLs the group: nothing of it is left when `stop()` returns;
- **a free port** on loopback from `free_port()`.

`wait_until` is the readiness loop alone, for servers run in a thread of the caller (`mockserver.testing`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import httpx

LOOPBACK = "127.0.0.1"
Output = Path | int | IO[Any] | None  # a log file (appended to), subprocess.DEVNULL / PIPE, an open file; None: ours


class ServerError(RuntimeError):
    """A server did not start or did not become ready; the message quotes the end of its output."""


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on at this moment (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def program(script: str, module: str) -> list[str]:
    """The command of a console script: beside this Python (the project's virtualenv), else on PATH, else
    `python -m module`."""
    beside = Path(sys.executable).parent / script
    if beside.exists():
        return [str(beside)]
    found = shutil.which(script)
    return [found] if found else [sys.executable, "-m", module]


def answers(url: str, headers: Mapping[str, str] | None = None, timeout: float = 1.0) -> bool:
    """Whether `GET url` answers 200 now (the usual readiness probe: the mock's `/_mock/health`)."""
    try:
        return httpx.get(url, headers=dict(headers or {}), timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(
    probe: Callable[[], bool],
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
    interval: float = 0.05,
) -> bool:
    """Whether `probe()` held before `timeout` seconds passed or `alive()` turned false."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            if probe():
                return True
        except (OSError, httpx.TransportError):
            pass  # not listening yet
        time.sleep(interval)
    return False


class ServerProcess:
    """`argv` run in a process group of its own; `with ServerProcess(...).start() as server:` stops it at the end.

    Args:
        argv: the command.
        port: where it will listen (for `base_url`); `free_port()` when not given.
        name: how messages name it.
        output: where its standard output and error go: a Path (appended to, so that restarts share one log), a
            file object or `subprocess.DEVNULL`/`PIPE`; by default a temporary file, read by `output_text()`.
        stdout: where its standard output goes instead, if not with its errors (`subprocess.DEVNULL`: a banner
            that prints secrets is discarded while errors are kept).
        env: variables added to this process's environment (`inherit_env=False`: the whole environment).
        cwd, preexec_fn: as for `subprocess.Popen` (`preexec_fn` sets a test's resource limits in the child).
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        port: int | None = None,
        name: str = "server",
        output: Output = None,
        stdout: int | IO[Any] | None = None,
        env: Mapping[str, str] | None = None,
        inherit_env: bool = True,
        cwd: Path | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ):
        self.argv, self.name, self.cwd, self.preexec_fn = list(argv), name, cwd, preexec_fn
        self.port = free_port() if port is None else port
        self.env = {**os.environ, **(env or {})} if inherit_env else dict(env or {})
        self._output_spec, self._stdout = output, stdout
        self._owns_log = False  # a temporary log, deleted by close()
        self.log_path: Path | None = output if isinstance(output, Path) else None
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ServerError(f"{self.name} was not started")
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> ServerProcess:
        log: IO[bytes] | None = None
        stdout: Any = self._output_spec
        if self._output_spec is None:
            log = open(self._temporary(), "wb")  # noqa: SIM115 - closed below: the child has its own descriptor
        elif isinstance(self._output_spec, Path):
            self._output_spec.parent.mkdir(parents=True, exist_ok=True)
            log = open(self._output_spec, "ab")  # noqa: SIM115 - closed below: the child has its own descriptor
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=(log or stdout) if self._stdout is None else self._stdout,
                stderr=subprocess.STDOUT if self._stdout is None else (log or stdout),
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
                preexec_fn=self.preexec_fn,  # noqa: PLW1509 - a test's resource limits, set in the child only
            )
        finally:
            if log is not None:
                log.close()
        self.started_at = time.monotonic()
        return self

    def _temporary(self) -> Path:
        import tempfile

        handle, name = tempfile.mkstemp(prefix="server-", suffix=".log")
        os.close(handle)
        self.log_path, self._owns_log = Path(name), True
        return self.log_path

    def wait_ready(self, probe: Callable[[str], bool] | None = None, timeout: float = 60.0) -> float:
        """Seconds from start until `probe(base_url)` holds (by default: `GET /_mock/health` answers 200);
        ServerError, quoting its output, if the process exits first or `timeout` passes."""
        check = probe or (lambda base: answers(f"{base}/_mock/health"))
        remaining = self.started_at + timeout - time.monotonic()
        if wait_until(lambda: check(self.base_url), max(remaining, 0.0), lambda: self.alive, interval=0.02):
            return time.monotonic() - self.started_at
        if not self.alive:
            code = self.process.returncode if self.process else None
            raise ServerError(f"{self.name} exited with status {code} before it was ready:\n{self.tail()}")
        raise ServerError(f"{self.name} was not ready after {timeout:.0f} s:\n{self.tail()}")

    def send_signal(self, sig: int, group: bool = True) -> None:
        """Send `sig` to the server's process group (`group=False`: to the server alone, sparing its children)."""
        if not self.alive:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):  # it ended meanwhile
            if group:
                os.killpg(self.pid, sig)
            else:
                os.kill(self.pid, sig)

    def kill(self, sig: int = signal.SIGKILL, group: bool = True) -> None:
        """`kill -9` (or `sig`) and wait for the server to end: no chance to flush, compact or close anything."""
        self.send_signal(sig, group)
        if self.process is not None:
            self.process.wait(timeout=30)

    def stop(self, sig: int = signal.SIGTERM, grace: float = 10.0) -> int | None:
        """`sig` to the group, up to `grace` seconds for it to end, then SIGKILL to the group: when this returns,
        nothing of the server is left. Returns its exit status (None if it was never started)."""
        if self.process is None:
            return None
        self.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):  # what ignored `sig`, or was left behind
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        return self.process.returncode

    def close(self) -> None:
        """Stop the server and release its log (a temporary log is deleted) and its pipe, if any."""
        self.stop()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        if self._owns_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    def output_text(self) -> str:
        """What the server wrote so far (when its output goes to a file)."""
        if self.log_path is None:
            return ""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.output_text().splitlines()[-lines:]) or "(no output)"

    def __enter__(self) -> ServerProcess:
        return self if self.process is not None else self.start()

    def __exit__(self, *_: object) -> None:
        self.close()
