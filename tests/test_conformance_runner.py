"""A run, end to end, against the mock: what it sends, what it leaves behind, what it never shows."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest

from conformance import Config, Runner, output
from conformance.progress import ProgressPrinter
from conformance.report import ERROR
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
    assert report.ok, report.summary()
    assert {o.reason for o in report.outcomes if o.rule == "versioning.version-increments"} == {
        "needs writes (--read-only)"
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


def test_a_spent_budget_ends_the_run_with_errors_not_with_damage(clean):
    report = Runner(config(clean, rules=("paging",), budget=40)).run()

    assert not report.ok
    assert any(o.status == ERROR and "budget" in o.reason for o in report.outcomes)
    assert report.requests <= 40
    assert report.cleanup.left == []  # the fifth of the budget kept back was enough to clean up


def test_the_seed_replays_the_same_generated_requests(clean):
    def generated(seed: int) -> list[tuple[str, str, str]]:
        clean.admin("DELETE", "journal")
        Runner(config(clean, rules=("fuzz.no-server-error",), read_only=True, seed=seed, workers=1)).run()
        return [(e["method"], e["path"], e["query"]) for e in clean.journal()]

    first = generated(3)
    assert generated(3) == first
    assert generated(4) != first
