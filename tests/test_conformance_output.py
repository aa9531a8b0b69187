"""Reports: a readable Markdown or HTML page and JUnit XML, from the same Report, with the token removed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from conformance import output
from conformance.report import Cleanup, FailureRecord, Outcome, Report
from conformance.safety import Redactor

FAILURE = FailureRecord(
    rule="ids.unique",
    resource="batches",
    code="CC102",
    title="Duplicate id",
    operation="POST /batches/{tenantId}/batch",
    received="ids ['b-1', 'b-1']",
    expected="distinct ids",
    curl="curl -i -X POST http://api/batches/acme/batch -H 'Authorization: Bearer tok-9'",
    response="200 application/json {...}",
)


def report() -> Report:
    outcomes = [
        Outcome("ids.unique", "batches", "failed", failures=[FAILURE]),
        Outcome("ids.unique", "invoices", "passed"),
        Outcome("tenancy.isolation", "batches", "skipped", "needs --other-tenant"),
        Outcome("paging.full-walk", "batches", "error", "could not create a batches record: 500"),
    ]
    cleanup = Cleanup(removed={"batches": 3}, left=[("invoices", "inv-1", "409 still referenced")])
    return Report("http://api", "acme", 42, {"read_only": False}, outcomes, cleanup, requests=120, throttled=2)


def test_the_report_fails_when_a_rule_fails_or_errs_and_names_the_seed():
    assert (report().ok, report().exit_code) == (False, 1)
    assert "1 passed, 1 failed, 1 error, 1 skipped" in report().summary() and "seed 42" in report().summary()


def test_markdown_has_the_matrix_the_failure_with_its_reproduction_and_the_cleanup():
    text = output.markdown(report(), Redactor(["tok-9"]))
    assert "| `ids.unique` | ✗ | ✓ |" in text
    assert "- Expected: distinct ids" in text and "- Received: ids ['b-1', 'b-1']" in text
    assert "Bearer [REDACTED]" in text and "tok-9" not in text
    assert "`tenancy.isolation` on batches: skipped: needs --other-tenant" in text
    assert "- Left: invoices `inv-1`: 409 still referenced" in text
    assert "`--seed 42`" in text


def test_html_is_the_same_report_as_a_page():
    page = output.html_page(report(), Redactor(["tok-9"]))
    assert page.startswith("<!doctype html>") and "<th>rule</th>" in page and "tok-9" not in page
    assert "<td>ids.unique</td><td>✗</td>" in page


def test_junit_has_one_testcase_per_rule_and_resource():
    suite = ET.fromstring(output.junit_xml(report(), Redactor(["tok-9"])))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "4",
        "1",
        "1",
        "1",
    )
    failed = suite.find("testcase[@name='ids.unique[batches]']/failure")
    assert failed is not None and "Reproduce: curl" in (failed.text or "") and "tok-9" not in (failed.text or "")
    assert suite.find("testcase[@name='tenancy.isolation[batches]']/skipped").get("message") == "needs --other-tenant"


def test_the_file_format_follows_the_suffix(tmp_path):
    for name, start in (("r.md", "# Collect"), ("r.html", "<!doctype"), ("r.xml", "<?xml")):
        output.write(report(), tmp_path / name)
        assert (tmp_path / name).read_text(encoding="utf-8").startswith(start)
