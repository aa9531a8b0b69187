"""The validating recorder (`collect-mock proxy`) in front of the smallest mock: what it adds to a request.

It forwards the benchmark's GET and POST to the mock it fronts, checks each exchange off the request's path and
journals it, as it does for a client developer; its cases are judged against the same cases sent to that mock
directly, in the same repeat. It is ready when its `/_mock/health` answers (`ServerProcess.wait_ready`'s probe).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.probes import ADMIN_TOKEN
from benchmarks.servers import Server
from collect_process import free_port

ADDED_LIMIT_MS = 2.0


def server(cli: list[str], upstream: Server, log: Path) -> Server:
    port = free_port()
    argv = [*cli, "proxy", "--upstream", upstream.base_url, "--host", "127.0.0.1", "--port", str(port)]
    return Server("proxy", argv, port, log, env={"MOCKSERVER_ADMIN_TOKEN": ADMIN_TOKEN})
