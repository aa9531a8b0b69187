"""Reports: the verdict a pipeline reads, and files that say it and never break (Markdown, HTML, JUnit XML).

Hostile text (NUL, escape sequences, lone surrogates, markup, megabyte bodies) comes from implementations
nobody here wrote; every file must stay well-formed, bounded and free of the token whatever they answer.
"""

from __future__ import annotations

import html.parser
import xml.etree.ElementTree as ET

import pytest
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import output
from conformance.coverage import ConstraintProbe, OperationCoverage
from conformance.errors import Reason
from conformance.report import Cleanup, FailureRecord, Outcome, Report, Step
from conformance.safety import Redactor
from conformance.text import has_unprintable
from conformance.verdicts import ERROR, FAILED, NOT_VERIFIED, PASSED, Exit, Verdict
from tests.support.junit_schema import junit_xsd

TOKEN = "tok-9-secret"
RESOURCES = ("writeOffs", "debitMemos", "creditMemos", "invoices", "batches")


def failure(**changes) -> FailureRecord:
    steps = [
        Step(1, "POST http://api/batches/acme", '200 application/json {"id": "b-1"}', '{"name": "x"}'),
        Step(2, "GET http://api/batches/acme/b-1", "404 application/problem+json {}", deviated=True),
    ]
    record = FailureRecord(
        rule="ids.unique",
        resource="batches",
        code="CC102",
        title="Duplicate id",
        operation="POST /batches/{tenantId}/batch",
        received="ids ['b-1', 'b-1']",
        expected="distinct ids",
        curl=f"curl -sS -i -X POST http://api/batches/acme/batch -H 'Authorization: Bearer {TOKEN}'",
        response="200 application/json {...}",
        steps=steps,
        steps_total=2,
    )
    for key, value in changes.items():
        setattr(record, key, value)
    return record


def report(*outcomes: Outcome, **changes) -> Report:
    outcomes = outcomes or (
        Outcome("ids.unique", "batches", FAILED, failures=[failure()]),
        Outcome("ids.unique", "invoices", PASSED),
        Outcome("tenancy.isolation", "batches", NOT_VERIFIED, "needs --other-tenant", Reason.NEEDS_OTHER_TENANT),
        Outcome("paging.full-walk", "batches", ERROR, "could not create a batches record: 500"),
    )
    cleanup = Cleanup(removed={"batches": 3}, left=[("invoices", "inv-1", "409 still referenced")])
    result = Report("http://api", "acme", 42, {"read_only": False}, list(outcomes), cleanup, requests=120, throttled=2)
    for key, value in changes.items():
        setattr(result, key, value)
    return result


# -- the verdict ------------------------------------------------------------------------------------------------


def test_every_unit_verified_and_passed_is_a_pass_with_exit_0():
    passed = report(Outcome("ids.unique", "batches", PASSED), Outcome("ids.unique", "invoices", PASSED))
    assert (passed.verdict, passed.exit_code, passed.ok) == (Verdict.PASS, Exit.PASS, True)
    assert passed.summary() == "PASS: 2 passed (120 requests, 0.0s, seed 42)"


def test_a_unit_not_verified_makes_the_run_partial_never_a_plain_pass():
    partial = report(
        Outcome("ids.unique", "batches", PASSED),
        Outcome("ids.unique", "invoices", NOT_VERIFIED, "needs writes (--read-only)", Reason.READ_ONLY),
        Outcome("tenancy.isolation", "batches", NOT_VERIFIED, "needs --other-tenant", Reason.NEEDS_OTHER_TENANT),
    )
    assert (partial.verdict, partial.exit_code, partial.ok) == (Verdict.PARTIAL, Exit.PARTIAL, False)
    assert partial.summary().startswith("PARTIAL: 1 passed, 2 not verified (1 read-only, 1 needs-other-tenant)")


