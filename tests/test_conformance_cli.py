"""`collect-conformance`: the exit status a pipeline reads (0 pass, 1 fail, 2 usage, 3 could not run, 4 partial),
results on stdout and progress on stderr, and report files written whatever the outcome."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from conformance import ConformanceError, cli, spawn
from tests.defects import load
from tests.defects.server import TENANT, TOKEN


@pytest.fixture
def args(target, monkeypatch):
    target.reset()
    monkeypatch.setenv("COLLECT_CONFORMANCE_TOKEN", TOKEN)  # the token never needs to be on the command line
    return ["--base-url", target.base_url, "--tenant", TENANT, "--seed", "1", "--rate-limit", "0", "--quiet"]


def files(tmp_path) -> list[str]:
    return ["--report", str(tmp_path / "r.md"), "--junit-xml", str(tmp_path / "r.xml")]


def test_list_rules_prints_the_catalog(capsys):
    assert cli.main(["--list-rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ids.server-generated ") and len(lines) == 43


def test_help_explains_every_exit_status_and_the_reasons_partial_coverage_may_accept(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    for line in ("0  PASS", "1  FAIL", "2  bad usage", "3  COULD NOT RUN", "4  PARTIAL", "--accept-partial"):
        assert line in text
    assert "needs-other-tenant" in text and "setup-refused" in text


def test_a_passing_run_exits_0_with_results_on_stdout_and_progress_on_stderr(args, tmp_path, capsys):
    assert cli.main([*args[:-1], "--rules", "ids.unique", *files(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out.rstrip().endswith("exit 0: every selected unit was verified and passed")
    assert "PASS: 5 passed" in out and "[5/5]" not in out
    assert "[5/5]" in err and "PASS" not in err
    assert 'tests="5"' in (tmp_path / "r.xml").read_text() and "**PASS: 5 passed" in (tmp_path / "r.md").read_text()
    assert (tmp_path / "r.log").read_text().count("passed") >= 5


def test_a_failing_rule_exits_1_and_prints_the_failure_once_with_its_steps(args, target, capsys):
    target.app.switch(load()["DuplicateId"])
    assert cli.main([*args, "--rules", "ids.unique"]) == 1
    out, err = capsys.readouterr()
    assert "FAIL:" in out and "FAILED ids.unique" in out and "Reproduce: curl" in out
    assert TOKEN not in out + err and err == ""  # --quiet: no progress


def test_a_read_only_run_on_an_empty_tenant_is_partial_not_a_silent_pass(args, monkeypatch, tmp_path, capsys):
    # The observed case: a tenant with nothing to read, read-only. It used to exit 0 with "50 passed".
    monkeypatch.setenv("COLLECT_CONFORMANCE_TOKEN", "selftest-unused-dev-token")  # the mock's every-tenant token
    code = cli.main([*args, "--read-only", "--tenant", "nobody-here", *files(tmp_path)])
    out = capsys.readouterr().out
    assert code == 4
    assert "PARTIAL:" in out and "read-only" in out and "no-records" in out
    assert "exit 4: nothing failed, but" in out
    assert "**PARTIAL:" in (tmp_path / "r.md").read_text()


@pytest.mark.parametrize(
    ("accept", "code"),
    [(["--accept-partial"], 0), (["--accept-partial", "read-only,no-records,needs-other-tenant"], 0)]
    + [(["--accept-partial", "read-only"], 4)],
)
def test_accept_partial_turns_4_into_0_only_for_the_reasons_it_names(args, accept, code, capsys):
    assert cli.main([*args, "--read-only", "--rules", "ids,status", *accept]) == code
    out = capsys.readouterr().out
    assert "PARTIAL" in out and ("PARTIAL (accepted)" in out) == (code == 0)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--rules", "nonsense"], "'rules' has value 'nonsense'"),
        (["--max-examples", "0"], "'max_examples' has value '0'"),
        (["--accept-partial", "whatever"], "'accept_partial' has value 'whatever'"),
    ],
)
def test_bad_usage_exits_2(args, extra, message, capsys):
    assert cli.main([*args, *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_token_too_short_to_redact_exits_2_before_any_request(target, monkeypatch, capsys):
    target.reset()
    monkeypatch.setenv("COLLECT_CONFORMANCE_TOKEN", "T")
    assert cli.main(["--base-url", target.base_url, "--tenant", TENANT]) == 2
    assert "'token' cannot be kept out of the reports: it is 1 characters long" in capsys.readouterr().err
    assert target.journal() == []


def test_a_missing_target_exits_2_naming_flags_and_variables(monkeypatch, capsys):
    monkeypatch.delenv("COLLECT_CONFORMANCE_TOKEN", raising=False)
    assert cli.main(["--base-url", "http://127.0.0.1:9", "--tenant", TENANT]) == 2
    assert "--token (or COLLECT_CONFORMANCE_TOKEN)" in capsys.readouterr().err


def could_not_run(tmp_path, why: str) -> None:
    """Every file is written, and says why the run stopped."""
    assert f"could not run: {why}" in (tmp_path / "r.md").read_text()
    junit = ET.parse(tmp_path / "r.xml").getroot()
    error = junit.find(".//testcase[@name='collect-conformance[run]']/error")
    assert error is not None and why in (error.get("message") or "")
    assert why in (tmp_path / "r.log").read_text()


def test_an_unreachable_target_exits_3_and_still_writes_every_report(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COLLECT_CONFORMANCE_TOKEN", TOKEN)
    assert cli.main(["--base-url", "http://127.0.0.1:9", "--tenant", TENANT, "--quiet", *files(tmp_path)]) == 3
    assert "COULD NOT RUN: cannot reach http://127.0.0.1:9" in capsys.readouterr().out
    could_not_run(tmp_path, "cannot reach http://127.0.0.1:9")


def test_a_refused_token_exits_3_and_still_writes_every_report(args, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COLLECT_CONFORMANCE_TOKEN", "not-the-token")
    assert cli.main([*args, *files(tmp_path)]) == 3
    assert "token was refused" in capsys.readouterr().out
    could_not_run(tmp_path, "the token was refused")


def test_a_mock_that_does_not_start_exits_3_and_still_writes_every_report(monkeypatch, tmp_path, capsys):
    def broken(*_args, **_kwargs):
        raise ConformanceError("the mock exited with status 1: Address already in use")

    monkeypatch.setattr(spawn, "spawned_mock", broken)
    assert cli.main(["--spawn-mock", "--quiet", *files(tmp_path)]) == 3
    assert "COULD NOT RUN" in capsys.readouterr().out
    could_not_run(tmp_path, "the mock exited with status 1")


def test_a_report_that_cannot_be_written_turns_a_pass_into_exit_3(args, tmp_path, capsys):
    (tmp_path / "taken").write_text("a file where a directory should be")
    assert cli.main([*args, "--rules", "ids.unique", "--report", str(tmp_path / "taken" / "r.md")]) == 3
    assert "could not write" in capsys.readouterr().err


def test_spawn_mock_starts_checks_and_stops_a_fresh_mock_with_another_tenant(capsys):
    assert cli.main(["--spawn-mock", "--rules", "ids.unique,status.foreign-tenant-403", "--seed", "2"]) == 0
    out, err = capsys.readouterr()
    assert "PASS: 10 passed" in out and "tenant conformance" in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n", "no resource: a resource is a create path"),
        ("openapi: [unclosed", "It cannot be read as YAML"),
        ("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n", "openapi: is 3.1.0"),
    ],
    ids=["no-resource", "not-yaml", "not-3.0"],
)
def test_a_contract_the_suite_cannot_read_is_a_usage_error_naming_each_break(tmp_path, capsys, content, expected):
    spec = tmp_path / "contract.yaml"
    spec.write_text(content)
    argv = ["--base-url", "http://127.0.0.1:9", "--tenant", TENANT, "--token", TOKEN, "--spec", str(spec), "--quiet"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"collect-conformance: Config 'spec' has value '{spec}'.") and expected in err
    assert "Traceback" not in err
