"""JSON Patch (RFC 6902) under the limits of what may be stored, with work bounded per request.

A patch of 1.3 KB can double a record with every `copy`: twenty directives would build a record of a million
times its size and hold the server for as long. And bytes alone do not measure the work: jsonpatch deep-copies
every value it inserts and compares a `test` value member by member, in Python, at about half a microsecond per
value, so 250 KB of `[{}, {}, ...]` (83,000 values) costs as much as 40 MB of text. So, before jsonpatch applies
each directive, what it will do is paid for against one budget per request (`PatchBudget`; a batch of 100 patches
shares it), in two measures:

- **bytes** (8 MiB): each record a patch starts from, each value a `copy` or `move` takes, and each time the record
  is measured;
- **values** (`WORK_VALUES`, 2^21): each value of each record a patch starts from (copied in C, but one Python
  object each), and four times each value jsonpatch will deep-copy (`add`, `replace`, `copy`) or compare (`test`)
  in Python (`PYTHON_STEP`, measured: 0.7 microseconds a value, against 0.2 for the record's), all counted in C
  from their serialised form (`values_in`). A whole budget is about 0.2 s of work on the 2-core machine of
  docs/benchmarks.md, less than creating one record of 1 MiB of dense JSON (see docs/architecture.md).

Everything else a patch does is done in C at a cost per byte or per value (serialising, counting, measuring
nesting, comparing the result with the record, validating and storing it): so no directive, and no request, can
do more than a bounded amount of work, whatever it asks for. Besides:

- the value a directive inserts (an `add` or `replace` value, or what a `copy` or `move` takes to a deeper place)
  must keep the record within 32 levels of nesting at the place it goes;
- the record's size is bounded from above after each directive (by what was added); when the bound passes the
  limit of a stored record, the record is measured, and a record over the limit stops the patch there.

Errors name the directive (`[3]`) and what it would have done; a library's message never quotes the record.
"""

from __future__ import annotations

import re
from typing import Any

import jsonpatch
import jsonpointer
import orjson

from mockserver.errors import MAX_SHOWN, BadRequestProblem, FieldError, shortened, shown_value
from mockserver.validation import MAX_DEPTH, MAX_RECORD_BYTES, check_limits

MAX_DIRECTIVES = 100  # the contract's PatchDocument maxItems
WORK_BYTES = 8 * 1_048_576
WORK_VALUES = 2_097_152  # values copied in C, about four times as many as the densest record holds
PYTHON_STEP = 4  # a value jsonpatch deep-copies or compares in Python costs about as much as four copied in C


class PatchBudget:
    """What one request may still spend: bytes patched, copied, moved or measured, and values copied or compared.

    A refused expense spends what is left of its measure: the work of measuring it was done, and the rest of a
    batch is refused without measuring anything more."""

    def __init__(self, limit: int = WORK_BYTES, values: int = WORK_VALUES):
        self.limit = self.left = limit
        self.values_limit = self.values_left = values

    @property
    def spent(self) -> bool:
        return self.left <= 0 or self.values_left <= 0

    def spend(self, amount: int, where: str, what: str) -> None:
        if amount > self.left:
            self.left = 0
            raise _error(where, f"{what} ({amount} bytes) would take this request past {self._bytes_rule()}")
        self.left -= amount

    def spend_values(self, count: int, where: str, what: str) -> None:
        if count > self.values_left:
            self.values_left = 0
            raise _error(where, f"{what} ({count} values) would take this request past {self._values_rule()}")
        self.values_left -= count

    def refuse(self, where: str) -> BadRequestProblem:
        rule = self._bytes_rule() if self.left <= 0 else self._values_rule()
        return _error(where, f"this request has spent {rule}")

    def _bytes_rule(self) -> str:
        return (
            f"the {self.limit // 1_048_576} MiB of records a request may patch, copy or move: "
            "send fewer or smaller operations per request"
        )

    def _values_rule(self) -> str:
        return (
            f"the {self.values_limit} values a request may copy or compare in its patches (each value copied or "
            f"compared one by one counts {PYTHON_STEP} times): send fewer or smaller operations per request"
        )


def apply_patch(document: dict[str, Any], directives: list[Any], budget: PatchBudget) -> Any:
    """The document with the directives applied, as a new value; BadRequestProblem naming the directive at fault."""
    if len(directives) > MAX_DIRECTIVES:
        raise _error("", f"has {len(directives)} directives, more than the {MAX_DIRECTIVES} allowed")
    if budget.spent:
        raise budget.refuse("")
    data = orjson.dumps(document)
    budget.spend(len(data), "", "the record")
    budget.spend_values(values_in(data), "", "the record")
    result: Any = orjson.loads(data)  # a copy, several times faster than copy.deepcopy
    bound = len(data)  # at least the size of the result
    for position, directive in enumerate(directives):
        where = f"[{position}]"
        bound += _admit(result, directive, where, budget)
        try:
            result = jsonpatch.JsonPatch([directive]).apply(result, in_place=True)
        except jsonpatch.JsonPatchTestFailed:
            wanted = shown_value(directive.get("value"))
            raise _error(where, f"test failed: {_pointer(directive.get('path'))} is not {wanted}") from None
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError) as exc:
            raise _error(where, f"cannot be applied: {_reason(exc)}") from None
        if bound > MAX_RECORD_BYTES:
            budget.spend(bound, where, "measuring the record")
            bound = len(orjson.dumps(result))
            if bound > MAX_RECORD_BYTES:
                raise _error(
                    where, f"would make the record {bound} bytes; a stored record holds at most {MAX_RECORD_BYTES}"
                )
    return result


