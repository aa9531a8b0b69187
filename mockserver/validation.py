"""Validation of requests and records against the contract, with errors that name the offending field.

Every request is validated before its view runs (`mockserver/dispatch.py`), by the validators here, so that:

- a body is parsed strictly: at most 1 MiB of UTF-8 JSON (another charset is refused, not decoded), nesting at
  most 32 levels, strings at most 65,536 characters and free of lone surrogates, integers within 64 bits, finite
  numbers only (`NaN`, `Infinity` and `1e999` are refused), each field named once per object (a validating proxy
  that keeps the first of two would see another document than the mock, which would keep the last), and a
  `Content-Type` is required; a `Content-Encoding` is not accepted;
- the same limits (`check_limits`) hold for what is stored, whatever wrote it: a patch, a batch operation, seed
  data;
- `required` follows OpenAPI's `readOnly` rule: server-managed fields are required in responses, not in requests,
  and values sent for them are accepted (the server keeps its own);
- every error is reported, not just the first, as a `FieldError` with a location and a dotted field path.

The limits are stated in the contract's description (see NOTES.md, "Limits").
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import jsonschema_rs
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend
from starlette.types import Receive

from mockserver.errors import MAX_SHOWN, BadRequestProblem, FieldError, shown_value

MAX_BODY_BYTES = 1_048_576
MAX_DEPTH = 32
MAX_STRING = 65_536
MAX_ERRORS = 50

# -- schema validators ---------------------------------------------------------------------------------------


def _nullable(check: Any) -> Any:
    def validate(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
        if instance is None and schema.get("nullable"):
            return
        yield from check(validator, value, instance, schema)

    return validate


def _required_unless_read_only(
    validator: Any, required: list[str], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    for name in required:
        if name not in instance and not properties.get(name, {}).get("readOnly"):
            yield ValidationError(f"{name!r} is a required property")


_BASE = {"type": _nullable(Draft4Validator.VALIDATORS["type"]), "enum": _nullable(Draft4Validator.VALIDATORS["enum"])}
# Requests (writes): readOnly fields are neither required nor refused.
WriteValidator = extend(Draft4Validator, {**_BASE, "required": _required_unless_read_only})
# Stored records and responses (reads): every required field, readOnly ones included.
ReadValidator = extend(Draft4Validator, _BASE)
FORMATS = Draft4Validator.FORMAT_CHECKER


def field_path(path: Iterator[Any] | Any) -> str:
    """`deque(['line_items', 0, 'total'])` -> `line_items[0].total`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _join(base: str, name: str) -> str:
    return ".".join(part for part in (base, name) if part)


def describe(error: ValidationError, location: str = "body", prefix: str = "") -> list[FieldError]:
    """One ValidationError as FieldErrors whose field is the property at fault."""
    base = _join(prefix, field_path(error.absolute_path))
    if error.validator == "required":
        name = error.message.split("'")[1] if "'" in error.message else ""
        return [FieldError(location, _join(base, name), "is required")]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        return [
            FieldError(location, _join(base, str(k)), f"{shown_value(k)} is not a field of this schema") for k in extra
        ]
    if error.validator == "enum":
        options = error.validator_value
        shown = ", ".join(map(str, options[:60])) + (", ..." if len(options) > 60 else "")
        return [FieldError(location, base, f"{shown_value(error.instance)} is not one of: {shown}")]
    return [FieldError(location, base, _size_message(error) or concise(error.message, error.instance))]


_SIZES = {  # keyword: (measure, unit, comparison)
    "maxItems": (len, "items", "more than the {} allowed"),
    "minItems": (len, "items", "fewer than the {} required"),
    "maxLength": (len, "characters", "more than the {} allowed"),
    "minLength": (len, "characters", "fewer than the {} required"),
    "maxProperties": (len, "fields", "more than the {} allowed"),
    "minProperties": (len, "fields", "fewer than the {} required"),
}


def concise(message: str, instance: Any) -> str:
    """The validator's message with the offending value shortened (its messages quote it whole)."""
    for text in (repr(instance), json.dumps(instance, ensure_ascii=False, default=str)):
        if len(text) > MAX_SHOWN and text in message:
            return message.replace(text, shown_value(instance))
    return message


