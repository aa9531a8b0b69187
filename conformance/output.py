"""Reports for people and for CI: Markdown, HTML and JUnit XML, all from one `Report`.

Every text that leaves the suite passes the run's redactor one last time, whatever its origin, so that the
token cannot reach a file even if a check quoted it.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from conformance.registry import REGISTRY
from conformance.report import ERROR, FAILED, PASSED, SKIPPED, Report

STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:auto}td,th{border:1px solid #ccc;padding:2px 6px}"
    "pre{background:#f4f4f4;padding:6px;white-space:pre-wrap}"
)
MARK = {PASSED: "✓", FAILED: "✗", ERROR: "!", SKIPPED: "–"}
Redact = Callable[[str], str]


def _identity(text: str) -> str:
    return text


def markdown(report: Report, redact: Redact = _identity) -> str:
    resources = list(dict.fromkeys(o.resource for o in report.outcomes))
    lines = [
        "# Collect conformance report",
        "",
        f"- Target: {report.target} (tenant `{report.tenant}`)",
        f"- Result: **{'PASS' if report.ok else 'FAIL'}**: {report.summary()}",
        f"- Settings: {', '.join(f'{k}={v}' for k, v in report.settings.items())}",
        f"- Reproduce this run: `--seed {report.seed}`",
        f"- Requests: {report.requests} (429 answers: {report.throttled})",
        "",
        "## Rules",
        "",
        "| rule | " + " | ".join(resources) + " |",
        "|---|" + "---|" * len(resources),
    ]
    by_rule: dict[str, dict[str, str]] = {}
    for outcome in report.outcomes:
        by_rule.setdefault(outcome.rule, {})[outcome.resource] = MARK[outcome.status]
    for rule, cells in by_rule.items():
        lines.append(f"| `{rule}` | " + " | ".join(cells.get(r, "") for r in resources) + " |")
    lines += ["", f"{MARK[PASSED]} passed, {MARK[FAILED]} failed, {MARK[ERROR]} error, {MARK[SKIPPED]} skipped", ""]
    lines += _failures_md(report) + _notes_md(report)
    return redact("\n".join(lines) + "\n")


def _failures_md(report: Report) -> list[str]:
    lines = ["## Failures", ""] if report.failures() else []
    for failure in report.failures():
        statement = _statement(failure.rule)
        lines += [
            f"### `{failure.rule}` on {failure.resource}: {failure.title} [{failure.code}]",
            "",
            f"{statement}",
            "",
            f"- Operation: `{failure.operation}`",
            f"- Expected: {failure.expected}",
            f"- Received: {failure.received}",
        ]
        if failure.occurrences > 1:
            lines.append(f"- Seen {failure.occurrences} times")
        if failure.response:
            lines += ["", "Response:", "", "```", failure.response, "```"]
        if failure.curl:
            lines += ["", "Reproduce (export COLLECT_CONFORMANCE_TOKEN first):", "", "```sh", failure.curl, "```"]
        lines.append("")
    return lines


def _notes_md(report: Report) -> list[str]:
    lines = ["## Skipped and errors", ""]
    lines += [
        f"- `{o.rule}` on {o.resource}: {o.status}: {o.reason}" for o in report.outcomes if o.status in (SKIPPED, ERROR)
    ]
    lines += ["", "## Cleanup", ""]
    removed = ", ".join(f"{n} {c}" for c, n in report.cleanup.removed.items()) or "nothing to remove"
    lines.append(f"- Removed: {removed}")
    lines += [f"- Left: {c} `{i}`: {why}" for c, i, why in report.cleanup.left] or ["- Left: nothing"]
    lines += [f"- Note: {note}" for note in report.notes]
    return lines


def _statement(rule_id: str) -> str:
    try:
        return REGISTRY.get(rule_id).statement
    except KeyError:
        return ""


def html_page(report: Report, redact: Redact = _identity) -> str:
    """The Markdown report as a self-contained HTML page (tables, headings, code blocks)."""
    body: list[str] = []
    in_code = in_table = False
    for line in markdown(report, redact).splitlines():
        if line.startswith("```"):
            body.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
        elif in_code:
            body.append(html.escape(line))
        elif line.startswith("|"):
            if line.startswith("|---"):
                continue
            cells = [html.escape(c.strip().strip("`")) for c in line.strip("|").split("|")]
            tag = "th" if not in_table else "td"
            body.append(
                ("<table>" if not in_table else "") + "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"
            )
            in_table = True
        else:
            if in_table:
                body.append("</table>")
                in_table = False
            body.append(_html_line(line))
    head = f"<meta charset='utf-8'><title>Collect conformance</title><style>{STYLE}</style>"
    return f"<!doctype html><html><head>{head}</head><body>{''.join(body)}</body></html>\n"


def _html_line(line: str) -> str:
    text = html.escape(line)
    for level in (3, 2, 1):
        prefix = "#" * level + " "
        if line.startswith(prefix):
            return f"<h{level}>{html.escape(line[len(prefix) :])}</h{level}>"
    return f"<li>{text[2:]}</li>" if line.startswith("- ") else f"<p>{text}</p>" if text else ""


def junit_xml(report: Report, redact: Redact = _identity) -> str:
    """One testcase per rule and resource; failures carry the reproduction, skips their reason."""
    suite = ET.Element("testsuite", name="collect-conformance", tests=str(len(report.outcomes)))
    counts = report.counts()
    suite.set("failures", str(counts[FAILED]))
    suite.set("errors", str(counts[ERROR]))
    suite.set("skipped", str(counts[SKIPPED]))
    suite.set("time", f"{report.duration:.3f}")
    for outcome in report.outcomes:
        case = ET.SubElement(suite, "testcase", classname=f"conformance.{outcome.rule.split('.')[0]}")
        case.set("name", f"{outcome.rule}[{outcome.resource}]")
        case.set("time", f"{outcome.duration:.3f}")
        if outcome.status == FAILED:
            text = "\n\n".join(f.as_text() for f in outcome.failures)
            node = ET.SubElement(
                case, "failure", message=redact(outcome.failures[0].title if outcome.failures else "failed")
            )
            node.text = redact(text)
        elif outcome.status == ERROR:
            ET.SubElement(case, "error", message=redact(outcome.reason))
        elif outcome.status == SKIPPED:
            ET.SubElement(case, "skipped", message=redact(outcome.reason))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write(report: Report, path: Path, redact: Redact = _identity) -> None:
    """Write the report; `.html`/`.htm` as HTML, `.xml` as JUnit XML, anything else as Markdown."""
    suffix = path.suffix.lower()
    text = (
        html_page(report, redact)
        if suffix in (".html", ".htm")
        else junit_xml(report, redact)
        if suffix == ".xml"
        else markdown(report, redact)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