def _admit(document: Any, directive: Any, where: str, budget: PatchBudget) -> int:
    """Check and pay for what a directive will do; returns by how many bytes it may grow the document."""
    if not isinstance(directive, dict):
        return 0
    op, path = directive.get("op"), directive.get("path")
    if op in ("add", "replace", "test") and "value" in directive:
        value = directive["value"]
        data = _serialised(value, where)
        what = f"{'comparing' if op == 'test' else op} {_pointer(path)}"
        budget.spend_values(PYTHON_STEP * values_in(data), where, what)
        if op == "test":
            return 0
        grown, deeper = len(data), True
    elif op in ("copy", "move") and isinstance(directive.get("from"), str):
        source: str = directive["from"]
        deeper = isinstance(path, str) and path.count("/") > source.count("/")
        if op == "move" and not deeper:
            return 0  # the value only changes place: nothing is copied, nothing grows or nests deeper
        try:
            value = jsonpointer.resolve_pointer(document, source)
        except jsonpointer.JsonPointerException:
            return 0  # jsonpatch reports the missing location
        data = _serialised(value, where)
        budget.spend(len(data), where, f"{op} of {_pointer(source)}")
        if op == "copy":
            budget.spend_values(PYTHON_STEP * values_in(data), where, f"copy of {_pointer(source)}")
        grown = len(data) if op == "copy" else 0
    else:
        return 0
    if deeper and isinstance(path, str) and isinstance(value, (dict, list)):
        depth = path.count("/") + 1  # the level the value's own container lands on
        allowed = MAX_DEPTH - depth + 1  # levels the value may have there
        if allowed < 1 or height(data, allowed) > allowed:
            check_limits(value, depth, where, "Invalid patch")  # names the place; walks one value, once
            raise _error(where, f"would nest the record deeper than {MAX_DEPTH} levels")
    return grown


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_STRUCTURE = b",[{"
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_EMPTY_CONTAINER = re.compile(rb"\[\]|\{\}")
_EXACT_FROM = 4_096  # below this, the rough count is close enough


def values_in(data: bytes) -> int:
    """How many JSON values the serialised `data` holds, at most: one per comma and per opening bracket, plus one.

    Counted in C: the count costs a byte scan, where the work it measures costs a Python step per value. A rough
    count also counts commas and brackets inside strings; above a few thousand, strings are taken out first."""
    rough = 1 + len(data) - len(data.translate(None, _STRUCTURE))
    if rough <= _EXACT_FROM:
        return rough
    bare = _STRING.sub(b'""', data)
    empty = bare.count(b"[]") + bare.count(b"{}")
    return 1 + len(bare) - len(bare.translate(None, _STRUCTURE)) - empty


def height(data: bytes, most: int) -> int:
    """How many levels of nesting the serialised value `data` has (0 for a scalar, 1 for `[]`), or `most` + 1 if
    it has more than `most`.

    In C: the brackets alone (strings taken out), the empty containers removed level by level, at most `most`
    times."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    levels = 0
    while brackets:
        if levels == most:
            return most + 1
        brackets = _EMPTY_CONTAINER.sub(b"", brackets)
        levels += 1
    return levels


def _serialised(value: Any, where: str) -> bytes:
    try:
        return orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):  # only what no request body can hold: a lone surrogate, a huge int
        check_limits(value, 1, where, "Invalid patch")
        raise _error(where, "its value cannot be stored") from None


_QUOTES_A_DOCUMENT = (
    # jsonpointer quotes the whole object it searched, or the value it could not index into.
    (re.compile(r"^(member '.*?' not found) in .*", re.S), r"\1"),
    (
        re.compile(r"^Document '.*' does not support indexing.*", re.S),
        "the value there is neither an object nor an array",
    ),
)


def _reason(exc: Exception) -> str:
    """A library's message, without the documents it quotes, and short."""
    text = str(exc)
    for pattern, replacement in _QUOTES_A_DOCUMENT:
        text = pattern.sub(replacement, text, count=1)
    return shortened(text, 2 * MAX_SHOWN)


def _pointer(pointer: Any) -> str:
    return shortened(pointer, MAX_SHOWN) if isinstance(pointer, str) else shown_value(pointer)


def _error(where: str, message: str) -> BadRequestProblem:
    return BadRequestProblem.from_errors("Invalid patch", [FieldError("body", where, message)])


def identical(a: Any, b: Any) -> bool:
    """Equal as JSON values, types included: `1`, `1.0` and `true` are three different values to a client.

    Compared as their serialisations with sorted keys (in C: a record of 300,000 values compares in milliseconds,
    where a walk in Python took a tenth of a second)."""
    option = orjson.OPT_SORT_KEYS
    try:
        return orjson.dumps(a, option=option) == orjson.dumps(b, option=option)
    except (orjson.JSONEncodeError, TypeError):
        return _identical_walk(a, b)


def _identical_walk(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(_identical_walk(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(map(_identical_walk, a, b))
    return bool(a == b)
