"""The suite against implementations nobody here wrote: Prism from npm and a naive CRUD server (json-server's ways).

The expected verdict of every unit (rule × resource) is read from docs/conformance.md ("Strangers"), the single
source: each stranger's table there is what these tests assert, and each failure in it was checked by hand against
the contract and the reference pages. A run that differs fails with the observed table, ready to paste into the
docs once the difference is understood. Besides the verdicts: the run writes nothing to records it did not create,
its cleanup report is what the server holds afterwards, its reports are well-formed and bounded, and the exit
status is FAIL's.

Each stranger is run once per module (seed 7, 3 examples per operation, a 3 s timeout: Prism never answers a body
that is not JSON, and each such request costs one timeout).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from conformance import Config, Exit, Report, Runner
from conformance.output import html_page, junit_xml, markdown
from conformance.render import MARK
from conformance.safety import MISSING_PREFIX
from conformance.validators import ID_PATTERN
from tests.strangers.naive_crud import NaiveCrud, naive_crud
from tests.strangers.prism import received, running_prism
from tests.support.junit_schema import junit_xsd

DOCS = Path(__file__).resolve().parents[1] / "docs" / "conformance.md"
TOKEN = "stranger-token-0001"
SETTINGS = {"seed": 7, "rate_limit": 0, "max_examples": 3, "timeout": 3.0}
REQUESTS_TOLERANCE = 0.15  # the request counts the docs give, within this share (thread timing varies them)
MAX_REPORT_BYTES = {"md": 300_000, "html": 400_000, "xml": 1_500_000}


@dataclass
class Run:
    report: Report
    runner: Runner
    seconds: float
    log: Path | None = None  # the server's request log


def documented(name: str) -> tuple[dict[tuple[str, str], set[str]], tuple[int, int]]:
    """The verdict table of stranger `name` in the docs ({(rule, resource): the marks allowed}: a cell "✓ or ✗" is
    a verdict that depends on what fuzzing draws), and the range of requests it gives ("Requests: 194": within
    15%; "Requests: 40 to 70")."""
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(f"<!-- stranger: {name} -->")
    lines = text[start:].splitlines()[1:]
    header = next(line for line in lines if line.startswith("| rule |"))
    resources = [cell.strip() for cell in header.strip("|").split("|")[1:]]
    table: dict[tuple[str, str], set[str]] = {}
    for line in lines[lines.index(header) + 2 :]:
        if not line.startswith("| `"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rule = cells[0].strip("`")
        marks = zip(resources, cells[1:], strict=True)
        table |= {(rule, resource): set(cell.split(" or ")) for resource, cell in marks if cell}
    found = re.search(r"Requests: ([\d,]+)(?: to ([\d,]+))?", text[start:])
    assert found, f"the docs give no request count for {name}"
    low, high = (int(n.replace(",", "")) for n in (found.group(1), found.group(2) or found.group(1)))
    if found.group(2) is None:
        low, high = round(low * (1 - REQUESTS_TOLERANCE)), round(high * (1 + REQUESTS_TOLERANCE))
    return table, (low, high)


def observed(report: Report) -> dict[tuple[str, str], str]:
    return {(o.rule, o.resource): MARK[o.status] for o in report.outcomes}


def as_docs_table(report: Report) -> str:
    """The observed verdicts as the docs write them (to paste there once a difference is understood)."""
    resources = list(dict.fromkeys(o.resource for o in report.outcomes))
    rules = list(dict.fromkeys(o.rule for o in report.outcomes))
    marks = observed(report)
    lines = ["| rule | " + " | ".join(resources) + " |", "|---" * (len(resources) + 1) + "|"]
    lines += [f"| `{r}` | " + " | ".join(marks.get((r, x), "") for x in resources) + " |" for r in rules]
    return "\n".join(lines)


def check_against_docs(name: str, run: Run) -> None:
    expected, requests = documented(name)
    got = observed(run.report)
    differences = {unit: (expected.get(unit), mark) for unit, mark in got.items() if mark not in expected.get(unit, ())}
    differences |= {unit: (marks, None) for unit, marks in expected.items() if unit not in got}
    reasons = {
        (o.rule, o.resource): (o.failures[0].title if o.failures else o.reason)[:160]
        for o in run.report.outcomes
        if (o.rule, o.resource) in differences
    }
    assert not differences, (
        f"{name}: {len(differences)} units differ from docs/conformance.md (unit: (documented, observed), why):\n"
        + "\n".join(f"  {unit}: {pair} {reasons.get(unit, '')}" for unit, pair in sorted(differences.items()))
        + f"\n\nObserved ({run.report.summary()}):\n{as_docs_table(run.report)}"
    )
    assert requests[0] <= run.report.requests <= requests[1], f"{name}: {run.report.requests} requests, not {requests}"


def suite(base_url: str, tenant: str, **changes: Any) -> Run:
    config = Config(base_url=base_url, token=TOKEN, tenant=tenant, progress=False, **SETTINGS)  # type: ignore[arg-type]
    runner = Runner(config.replace(**changes))
    started = time.monotonic()
    report = runner.run()
    return Run(report, runner, time.monotonic() - started)


# -- the strangers ------------------------------------------------------------------------------------------------


PRISM_RUNS: dict[str, dict[str, Any]] = {
    # Fuzzing is run on its own: Prism never answers a body that is not JSON (one timeout per resource), and dies
    # on the first property name outside Latin-1 that it quotes in its sl-violations header; a crash in one run
    # would decide the verdicts of every check after it.
    "prism-read-write": {"skip_rules": ("fuzz",)},
    "prism-read-only": {"read_only": True, "skip_rules": ("fuzz",)},
    "prism-fuzz": {"rules": ("fuzz",), "timeout": 2.0},
}


@pytest.fixture(scope="module")
def prism_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Each run against a Prism of its own (a crash in one cannot decide the verdicts of another)."""
    runs = {}
    for name, changes in PRISM_RUNS.items():
        log = tmp_path_factory.mktemp(name) / "prism.log"
        with running_prism(log) as server:
            runs[name] = suite(base_url=server.base_url, tenant="acme", **changes)
        runs[name].log = log
    return runs


