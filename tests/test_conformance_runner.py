"""A run, end to end, against the mock: what it sends, what it leaves behind, what it never shows."""

from __future__ import annotations

import dataclasses
import io
from urllib.parse import urlsplit

import pytest

from conformance import REGISTRY, Config, Reason, Runner, Verdict, output
from conformance.progress import ProgressPrinter
from conformance.verdicts import ERROR, FAILED, NOT_VERIFIED
from tests.defects import load
from tests.defects.server import OTHER_TENANT, TENANT, TOKEN

FOREIGN = {"name": "Someone else's batch", "business_unit_id": "bu-x", "date": "2025-04-01", "fiscal_period": 4}
FOREIGN |= {"fiscal_year_id": "fy-x", "status": "open", "type": "transaction"}


@pytest.fixture
def clean(target):
    target.reset()
    target.admin("POST", "fixtures", json={TENANT: {"batches": [FOREIGN]}})  # a record the suite did not create
    return target


def config(target, **changes) -> Config:
    base = Config(base_url=target.base_url, token=TOKEN, tenant=TENANT, other_tenant=OTHER_TENANT, seed=11)
    return base.replace(rate_limit=0, max_examples=2, paging_records=6, **changes)


def test_read_only_sends_get_requests_only_and_changes_nothing(clean):
    before = clean.records()

    report = Runner(config(clean, read_only=True)).run()

    assert {entry["method"] for entry in clean.journal()} == {"GET"}
    assert clean.records() == before
    assert report.verdict == Verdict.PARTIAL and not report.ok and report.exit_code == 4, report.summary()
    assert not report.failures()
    assert {(o.status, o.why) for o in report.outcomes if o.rule == "versioning.version-increments"} == {
        (NOT_VERIFIED, Reason.READ_ONLY)
    }


def test_writes_stay_in_the_tenant_touch_only_own_records_and_are_removed(clean):
    foreign = clean.records()["batches"][0]

    report = Runner(config(clean, rules=("ids", "patch", "batch", "delete", "fuzz"))).run()

    assert report.ok, report.summary()
    writes = [e for e in clean.journal() if e["method"] != "GET"]
    assert {urlsplit(e["path"]).path.split("/")[2] for e in writes} <= {TENANT, "warmUpStepFunctions"}
    assert clean.records() == {"batches": [foreign]}  # untouched, and nothing of the run is left
    assert report.cleanup.left == [] and sum(report.cleanup.removed.values()) > 0


def test_the_token_appears_in_no_output(clean):
    clean.app.switch(load()["ResponseBodyMismatch"])
    runner = Runner(config(clean, rules=("schema.response-body",)))
    progress = io.StringIO()

    report = runner.run(ProgressPrinter(runner.session.redact, progress))

    assert not report.ok and report.failures()
    texts = [progress.getvalue(), output.markdown(report), output.html_page(report), output.junit_xml(report)]
    assert all(TOKEN not in text for text in texts)
    assert "${COLLECT_CONFORMANCE_TOKEN}" in output.markdown(report)


def test_a_spent_budget_leaves_units_not_verified_says_the_run_stopped_and_does_no_damage(clean, tmp_path):
    report = Runner(config(clean, rules=("paging",), budget=40, report=tmp_path / "r.md")).run()

    assert report.verdict == Verdict.PARTIAL and report.exit_code == 4
    assert any(o.status == NOT_VERIFIED and o.why == Reason.BUDGET_SPENT for o in report.outcomes)
    assert not any(o.status == ERROR for o in report.outcomes)
    assert report.stopped.startswith("stopped early: the request budget of 32 is spent")
    assert report.requests <= 40
    assert report.cleanup.left == []  # the fifth of the budget kept back was enough to clean up
    assert "- Stopped: stopped early: the request budget" in (tmp_path / "r.md").read_text()


def test_the_seed_replays_the_same_generated_requests(clean):
    def generated(seed: int) -> list[tuple[str, str, str]]:
        clean.admin("DELETE", "journal")
        Runner(config(clean, rules=("fuzz.no-server-error",), read_only=True, seed=seed, workers=1)).run()
        return [(e["method"], e["path"], e["query"]) for e in clean.journal()]

    first = generated(3)
    assert generated(3) == first
    assert generated(4) != first


