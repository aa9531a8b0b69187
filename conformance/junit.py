"""The report as JUnit XML for CI, written with junitparser: one testcase per unit (rule × resource).

    passed        <testcase/>
    failed        <failure message="title" type="CC102">its findings, the first three with steps and reproduction
    error         <error message="reason" type="error|internal">
    not verified  <skipped message="not verified (reason): ...">

A run that could not start has one testcase, `collect-conformance[run]`, with the error that stopped it, so
that a CI parser never reads an empty file as a pass. The verdict and exit code are properties of the suite.
Every text passes `printable` first: a NUL or an escape character quoted from a fuzzed answer can never make
the file ill-formed, whatever the XML library does with it.
"""

from __future__ import annotations

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from conformance.report import Outcome, Report
from conformance.text import cut, printable
from conformance.verdicts import ERROR, FAILED, NOT_VERIFIED

MESSAGE_LIMIT = 300  # characters of a message attribute
FULL_FINDINGS, LISTED_FINDINGS = 3, 20  # findings of one unit shown in full, and listed a line each
DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"


def junit_xml(report: Report) -> str:
    suite = TestSuite("collect-conformance")
    for name, value in _properties(report).items():
        suite.add_property(name, _text(value))
    cases = [_case(outcome) for outcome in report.outcomes]
    if report.unable:
        case = TestCase("collect-conformance[run]", "conformance.run", 0.0)
        case.result = [Error(_message(f"could not run: {report.stopped}"), "unable")]
        cases.append(case)
    suite.add_testcases(cases)
    suite.time = round(report.duration, 3)
    document = JUnitXml("collect-conformance")
    document.add_testsuite(suite)
    text = str(document.tostring().decode("utf-8"))  # type: ignore[no-untyped-call]
    # ElementTree writes the declaration with utf-8, lxml (junitparser's choice when installed) does not.
    return text if text.startswith("<?xml") else DECLARATION + text + "\n"


def _properties(report: Report) -> dict[str, object]:
    return {
        "target": report.target,
        "tenant": report.tenant,
        "seed": report.seed,
        "verdict": report.verdict.value,
        "exit_code": report.exit_code,
        "summary": report.summary(),
        "requests": report.requests,
        **({"stopped": report.stopped} if report.stopped else {}),
    }


def _case(outcome: Outcome) -> TestCase:
    case = TestCase(_text(outcome.name), f"conformance.{outcome.rule.split('.')[0]}", round(outcome.duration, 3))
    if outcome.status == FAILED:
        title = outcome.failures[0].title if outcome.failures else "failed"
        code = outcome.failures[0].code if outcome.failures else ""
        result = Failure(_message(title), code or None)
        result.text = _text(_findings(outcome))
        case.result = [result]
    elif outcome.status == ERROR:
        error = Error(_message(outcome.reason), "internal" if outcome.internal else "error")
        error.text = _text(outcome.reason)
        case.result = [error]
    elif outcome.status == NOT_VERIFIED:
        why = outcome.why.value if outcome.why else "not-applicable"
        case.result = [Skipped(_message(f"not verified ({why}): {outcome.reason}"))]
    return case


def _findings(outcome: Outcome) -> str:
    """A unit's findings: the first FULL_FINDINGS in full, the next ones a line each, the rest counted (a response
    rule that fuzzing fed can gather dozens of distinct findings on one resource)."""
    found = outcome.failures
    parts = [f.as_text() for f in found[:FULL_FINDINGS]]
    brief = [f"- {f.title} in {f.operation}: {cut(f.received, 200)}" for f in found[FULL_FINDINGS:LISTED_FINDINGS]]
    if brief:
        parts.append(f"{len(found) - FULL_FINDINGS} more findings:\n" + "\n".join(brief))
    if len(found) > LISTED_FINDINGS:
        parts.append(f"… and {len(found) - LISTED_FINDINGS} more findings")
    return "\n\n".join(parts)


def _text(value: object) -> str:
    return printable(str(value))


def _message(text: str) -> str:
    return cut(_text(text).replace("\n", " "), MESSAGE_LIMIT)
