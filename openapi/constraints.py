"""The constraints the contract states for request values: where each sits and which keyword states it.

A reading of structure, as the rest of this package: which values a body or a URL could break on its own
(`enum`, `maximum`, a `required` field, a `format` a JSON value can miss, ...). The suite's probes break them one
at a time (`conformance/probes.py`); what a server must answer is the suite's rule, not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collect_contract.model import Contract, Operation

# Keywords a value can break on its own, and the formats a JSON value can break (a JSON number always meets
# `float` and `double`, which only say how it is stored).
ASSERTED = ("enum", "minimum", "maximum", "pattern", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems")
BREAKABLE_FORMATS = ("date", "date-time", "int32", "int64")
MAX_DEPTH = 8
ValuePath = tuple[str | int, ...]


@dataclass(frozen=True)
class Constraint:
    """One constraint the contract states for a request value, where it sits, and the schema that states it.

    `path` leads from the body (or the parameter) to the value: property names, and 0 for an array's first
    item. `keyword` is a JSON Schema keyword (`type`, `enum`, `minimum`, `pattern`, `required`,
    `additionalProperties`, ...) or one of the contract's own (`x-conditional-required`, `x-references`);
    `detail` is the field a `required` or `x-conditional-required` names (with the condition) or the schema a
    reference names.
    """

    where: str  # "body", "query" or "path"
    path: ValuePath
    keyword: str
    schema: dict[str, Any] = field(repr=False, compare=False, hash=False)
    detail: Any = None

    @property
    def location(self) -> str:
        """`body.line_items[0].quantity`, `query.fields`, `path.status` (the required field for `required`)."""
        text = self.where
        for step in self.path:
            text += f"[{step}]" if isinstance(step, int) else f".{step}"
        if self.keyword in ("required", "x-conditional-required"):
            text += f".{self.detail if self.keyword == 'required' else self.detail[1]}"
        return text


def of_body(contract: Contract, schema: dict[str, Any]) -> list[Constraint]:
    """Every constraint the contract states for a request body of `schema`, in schema order."""
    found: list[Constraint] = []
    _visit(contract, schema, "body", (), found, 0)
    return found


def of_parameters(contract: Contract, operation: Operation) -> list[Constraint]:
    """Every constraint the contract states for the operation's parameters that a URL can break (a URL carries
    text only, so `type: string` cannot be broken there), plus `required` for required queries."""
    found: list[Constraint] = []
    for name, parameter in operation.parameters.items():
        where = parameter["in"]
        if name == "tenantId" or where not in ("path", "query"):
            continue
        schema = contract.deref(parameter.get("schema") or {})
        if where == "query" and parameter.get("required"):
            found.append(Constraint(where, (), "required", schema, name))
        _visit(contract, schema, where, (name,), found, 0)
    return [c for c in found if not (c.where != "body" and c.keyword == "type")]


def _visit(contract: Contract, schema: Any, where: str, path: ValuePath, found: list[Constraint], depth: int) -> None:
    schema = contract.deref(schema)
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return
    if "type" in schema and "enum" not in schema:
        found.append(Constraint(where, path, "type", schema))
    found += [Constraint(where, path, keyword, schema) for keyword in ASSERTED if keyword in schema]
    if schema.get("format") in BREAKABLE_FORMATS:
        found.append(Constraint(where, path, "format", schema))
    if schema.get("x-references"):
        found.append(Constraint(where, path, "x-references", schema, schema["x-references"]))
    properties = {n: p for n, p in (schema.get("properties") or {}).items() if not contract.deref(p).get("readOnly")}
    for name in schema.get("required", []):
        if name in properties:
            found.append(Constraint(where, path, "required", schema, name))
    if schema.get("additionalProperties") is False:
        found.append(Constraint(where, path, "additionalProperties", schema))
    for rule in schema.get("x-conditional-required") or []:
        for name in rule.get("then", []):
            found.append(Constraint(where, path, "x-conditional-required", schema, (dict(rule["if"]), name)))
    for name, prop in properties.items():
        _visit(contract, prop, where, (*path, name), found, depth + 1)
    if schema.get("type") == "array" and "items" in schema:
        _visit(contract, schema["items"], where, (*path, 0), found, depth + 1)
