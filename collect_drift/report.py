"""The drift report a contract owner can act on, in Markdown, HTML or JSON: drift grouped by operation and field,
with counts and the first observation of each group in full (both answers, a reproduction of each), and the
proposed contract change as one JSON Patch that has been checked to apply to the contract."""

from __future__ import annotations

import json
import os
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collect_drift import proposals as proposing
from collect_drift.log import DriftLog, Group
from collect_drift.model import DriftKind
from collect_drift.proposals import Proposal, label
from collect_drift.text import cut, fence, inline, printable

Redact = Callable[[str], str]
MAX_GROUPS_SHOWN = 200  # groups shown in full; the rest are counted (the JSON form lists them all)
BODY_LIMIT = 600
NO_CHANGE = {
    DriftKind.STATUS: "no contract change: the contract documents this status for the operation; the service gives "
    "it where the model (the contract's rules) gives another",
    DriftKind.ORDER: "no contract change: the contract only says the order is stable; the model pages in "
    "creation order",
    DriftKind.STATE: "no contract change: the service departs from a rule the contract states (or the model's "
    "reading of it)",
}


@dataclass
class DriftReport:
    title: str
    headline: str  # one line: the verdict and the counts
    facts: list[tuple[str, str]] = field(default_factory=list)  # ("Target", url), ("Model", ...), ...
    groups: list[Group] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    contract: str = "openapi/collect.yaml"  # what the proposed patch applies to
    dropped: int = 0  # observations beyond the log's bound

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups) + self.dropped

    def counts(self) -> Counter[DriftKind]:
        counts: Counter[DriftKind] = Counter()
        for group in self.groups:
            counts[group.kind] += group.count
        return counts

    @property
    def patch(self) -> list[dict[str, Any]]:
        return proposing.combined(self.proposals)

    def by_operation(self) -> list[tuple[str, str, list[Group]]]:
        """(operation, operationId, groups) in the log's order."""
        found: dict[tuple[str, str], list[Group]] = {}
        for group in self.groups[:MAX_GROUPS_SHOWN]:
            found.setdefault((group.operation, group.operation_id), []).append(group)
        return [(op, op_id, groups) for (op, op_id), groups in found.items()]


def build(
    log: DriftLog,
    spec: dict[str, Any],
    *,
    title: str,
    headline: str,
    facts: list[tuple[str, str]] | None = None,
    notes: list[str] | None = None,
    contract: str = "openapi/collect.yaml",
) -> DriftReport:
    groups = log.groups()
    return DriftReport(
        title=title,
        headline=headline,
        facts=list(facts or []),
        groups=groups,
        proposals=proposing.propose(groups, spec),
        notes=list(notes or []),
        contract=contract,
        dropped=log.dropped,
    )


def kinds_line(report: DriftReport) -> str:
    counts = report.counts()
    return ", ".join(f"{counts[k]} {k.value}" for k in DriftKind if counts[k]) or "no drift"


def change_of(report: DriftReport, group: Group) -> str:
    """What the report proposes for a group, in words."""
    name = label(group)
    for proposal in report.proposals:
        if name in proposal.groups:
            return proposal.reason if proposal.applies else f"a proposal did not apply: {proposal.problem}"
    return NO_CHANGE.get(group.kind, "no contract change: the evidence does not say what the contract should state")


# -- Markdown ---------------------------------------------------------------------------------------------------


def markdown(report: DriftReport) -> str:
    lines = [f"# {report.title}", "", f"**{report.headline}**", ""]
    lines += [f"- {name}: {inline(value)}" for name, value in report.facts]
    lines += ["", "## Summary", ""]
    if not report.groups:
        lines.append("No drift: every answer compared was what the contract and its model say.")
    else:
        lines += ["| kind | groups | observations |", "|---|---|---|"]
        counts = report.counts()
        for kind in DriftKind:
            groups = sum(1 for g in report.groups if g.kind == kind)
            if groups:
                lines.append(f"| {kind.value} | {groups} | {counts[kind]} |")
    lines += _proposals(report) + _operations(report)
    if report.dropped:
        lines += ["", f"… and {report.dropped} more observations beyond the report's bound."]
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {inline(note)}" for note in report.notes]
    return printable("\n".join(lines) + "\n")