@pytest.mark.parametrize(
    ("accepted", "code"),
    [
        (frozenset(Reason), Exit.PASS),
        (frozenset({Reason.READ_ONLY, Reason.NEEDS_OTHER_TENANT}), Exit.PASS),
        (frozenset({Reason.READ_ONLY}), Exit.PARTIAL),  # the other-tenant gap is not accepted
        (frozenset(), Exit.PARTIAL),
    ],
)
def test_accepting_partial_coverage_exits_0_only_for_the_reasons_accepted_and_still_says_partial(accepted, code):
    partial = report(
        Outcome("ids.unique", "invoices", NOT_VERIFIED, "needs writes (--read-only)", Reason.READ_ONLY),
        Outcome("tenancy.isolation", "batches", NOT_VERIFIED, "needs --other-tenant", Reason.NEEDS_OTHER_TENANT),
        accepted=accepted,
    )
    assert partial.exit_code == code
    assert partial.summary().startswith("PARTIAL")


def test_a_failure_or_an_error_fails_the_run_whatever_is_accepted():
    failed = report(accepted=frozenset(Reason))
    assert (failed.verdict, failed.exit_code) == (Verdict.FAIL, Exit.FAIL)
    assert failed.summary().startswith("FAIL: 1 passed, 1 failed, 1 error, 1 not verified (1 needs-other-tenant)")
    errored = report(Outcome("ids.unique", "batches", ERROR, "internal error of the suite: KeyError: 'id'"))
    assert errored.exit_code == Exit.FAIL


def test_a_run_that_could_not_start_says_why_and_exits_3():
    unable = report(Outcome("ids.unique", "batches", PASSED), unable=True, stopped="cannot reach http://api")
    assert (unable.verdict, unable.exit_code) == (Verdict.UNABLE, Exit.UNABLE)
    assert unable.summary().startswith("COULD NOT RUN: cannot reach http://api")


# -- grouping ---------------------------------------------------------------------------------------------------


def test_one_cause_in_many_units_is_one_group_with_a_count():
    # 165 units that could not create their record, each answer naming another id (the observed case).
    outcomes = [
        Outcome(
            f"rule-{n}",
            RESOURCES[n % 5],
            NOT_VERIFIED,
            f'could not create a {RESOURCES[n % 5]} record: 201 application/json {{"id": "{n:08x}"}}',
            Reason.SETUP_REFUSED,
        )
        for n in range(165)
    ]
    outcomes += [
        Outcome("ids.unique", r, ERROR, "internal error of the suite: KeyError: 'id'", internal=True) for r in RESOURCES
    ]
    grouped = report(*outcomes)
    (gap,) = grouped.groups(NOT_VERIFIED)
    (error,) = grouped.groups(ERROR)
    assert (gap.count, gap.why, error.count) == (165, Reason.SETUP_REFUSED, 5)
    text = output.markdown(grouped)
    assert "165 × could not create a {resource} record: 201 application/json …: `rule-0[writeOffs]`" in text
    assert (
        'e.g. `rule-0[writeOffs]`: could not create a writeOffs record: 201 application/json {"id": "00000000"}' in text
    )
    assert text.count("could not create") == 2  # the group, and its first unit's own reason


def test_identical_failures_on_several_resources_are_shown_once_with_their_units():
    outcomes = [Outcome("ids.unique", r, FAILED, failures=[failure(resource=r)]) for r in RESOURCES]
    (group,) = report(*outcomes).groups(FAILED)
    assert group.count == 5 and group.units[0] == "ids.unique[writeOffs]"
    text = output.markdown(report(*outcomes))
    assert text.count("### `ids.unique`: Duplicate id [CC102]") == 1
    assert "5 units: `ids.unique[writeOffs]`" in text and "and 0 more" not in text


# -- Markdown and HTML ------------------------------------------------------------------------------------------


