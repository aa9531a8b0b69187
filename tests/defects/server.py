"""A defective mock on a free port: the mock's app inside `DefectiveApp`, served by uvicorn in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from collect_contract import SPEC_PATH
from conformance.contract import Contract
from mockserver import Settings, create_app
from tests.defects.app import DefectiveApp

TOKEN, ADMIN = "selftest-token", "selftest-admin"
TENANT, OTHER_TENANT = "conformance", "conformance-other"


@dataclass
class Target:
    base_url: str
    app: DefectiveApp

    def reset(self) -> None:
        """No records, no defect, no fault and an empty journal: the next check starts from a clean mock."""
        self.app.switch(None)
        for method, path in (("POST", "reset"), ("DELETE", "faults"), ("DELETE", "journal")):
            self.admin(method, path)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the mock's admin API (`/_mock/...`) and return its JSON answer."""
        headers = {"Authorization": f"Bearer {ADMIN}"}
        response = httpx.request(method, f"{self.base_url}/_mock/{path}", headers=headers, timeout=30, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def journal(self) -> list[dict[str, Any]]:
        """The API requests the mock received, oldest first."""
        return list(self.admin("GET", "journal")["entries"])

    def records(self, tenant: str = TENANT) -> dict[str, list[dict[str, Any]]]:
        """The tenant's records, by collection."""
        return dict(self.admin("GET", "export")["tenants"].get(tenant, {}))


@contextmanager
def defective_mock(page_size: int = 4) -> Iterator[Target]:
    settings = Settings(
        db=":memory:",
        seed=False,
        page_size=page_size,
        token="selftest-unused-dev-token",
        tokens={TOKEN: frozenset({TENANT})},
        admin_token=ADMIN,
        journal_size=100_000,
    )
    app = DefectiveApp(create_app(settings), Contract.from_path(SPEC_PATH), TOKEN, TENANT, OTHER_TENANT)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    deadline = time.monotonic() + 20
    while not _healthy(base_url):
        if time.monotonic() > deadline:
            raise RuntimeError("the defective mock did not start within 20 s")
        time.sleep(0.05)
    try:
        yield Target(base_url, app)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/_mock/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
