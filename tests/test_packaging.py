"""What an installed wheel contains: every package, the contract and the fixtures."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_python_package_is_listed_for_the_wheel():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    for top in ("mockserver", "conformance"):
        for init in (ROOT / top).rglob("__init__.py"):
            name = ".".join(init.parent.relative_to(ROOT).parts)
            assert name in listed, f"{name} is missing from [tool.setuptools] packages"


def test_the_contract_and_fixtures_ship_as_data_packages():
    setuptools = PYPROJECT["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"collect_contract": "openapi", "collect_fixtures": "fixtures"}
    assert "*.yaml" in setuptools["package-data"]["collect_contract"]


def test_the_console_scripts_and_pytest_plugins_are_declared():
    assert PYPROJECT["project"]["scripts"] == {
        "collect-mock": "mockserver.cli:main",
        "collect-conformance": "conformance.cli:main",
    }
    assert PYPROJECT["project"]["entry-points"]["pytest11"]["collect_mock"] == "mockserver.pytest_plugin"
