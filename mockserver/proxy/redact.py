"""What never leaves the recorder: credentials, and the fields a user names (`--redact email,phone`).

The Authorization header is never kept at all. In a body, a field whose name looks like a credential (token,
secret, password, API key, ...) or is one of the named fields is replaced, wherever it is nested:

- in a recording, by a placeholder valid against the field's schema (an enum's first value, a date for a date,
  `0` for a number, "redacted" for a string), so that the recording still loads with `collect-mock seed`;
- in the drift report and the journal's copies, by "[REDACTED]".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

CREDENTIAL = re.compile(r"(?i)(token|secret|password|passwd|api[_-]?key|authorization|credential|private[_-]?key)")
REDACTED = "[REDACTED]"
PLACEHOLDER_TEXT = "redacted"
PLACEHOLDER_FORMATS = {"date": "1970-01-01", "date-time": "1970-01-01T00:00:00Z", "email": "redacted@example.com"}


class Redaction:
    def __init__(self, fields: Iterable[str] = ()):
        self.fields = frozenset(f.strip().lower() for f in fields if f.strip())

    def applies(self, name: str) -> bool:
        return name.lower() in self.fields or CREDENTIAL.search(name) is not None

    def text(self, value: Any) -> Any:
        """`value` with every redacted field's value replaced by "[REDACTED]" (for reports)."""
        if isinstance(value, dict):
            return {k: REDACTED if self.applies(k) else self.text(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.text(v) for v in value]
        return value

    def record(self, value: Any, schema: dict[str, Any] | None) -> Any:
        """`value` with every redacted field replaced by a placeholder valid against its schema (recordings)."""
        schema = schema or {}
        if isinstance(value, dict):
            properties = schema.get("properties") or {}
            return {
                k: placeholder(properties.get(k) or {}, v) if self.applies(k) else self.record(v, properties.get(k))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.record(v, schema.get("items")) for v in value]
        return value


def placeholder(schema: dict[str, Any], value: Any) -> Any:
    """A value that says nothing of `value` and is valid against `schema` (as far as a placeholder can be)."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type") or _type_of(value)
    if kind == "string":
        if schema.get("format") in PLACEHOLDER_FORMATS:
            return PLACEHOLDER_FORMATS[schema["format"]]
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        text = PLACEHOLDER_TEXT.ljust(low, "x")
        return text[: int(high)] if high is not None else text
    if kind in ("number", "integer"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return None


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"