@pytest.fixture(scope="module")
def naive() -> Iterator[tuple[NaiveCrud, dict[str, dict[str, Any]], Run]]:
    with naive_crud() as (base_url, app):
        seeded = app.seed()
        yield app, seeded, suite(base_url, "acme")


# -- verdicts -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PRISM_RUNS))
def test_prism_verdicts_are_those_the_docs_record(prism_runs, name):
    check_against_docs(name, prism_runs[name])


def test_naive_crud_verdicts_are_those_the_docs_record(naive):
    check_against_docs("naive-crud", naive[2])


def report_of(request: pytest.FixtureRequest, name: str) -> Report:
    """The report of run `name` (only the fixture it needs: without npm the naive server's tests still run)."""
    if name == "naive-crud":
        return request.getfixturevalue("naive")[2].report
    return request.getfixturevalue("prism_runs")[name].report


@pytest.mark.parametrize("name", [*PRISM_RUNS, "naive-crud"])
def test_a_stranger_that_breaks_rules_fails_the_run(request, name):
    report = report_of(request, name)

    assert report.exit_code == Exit.FAIL, report.summary()
    assert report.summary().startswith("FAIL: ")
    assert not [o for o in report.outcomes if o.internal], "no internal error of the suite"


def test_plain_json_server_ids_that_are_numbers_are_reported_and_never_written():
    # Plain json-server on an empty db.json: creates answer 201 and the ids 1, 2, 3, ... (JSON numbers, which the
    # contract's ids are not). Only records with text ids (one a check supplied, those made after it) can be the
    # run's own; every other one is reported left, with why, and never written to.
    with naive_crud(create_status=201) as (base_url, app):
        report = suite(base_url, "acme", rules=("ids",)).report

    generated = next(o for o in report.outcomes if o.rule == "ids.server-generated" and o.resource == "batches")
    assert [f.title for f in generated.failures] == ["Record id is not a string"], report.summary()
    gaps = [o.reason for o in report.outcomes if o.why is not None]
    assert gaps and all("with an id that is not a string" in why or " 404 " in why for why in gaps), gaps
    held = {(c, str(r["id"])) for c, records in app.records.items() for r in records.values()}
    numbers = {(c, str(r["id"])) for c, records in app.records.items() for r in records.values() if _is_number(r["id"])}
    left = report.cleanup.left
    assert len(left) == len(held), "every record the server still holds is reported left"
    assert {(c, i) for c, i, _ in left if i} <= held
    numbered = [why for _, i, why in left if not i]  # ids the run could not learn: they are not text
    assert len(numbered) == len(numbers) > 0
    assert all("with an id that is not a string" in why for why in numbered)
    writes = {(p.split("/")[1], p.rsplit("/", 1)[-1]) for m, p in app.requests if m in ("PUT", "PATCH", "DELETE")}
    assert writes and not writes & numbers, "no write reached a record the run could not own"


