"""`make bench` names what it needs before it installs or starts anything: wrk (required), node and npm (for
the Prism comparison only), each with the command that installs it here."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from benchmarks import cli, prerequisites

ROOT = Path(__file__).parent.parent


@pytest.fixture
def without(monkeypatch):
    """`without("wrk", "apt-get")`: those binaries are not on PATH, everything else is."""

    def hide(*names: str) -> None:
        real = shutil.which
        monkeypatch.setattr(
            shutil, "which", lambda name, *a, **k: None if name in names else real(name, *a, **k) or f"/usr/bin/{name}"
        )

    return hide


def test_without_wrk_the_benchmark_cannot_run_and_says_how_to_install_it(without, monkeypatch):
    without("wrk", "brew")
    monkeypatch.setattr(prerequisites.os, "geteuid", lambda: 1000)
    ready, lines = prerequisites.report()
    assert not ready
    assert lines == [
        "BenchmarkError: the benchmark needs wrk (the HTTP load generator every measurement runs): not found on "
        "PATH. Install it: sudo apt-get install -y wrk"
    ]


def test_root_is_told_the_command_without_sudo(without, monkeypatch):
    without("wrk")
    monkeypatch.setattr(prerequisites.os, "geteuid", lambda: 0)
    assert prerequisites.report()[1][0].endswith("Install it: apt-get install -y wrk")


def test_without_a_package_manager_the_package_names_are_given(without):
    without("wrk", "apt-get", "brew")
    assert prerequisites.report()[1][0].endswith("Install it: use your system's package manager (Debian: wrk)")


def test_without_node_the_prism_comparison_is_skipped_not_the_benchmark(without, monkeypatch):
    without("node", "npm", "brew")
    monkeypatch.setattr(prerequisites.os, "geteuid", lambda: 0)
    ready, lines = prerequisites.report()
    assert ready and lines == [
        "note: without node and npm the Prism comparison is skipped. Install them: apt-get install -y nodejs npm "
        "(or run with --no-prism)"
    ]
    assert prerequisites.report(prism=False) == (True, [])


def test_python_m_benchmarks_stops_before_starting_anything(without, capsys, monkeypatch):
    without("wrk")
    monkeypatch.setattr(cli.runner, "run", lambda *a, **k: pytest.fail("the benchmark started"))
    assert cli.main(["--quick", "--out", "-"]) == 1
    assert "BenchmarkError: the benchmark needs wrk" in capsys.readouterr().err


def test_make_bench_checks_the_tools_before_installing_anything():
    alone = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # not `make test`'s
    plan = subprocess.run(
        ["make", "--no-print-directory", "-n", "bench"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=alone
    ).stdout.splitlines()
    assert plan[0].endswith("-m benchmarks.prerequisites ")
