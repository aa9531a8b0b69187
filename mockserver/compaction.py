"""Writing a snapshot in a forked copy of the process, off the request path, and keeping account of how it went.

The child sees memory as it was at the fork (copy-on-write), so it can write the snapshot while the server goes
on answering. It keeps nothing of the server but memory: right after the fork it lets go of every socket it
inherited (the listening one above all: a server killed with `kill -9` must leave its port free for the next
start, not held by its child), and on Linux it dies with the server (PR_SET_PDEATHSIG) rather than outlive it.
It reports a failure through a pipe; the parent logs it at ERROR, keeps the sealed logs (they are
replayed at the next start, nothing is lost) and tries again later, waiting longer after each failure. The
state is what `GET /_mock/health` shows.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)

FIRST_RETRY = 5.0  # seconds after the first failure; doubled after each further one
LAST_RETRY = 600.0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class CompactionState:
    running: bool = False
    failures: int = 0  # consecutive
    last_error: str | None = None
    last_failed_at: str | None = None
    last_done_at: str | None = None
    retry_at: float = 0.0  # time.monotonic() before which no new attempt starts

    @property
    def healthy(self) -> bool:
        return self.failures == 0

    def as_dict(self) -> dict[str, Any]:
        retry_in = max(0.0, self.retry_at - time.monotonic()) if self.failures else 0.0
        return {
            "state": "running" if self.running else ("failing" if self.failures else "idle"),
            "failures": self.failures,
            "last_error": self.last_error,
            "last_failed_at": self.last_failed_at,
            "last_done_at": self.last_done_at,
            "retry_in_seconds": round(retry_in, 1),
        }

    def succeeded(self) -> None:
        self.failures, self.last_error, self.retry_at, self.last_done_at = 0, None, 0.0, _now()

    def failed(self, where: str, error: str) -> None:
        self.failures += 1
        self.last_error, self.last_failed_at = error, _now()
        delay = min(LAST_RETRY, FIRST_RETRY * 2 ** (self.failures - 1))
        self.retry_at = time.monotonic() + delay
        logger.error(
            "could not write the snapshot %s: %s; the write-ahead log is kept (nothing is lost, it is replayed at "
            "start) and the snapshot is tried again in %d s",
            where,
            error,
            delay,
        )


class Child:
    """One forked writer: `start(work)` runs `work()` in the child; `poll()`/`wait()` give (finished, error)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self._pipe = -1

    def start(self, work: Callable[[], None]) -> None:
        read, write = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; coverage does not follow it
            code = 1
            try:
                os.close(read)
                _leave_the_server(parent)
                os.nice(10)  # the server comes first: requests should not wait for the snapshot
                work()
                code = 0
            except BaseException as exc:  # noqa: BLE001 - reported to the parent, whatever it was
                os.write(write, f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")[:2000])
            finally:
                os._exit(code)
        os.close(write)
        self.pid, self._pipe = pid, read

    def poll(self, block: bool = False) -> tuple[bool, str | None]:
        """(True, None) when it succeeded, (True, error) when it failed, (False, None) while it runs."""
        if self.pid is None:
            return False, None
        pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        if not pid:
            return False, None
        message = os.read(self._pipe, 4000).decode("utf-8", "replace")
        os.close(self._pipe)
        self.pid, self._pipe = None, -1
        code = os.waitstatus_to_exitcode(status)
        if code == 0:
            return True, None
        return True, message or (f"the writer was killed by signal {-code}" if code < 0 else f"exit status {code}")


_PR_SET_PDEATHSIG = 1


def _leave_the_server(parent: int) -> None:
    """In the child: die with the server, and hold none of its sockets (each is replaced by /dev/null, so that its
    number stays taken and nothing the child opens later is closed by mistake)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except OSError:
            pass  # without it the child still checks its parent before it renames
    if os.getppid() != parent:
        os._exit(1)  # the server died before the child could ask to die with it
    null = os.open(os.devnull, os.O_RDWR)
    try:
        descriptors = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        descriptors = list(range(3, 1024))
    for fd in descriptors:
        try:
            if fd != null and stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.dup2(null, fd)
        except OSError:
            continue
    os.close(null)
