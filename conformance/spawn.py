"""`--spawn-mock`: run the suite against a fresh mock server in a subprocess.

The mock is started as a program (`collect-mock serve`), never imported: the suite speaks HTTP only. It gets
an in-memory database, a free port, a small page size (so that walks span pages), and random tokens passed
through its environment, not its command line: the suite's token covers only the tenant `conformance`, so that
`conformance-other` is a tenant it must not reach.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from collect_process import ServerError, ServerProcess, program
from conformance.errors import ConformanceError

TENANT, OTHER_TENANT = "conformance", "conformance-other"
STARTUP_SECONDS = 30.0


@dataclass(frozen=True)
class SpawnedMock:
    base_url: str
    token: str = field(repr=False)
    tenant: str = TENANT
    other_tenant: str = OTHER_TENANT


def mock_command() -> list[str]:
    """`collect-mock` next to this Python (the project's virtualenv), else on PATH, else `python -m`."""
    return program("collect-mock", "mockserver")


@contextmanager
def spawned_mock(page_size: int = 5, tenant: str = TENANT) -> Iterator[SpawnedMock]:
    """Start the mock, wait until it is healthy, yield where it is, and stop it; its token covers `tenant`."""
    token = secrets.token_urlsafe(24)
    env = {
        "MOCKSERVER_TOKEN": secrets.token_urlsafe(24),  # the all-tenant development token: unused, unknown
        "MOCKSERVER_TOKENS": f"{token}={tenant}",
        "MOCKSERVER_ADMIN_TOKEN": secrets.token_urlsafe(24),
    }
    # Its start banner is of no use here: standard output goes nowhere; its errors are kept for the message.
    mock = ServerProcess(mock_command(), name="the mock", stdout=subprocess.DEVNULL, env=env)
    mock.argv += ["serve", "--db", ":memory:", "--no-seed", "--host", "127.0.0.1", "--port", str(mock.port)]
    mock.argv += ["--page-size", str(page_size)]
    with mock.start():
        try:
            mock.wait_ready(timeout=STARTUP_SECONDS)
        except ServerError as exc:
            raise ConformanceError(str(exc)) from None
        yield SpawnedMock(mock.base_url, token, tenant)
