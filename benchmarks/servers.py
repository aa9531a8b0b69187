"""Processes the benchmark starts: `collect_process.ServerProcess` (its own process group, readiness, TERM then
KILL), plus what the benchmark reads of them (memory).

A server is started in a session of its own, so that Ctrl-C in the terminal reaches the benchmark (which then
stops its servers in order) rather than every server at once, and so that `stop()` ends the server together with
any children it forked (Prism's node processes). Readiness is a probe the caller supplies, checked while the
process is alive, so that a port taken by someone else's server is never mistaken for ours.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from pathlib import Path

from collect_process import ServerError, ServerProcess

__all__ = ["Server", "ServerError"]


class Server(ServerProcess):
    """A server of the benchmark, its output appended to `log`."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        log: Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ):
        super().__init__(argv, port=port, name=name, output=log, env=env, cwd=cwd)
        self.log = log

    def stop(self, sig: int = signal.SIGTERM, grace: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after `grace` seconds: the group is gone when this returns."""
        return super().stop(sig, grace)

    def memory_mb(self) -> tuple[float, float]:
        """(resident, peak resident) memory in MB, from /proc."""
        fields: dict[str, float] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
        return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)
