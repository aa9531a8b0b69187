"""`--spawn-mock`: run the suite against a fresh mock server in a subprocess.

The mock is started as a program (`collect-mock serve`), never imported: the suite speaks HTTP only. It gets
an in-memory database, a free port, a small page size (so that walks span pages), and random tokens passed
through its environment, not its command line: the suite's token covers only the tenant `conformance`, so that
`conformance-other` is a tenant it must not reach.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

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
    beside = Path(sys.executable).parent / "collect-mock"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("collect-mock")
    return [found] if found else [sys.executable, "-m", "mockserver"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def spawned_mock(page_size: int = 5, tenant: str = TENANT) -> Iterator[SpawnedMock]:
    """Start the mock, wait until it is healthy, yield where it is, and stop it; its token covers `tenant`."""
    port, token = free_port(), secrets.token_urlsafe(24)
    env = dict(os.environ)
    env.update(
        MOCKSERVER_TOKEN=secrets.token_urlsafe(24),  # the all-tenant development token: unused, unknown
        MOCKSERVER_TOKENS=f"{token}={tenant}",
        MOCKSERVER_ADMIN_TOKEN=secrets.token_urlsafe(24),
    )
    args = ["serve", "--db", ":memory:", "--no-seed", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--page-size", str(page_size)]
    with tempfile.TemporaryFile() as log:
        # Its start banner is of no use here: standard output goes nowhere.
        process = subprocess.Popen([*mock_command(), *args], env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_healthy(process, base_url, log)
            yield SpawnedMock(base_url, token, tenant)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log: object) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)  # type: ignore[attr-defined]
            tail = log.read().decode("utf-8", "replace")[-2000:]  # type: ignore[attr-defined]
            raise ConformanceError(f"the mock exited with status {process.returncode}: {tail}")
        try:
            if httpx.get(f"{base_url}/_mock/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise ConformanceError(f"the mock did not answer {base_url}/_mock/health within {STARTUP_SECONDS:.0f} s")
