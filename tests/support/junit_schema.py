"""The common JUnit schema (the Jenkins xUnit plugin's `junit-10.xsd`), taken from the package registry.

pytest's source distribution ships that schema (`testing/example_scripts/junit-10.xsd`) to validate its own
JUnit files; the tests download the sdist of the installed pytest once, with pip, and read the schema out of
it. Nothing of it is committed here. Where the registry cannot be reached the tests that need it are skipped
with that reason, visibly.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from importlib.metadata import version
from pathlib import Path

import pytest

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "junit-schema"
MEMBER = "testing/example_scripts/junit-10.xsd"


def junit_xsd() -> Path:
    """The path of junit-10.xsd, downloaded on first use (a skip, with the reason, if that fails)."""
    release = version("pytest")
    target = CACHE / f"pytest-{release}-junit-10.xsd"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
    command += ["--dest", str(CACHE), f"pytest=={release}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    sdist = CACHE / f"pytest-{release}.tar.gz"
    if done.returncode != 0 or not sdist.exists():
        pytest.skip(f"cannot download pytest {release}'s sdist for the JUnit schema: {done.stderr.strip()[-300:]}")
    with tarfile.open(sdist) as archive:
        source = archive.extractfile(f"pytest-{release}/{MEMBER}")
        if source is None:
            pytest.skip(f"pytest {release}'s sdist has no {MEMBER}")
        partial = target.with_suffix(".part")
        partial.write_bytes(source.read())
        partial.replace(target)
    sdist.unlink()
    return target
