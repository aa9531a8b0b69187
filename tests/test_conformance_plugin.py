"""`pytest conformance ...`: each rule on each resource is a test, and the how-to scenarios run too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import conformance

PACKAGE = Path(conformance.__file__).parent


def pytest_conformance(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", str(PACKAGE), "-q", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_without_a_target_every_conformance_test_is_skipped(tmp_path, monkeypatch):
    for name in ("BASE_URL", "TOKEN", "TENANT"):
        monkeypatch.delenv(f"COLLECT_CONFORMANCE_{name}", raising=False)
    result = pytest_conformance("--rules", "ids.unique", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "11 skipped" in result.stdout  # 5 units and 6 scenarios


def test_against_a_fresh_mock_rules_and_scenarios_pass(tmp_path):
    result = pytest_conformance("--spawn-mock", "--rules", "ids.unique,dependents", "--seed", "1", "-rA", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_rule[ids.unique[writeOffs]]" in result.stdout
    assert "test_rule[dependents.recursive[batches]]" in result.stdout
    assert "test_follow_dependents_down_a_chain" in result.stdout
    assert "12 passed" in result.stdout