def test_markdown_has_the_verdict_matrix_steps_reproduction_gaps_and_cleanup_without_the_token():
    text = output.markdown(report(), Redactor([TOKEN]))
    assert text.startswith("# Collect conformance report\n\n**FAIL: 1 passed, 1 failed")
    assert "exit 1: a rule failed" in text
    assert "| `ids.unique` |  |  |" not in text and "| `ids.unique` | ✗ | ✓ |" in text
    assert "- Expected: distinct ids" in text and "- Received: ids ['b-1', 'b-1']" in text
    assert "2. GET http://api/batches/acme/b-1\n   -> 404 application/problem+json {}   <- deviated" in text
    assert "Bearer [REDACTED]" in text and TOKEN not in text
    assert "**needs-other-tenant** 1 × needs --other-tenant: `tenancy.isolation[batches]`" in text
    assert "- Left: invoices `inv-1`: 409 still referenced" in text
    assert "`--seed 42`" in text


def test_a_code_block_cannot_be_closed_by_the_text_it_quotes():
    text = output.markdown(report(Outcome("ids.unique", "batches", FAILED, failures=[failure(curl="echo ```x````")])))
    assert "`````sh\necho ```x````\n`````" in text


class Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.classes: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.classes += (dict(attrs).get("class") or "").split()

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_a_rendered_page_with_outcome_colours_and_folded_failures():
    hostile = failure(received="<script>alert(1)</script>", title="Duplicate id")
    page_text = output.html_page(
        report(Outcome("ids.unique", "batches", FAILED, failures=[hostile])), Redactor([TOKEN])
    )
    page = Page()
    page.feed(page_text)
    assert page_text.startswith("<!doctype html>") and "**" not in page_text and "| rule |" not in page_text
    assert {"details", "summary", "table", "pre"} <= set(page.tags)
    assert {"verdict", "FAIL", "failed"} <= set(page.classes)
    assert "script" not in page.tags and "<script>alert(1)</script>" in "".join(page.text)
    assert TOKEN not in page_text


def test_the_coverage_view_lists_statuses_observed_and_never_and_the_constraints_probed():
    entry = OperationCoverage(
        "createBatch",
        "POST /batches/{tenantId}",
        ("200", "400", "409", "500"),
        {200: 12, 400: 3, 422: 1},
        ("ids.unique", "sweep"),
        [ConstraintProbe("createBatch", "body.status", "enum", 400, "passed")],
    )
    assert (entry.never, entry.undocumented) == (["409", "500"], [422])
    text = output.markdown(report(coverage=[entry]))
    assert "| `createBatch` | 200×12 400×3 422×1 | 409 500 | 422 | ids.unique, sweep | 1 (1 passed): enum |" in text


def test_huge_bodies_and_many_groups_keep_the_report_bounded():
    huge = "x" * 1_000_000
    outcomes = [
        Outcome(
            f"rule.n{n}",
            "batches",
            FAILED,
            failures=[failure(code=f"CC{n}", received=huge[:1500], response=huge[:500])],
        )
        for n in range(300)
    ]
    outcomes += [Outcome(f"rule.e{n}", "batches", ERROR, f"error {n} " + huge[:1500]) for n in range(300)]
    text = output.markdown(report(*outcomes))
    assert len(text.encode()) < 300_000
    assert "… and 275 more groups (275 units), listed in the JUnit file" in text


def test_the_file_format_follows_the_suffix_and_every_file_is_written_whole(tmp_path):
    for name, start in (("r.md", "# Collect"), ("r.html", "<!doctype"), ("r.xml", "<?xml")):
        output.write(report(), tmp_path / name)
        assert (tmp_path / name).read_text(encoding="utf-8").startswith(start)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.md", "r.xml"]  # no temporary left


def test_a_file_that_cannot_be_written_is_reported_and_the_others_still_are(tmp_path):
    (tmp_path / "taken").write_text("a file, not a directory")
    written, problems = output.write_all(
        report(), report_path=tmp_path / "taken" / "r.md", junit_path=tmp_path / "r.xml", log_path=tmp_path / "r.log"
    )
    assert written == [tmp_path / "r.xml", tmp_path / "r.log"]
    assert list(problems) == [tmp_path / "taken" / "r.md"]