def _proposals(report: DriftReport) -> list[str]:
    if not report.proposals:
        return []
    lines = ["", "## Proposed contract change", ""]
    lines.append(f"A JSON Patch (RFC 6902) against `{report.contract}`, checked to apply (with jsonpatch):")
    lines.append("")
    for number, proposal in enumerate(report.proposals, 1):
        state = "" if proposal.applies else f" **Does not apply** ({inline(proposal.problem)}); left out."
        lines.append(f"{number}. {inline(proposal.reason)}{state}")
    lines += ["", *fence(json.dumps(report.patch, indent=2, ensure_ascii=False).splitlines(), "json")]
    return lines


def _operations(report: DriftReport) -> list[str]:
    lines: list[str] = []
    if report.groups:
        lines += ["", "## Drift by operation"]
    for operation, operation_id, groups in report.by_operation():
        lines += ["", f"### `{operation}`" + (f" ({operation_id})" if operation_id else "")]
        for group in groups:
            lines += _group(report, group)
    shown = sum(1 for _ in report.groups[:MAX_GROUPS_SHOWN])
    if len(report.groups) > shown:
        lines += ["", f"… and {len(report.groups) - shown} more groups, listed in the JSON form of the report."]
    return lines


def _group(report: DriftReport, group: Group) -> list[str]:
    first = group.first
    where = f" `{group.pattern}`" if group.pattern else ""
    lines = [
        "",
        f"#### {group.kind.heading}: {group.location.value}{where} ({group.count}×) [{group.kind.code}]",
        "",
        inline(first.message),
        "",
        f"- Observed: {inline(first.observed)}",
        f"- Expected: {inline(first.expected)}",
    ]
    if first.rule:
        lines.append(f"- Rule: {first.rule}")
    if group.where:
        lines.append(f"- First seen: {inline(group.where[0])}" + _also(group))
    if len(group.values) > 1:
        lines.append("- Values seen: " + inline(", ".join(json.dumps(v, ensure_ascii=False) for v in group.values)))
    lines.append(f"- Contract: {inline(change_of(report, group))}")
    for seen in first.seen:
        body = f" {cut(seen.request_body, BODY_LIMIT)}" if seen.request_body else ""
        lines += ["", f"{seen.side.capitalize()}: `{inline(seen.request)}`{inline(body)}", ""]
        lines += fence([f"-> {cut(seen.response, BODY_LIMIT)}"])
        if seen.curl:
            lines += ["", *fence([seen.curl], "sh")]
    return lines


def _also(group: Group) -> str:
    others = group.where[1:]
    if not others:
        return ""
    more = group.count - len(group.where)
    return f" (also {', '.join(others)}" + (f" and {more} more" if more > 0 else "") + ")"


# -- JSON -------------------------------------------------------------------------------------------------------


def as_dict(report: DriftReport) -> dict[str, Any]:
    def group(g: Group) -> dict[str, Any]:
        first = g.first
        return {
            "operation": g.operation,
            "operation_id": g.operation_id,
            "kind": g.kind.value,
            "location": g.location.value,
            "field": g.pattern,
            "count": g.count,
            "message": first.message,
            "observed": first.observed,
            "expected": first.expected,
            "rule": first.rule,
            "where": g.where,
            "values": g.values,
            "types": dict(g.types),
            "statuses": {str(k): v for k, v in g.statuses.items()},
            "contract": change_of(report, g),
            "first": [
                {"side": s.side, "request": s.request, "request_body": s.request_body, "response": s.response,
                 "curl": s.curl}
                for s in first.seen
            ],
        }  # fmt: skip

    return {
        "format": 1,
        "title": report.title,
        "headline": report.headline,
        "facts": dict(report.facts),
        "counts": {k.value: n for k, n in report.counts().items()},
        "total": report.total,
        "groups": [group(g) for g in report.groups],
        "proposals": [
            {
                "reason": p.reason,
                "operations": p.operations,
                "groups": p.groups,
                "applies": p.applies,
                "problem": p.problem,
            }
            for p in report.proposals
        ],  # fmt: skip
        "patch": report.patch,
        "contract": report.contract,
        "notes": report.notes,
    }


def as_json(report: DriftReport) -> str:
    return json.dumps(as_dict(report), indent=2, ensure_ascii=False, default=str) + "\n"


# -- files ------------------------------------------------------------------------------------------------------


def render_for(path: Path, report: DriftReport) -> str:
    """The report in the format its file name asks for: `.json`, `.html`/`.htm`, else Markdown."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return as_json(report)
    if suffix in (".html", ".htm"):
        from collect_drift.htmlpage import html_page

        return html_page(report)
    return markdown(report)


def write(path: Path, report: DriftReport, redact: Redact = str) -> None:
    write_whole(path, redact(render_for(path, report)))


def write_whole(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it into place: whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("x", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
