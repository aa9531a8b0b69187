from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import yaml

from collect_contract import SPEC_PATH, Contract
from mockserver import Settings
from mockserver.testing import serve_in_thread
from tests.support.client import ADMIN_TOKEN, Api
from tests.support.contract_check import ContractChecker
from tests.support.factory import World

if TYPE_CHECKING:
    from tests.defects.server import Target

try:  # the C loader parses the 8,000-line contract ten times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

PAGE_SIZE = 5
TOKENS = {"acme-token": frozenset({"acme"}), "globex-token": frozenset({"globex"})}


@pytest.fixture(scope="session")
def spec() -> dict:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_Loader)


@pytest.fixture(scope="session")
def contract(spec) -> Contract:
    return Contract(spec)


@pytest.fixture(scope="session")
def checker(contract) -> ContractChecker:
    return ContractChecker(contract)


@pytest.fixture(scope="session")
def mock_server() -> Iterator[str]:
    """One in-memory mock for the session, with a small page size so that paging shows."""
    settings = Settings(db=":memory:", seed=False, page_size=PAGE_SIZE, tokens=TOKENS, admin_token=ADMIN_TOKEN)
    with serve_in_thread(settings) as (base_url, _):
        yield base_url


@pytest.fixture
def api(mock_server, checker) -> Iterator[Api]:
    """A client of a clean mock: every test starts from no records, no faults and an empty journal."""
    client = Api(mock_server, checker)
    for method, path in (("POST", "reset"), ("DELETE", "faults"), ("DELETE", "journal")):
        assert client.admin(method, path).status_code == 200, (method, path)
    yield client
    client.close()


@pytest.fixture
def world(api) -> World:
    return World(api)


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    """One defective mock for the conformance tests; each test calls `target.reset()` before it uses it."""
    from tests.defects.server import defective_mock

    logger = logging.getLogger("mockserver")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # the mock logs every 4xx it answers
    with defective_mock() as running:
        yield running
    logger.setLevel(level)