def _is_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- no harm ------------------------------------------------------------------------------------------------------


def test_the_naive_servers_own_records_are_never_written(naive):
    app, seeded, _ = naive

    for record_id, record in seeded.items():
        collection = record_id.split("-example-")[0]
        assert app.records[collection].get(record_id) == record, f"{record_id} was changed or deleted"


def test_prism_gets_no_item_write_except_to_ids_the_suite_invented(prism_runs):
    logs = [run.log for run in prism_runs.values() if run.log is not None]
    writes = [(m, p) for log in logs for m, p in received(log) if m in ("PUT", "PATCH", "DELETE")]
    named = {p.rsplit("/", 1)[-1] for _, p in writes}

    assert writes, "the runs sent item writes (to ids the suite invented)"
    foreign = {i for i in named if not i.startswith(MISSING_PREFIX) and ID_PATTERN.fullmatch(i)}
    assert foreign == set(), f"item writes to records the suite did not create: {sorted(foreign)[:10]}"


def test_the_cleanup_report_is_what_the_naive_server_holds_afterwards(naive):
    app, seeded, run = naive
    cleanup = run.report.cleanup
    remaining = {(c, i) for c, records in app.records.items() for i in records if i not in seeded}
    left = {(c, i) for c, i, _ in cleanup.left}

    assert left == remaining, "every record of the run still there is reported left, and only those"
    assert set(cleanup.removed) == {"batches"}, "only batches have a DELETE this server routes"
    for collection, made in cleanup.created.items():
        kept = sum(1 for c, _ in left if c == collection)
        assert made == cleanup.deleted.get(collection, 0) + cleanup.removed.get(collection, 0) + kept, cleanup
    # Transactions have no DELETE in the contract, only batch delete operations, which this server does not route.
    assert {c for c, _ in left} == {"writeOffs", "debitMemos", "creditMemos", "invoices"}
    assert all("404" in why for _, _, why in cleanup.left)


def test_a_stateless_server_owns_nothing_and_the_cleanup_says_so(prism_runs):
    cleanup = prism_runs["prism-read-write"].report.cleanup

    assert cleanup.created == {} and cleanup.removed == {}
    assert cleanup.left, "the ids Prism's creates answered are listed as left, not the run's own"
    assert all("not the run's own" in why for _, _, why in cleanup.left), cleanup.left


# -- artifacts ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xsd() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(junit_xsd())


@pytest.mark.parametrize("name", [*PRISM_RUNS, "naive-crud"])
def test_reports_are_well_formed_and_bounded(request, xsd, name):
    report = report_of(request, name)
    texts = {"md": markdown(report), "html": html_page(report), "xml": junit_xml(report)}

    xsd.validate(texts["xml"])
    assert texts["html"].lstrip().lower().startswith("<!doctype html>")
    for kind, text in texts.items():
        assert len(text.encode()) <= MAX_REPORT_BYTES[kind], (kind, len(text.encode()))
    assert TOKEN not in "".join(texts.values())
