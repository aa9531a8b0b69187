"""`collect-conformance`: exit status 0 pass, 1 a rule failed, 2 bad usage, 3 the suite could not run."""

from __future__ import annotations

import pytest

from conformance import cli
from tests.defects import load
from tests.defects.server import TENANT, TOKEN


@pytest.fixture
def args(target, monkeypatch):
    target.reset()
    monkeypatch.setenv("COLLECT_CONFORMANCE_TOKEN", TOKEN)  # the token never needs to be on the command line
    return ["--base-url", target.base_url, "--tenant", TENANT, "--seed", "1", "--rate-limit", "0", "--quiet"]


def test_list_rules_prints_the_catalog(capsys):
    assert cli.main(["--list-rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ids.server-generated ") and len(lines) == 43


def test_a_passing_run_exits_0_and_writes_both_reports(args, tmp_path, capsys):
    junit, report = tmp_path / "r.xml", tmp_path / "r.md"
    assert cli.main([*args, "--rules", "ids.unique", "--junit-xml", str(junit), "--report", str(report)]) == 0
    assert "PASS: 5 passed" in capsys.readouterr().err
    assert 'tests="5"' in junit.read_text() and "**PASS**" in report.read_text()


def test_a_failing_rule_exits_1(args, target, capsys):
    target.app.switch(load()["DuplicateId"])
    assert cli.main([*args, "--rules", "ids.unique"]) == 1
    err = capsys.readouterr().err
    assert "FAIL:" in err and TOKEN not in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--rules", "nonsense"], "'rules' has value 'nonsense'"),
        (["--max-examples", "0"], "'max_examples' has value '0'"),
    ],
)
def test_bad_usage_exits_2(args, extra, message, capsys):
    assert cli.main([*args, *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_target_exits_2_naming_flags_and_variables(monkeypatch, capsys):
    monkeypatch.delenv("COLLECT_CONFORMANCE_TOKEN", raising=False)
    assert cli.main(["--base-url", "http://127.0.0.1:9", "--tenant", TENANT]) == 2
    assert "--token (or COLLECT_CONFORMANCE_TOKEN)" in capsys.readouterr().err


def test_an_unreachable_target_exits_3(monkeypatch, capsys):
    monkeypatch.setenv("COLLECT_CONFORMANCE_TOKEN", TOKEN)
    assert cli.main(["--base-url", "http://127.0.0.1:9", "--tenant", TENANT, "--quiet"]) == 3
    assert "cannot reach http://127.0.0.1:9" in capsys.readouterr().err


def test_a_refused_token_exits_3(args, monkeypatch, capsys):
    monkeypatch.setenv("COLLECT_CONFORMANCE_TOKEN", "not-the-token")
    assert cli.main(args) == 3
    assert "token was refused" in capsys.readouterr().err


def test_spawn_mock_starts_checks_and_stops_a_fresh_mock(capsys):
    assert cli.main(["--spawn-mock", "--rules", "ids.unique,status.foreign-tenant-403", "--seed", "2"]) == 0
    err = capsys.readouterr().err
    assert "PASS: 10 passed" in err and "tenant conformance" in err
