"""The drift report as a self-contained HTML page, rendered by Jinja2 (autoescaped): each group folded in a
`<details>` element, the proposed patch ready to copy."""

from __future__ import annotations

import json
from functools import cache

import jinja2

from collect_drift.model import DriftKind
from collect_drift.report import BODY_LIMIT, DriftReport, change_of
from collect_drift.text import cut, printable


@cache
def environment(package: str = "collect_drift") -> jinja2.Environment:
    """The Jinja2 environment of a package's `templates` folder, autoescaped and strict (the suite's pages too)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def html_page(report: DriftReport) -> str:
    counts = report.counts()
    summary = [(k, sum(1 for g in report.groups if g.kind == k), counts[k]) for k in DriftKind if counts[k]]
    page = (
        environment()
        .get_template("drift.html.j2")
        .render(
            report=report,
            summary=summary,
            patch=json.dumps(report.patch, indent=2, ensure_ascii=False),
            change=lambda group: change_of(report, group),
            cut=lambda text: cut(text, BODY_LIMIT),
        )
    )
    return printable(page)
