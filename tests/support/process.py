"""The mock as a separate process (`collect-mock serve`), for tests that kill it, restart it or read its output."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

import httpx

from collect_process import ServerProcess, free_port

ADMIN = "test-admin-token"

__all__ = ["ADMIN", "MockProcess", "free_port"]


class MockProcess(ServerProcess):
    """`with MockProcess("--db", path) as mock:` a server on a free port; `mock.kill()` ends it with SIGKILL."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, preexec_fn: Callable[[], None] | None = None):
        super().__init__([sys.executable, "-m", "mockserver"], name="collect-mock", env=env, preexec_fn=preexec_fn)
        self.argv += ["serve", "--port", str(self.port), "--admin-token", ADMIN, *args]

    def __enter__(self) -> MockProcess:
        self.start()
        try:
            self.wait_ready(timeout=60)
        except BaseException:
            self.close()
            raise
        return self

    def stop(self, sig: int = signal.SIGINT, grace: float = 30.0) -> int | None:
        """A clean stop (SIGINT), as Ctrl-C would do."""
        return super().stop(sig, grace)

    def kill(self, sig: int = signal.SIGKILL, group: bool = False) -> None:
        """`kill -9` of the server alone: no chance to flush, compact or close anything (a compaction child it forked
        lives on, as it would)."""
        super().kill(sig, group)

    def log(self) -> str:
        return self.output_text()

    def admin(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return httpx.request(
            method, f"{self.base_url}/_mock/{path}", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30, **kwargs
        )  # type: ignore[arg-type]
