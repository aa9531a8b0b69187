"""`make fuzz` keeps the README's promise on a fresh clone: the mock's output lands in reports/fuzz-mock.log even
when reports/ does not exist yet."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_a_fresh_clone_gets_reports_fuzz_mock_log(tmp_path):
    for part in ("scripts/fuzz", "scripts/schemathesis.toml", "openapi/collect.yaml"):
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / part, tmp_path / part)
    assert not (tmp_path / "reports").exists()
    done = subprocess.run(
        [sys.executable, "scripts/fuzz", "--max-examples", "1", "--phases", "examples", "--seed", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    log = (tmp_path / "reports" / "fuzz-mock.log").read_text()
    assert log.startswith("Collect mock serving http://127.0.0.1:")
