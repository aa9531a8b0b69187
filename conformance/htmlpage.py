"""The report as a self-contained HTML page, rendered by Jinja2 (autoescaped) from the same view as the
Markdown: the verdict in its colour, the matrix coloured by outcome, each group of failures folded in a
`<details>` element."""

from __future__ import annotations

from collect_drift.htmlpage import environment
from conformance import render
from conformance.report import Report
from conformance.verdicts import ERROR, NOT_VERIFIED


def html_page(report: Report) -> str:
    template = environment("conformance").get_template("report.html.j2")
    return template.render(
        report=report,
        page=render.view(report),
        mark=render.MARK,
        error=ERROR,
        not_verified=NOT_VERIFIED,
        units=lambda units: render.units_text(units).replace("`", ""),
        rules=render.rules_text,
        statement=render.statement,
        observed=render.observed_text,
        constraints=render.constraints_text,
    )
