"""The report as a self-contained HTML page, rendered by Jinja2 (autoescaped) from the same view as the
Markdown: the verdict in its colour, the matrix coloured by outcome, each group of failures folded in a
`<details>` element."""

from __future__ import annotations

from functools import cache

import jinja2

from conformance import render
from conformance.report import Report
from conformance.verdicts import ERROR, NOT_VERIFIED


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("conformance", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def html_page(report: Report) -> str:
    template = _environment().get_template("report.html.j2")
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
