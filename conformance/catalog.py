"""The rule catalog as a Markdown table (`python -m conformance.catalog`), as docs/conformance.md shows it."""

from __future__ import annotations

from conformance import rules  # noqa: F401  (registers the catalog)
from conformance.registry import REGISTRY, Rule, RuleKind


def checked_by(rule: Rule) -> str:
    """The check, and for response and fuzz rules the tests whose traffic it judges."""
    check = f"`{rule.tests[0]}`" if rule.tests else ""
    if rule.kind is RuleKind.BEHAVIOUR:
        return check
    return f"{check} on every response of {', '.join(rule.drivers)}"


def markdown_table() -> str:
    lines = ["| ID | Rule | Source (seed pages, lines) | Checked by |", "|---|---|---|---|"]
    for rule in REGISTRY.all():
        statement = rule.statement.replace("|", "\\|")
        lines.append(f"| `{rule.id}` | {statement} | {rule.source} | {checked_by(rule)} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(markdown_table())
