"""A defective mock on a free port: the mock's app inside `DefectiveApp`, served by uvicorn in a thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from collect_contract import SPEC_PATH, Contract
from mockserver import Settings
from mockserver.testing import serve_in_thread
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
    wrapped: list[DefectiveApp] = []

    def wrap(mock: Any) -> DefectiveApp:
        wrapped.append(DefectiveApp(mock, Contract.from_path(SPEC_PATH), TOKEN, TENANT, OTHER_TENANT))
        return wrapped[0]

    with serve_in_thread(settings, timeout=20, wrap=wrap) as (base_url, _):
        yield Target(base_url, wrapped[0])