def _size_message(error: ValidationError) -> str | None:
    known = _SIZES.get(str(error.validator))
    if known is None or not isinstance(error.instance, (list, str, dict)):
        return None
    measure, unit, comparison = known
    return f"has {measure(error.instance)} {unit}, {comparison.format(error.validator_value)}"


_VALIDATORS: dict[tuple[Any, int], Any] = {}
_FAST: dict[tuple[bool, int], tuple[dict[str, Any], Any]] = {}


def validator_for(validator_cls: Any, schema: dict[str, Any]) -> Any:
    """One validator per schema object: building one costs more than most validations."""
    key = (validator_cls, id(schema))
    found = _VALIDATORS.get(key)
    if found is None or found.schema is not schema:
        found = _VALIDATORS[key] = validator_cls(schema, format_checker=FORMATS)
    return found


def plain_schema(schema: Any, write: bool) -> Any:
    """An OpenAPI 3.0 schema as plain JSON Schema: `nullable` as a null type, and for requests (`write`) the
    readOnly properties out of `required`. OpenAPI-only keywords are left for the validator to ignore."""
    if isinstance(schema, list):
        return [plain_schema(item, write) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: plain_schema(v, write) for k, v in schema.items()}
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if write and isinstance(schema.get("required"), list):
        properties = schema.get("properties", {})
        out["required"] = [n for n in schema["required"] if not properties.get(n, {}).get("readOnly")]
    return out


def fast_validator(schema: dict[str, Any], write: bool) -> Any:
    """jsonschema-rs decides validity: about twenty times faster, and its patterns follow ECMA-262 as OpenAPI's
    do (`\\w` is ASCII). The Python validator is only asked to explain a failure."""
    key = (write, id(schema))
    found = _FAST.get(key)
    if found is None or found[0] is not schema:
        found = _FAST[key] = (schema, jsonschema_rs.Draft4Validator(plain_schema(schema, write), validate_formats=True))
    return found[1]


