"""Validation of requests and records against the contract, with errors that name the offending field.

Connexion validates every request before a handler runs; the validators here replace its defaults so that:

- a body is parsed strictly: at most 1 MiB of UTF-8 JSON, nesting at most 32 levels, strings at most 65,536
  characters, finite numbers only (`NaN`, `Infinity` and `1e999` are refused), and a `Content-Type` is required;
- `required` follows OpenAPI's `readOnly` rule: server-managed fields are required in responses, not in requests,
  and values sent for them are accepted (the server keeps its own);
- every error is reported, not just the first, as a `FieldError` with a location and a dotted field path.

The limits are stated in the contract's description (see NOTES.md, "Limits").
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncGenerator, Iterator
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.uri_parsing import AbstractURIParser
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend
from starlette.datastructures import Headers
from starlette.types import Receive, Scope

from mockserver.errors import BadRequestProblem, FieldError

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
    return f"{base}.{name}" if base else name


def describe(error: ValidationError, location: str = "body", prefix: str = "") -> list[FieldError]:
    """One ValidationError as FieldErrors whose field is the property at fault."""
    base = _join(prefix, field_path(error.absolute_path)) if prefix else field_path(error.absolute_path)
    if error.validator == "required":
        name = error.message.split("'")[1] if "'" in error.message else ""
        return [FieldError(location, _join(base, name), "is required")]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        return [FieldError(location, _join(base, str(k)), "is not a field of this schema") for k in extra]
    if error.validator == "enum":
        options = error.validator_value
        shown = ", ".join(map(str, options[:60])) + (", ..." if len(options) > 60 else "")
        return [FieldError(location, base, f"{error.instance!r} is not one of: {shown}")]
    return [FieldError(location, base, error.message)]


_VALIDATORS: dict[tuple[Any, int], Any] = {}


def validator_for(validator_cls: Any, schema: dict[str, Any]) -> Any:
    """One validator per schema object: building one costs more than most validations."""
    key = (validator_cls, id(schema))
    found = _VALIDATORS.get(key)
    if found is None or found.schema is not schema:
        found = _VALIDATORS[key] = validator_cls(schema, format_checker=FORMATS)
    return found


def schema_errors(
    validator_cls: Any, schema: dict[str, Any], instance: Any, location: str = "body", prefix: str = ""
) -> list[FieldError]:
    validator = validator_for(validator_cls, schema)
    if validator.is_valid(instance):
        return []
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    found: list[FieldError] = []
    for error in errors[:MAX_ERRORS]:
        found.extend(describe(error, location, prefix))
    return found


# -- strict JSON ------------------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is too large")
    return value


def parse_json(data: bytes, encoding: str = "utf-8") -> Any:
    """Parse a request body under the documented limits; raises BadRequestProblem naming what is wrong."""
    if len(data) > MAX_BODY_BYTES:
        raise _body_error(f"is {len(data)} bytes; the limit is {MAX_BODY_BYTES} bytes (1 MiB)")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise _body_error(f"is not valid {encoding} text ({exc.reason if hasattr(exc, 'reason') else exc})") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise _body_error(f"nests deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise _body_error(f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # NaN/Infinity, huge floats, integers over Python's digit limit
        raise _body_error(f"is not valid JSON: {exc}") from None
    _check_shape(value)
    return value


def _check_shape(value: Any) -> None:
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, (dict, list)) and depth > MAX_DEPTH:
            raise _body_error(f"nests deeper than {MAX_DEPTH} levels (at {path or 'the top'})")
        if isinstance(node, dict):
            for key, child in node.items():
                if len(key) > MAX_STRING:
                    raise _body_error(f"has a field name longer than {MAX_STRING} characters")
                stack.append((child, depth + 1, _join(path, key)))
        elif isinstance(node, list):
            stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(node))
        elif isinstance(node, str) and len(node) > MAX_STRING:
            raise BadRequestProblem.from_errors(
                "Invalid request body", [FieldError("body", path, f"is longer than {MAX_STRING} characters")]
            )


def _body_error(message: str) -> BadRequestProblem:
    return BadRequestProblem.from_errors("Invalid request body", [FieldError("body", "", message)])


# -- connexion validators ------------------------------------------------------------------------------------


class BodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """Connexion's JSON body validator with strict parsing, readOnly-aware `required` and all errors reported."""

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise _body_error(f"is {length} bytes; the limit is {MAX_BODY_BYTES} bytes (1 MiB)")
        if self._required and length in (None, "0") and "transfer-encoding" not in headers:
            raise _body_error("is required and was empty")
        if "content-type" not in headers and length not in (None, "0"):
            raise BadRequestProblem.from_errors(
                "Missing Content-Type",
                [FieldError("header", "Content-Type", "is required with a body: send application/json")],
            )
        return await super().wrap_receive(receive, scope=scope)  # type: ignore[no-any-return]

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        chunks, size = [], 0
        async for chunk in stream:
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _body_error(f"is over {MAX_BODY_BYTES} bytes (1 MiB)")
            chunks.append(chunk)
        data = b"".join(chunks)
        if not data.strip():
            return None
        return parse_json(data, self._encoding)

    def _validate(self, body: Any) -> None:
        if body is None:
            if self._required:
                raise _body_error("is required and was empty")
            return
        errors = schema_errors(WriteValidator, self._schema, body)
        if errors:
            raise BadRequestProblem.from_errors("Invalid request body", errors)


class ParamValidator(ParameterValidator):  # type: ignore[misc]
    """Connexion's parameter validator, reporting every bad or unknown parameter by name."""

    def __init__(self, parameters: list[dict[str, Any]], uri_parser: AbstractURIParser, **kwargs: Any):
        super().__init__(parameters, uri_parser, **kwargs)

    def validate_request(self, request: Any) -> None:
        errors: list[FieldError] = []
        if self.strict_validation:
            for name in sorted(self.validate_query_parameter_list(request, self.security_query_params)):
                errors.append(FieldError("query", name, "is not a parameter of this operation"))
        sources = {
            "query": request.query_params,
            "path": request.path_params,
            "header": request.headers,
        }
        for location, values in sources.items():
            for param in self.parameters.get(location, []):
                name = param["name"]
                value = values.get(name)
                if value is None:
                    if param.get("required"):
                        errors.append(FieldError(location, name, "is required"))
                    continue
                validator = validator_for(Draft4Validator, param.get("schema", {}))
                if validator.is_valid(value):
                    continue
                for error in validator.iter_errors(value):
                    errors.extend(FieldError(location, name, e.message) for e in describe(error, location))
        if errors:
            raise BadRequestProblem.from_errors("Invalid request parameters", errors)


VALIDATOR_MAP = {"parameter": ParamValidator, "body": MediaTypeDict({"*/*json": BodyValidator})}
