"""What every rendering of a report shows, in one place: the verdict explained, the rule × resource matrix,
the groups of failures, errors and gaps (bounded), the coverage view and the cleanup; and the Markdown page.

The HTML page (`conformance.htmlpage`) renders the same `ReportView`; the JUnit file (`conformance.junit`)
and the console (`conformance.progress`) use its pieces. Texts in a `Report` are already redacted, printable
and cut (see `conformance.collector`); the view bounds how many of them are listed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from conformance.coverage import OperationCoverage
from conformance.registry import REGISTRY
from conformance.report import Group, Report
from conformance.text import cut, fence, inline
from conformance.verdicts import ERROR, FAILED, NOT_VERIFIED, PASSED, Exit, Status, Verdict

MARK = {PASSED: "✓", FAILED: "✗", ERROR: "!", NOT_VERIFIED: "–"}
MAX_UNITS_LISTED = 5  # units named per group; the rest are counted
MAX_GROUPS_SHOWN = 25  # groups of a kind shown in full; the rest get one line each
MAX_RULES_LISTED = 6  # rules named per operation of the coverage view
EXAMPLE_LIMIT = 300  # characters of a group's example reason


@dataclass
class ReportView:
    """A report, arranged for reading."""

    report: Report
    headline: str
    exit_line: str
    resources: list[str]
    matrix: list[tuple[str, list[Status | None]]]
    failures: list[Group]
    errors: list[Group]
    gaps: list[Group]
    more: dict[Status, list[Group]] = field(default_factory=dict)  # groups beyond MAX_GROUPS_SHOWN
    coverage: list[OperationCoverage] = field(default_factory=list)


def view(report: Report) -> ReportView:
    resources = list(dict.fromkeys(o.resource for o in report.outcomes))
    cells: dict[str, dict[str, Status]] = {}
    for outcome in report.outcomes:
        cells.setdefault(outcome.rule, {})[outcome.resource] = outcome.status
    matrix = [(rule, [row.get(r) for r in resources]) for rule, row in cells.items()]
    groups = {status: report.groups(status) for status in (FAILED, ERROR, NOT_VERIFIED)}
    return ReportView(
        report,
        report.summary(),
        exit_line(report),
        resources,
        matrix,
        groups[FAILED][:MAX_GROUPS_SHOWN],
        groups[ERROR][:MAX_GROUPS_SHOWN],
        groups[NOT_VERIFIED][:MAX_GROUPS_SHOWN],
        {status: found[MAX_GROUPS_SHOWN:] for status, found in groups.items()},
        report.coverage,
    )


def exit_line(report: Report) -> str:
    """The exit code and what it means for this run."""
    code, verdict = report.exit_code, report.verdict
    if verdict == Verdict.PASS:
        return f"exit {code}: every selected unit was verified and passed"
    if verdict == Verdict.FAIL:
        return f"exit {code}: a rule failed, or the suite met an error of its own"
    if verdict == Verdict.UNABLE:
        return f"exit {code}: the suite could not run: {report.stopped}"
    unverified = report.counts()[NOT_VERIFIED]
    if code == Exit.PASS:
        return f"exit {code}: {unverified} units not verified, for reasons the configuration accepts"
    return f"exit {code}: nothing failed, but {unverified} units could not be verified (--accept-partial accepts that)"


def units_text(units: list[str], limit: int = MAX_UNITS_LISTED) -> str:
    shown = ", ".join(f"`{u}`" for u in units[:limit])
    return shown + (f" and {len(units) - limit} more" if len(units) > limit else "")


def rules_text(names: tuple[str, ...], limit: int = MAX_RULES_LISTED) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" +{len(names) - limit}" if len(names) > limit else "")


def statement(rule_id: str) -> str:
    try:
        return REGISTRY.get(rule_id).statement
    except KeyError:
        return ""


def observed_text(entry: OperationCoverage) -> str:
    return " ".join(f"{status}×{count}" for status, count in entry.observed.items()) or "not reached"


def constraints_text(entry: OperationCoverage) -> str:
    probes = entry.constraints
    if not probes:
        return ""
    counts = Counter(p.verdict for p in probes)
    tally = ", ".join(f"{counts[v]} {v}" for v in (PASSED, FAILED, NOT_VERIFIED) if counts[v])
    kinds = ", ".join(sorted({p.keyword for p in probes}))
    return f"{len(probes)} ({tally}): {kinds}"


# -- Markdown ---------------------------------------------------------------------------------------------------


def markdown(report: Report) -> str:
    page = view(report)
    lines = [
        "# Collect conformance report",
        "",
        f"**{page.headline}**",
        "",
        f"- Target: {report.target} (tenant `{report.tenant}`)",
        f"- Result: {page.exit_line}",
    ]
    if report.stopped and not report.unable:
        lines.append(f"- Stopped: {report.stopped}")
    lines += [
        f"- Settings: {', '.join(f'{k}={v}' for k, v in report.settings.items())}",
        f"- Reproduce this run: `--seed {report.seed}`",
        f"- Requests: {report.requests} (429 answers: {report.throttled})",
    ]
    if report.tracebacks:
        lines.append("- Internal errors of the suite: their tracebacks are in the log file beside this report")
    lines += _matrix(page) + _failures(page)
    lines += _others(page, ERROR, "Errors") + _others(page, NOT_VERIFIED, "Not verified")
    lines += _coverage(page) + _cleanup(report)
    return "\n".join(lines) + "\n"


def _matrix(page: ReportView) -> list[str]:
    if not page.matrix:
        return []
    lines = ["", "## Rules", "", "| rule | " + " | ".join(page.resources) + " |"]
    lines.append("|---|" + "---|" * len(page.resources))
    for rule, row in page.matrix:
        lines.append(f"| `{rule}` | " + " | ".join(MARK[s] if s else "" for s in row) + " |")
    legend = ", ".join(f"{MARK[s]} {s.value}" for s in Status)
    return [*lines, "", legend]


def _failures(page: ReportView) -> list[str]:
    if not page.failures:
        return []
    lines = ["", f"## Failures ({sum(g.count for g in page.report.groups(FAILED))} units)"]
    for group in page.failures:
        failure = group.failure
        assert failure is not None
        lines += [
            "",
            f"### `{failure.rule}`: {failure.title} [{failure.code}]",
            "",
            f"{group.count} unit{'s' if group.count > 1 else ''}: {units_text(group.units)}"
            + (f"; seen {group.occurrences} times in all" if group.occurrences > group.count else ""),
            "",
            statement(failure.rule),
            "",
            f"- Operation: `{failure.operation}`",
            f"- Expected: {inline(failure.expected)}",
            f"- Received: {inline(failure.received)}",
        ]
        if failure.note:
            lines.append(f"- Note: {inline(failure.note)}")
        if failure.steps_total > 1:
            lines += ["", f"Steps ({failure.steps_total}, the deviating one marked):", ""]
            lines += fence(failure.numbered_steps())
        elif failure.response:
            lines += ["", "Response:", ""] + fence([failure.response])
        if failure.curl:
            lines += ["", "Reproduce (with COLLECT_CONFORMANCE_TOKEN set):", ""] + fence([failure.curl], "sh")
    lines += _more(page.more.get(FAILED, []))
    return lines


def _others(page: ReportView, status: Status, title: str) -> list[str]:
    groups = page.errors if status == ERROR else page.gaps
    if not groups:
        return []
    lines = ["", f"## {title} ({sum(g.count for g in page.report.groups(status))} units)", ""]
    for group in groups:
        kind = f"**{group.why.value}** " if group.why else ""
        lines.append(f"- {kind}{group.count} × {inline(group.text)}: {units_text(group.units)}")
        if group.example:
            lines.append(f"  - e.g. `{group.units[0]}`: {inline(cut(group.example, EXAMPLE_LIMIT))}")
    return lines + _more(page.more.get(status, []))


def _more(groups: list[Group]) -> list[str]:
    if not groups:
        return []
    units = sum(g.count for g in groups)
    return ["", f"… and {len(groups)} more groups ({units} units), listed in the JUnit file"]


def _coverage(page: ReportView) -> list[str]:
    if not page.coverage:
        return []
    reached = sum(1 for entry in page.coverage if entry.requests)
    lines = [
        "",
        f"## Coverage ({reached} of {len(page.coverage)} operations reached)",
        "",
        "Per operation: the statuses observed (status×responses), the documented ones never observed, the",
        "statuses observed that the contract does not document, who sent the requests, the constraints probed.",
        "",
        "| operation | observed | never observed | undocumented | exercised by | constraints probed |",
        "|---|---|---|---|---|---|",
    ]
    for entry in page.coverage:
        lines.append(
            f"| `{entry.operation_id}` | {observed_text(entry)} | {' '.join(entry.never)} | "
            f"{' '.join(map(str, entry.undocumented))} | {rules_text(entry.exercised_by)} | "
            f"{constraints_text(entry)} |"
        )
    return lines


def _cleanup(report: Report) -> list[str]:
    lines = ["", "## Cleanup", ""]
    created = ", ".join(f"{n} {c}" for c, n in report.cleanup.created.items())
    if created:
        lines.append(f"- Created: {created}")
    deleted = ", ".join(f"{n} {c}" for c, n in report.cleanup.deleted.items())
    if deleted:
        lines.append(f"- Deleted by the checks (gone, checked by reading): {deleted}")
    removed = ", ".join(f"{n} {c}" for c, n in report.cleanup.removed.items()) or "nothing"
    lines.append(f"- Removed: {removed}")
    left = report.cleanup.left
    lines += [f"- Left: {c} `{i}`: {inline(why)}" for c, i, why in left[:20]] or ["- Left: nothing"]
    if len(left) > 20:
        lines.append(f"- … and {len(left) - 20} more records left")
    lines += [f"- Note: {inline(note)}" for note in report.notes]
    return lines
