"""What an installed wheel contains: every package, the contract and the fixtures."""

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_python_package_is_listed_for_the_wheel():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    for top in ("mockserver", "conformance"):
        for init in (ROOT / top).rglob("__init__.py"):
            name = ".".join(init.parent.relative_to(ROOT).parts)
            assert name in listed, f"{name} is missing from [tool.setuptools] packages"


def test_the_neutral_packages_ship_under_names_that_cannot_clash():
    setuptools = PYPROJECT["tool"]["setuptools"]
    assert setuptools["package-dir"] == {
        "collect_contract": "openapi",
        "collect_process": "process",
        "collect_fixtures": "fixtures",
    }
    assert "*.yaml" in setuptools["package-data"]["collect_contract"]


def test_the_console_scripts_and_pytest_plugins_are_declared():
    assert PYPROJECT["project"]["scripts"] == {
        "collect-mock": "mockserver.cli:main",
        "collect-conformance": "conformance.cli:main",
    }
    assert PYPROJECT["project"]["entry-points"]["pytest11"]["collect_mock"] == "mockserver.pytest_plugin"


def test_every_fixture_folder_is_declared_so_that_its_data_ships():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    for folder in (ROOT / "fixtures").rglob("*"):
        if folder.is_dir() and any(folder.glob("*.json")) and "__pycache__" not in folder.parts:
            name = ".".join(("collect_fixtures", *folder.relative_to(ROOT / "fixtures").parts))
            assert name in listed, (
                f"{name} is missing from [tool.setuptools] packages (setuptools warns, and may drop it)"
            )


def test_the_license_is_an_spdx_expression_and_every_dependency_has_an_upper_bound():
    project = PYPROJECT["project"]
    assert isinstance(project["license"], str)
    requirements = [
        *project["dependencies"],
        *(r for extra in project["optional-dependencies"].values() for r in extra),
    ]
    for requirement in map(Requirement, requirements):
        if requirement.name.startswith("types-"):
            continue  # type stubs follow their library
        assert any(spec.operator in ("<", "<=", "==", "~=") for spec in requirement.specifier), requirement


def test_the_lock_pins_every_dependency_within_its_range():
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, _, version = line.split(";")[0].strip().partition("==")
            pins[canonicalize_name(name)] = version
    project = PYPROJECT["project"]
    requirements = [
        *project["dependencies"],
        *(r for extra in project["optional-dependencies"].values() for r in extra),
    ]
    for requirement in map(Requirement, requirements):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run make lock"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement}: make lock"


def test_the_package_builds_without_a_setuptools_warning(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".*", "data", "reports", "build", "dist", "*.egg-info", "__pycache__"),
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-w", str(tmp_path), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_CONSTRAINT": str(ROOT / "requirements.lock")},
    )
    assert built.returncode == 0, built.stderr[-3000:]
    output = built.stdout + built.stderr
    for marker in ("BuildBackendWarning", "SetuptoolsDeprecationWarning", "SetuptoolsWarning"):
        assert marker not in output, output[output.index(marker) - 300 : output.index(marker) + 700]
    (wheel,) = tmp_path.glob("collect_mock-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "collect_contract/collect.yaml" in names and "collect_fixtures/default/acme/invoices.json" in names
    assert "collect_process/server.py" in names
