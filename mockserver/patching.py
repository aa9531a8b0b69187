"""JSON Patch (RFC 6902) under the limits of what may be stored, with work bounded per request.

A patch of 1.3 KB can double a record with every `copy`: twenty directives would build a record of a million
times its size and hold the server for as long. So, before jsonpatch applies each directive:

- the value it inserts (an `add` or `replace` value, or what a `copy` or `move` takes) must keep the record
  within 32 levels of nesting at the place it goes;
- the bytes a request patches (each record it starts from) and copies or moves (each value taken) are counted
  against one budget per request (`PatchBudget`, 8 MiB): a batch of 100 patches shares it;
- the record's size is bounded from above after each directive (by what was added); when the bound passes the
  limit of a stored record, the record is measured, and a record over the limit stops the patch there.

So no directive, and no request, can do more than a few megabytes of work, whatever it asks for. Errors name the
directive (`[3]`) and what it would have done.
"""

from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer
import orjson

from mockserver.errors import BadRequestProblem, FieldError, shown_value
from mockserver.validation import MAX_DEPTH, MAX_RECORD_BYTES, check_limits

MAX_DIRECTIVES = 100  # the contract's PatchDocument maxItems
WORK_BYTES = 8 * 1_048_576


class PatchBudget:
    """The bytes one request may still patch, copy or move."""

    def __init__(self, limit: int = WORK_BYTES):
        self.limit = self.left = limit

    def spend(self, amount: int, where: str, what: str) -> None:
        if amount > self.left:
            raise _error(
                where,
                f"{what} ({amount} bytes) would take this request past the {self.limit // 1_048_576} MiB of records "
                "a request may patch, copy or move: send fewer or smaller operations per request",
            )
        self.left -= amount


def apply_patch(document: dict[str, Any], directives: list[Any], budget: PatchBudget) -> Any:
    """The document with the directives applied, as a new value; BadRequestProblem naming the directive at fault."""
    if len(directives) > MAX_DIRECTIVES:
        raise _error("", f"has {len(directives)} directives, more than the {MAX_DIRECTIVES} allowed")
    data = orjson.dumps(document)
    budget.spend(len(data), "", "the record")
    result: Any = orjson.loads(data)  # a copy, several times faster than copy.deepcopy
    bound = len(data)  # at least the size of the result
    for position, directive in enumerate(directives):
        where = f"[{position}]"
        bound += _admit(result, directive, where, budget)
        try:
            result = jsonpatch.JsonPatch([directive]).apply(result, in_place=True)
        except jsonpatch.JsonPatchTestFailed:
            wanted = directive.get("value")
            raise _error(where, f"test failed: {directive.get('path')} is not {shown_value(wanted)}") from None
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError) as exc:
            raise _error(where, f"cannot be applied: {exc}") from None
        if bound > MAX_RECORD_BYTES:
            bound = len(orjson.dumps(result))
            if bound > MAX_RECORD_BYTES:
                raise _error(
                    where, f"would make the record {bound} bytes; a stored record holds at most {MAX_RECORD_BYTES}"
                )
    return result


def _admit(document: Any, directive: Any, where: str, budget: PatchBudget) -> int:
    """Check what a directive would insert; returns by how many bytes it may grow the document."""
    if not isinstance(directive, dict):
        return 0
    op, path = directive.get("op"), directive.get("path")
    if op in ("add", "replace") and "value" in directive:
        value = directive["value"]
        grown = len(orjson.dumps(value))
    elif op in ("copy", "move") and isinstance(directive.get("from"), str):
        try:
            value = jsonpointer.resolve_pointer(document, directive["from"])
        except jsonpointer.JsonPointerException:
            return 0  # jsonpatch reports the missing location
        size = len(orjson.dumps(value))
        budget.spend(size, where, f"{op} of {directive['from']}")
        grown = size if op == "copy" else 0
    else:
        return 0
    if isinstance(path, str) and isinstance(value, (dict, list)):
        depth = path.count("/") + 1  # the level the value's own container lands on
        if depth > MAX_DEPTH:
            raise _error(where, f"would nest the record deeper than {MAX_DEPTH} levels")
        check_limits(value, depth, where, "Invalid patch")
    return grown


def _error(where: str, message: str) -> BadRequestProblem:
    return BadRequestProblem.from_errors("Invalid patch", [FieldError("body", where, message)])


def identical(a: Any, b: Any) -> bool:
    """Equal as JSON values, types included: `1`, `1.0` and `true` are three different values to a client."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(map(identical, a, b))
    return bool(a == b)
