"""The Makefile's promises, run by make itself on a copy of it: an install cut short by Ctrl-C, or a .venv that
broke later, is rebuilt from scratch; `make clean` keeps data/; `make serve` takes PORT, HOST, DB and ARGS from
the command line only. A stand-in `python3` plays venv and pip, so no package is downloaded."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

FAKE_PYTHON = """#!/bin/sh
# Enough of python3 for the install recipe: the version check, -m venv, -m pip and the import check.
here=$(cd "$(dirname "$0")" && pwd)
case "$1" in
  -c) exit 0 ;;
  -I) [ ! -e "$here/../broken" ]; exit $? ;;
  -m) case "$2" in
        venv) mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && echo "$$" > "$3/made"; exit 0 ;;
        pip) touch "$here/../pip-started"; [ -z "$FAKE_PIP_SECONDS" ] || sleep "$FAKE_PIP_SECONDS"; exit 0 ;;
      esac ;;
esac
exit 2
"""

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


@pytest.fixture
def project(tmp_path) -> Path:
    """A folder with the Makefile, a pyproject.toml and a lock, and the stand-in python3."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "requirements.lock").write_text("")
    fake = tmp_path / "fake-python3"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    return tmp_path


def make(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", f"PYTHON={project / 'fake-python3'}", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={**outside_make(), **(env or {})},
    )


def outside_make() -> dict[str, str]:
    """The environment without what an enclosing `make test` passes down (flags, level)."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def built(project: Path) -> str:
    """Which .venv this is: the id of the process that made it."""
    return (project / ".venv" / "made").read_text()


def test_ctrl_c_during_the_install_leaves_a_venv_that_the_next_run_rebuilds(project):
    first = subprocess.Popen(
        ["make", f"PYTHON={project / 'fake-python3'}", "install"],
        cwd=project,
        env={**outside_make(), "FAKE_PIP_SECONDS": "30"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not (project / ".venv" / "pip-started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    interrupted = built(project)
    os.killpg(first.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
    assert first.wait(timeout=30) != 0
    assert not (project / ".venv" / ".installed").exists()
    (project / ".venv" / "half-installed-package").write_text("")

    again = make(project, "install")
    assert again.returncode == 0, again.stderr
    assert built(project) != interrupted and (project / ".venv" / ".installed").exists()
    assert not (project / ".venv" / "half-installed-package").exists()  # rebuilt from scratch, not patched up
    lines = again.stdout.splitlines()
    assert lines.index("rm -rf .venv") < len(lines) - 1  # removed before anything else is installed


def test_a_complete_venv_is_kept_and_a_broken_one_rebuilt(project):
    assert make(project, "install").returncode == 0
    first = built(project)
    assert make(project, "install").returncode == 0 and built(project) == first
    (project / ".venv" / "broken").write_text("")  # it can no longer import the project
    rebuilt = make(project, "install")
    assert "cannot import the project): rebuilding it" in rebuilt.stdout
    assert built(project) != first and not (project / ".venv" / "broken").exists()


def test_a_changed_lock_rebuilds_the_venv(project):
    assert make(project, "install").returncode == 0
    first = built(project)
    time.sleep(0.01)
    (project / "requirements.lock").write_text("pip==1\n")
    os.utime(project / "requirements.lock", (time.time() + 5, time.time() + 5))
    assert make(project, "install").returncode == 0 and built(project) != first


def test_make_clean_keeps_the_database_and_clean_data_removes_it(project):
    assert make(project, "install").returncode == 0
    (project / "data").mkdir()
    (project / "data" / "collect.json").write_text("{}")
    assert make(project, "clean").returncode == 0
    assert not (project / ".venv").exists() and (project / "data" / "collect.json").exists()
    assert make(project, "clean-data").returncode == 0 and not (project / "data").exists()


def test_make_serve_takes_port_host_db_and_args_from_the_command_line(project):
    assert make(project, "install").returncode == 0
    planned = make(project, "-n", "serve", "PORT=8081", "HOST=0.0.0.0", "DB=data/other.json", "ARGS=--no-seed")
    assert planned.stdout.splitlines()[-1].rstrip() == (
        ".venv/bin/collect-mock serve --host '0.0.0.0' --port '8081' --db 'data/other.json' --no-seed"
    )
    # A PORT or HOST the shell happens to export is not a request to move the mock.
    unrelated = make(project, "-n", "serve", env={"PORT": "3000", "HOST": "build-box"})
    assert unrelated.stdout.splitlines()[-1].rstrip() == ".venv/bin/collect-mock serve"


def test_make_alone_lists_the_targets(project):
    listed = make(project).stdout
    for target in ("serve", "test", "check", "lock", "test-latest", "clean", "clean-data", "bench", "fuzz"):
        assert f"make {target} " in listed, target