def schema_errors(
    validator_cls: Any, schema: dict[str, Any], instance: Any, location: str = "body", prefix: str = ""
) -> list[FieldError]:
    fast = fast_validator(schema, write=validator_cls is WriteValidator)
    if fast.is_valid(instance):
        return []
    validator = validator_for(validator_cls, schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    found: list[FieldError] = []
    for error in errors[:MAX_ERRORS]:
        found.extend(describe(error, location, prefix))
    if not found:  # the two validators disagree (formats, ECMA patterns): the fast one's reasons stand
        for error in list(fast.iter_errors(instance))[:MAX_ERRORS]:
            path = field_path(error.instance_path)
            message = concise(error.message, error.instance)
            found.append(FieldError(location, _join(prefix, path), message))
    return found


# -- strict JSON ------------------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


INT64 = (-(2**63), 2**63 - 1)


def _int64(text: str) -> int:
    value = int(text)
    if not INT64[0] <= value <= INT64[1]:
        raise ValueError(f"integer {text[:40]}{'...' if len(text) > 40 else ''} is outside the 64-bit range")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is too large")
    return value


MAX_RECORD_BYTES = MAX_BODY_BYTES + 65_536  # a stored record: a body's worth of data and its server-managed fields
UTF8 = ("utf-8", "utf8")


class _RepeatedFieldError(ValueError):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def _once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's members, each name once (RFC 8259 leaves a repeated name's meaning to each parser)."""
    members = dict(pairs)
    if len(members) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _RepeatedFieldError(name)
            seen.add(name)
    return members


class _Repeated(dict[str, Any]):
    repeated: str | None = None


def _mark_repeated(pairs: list[tuple[str, Any]]) -> _Repeated:
    members = _Repeated(pairs)
    if len(members) != len(pairs):
        names = [name for name, _ in pairs]
        members.repeated = next(name for i, name in enumerate(names) if name in names[:i])
    return members


def _repeated_field(text: str, name: str) -> str:
    """The path of a field named twice in one object: a second parse that marks such objects, only for the error
    (`name` alone when the text breaks after that object, which the first parse did not reach)."""
    try:
        stack: list[tuple[Any, str]] = [(json.loads(text, object_pairs_hook=_mark_repeated), "")]
    except (ValueError, RecursionError):
        return name
    while stack:
        node, where = stack.pop()
        if isinstance(node, _Repeated) and node.repeated is not None:
            return _join(where, node.repeated)
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in children:
            stack.append((child, f"{where}[{key}]" if isinstance(key, int) else _join(where, key)))
    return name


def request_json(headers: Any, data: bytes, limit: int = MAX_BODY_BYTES) -> Any:
    """A request body that must be JSON: its `Content-Type` (required with a body) and `Content-Encoding` checked,
    then parsed as `parse_json` does. None for an empty body."""
    media_type = headers.get("content-type")
    encoding = headers.get("content-encoding")
    if encoding is not None and encoding.strip().lower() != "identity":
        raise BadRequestProblem.from_errors(
            f"Unsupported Content-Encoding {shown_value(encoding)}",
            [FieldError("header", "Content-Encoding", "is not accepted: send the body as it is, not compressed")],
        )
    if media_type is None and data:
        raise BadRequestProblem.from_errors(
            "Missing Content-Type",
            [FieldError("header", "Content-Type", "is required with a body: send application/json")],
        )
    if media_type is not None and not _is_json(media_type):
        raise BadRequestProblem.from_errors(
            f"Unsupported Content-Type {shown_value(media_type)}",
            [FieldError("header", "Content-Type", "must be application/json")],
        )
    return parse_json(data, _charset(media_type), limit) if data.strip() else None


def parse_json(data: bytes, charset: str = "utf-8", limit: int = MAX_BODY_BYTES) -> Any:
    """Parse a request body under the documented limits; raises BadRequestProblem naming what is wrong."""
    if len(data) > limit:
        raise _body_error(f"is {len(data)} bytes; the limit is {limit} bytes ({limit / 1_048_576:g} MiB)")
    if charset.lower() not in UTF8:
        raise BadRequestProblem.from_errors(
            f"Unsupported charset {shown_value(charset)}",
            [FieldError("header", "Content-Type", f"charset {shown_value(charset)} is not accepted: send UTF-8 JSON")],
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _body_error(f"is not valid utf-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        value = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_int64,
            object_pairs_hook=_once_each,
        )
    except _RepeatedFieldError as exc:
        field = _repeated_field(text, exc.name)
        raise BadRequestProblem.from_errors(
            "Invalid request body",
            [FieldError("body", field, f"{shown_value(exc.name)} is given twice in one object; name a field once")],
        ) from None
    except RecursionError:
        raise _body_error(f"nests deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise _body_error(f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # NaN/Infinity, huge floats, integers over Python's digit limit
        raise _body_error(f"is not valid JSON: {exc}") from None
    check_limits(value)
    return value


def check_limits(value: Any, depth: int = 1, path: str = "", what: str = "Invalid request body") -> None:
    """The limits every stored value keeps, whatever wrote it: nesting, string length, no lone surrogates (they
    cannot be written as UTF-8, so no client could read them back), integers within 64 bits, finite numbers.
    `depth` is the nesting level of `value` itself (1 for a record). BadRequestProblem names the first breach."""
    # Where each value sits is kept as (parent, key) and spelled out only for a breach: it runs on every write.
    stack: list[tuple[Any, int, Any]] = [(value, depth, path)]
    while stack:
        node, level, where = stack.pop()
        kind = type(node)
        if kind is str:
            if len(node) > MAX_STRING:
                raise _limit(what, _spelled(where), f"is longer than {MAX_STRING} characters")
            if not node.isascii() and not _is_utf8(node):
                raise _limit(
                    what, _spelled(where), "holds a lone surrogate (U+D800 to U+DFFF), which no UTF-8 text can carry"
                )
        elif kind is dict or kind is list:
            if level > MAX_DEPTH:
                raise _limit(what, _spelled(where), f"nests deeper than {MAX_DEPTH} levels")
            if kind is list:
                stack.extend((child, level + 1, (where, i)) for i, child in enumerate(node))
                continue
            for key, child in node.items():
                if len(key) > MAX_STRING:
                    raise _limit(what, _spelled(where), f"has a field name longer than {MAX_STRING} characters")
                if not key.isascii() and not _is_utf8(key):
                    raise _limit(what, _spelled(where), f"has a field name with a lone surrogate: {ascii(key)[:60]}")
                stack.append((child, level + 1, (where, key)))
        elif kind is int:
            if not INT64[0] <= node <= INT64[1]:
                raise _limit(what, _spelled(where), "is an integer outside the 64-bit range")
        elif kind is float and not math.isfinite(node):
            raise _limit(what, _spelled(where), "is not a finite number")


def _spelled(where: Any) -> str:
    """`((("", "line_items"), 0), "total")` -> `line_items[0].total`."""
    if isinstance(where, str):
        return where
    parent, key = where
    return f"{_spelled(parent)}[{key}]" if isinstance(key, int) else _join(_spelled(parent), key)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _limit(what: str, field: str, message: str) -> BadRequestProblem:
    return BadRequestProblem.from_errors(what, [FieldError("body", field, message)])


def _body_error(message: str) -> BadRequestProblem:
    return BadRequestProblem.from_errors("Invalid request body", [FieldError("body", "", message)])


# -- request validators -------------------------------------------------------------------------------------


class BodyValidator:
    """A JSON body: strict parsing, readOnly-aware `required` and all errors reported."""

    def __init__(self, schema: dict[str, Any], required: bool):
        self.schema, self.required = schema, required

    async def read(self, request: Any, receive: Receive) -> Any:
        """The request's body, parsed and validated; BadRequestProblem naming what is wrong otherwise."""
        headers = request.headers
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise _body_error(f"is {length} bytes; the limit is {MAX_BODY_BYTES} bytes (1 MiB)")
        body = request_json(headers, await _read_capped(receive))
        self._validate(body)
        return body

    def _validate(self, body: Any) -> None:
        if body is None:
            if self.required:
                raise _body_error("is required and was empty")
            return
        errors = schema_errors(WriteValidator, self.schema, body)
        if errors:
            raise BadRequestProblem.from_errors("Invalid request body", errors)


