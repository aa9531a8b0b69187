"""Requests that break exactly one constraint of the contract, built from one the target accepts.

A body probe starts from a valid body (a create example with the run's values, a search, a batch request, a
patch), filled out with a valid value for every optional object and array the contract describes, so that the
constraints inside them can be reached, and changes one value so that exactly one constraint breaks. Before it is
sent, each probe is checked with the contract's own validator: one that would break anything else as well is not
sent (it is reported as not probed, with the reason), so the answer to a probe is about the constraint it names.

Parameter probes change one path or query parameter of a valid request. Everything here is derived from the
contract and deterministic: the same contract gives the same probes.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from collect_contract import Contract
from collect_contract.constraints import MAX_DEPTH, Constraint, ValuePath
from conformance.validators import request_validator

MISSING: Any = object()
UNKNOWN_FIELD = "cfz_unknown_field"
# Keywords whose broken value is built from the value in place (an object or an array that must exist).
CONTAINER_KEYWORDS = frozenset({"required", "additionalProperties", "x-conditional-required", "minItems", "maxItems"})
CONTAINER_KEYWORDS |= {"uniqueItems"}
UNKNOWN_PARAMETER = "cfz_unknown"
TEXT_CANDIDATES = ("cfz", "1", "/cfz", "cfz-1", "2025-03-01")
BAD_TEXT = ("cfz.bad value!", "", "~", "-1.5e+x")
WRONG_TYPE: dict[str, Any] = {
    "string": 7,
    "integer": "cfz",
    "number": "cfz",
    "boolean": "cfz",
    "array": "cfz",
    "object": "cfz",
}


@dataclass(frozen=True)
class Probe:
    """A request value that breaks `constraint` (and nothing else the contract states)."""

    constraint: Constraint
    value: Any  # the whole body, or the parameter's text (None: leave the parameter out)


# -- valid values ---------------------------------------------------------------------------------------------


def valid_value(contract: Contract, schema: Any, depth: int = 0) -> Any:
    """A value valid against `schema` (MISSING when none can be built): the first enum member, a date for a date,
    the least number in range, an object of its required properties, an array of one item."""
    schema = contract.deref(schema)
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return MISSING
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        return _valid_text(schema)
    if kind in ("integer", "number"):
        return _valid_number(schema)
    if kind == "boolean":
        return False
    if kind == "array":
        item = valid_value(contract, schema.get("items", {}), depth + 1)
        count = max(schema.get("minItems", 1), 1 if schema.get("maxItems", 1) else 0)
        return MISSING if item is MISSING else [copy.deepcopy(item) for _ in range(count)]
    if kind == "object" or "properties" in schema:
        value = {}
        for name in schema.get("required", []):
            prop = contract.deref(schema.get("properties", {}).get(name, {}))
            if prop.get("readOnly"):
                continue
            value[name] = valid_value(contract, prop, depth + 1)
            if value[name] is MISSING:
                return MISSING
        return value
    return "cfz"  # no type: anything goes


def _valid_text(schema: dict[str, Any]) -> Any:
    low, high = schema.get("minLength", 0), schema.get("maxLength", 10**6)
    if schema.get("format") == "date":
        return "2025-03-01"
    if schema.get("format") == "date-time":
        return "2025-03-01T00:00:00Z"
    candidates = [*TEXT_CANDIDATES, "x" * max(low, 1)]
    return next((text for text in candidates if _text_fits(schema, text, low, high)), MISSING)


def _text_fits(schema: dict[str, Any], text: str, low: int, high: int) -> bool:
    pattern = schema.get("pattern")
    return low <= len(text) <= high and (pattern is None or re.search(pattern, text, re.ASCII) is not None)


def _valid_number(schema: dict[str, Any]) -> Any:
    value = schema.get("minimum", 1)
    if schema.get("exclusiveMinimum") is True:
        value += 1
    if "maximum" in schema and value > schema["maximum"]:
        return MISSING
    return int(value) if schema.get("type") == "integer" else value


def names_records(contract: Contract, schema: Any) -> bool:
    """Whether values of `schema` name records (x-references, or an array of them): no valid value can be made
    up for them."""
    schema = contract.deref(schema)
    return bool(schema.get("x-references") or contract.deref(schema.get("items", {})).get("x-references"))


def filled(contract: Contract, schema: Any, value: Any, depth: int = 0) -> Any:
    """`value` with every optional object and array property the schema describes present (with a valid value),
    recursively, so that a probe can reach the constraints inside them. Record references are left as they are."""
    schema = contract.deref(schema)
    if depth > MAX_DEPTH or not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        out = dict(value)
        for name, prop in (schema.get("properties") or {}).items():
            prop = contract.deref(prop)
            if prop.get("readOnly") or names_records(contract, prop) or not _container(prop):
                continue
            if name not in out:
                made = valid_value(contract, prop, depth + 1)
                if made is MISSING:
                    continue
                out[name] = made
            out[name] = filled(contract, prop, out[name], depth + 1)
        return out
    if isinstance(value, list) and schema.get("type") == "array" and not names_records(contract, schema):
        items = contract.deref(schema.get("items", {}))
        if not value:
            made = valid_value(contract, items, depth + 1)
            if made is MISSING or schema.get("maxItems", 1) < 1:
                return value
            value = [made]
        return [filled(contract, items, value[0], depth + 1), *value[1:]]
    return value


def _container(schema: dict[str, Any]) -> bool:
    return schema.get("type") in ("object", "array") or "properties" in schema


# -- broken values --------------------------------------------------------------------------------------------


def body_probe(
    contract: Contract, schema: dict[str, Any], body: Any, constraint: Constraint, missing_id: str
) -> Probe | str:
    """`body` with exactly `constraint` broken, or why that cannot be done (the contract's validator finds the
    probe valid, or broken elsewhere too)."""
    target = _at(body, constraint.path)
    if target is MISSING and (constraint.keyword in CONTAINER_KEYWORDS or not _settable(body, constraint.path)):
        return f"no valid value holds {constraint.location} (its container could not be built)"
    value = _broken(contract, constraint, target, missing_id)
    if value is MISSING:
        return f"no value breaks {constraint.keyword} of {constraint.location} alone"
    probe = _replaced(body, constraint.path, value)
    errors = list(request_validator(contract, schema).iter_errors(probe))
    if constraint.keyword in ("x-conditional-required", "x-references"):
        wrong = [e.message for e in errors]  # the contract's own keywords: the schema must still hold
    else:
        wrong = [
            e.message for e in errors if (e.validator, tuple(e.absolute_path)) != (constraint.keyword, constraint.path)
        ]
        if not errors:
            return f"breaking {constraint.keyword} of {constraint.location} leaves the body valid"
    if wrong:
        return f"breaking {constraint.keyword} of {constraint.location} breaks more: {wrong[0][:120]}"
    return Probe(constraint, probe)


def _broken(contract: Contract, constraint: Constraint, current: Any, missing_id: str) -> Any:
    """A value for the place `constraint` governs that breaks it (MISSING when there is none)."""
    schema, keyword = constraint.schema, constraint.keyword
    if keyword == "type":
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        return WRONG_TYPE.get(kinds[0], MISSING)
    if keyword == "enum":
        members = schema["enum"]
        numbers = [m for m in members if isinstance(m, (int, float)) and not isinstance(m, bool)]
        if numbers and len(numbers) == len(members):
            return max(numbers) + 1
        low, high = schema.get("minLength", 0), min(schema.get("maxLength", 20), 20)
        texts = ["cfz-not-in-enum", *("Z" * n for n in range(max(low, 1), high + 1))]
        return next((t for t in texts if t not in members and _text_fits(schema, t, low, high)), MISSING)
    if keyword in ("minimum", "maximum"):
        bound = schema[keyword]
        exclusive = schema.get("exclusiveMinimum" if keyword == "minimum" else "exclusiveMaximum") is True
        return bound if exclusive else bound - 1 if keyword == "minimum" else bound + 1
    if keyword == "pattern":
        low, high = schema.get("minLength", 0), schema.get("maxLength", 10**6)
        return next((t for t in BAD_TEXT if low <= len(t) <= high and not re.search(schema["pattern"], t)), MISSING)
    if keyword == "minLength":
        return "x" * (schema["minLength"] - 1) if schema["minLength"] > 0 else MISSING
    if keyword == "maxLength":
        return "x" * (schema["maxLength"] + 1)
    if keyword == "format":
        return {"date": "2025-13-01", "date-time": "2025-13-01T00:00:00Z", "int32": 2**31, "int64": 2**63}[
            schema["format"]
        ]
    if keyword in ("minItems", "maxItems", "uniqueItems"):
        return _broken_items(contract, schema, keyword, current)
    if keyword in ("required", "additionalProperties", "x-conditional-required"):
        return _broken_object(keyword, constraint.detail, current)
    if keyword == "x-references":
        return [missing_id] if schema.get("type") == "array" else missing_id
    return MISSING


def _broken_items(contract: Contract, schema: dict[str, Any], keyword: str, current: Any) -> Any:
    item = current[0] if isinstance(current, list) and current else valid_value(contract, schema.get("items", {}))
    if item is MISSING:
        return MISSING
    if keyword == "minItems":
        return [copy.deepcopy(item) for _ in range(schema["minItems"] - 1)] if schema["minItems"] > 0 else MISSING
    if keyword == "maxItems":
        return [copy.deepcopy(item) for _ in range(schema["maxItems"] + 1)]
    return [item, copy.deepcopy(item)] if schema["uniqueItems"] else MISSING


def _broken_object(keyword: str, detail: Any, current: Any) -> Any:
    if not isinstance(current, dict):
        return MISSING
    if keyword == "required":
        return {k: v for k, v in current.items() if k != detail}
    if keyword == "additionalProperties":
        return {**current, UNKNOWN_FIELD: 1}
    condition, name = detail
    return {k: v for k, v in {**current, **condition}.items() if k != name}


def _at(value: Any, path: ValuePath) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or len(value) <= step:
                return MISSING
        elif not isinstance(value, dict) or step not in value:
            return MISSING
        value = value[step]
    return value


def _settable(body: Any, path: ValuePath) -> bool:
    """Whether a value can be put at `path`: its parent exists (an empty array takes a first item)."""
    if not path:
        return True
    parent = _at(body, path[:-1])
    step = path[-1]
    return isinstance(parent, dict) if isinstance(step, str) else isinstance(parent, list) and len(parent) >= step


def _replaced(body: Any, path: ValuePath, value: Any) -> Any:
    if not path:
        return value
    copied = copy.deepcopy(body)
    parent = copied
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, list) and path[-1] == len(parent):
        parent.append(value)
    else:
        parent[path[-1]] = value
    return copied


# -- parameters -----------------------------------------------------------------------------------------------


def parameter_probe(contract: Contract, constraint: Constraint) -> Probe | str:
    """The text of a parameter that breaks `constraint` (None: leave it out), or why there is none."""
    schema, keyword = constraint.schema, constraint.keyword
    if keyword == "required":
        return Probe(constraint, None)
    if constraint.path[1:] == (0,) and keyword == "enum":  # one bad name in a comma-separated list
        good = valid_value(contract, schema)
        return Probe(constraint, f"{good},cfz_no_such_name" if good is not MISSING else "cfz_no_such_name")
    if keyword == "uniqueItems":
        good = valid_value(contract, contract.deref(schema.get("items", {})))
        return Probe(constraint, f"{good},{good}") if good is not MISSING else "no valid item to repeat"
    if keyword in ("minItems", "minLength"):
        if constraint.where == "path":
            return f"a path cannot carry an empty {constraint.location}"
        return Probe(constraint, "")
    value = _broken(contract, constraint, None, "")
    if value is MISSING or (constraint.where == "path" and (value == "" or "/" in str(value))):
        return f"no URL value breaks {keyword} of {constraint.location} alone"
    return Probe(constraint, str(value))
