"""The validating recorder (`collect-mock proxy`) in front of the smallest mock: what it adds to a request.

It forwards the benchmark's GET and POST to the mock it fronts, checks each exchange off the request's path and
journals it, as it does for a client developer; its cases are judged against the same cases sent to that mock
directly, in the same repeat.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks.probes import ADMIN_TOKEN
from benchmarks.servers import Server
from conformance.spawn import free_port

ADDED_LIMIT_MS = 2.0


def server(cli: list[str], upstream: Server, log: Path) -> Server:
    port = free_port()
    argv = [*cli, "proxy", "--upstream", upstream.base_url, "--host", "127.0.0.1", "--port", str(port)]
    return Server("proxy", argv, port, log, env={"MOCKSERVER_ADMIN_TOKEN": ADMIN_TOKEN})


def ready() -> Callable[[str], bool]:
    def probe(base_url: str) -> bool:
        try:
            return httpx.get(f"{base_url}/_mock/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return probe
