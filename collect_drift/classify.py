"""From schema validation errors to drift findings.

Either producer validates with its own validator (the mock's `mockserver.validation`, the suite's
`openapi_schema_validator`); both yield `jsonschema` errors, which this module classifies the same way:

    required               field-missing        the field named
    additionalProperties   field-undocumented   each field the schema does not list
    anything else          type-differs         the value at fault (type, enum, format, pattern, range, ...)

An `anyOf`/`oneOf` error is explained by the branch that came closest (fewest errors), so that a record checked
against `InvoiceView` (whole record or projection) is explained as a record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from collect_drift.model import DriftKind, json_type, pointer

VALUE_LIMIT = 120


class SchemaError(Protocol):
    """What this module reads of a `jsonschema.ValidationError`."""

    validator: Any
    validator_value: Any
    instance: Any
    schema: Any
    message: str
    context: Any
    relative_schema_path: Any

    @property
    def absolute_path(self) -> Any: ...


@dataclass(frozen=True)
class SchemaFinding:
    kind: DriftKind
    pointer: str  # the field at fault: the missing or undocumented field itself, or the value's place
    keyword: str
    value: Any  # the offending value (None for a missing field)
    expected: str  # what the schema asks: "number", "one of: a, b", "required", "not listed"
    message: str


def findings(errors: Iterable[SchemaError]) -> list[SchemaFinding]:
    """Every error as findings, each field once (the first explanation of a field wins)."""
    found: dict[tuple[DriftKind, str], SchemaFinding] = {}
    for error in errors:
        for finding in _explain(error):
            found.setdefault((finding.kind, finding.pointer), finding)
    return list(found.values())


def _explain(error: SchemaError) -> list[SchemaFinding]:
    keyword = str(error.validator)
    at = list(error.absolute_path)
    if keyword in ("anyOf", "oneOf") and error.context:
        return _closest_branch(error.context)
    if keyword == "required":
        name = _quoted_name(error.message)
        return [
            SchemaFinding(DriftKind.MISSING, pointer([*at, name]), keyword, None, "required", f"'{name}' is missing")
        ]
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        listed = set((error.schema or {}).get("properties", {}))
        return [
            SchemaFinding(
                DriftKind.UNDOCUMENTED,
                pointer([*at, name]),
                keyword,
                shown(error.instance[name]),
                "not listed",
                f"'{name}' is not a field of the contract's schema",
            )
            for name in error.instance
            if name not in listed
        ]
    expected = describe_constraint(keyword, error.validator_value)
    value = error.instance
    message = f"{short(value)} ({json_type(value)}) breaks {expected}"
    return [SchemaFinding(DriftKind.TYPE, pointer(at), keyword, shown(value), expected, message)]


def _closest_branch(context: Iterable[SchemaError]) -> list[SchemaFinding]:
    branches: dict[Any, list[SchemaError]] = {}
    for sub in context:
        path = list(sub.relative_schema_path)
        branches.setdefault(path[0] if path else 0, []).append(sub)
    best = min(branches.items(), key=lambda item: (len(item[1]), str(item[0])))[1]
    return findings(best)


def _quoted_name(message: str) -> str:
    """`'total' is a required property` -> `total`."""
    return message.split("'")[1] if message.count("'") >= 2 else message.split()[0]


def describe_constraint(keyword: str, value: Any) -> str:
    if keyword == "type":
        return f"type {value if isinstance(value, str) else ' or '.join(map(str, value))}"
    if keyword == "enum":
        shown_values = ", ".join(map(str, list(value)[:8])) + (", ..." if len(value) > 8 else "")
        return f"enum [{shown_values}]"
    return f"{keyword} {short(value, 60)}"


def short(value: Any, limit: int = VALUE_LIMIT) -> str:
    """A value as JSON text, cut."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: Any, limit: int = 1000) -> Any:
    """A value small enough to keep as evidence: itself, or its JSON text cut."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return value if len(text) <= limit else text[:limit] + "…"
