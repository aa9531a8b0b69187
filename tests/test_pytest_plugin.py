"""The `collect_mock` fixture, as a separate client project uses it (examples/client)."""

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parent.parent / "examples" / "client"


def run_pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=directory, capture_output=True, text=True, timeout=300
    )


def test_the_example_client_project_passes_against_the_fixture():
    result = run_pytest(EXAMPLE, "-W", "error")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_each_test_starts_from_a_fresh_mock(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (tmp_path / "test_fresh.py").write_text(
        "import pytest\n"
        "BODY = {'business_unit_id': 'bu', 'date': '2025-01-01', 'fiscal_period': 1, 'fiscal_year_id': 'fy', "
        "'name': 'n'}\n"
        "@pytest.mark.parametrize('round', [1, 2])\n"
        "def test_fresh(collect_mock, round):\n"
        "    with collect_mock.client() as http:\n"
        "        assert http.get('/batches/acme').json() == []\n"
        "        assert http.post('/batches/acme', json=BODY).status_code == 200\n"
        "    assert len(collect_mock.journal()) == 2\n"
    )
    result = run_pytest(tmp_path, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_an_unknown_seed_choice_is_a_usage_error(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\ncollect_mock_seed = everything\n")
    (tmp_path / "test_seed.py").write_text("def test_seed(collect_mock):\n    pass\n")
    result = run_pytest(tmp_path, "-q")
    assert result.returncode != 0 and "collect_mock seed must be" in result.stdout + result.stderr