def test_the_log_has_a_line_per_unit_and_each_traceback_once():
    with_trace = report(tracebacks=[("Traceback (most recent call last):\nKeyError: 'id'", ["a[b]", "a[c]"])])
    text = output.log_text(with_trace)
    assert (
        "✗ ids.unique[batches] failed" in text
        and "– tenancy.isolation[batches] not verified (needs-other-tenant)" in text
    )
    assert text.count("KeyError: 'id'") == 1 and "Internal error of the suite in 2 units: a[b], a[c]" in text


# -- JUnit XML --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def xsd() -> xmlschema.XMLSchema:
    """The common JUnit schema, the one Jenkins validates reports against."""
    return xmlschema.XMLSchema(junit_xsd())


def test_junit_is_valid_against_the_common_schema_with_a_testcase_per_unit(xsd):
    text = output.junit_xml(report(), Redactor([TOKEN]))
    xsd.validate(text)
    suite = ET.fromstring(text).find("testsuite")
    assert suite is not None
    assert [suite.get(k) for k in ("tests", "failures", "errors", "skipped")] == ["4", "1", "1", "1"]
    failed = suite.find("testcase[@name='ids.unique[batches]']/failure")
    assert failed is not None and failed.get("type") == "CC102"
    assert "Reproduce: curl" in (failed.text or "") and TOKEN not in (failed.text or "")
    gap = suite.find("testcase[@name='tenancy.isolation[batches]']/skipped")
    assert gap is not None and gap.get("message") == "not verified (needs-other-tenant): needs --other-tenant"
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert (properties["verdict"], properties["exit_code"]) == ("FAIL", "1")


def test_junit_of_a_run_that_could_not_start_is_an_error_not_an_empty_pass(xsd):
    text = output.junit_xml(report(Outcome("x.y", "batches", PASSED), unable=True, stopped="the token was refused"))
    xsd.validate(text)
    error = ET.fromstring(text).find(".//testcase[@name='collect-conformance[run]']/error")
    assert error is not None and error.get("message") == "could not run: the token was refused"


HOSTILE = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=60) | st.sampled_from(
    ["\x00", "\x1b[31mred\x1b[0m", "\ud800", "\udfff lone", "\ufffe\uffff", "]]>", "<!--", "&amp;", "\r\n\t"]
)


@settings(max_examples=150, deadline=None)
@given(title=HOSTILE, received=HOSTILE, reason=HOSTILE, body=HOSTILE)
def test_junit_stays_well_formed_and_valid_whatever_text_it_quotes(xsd, title, received, reason, body):
    hostile = failure(title=title, received=received, response=body, steps=[Step(1, body, body, body, True)])
    text = output.junit_xml(
        report(
            Outcome("ids.unique", "batches", FAILED, failures=[hostile]),
            Outcome("ids.unique", "invoices", ERROR, reason),
            Outcome("ids.unique", "debitMemos", NOT_VERIFIED, reason, Reason.NO_RECORDS),
            stopped=reason,
        )
    )
    xsd.validate(text)  # parses it too: a NUL or a lone surrogate would make this raise
    suite = ET.fromstring(text.encode("utf-8"))
    error = suite.find(".//testcase[@name='ids.unique[invoices]']/error")
    assert error is not None and "\x00" not in (error.text or "")


@settings(max_examples=100, deadline=None)
@given(reason=HOSTILE, title=HOSTILE)
def test_markdown_html_and_log_never_carry_a_raw_control_character(reason, title):
    hostile = report(
        Outcome("ids.unique", "batches", FAILED, failures=[failure(title=title)]),
        Outcome("ids.unique", "invoices", ERROR, reason),
        stopped=reason,
    )
    for text in (output.markdown(hostile), output.html_page(hostile), output.log_text(hostile)):
        assert not has_unprintable(text)
        text.encode("utf-8")  # no lone surrogate either
