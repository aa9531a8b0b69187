from collections.abc import Iterator

import pytest
import yaml

from collect_contract import SPEC_PATH
from mockserver import Settings
from tests.support.client import ADMIN_TOKEN, Api
from tests.support.contract_check import ContractChecker
from tests.support.factory import World
from tests.support.server import running

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
def checker(spec) -> ContractChecker:
    return ContractChecker(spec)


@pytest.fixture(scope="session")
def mock_server() -> Iterator[str]:
    """One in-memory mock for the session, with a small page size so that paging shows."""
    settings = Settings(db=":memory:", seed=False, page_size=PAGE_SIZE, tokens=TOKENS, admin_token=ADMIN_TOKEN)
    with running(settings) as (base_url, _):
        yield base_url


@pytest.fixture
def api(mock_server, checker) -> Iterator[Api]:
    """A client of an empty mock: every test starts from no records."""
    client = Api(mock_server, checker)
    assert client.admin("POST", "reset").status_code == 200
    yield client
    client.close()


@pytest.fixture
def world(api) -> World:
    return World(api)
