"""pytest plugin: a Collect mock for client test suites, installed with the package.

    def test_my_client_creates_a_batch(collect_mock):
        client = MyClient(collect_mock.base_url, token=collect_mock.token)
        client.create_batch(...)
        assert collect_mock.journal(method="POST", path="/batches/acme")[0]["status"] == 200

One server runs per test session (in a thread, on a free port, in memory); each test starts from an empty
mock, or from seed data with `@pytest.mark.collect_mock(seed="default")` (the shipped fixtures) or
`collect_mock.seed({...})`. The journal and fault rules are cleared before each test. Settings come from
`MOCKSERVER_*` environment variables (see mockserver/settings.py) and the `collect_mock_seed` ini option.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

MARKER = "collect_mock"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        MARKER + "_seed", "seed data for each test: 'none' (default) or 'default' (the shipped set)", default="none"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(seed='none'|'default'): the state a test's Collect mock starts in")


@dataclass
class CollectMock:
    """A running mock: its URL, a token for every tenant, and helpers over its admin API."""

    base_url: str
    token: str
    admin_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client for the API, already authorised."""
        return httpx.Client(base_url=self.base_url, headers=self.headers, **kwargs)

    def seed(self, data: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
        """Store records, `{tenant: {collection: [record, ...]}}`; id and sys_* fields may be left out."""
        return self._admin("POST", "fixtures", json=data)["loaded"]  # type: ignore[no-any-return]

    def seed_default(self) -> dict[str, Any]:
        """Load the shipped fixtures (two tenants, a few hundred records)."""
        return self._admin("POST", "fixtures")["loaded"]  # type: ignore[no-any-return]

    def reset(self) -> None:
        self._admin("POST", "reset")

    def export(self) -> dict[str, Any]:
        """Every record, `{tenant: {collection: [records]}}`."""
        return self._admin("GET", "export")["tenants"]  # type: ignore[no-any-return]

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        """Requests received, oldest first; filters: method, path (prefix), tenant, status, operation, limit."""
        return self._admin("GET", "journal", params=filters)["entries"]  # type: ignore[no-any-return]

    def clear_journal(self) -> None:
        self._admin("DELETE", "journal")

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """Inject a fault, e.g. `add_fault(operation="getInvoice", throttle_rate=1, retry_after=2)`."""
        return self._admin("POST", "faults", json=rule)["added"][0]  # type: ignore[no-any-return]

    def clear_faults(self) -> None:
        self._admin("DELETE", "faults")

    def _admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method,
            f"{self.base_url}/_mock/{path}",
            timeout=30,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            **kwargs,
        )
        if response.status_code >= 400:
            raise AssertionError(f"collect mock admin {method} {path}: {response.status_code} {response.text}")
        return response.json()


@pytest.fixture(scope="session")
def collect_mock_server() -> Iterator[CollectMock]:
    """The session's mock server; override this fixture to point at a server of your own."""
    from mockserver.settings import Settings
    from mockserver.testing import serve_in_thread

    settings = Settings.from_env().replace(db=":memory:", seed=False)
    with serve_in_thread(settings) as (base_url, _):
        yield CollectMock(base_url, settings.token, settings.admin_token)


@pytest.fixture
def collect_mock(collect_mock_server: CollectMock, request: pytest.FixtureRequest) -> CollectMock:
    """The mock, reset for this test: no records (or the seed data asked for), an empty journal, no faults."""
    marker = request.node.get_closest_marker(MARKER)
    seed = (marker.kwargs.get("seed") if marker else None) or request.config.getini(MARKER + "_seed")
    if seed not in ("none", "default"):
        raise pytest.UsageError(f"collect_mock seed must be 'none' or 'default', not {seed!r}")
    collect_mock_server.reset()
    collect_mock_server.clear_journal()
    collect_mock_server.clear_faults()
    if seed == "default":
        collect_mock_server.seed_default()
    return collect_mock_server