def test_a_multi_step_failure_shows_every_step_in_order_and_reproduces_the_deviating_one(clean):
    clean.app.switch(load()["DeletedRecordServed"])

    report = Runner(config(clean, rules=("ids.deleted-404",), workers=1)).run()

    failure = next(f for f in report.failures() if f.resource == "batches")
    assert failure.steps_total >= 3 and [s.number for s in failure.steps] == sorted(s.number for s in failure.steps)
    (deviated,) = [s for s in failure.steps if s.deviated]
    before = [s.request.split()[0] for s in failure.steps if s.number < deviated.number]
    assert "POST" in before and "DELETE" in before  # the create and the delete that led there
    assert deviated.response.startswith("200") and deviated.request.split()[1] in failure.curl
    assert "<- deviated" in failure.as_text()


def test_an_exception_inside_the_suite_is_an_internal_error_with_its_request_and_a_logged_traceback(
    clean, monkeypatch, tmp_path
):
    def broken_check(ctx, resource):
        ctx.call(resource.collection, "list")
        return {}["id"]  # what a check that trusts an answer too much does

    rule = REGISTRY.get("ids.unique")
    monkeypatch.setitem(REGISTRY._rules, rule.id, dataclasses.replace(rule, check=broken_check))

    report = Runner(config(clean, rules=("ids.unique",), report=tmp_path / "r.md")).run()

    assert {(o.status, o.internal) for o in report.outcomes} == {(ERROR, True)}
    (group,) = report.groups(ERROR)
    assert group.count == 5
    assert group.reason.startswith("internal error of the suite: KeyError: 'id' (the last request: GET http")
    assert "answered 200 application/json" in group.reason
    log = (tmp_path / "r.log").read_text()
    assert log.count("Traceback (most recent call last)") == 1 and "in broken_check" in log
    assert "Internal error of the suite in 5 units" in log
    assert "tracebacks are in the log file" in (tmp_path / "r.md").read_text()


def test_the_coverage_view_shows_who_reached_each_operation_and_the_statuses_never_seen(clean):
    report = Runner(config(clean, rules=("ids.unknown-404", "status.documented"))).run()

    by_id = {entry.operation_id: entry for entry in report.coverage}
    assert len(by_id) == 48
    get_batch = by_id["getBatch"]
    assert 404 in get_batch.observed and {"ids.unknown-404", "sweep"} <= set(get_batch.exercised_by)
    assert "500" in get_batch.never and get_batch.undocumented == []
    assert by_id["listBatches"].observed.get(200, 0) >= 1


def test_a_failure_outweighs_nothing_else_and_the_verdict_is_fail(clean):
    clean.app.switch(load()["UnknownIdAnswered"])
    report = Runner(config(clean, rules=("ids.unknown-404",), read_only=True)).run()
    assert report.verdict == Verdict.FAIL and report.exit_code == 1
    assert {o.status for o in report.outcomes} <= {FAILED, NOT_VERIFIED}


def test_a_response_rule_that_breaks_ends_its_own_units_not_the_checks_whose_answers_it_judged(clean, monkeypatch):
    def broken_judge(exchange):
        raise KeyError("id")

    rule = REGISTRY.get("status.documented")
    monkeypatch.setitem(REGISTRY._rules, rule.id, dataclasses.replace(rule, check=broken_judge))

    report = Runner(config(clean, rules=("status.documented", "ids.unknown-404"))).run()

    outcomes = {(o.rule, o.status, o.internal) for o in report.outcomes}
    assert outcomes == {("status.documented", ERROR, True), ("ids.unknown-404", "passed", False)}
    (group,) = report.groups(ERROR)
    assert group.count == 5 and group.reason.startswith("internal error of the suite: KeyError: 'id' (judging ")
    assert report.tracebacks and "broken_judge" in report.tracebacks[0][0]