class ClientDisconnected(Exception):
    """The client went away before its body arrived whole: there is nothing to answer, and nothing is stored."""


async def _read_capped(receive: Receive) -> bytes:
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()  # a body cut short must never be taken for the whole one
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _body_error(f"is over {MAX_BODY_BYTES} bytes (1 MiB)")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _is_json(media_type: str) -> bool:
    essence = media_type.split(";")[0].strip().lower()
    return essence == "application/json" or (essence.startswith("application/") and essence.endswith("+json"))


def _charset(media_type: str | None) -> str:
    for part in (media_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


class ParamValidator:
    """An operation's parameters, as connexion's URI parser reads them from a request: every bad, missing or
    unknown parameter reported by name, and a single-valued one given twice refused."""

    def __init__(self, parameters: list[dict[str, Any]]):
        self.parameters: dict[str, list[dict[str, Any]]] = {}
        for parameter in parameters:
            self.parameters.setdefault(parameter["in"], []).append(parameter)
        self.known_query = {p["name"] for p in self.parameters.get("query", [])}
        # Path parameters arrive as strings; connexion's parser only matters for other types.
        self.typed_path = any(
            p.get("schema", {}).get("type", "string") != "string" for p in self.parameters.get("path", [])
        )
        # A request without a query reads nothing but its scope here: no request object needs to be made for it.
        self.plain = not self.typed_path and "header" not in self.parameters

    def _repeated_scalars(self, query_string: bytes) -> list[FieldError]:
        """A single-valued parameter given twice is ambiguous: refused rather than one of its values picked."""
        counts = Counter(name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        return [
            FieldError("query", param["name"], f"is given {counts[param['name']]} times; it takes one value")
            for param in self.parameters.get("query", [])
            if counts[param["name"]] > 1 and param.get("schema", {}).get("type") != "array"
        ]

    def validate_request(self, request: Any) -> None:
        errors: list[FieldError] = []
        has_query = bool(request.scope.get("query_string"))
        if has_query:
            for name in sorted(set(request.query_params) - self.known_query):
                errors.append(FieldError("query", name, "is not a parameter of this operation"))
            errors.extend(self._repeated_scalars(request.scope["query_string"]))
        sources = {
            "query": request.query_params if has_query else {},
            "path": request.path_params if self.typed_path else request.scope.get("path_params", {}),
            "header": request.headers if "header" in self.parameters else {},
        }
        for location, values in sources.items():
            for param in self.parameters.get(location, []):
                name = param["name"]
                value = values.get(name)
                if value is None:
                    if param.get("required"):
                        errors.append(FieldError(location, name, "is required"))
                    continue
                for error in schema_errors(Draft4Validator, param.get("schema", {}), value, location):
                    errors.append(FieldError(location, name, error.message))
        if errors:
            raise BadRequestProblem.from_errors("Invalid request parameters", errors)
