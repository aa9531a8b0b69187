import pytest
import yaml

from collect_contract import SPEC_PATH

try:  # the C loader parses the 7,000-line contract ten times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


@pytest.fixture(scope="session")
def spec() -> dict:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_Loader)
