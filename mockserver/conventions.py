"""Whether a contract follows the conventions the mock derives its behaviour from, checked before it is served.

`collect-mock serve --spec PATH` serves any OpenAPI 3.0 description that follows the conventions written down in
docs/architecture.md ("Conventions a contract must follow"): the mock has no code per resource, so a contract
that strays from them would fail later, at start with a KeyError or at the first request with a 500. `load`
reads a contract and returns it as a `Contract`, or raises `ContractError` listing every convention it breaks,
each with the operation or schema it concerns.

The check runs in two steps: first what `Contract` needs to derive resources and operations at all (on the
raw document), then what the derived operations need to be served (on the `Contract`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mockserver.contract import METHODS, TENANT, Contract, Operation, Resolver, load_spec
from mockserver.paging import PARAM as START_KEY

GUIDE = 'docs/architecture.md, "Conventions a contract must follow"'
AUTH = {("http", "bearer"), ("apiKey", "header")}


@dataclass(frozen=True)
class Violation:
    """One convention a contract breaks: where (an operation or a schema) and what is wrong."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


class ContractError(ValueError):
    """A contract the mock cannot serve; the message names the file and every convention it breaks."""

    def __init__(self, path: Path, violations: list[Violation] | str):
        self.path = path
        self.violations = [Violation("file", violations)] if isinstance(violations, str) else violations
        lines = "\n".join(f"  - {v}" for v in self.violations)
        super().__init__(f"the contract {path} cannot be served as it is (see {GUIDE}):\n{lines}")


def load(path: Path) -> Contract:
    """The contract at `path`, checked: valid OpenAPI 3.0 and following the mock's conventions."""
    spec = read(path)
    violations = check_openapi(spec) or check_document(spec)
    if violations:
        raise ContractError(path, violations)
    contract = Contract(spec)  # safe now: the document has what the derivation reads
    violations = check_contract(contract)
    if violations:
        raise ContractError(path, violations)
    return contract


def read(path: Path) -> dict[str, Any]:
    try:
        spec = load_spec(path)
    except FileNotFoundError:
        raise ContractError(path, "no such file") from None
    except IsADirectoryError:
        raise ContractError(path, "a folder, not a file") from None
    except OSError as exc:
        raise ContractError(path, f"cannot be read: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ContractError(path, f"not YAML or JSON: {' '.join(str(exc).split())}") from None
    if not isinstance(spec, dict):
        raise ContractError(path, "not an OpenAPI description (the document is not a mapping)")
    return spec


def check_openapi(spec: dict[str, Any]) -> list[Violation]:
    """OpenAPI 3.0.x, valid by openapi-spec-validator: the mock reads 3.0 semantics (nullable, readOnly)."""
    version = str(spec.get("openapi", ""))
    if not version.startswith("3.0."):
        shown = f"is {version}" if version else "is missing"
        return [Violation("openapi", f"{shown}; the mock serves OpenAPI 3.0.x descriptions")]
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        validate(spec)
    except OpenAPIValidationError as exc:
        where = "/".join(str(part) for part in exc.path) or "the document"
        return [Violation(where, f"not valid OpenAPI 3.0: {str(exc.message).splitlines()[0]}")]
    return []


def check_document(spec: dict[str, Any]) -> list[Violation]:
    """What `Contract` needs to derive resources and operations from the raw document."""
    return [*_operation_ids(spec), *_resources(spec), *_item_paths(spec), *_pages(spec), *_security(spec)]


def check_contract(contract: Contract) -> list[Violation]:
    """What the derived resources and operations need to be served by the generic engine or a handler."""
    from mockserver import handlers

    registered = handlers.load()
    violations = []
    if not contract.resources:
        violations.append(Violation("paths", f"no resource: a resource is a create path POST /{{collection}}/{TENANT}"))
    for operation in contract.operations.values():
        where = f"{operation.method.upper()} {operation.path} ({operation.operation_id})"
        if operation.operation_id in registered:
            continue
        if operation.kind == "custom":
            violations.append(Violation(where, _custom_hint(operation.path)))
        if operation.kind in ("list", "lookup", "search") and START_KEY not in _query_names(contract, operation):
            violations.append(
                Violation(where, f"no '{START_KEY}' query parameter: the mock pages every list and resumes with it")
            )
        if operation.kind == "lookup" and operation.resource is not None:
            for param, field in operation.lookup:
                if field not in operation.resource.fields:
                    violations.append(
                        Violation(
                            where,
                            f"path parameter '{param}' matches field '{field}', which {operation.resource.schema_name} "
                            "lacks (name the field with x-record-field)",
                        )
                    )
    return violations


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in (spec.get("paths") or {}).items():
        for method in METHODS:
            if isinstance(item, dict) and isinstance(item.get(method), dict):
                yield path, method, item[method]


def _where(path: str, method: str, op: dict[str, Any]) -> str:
    op_id = op.get("operationId")
    return f"{method.upper()} {path}" + (f" ({op_id})" if op_id else "")


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/")


def _operation_ids(spec: dict[str, Any]) -> Iterator[Violation]:
    seen: dict[str, str] = {}
    for path, method, op in _operations(spec):
        op_id = op.get("operationId")
        if not op_id:
            yield Violation(_where(path, method, op), "no operationId: operations are bound to behaviour by it")
        elif op_id in seen:
            yield Violation(_where(path, method, op), f"operationId also used by {seen[op_id]}")
        else:
            seen[op_id] = f"{method.upper()} {path}"


def _json_schema(refs: Resolver, node: Any) -> Any:
    """The application/json schema of a request body or response, or None."""
    media = refs.deref(node or {}).get("content", {}).get("application/json")
    return media.get("schema") if isinstance(media, dict) else None


def _resources(spec: dict[str, Any]) -> Iterator[Violation]:
    """Each create path names a record schema that has a server-generated id and answers 200 with JSON."""
    refs = Resolver(spec)
    schemas = spec.get("components", {}).get("schemas", {})
    records = set()
    for path, method, op in _operations(spec):
        if method != "post" or _segments(path)[1:] != [TENANT]:
            continue
        where = _where(path, method, op)
        body = _json_schema(refs, op.get("requestBody"))
        name = Resolver.ref_name(body)
        if name is None or name not in schemas:
            yield Violation(where, "the request body must be application/json with a $ref to the record's schema")
            continue
        records.add(name)
        record = refs.deref(schemas[name])
        properties = record.get("properties") if isinstance(record, dict) else None
        if not isinstance(properties, dict):
            yield Violation(f"schema {name}", "a record schema must list its fields under properties")
            continue
        record_id = refs.deref(properties.get("id", {}))
        if record_id.get("type") != "string" or not record_id.get("readOnly"):
            yield Violation(f"schema {name}", "needs an 'id' property of type string, readOnly (the server makes ids)")
        if _json_schema(refs, op.get("responses", {}).get("200")) is None:
            yield Violation(where, "needs a 200 response with an application/json body")
    yield from _references(spec, refs, records)


def _references(spec: dict[str, Any], refs: Resolver, records: set[str]) -> Iterator[Violation]:
    """x-references name a record schema; x-conditional-required is a list of {if: {...}, then: [...]}."""
    for name in sorted(records):
        properties = refs.deref(spec["components"]["schemas"][name]).get("properties", {})
        for field, prop in properties.items():
            prop = refs.deref(prop)
            target = prop.get("x-references")
            if target is None and prop.get("type") == "array":
                target = refs.deref(prop.get("items", {})).get("x-references")
            if target is not None and target not in records:
                yield Violation(
                    f"schema {name}, property {field}",
                    f"x-references {target!r} is not the record schema of a create path "
                    f"(records: {', '.join(sorted(records))})",
                )
        rules = refs.deref(spec["components"]["schemas"][name]).get("x-conditional-required", [])
        if not isinstance(rules, list) or not all(
            isinstance(r, dict) and isinstance(r.get("if"), dict) and isinstance(r.get("then"), list) for r in rules
        ):
            yield Violation(
                f"schema {name}", "x-conditional-required must be a list of {if: {field: value}, then: [field]}"
            )


def _item_paths(spec: dict[str, Any]) -> Iterator[Violation]:
    """`/{collection}/{tenantId}/{id}` takes GET, PUT, PATCH and DELETE only."""
    for path, method, op in _operations(spec):
        if _segments(path)[1:] == [TENANT, "{id}"] and method not in ("get", "put", "patch", "delete"):
            yield Violation(_where(path, method, op), "an item path takes GET, PUT, PATCH or DELETE only")


def _pages(spec: dict[str, Any]) -> Iterator[Violation]:
    """Searches take an object body and answer {Items: [...]}, batches take {operations: [...]}, GETs below a
    collection answer JSON."""
    refs = Resolver(spec)
    for path, method, op in _operations(spec):
        segments = _segments(path)
        if segments[1:2] != [TENANT] or len(segments) < 3:
            continue
        where = _where(path, method, op)
        if method == "post" and segments[2:] == ["search"]:
            body = refs.inline(_json_schema(refs, op.get("requestBody")) or {})
            if not isinstance(body.get("properties"), dict):
                yield Violation(where, "a search body must be an application/json object schema with properties")
            results = refs.inline(_json_schema(refs, op.get("responses", {}).get("200")) or {})
            items = results.get("properties", {}).get("Items", {})
            if not isinstance(items, dict) or "items" not in items:
                yield Violation(
                    where, "a search must answer 200 with an application/json object whose Items is an array"
                )
        if method == "post" and segments[2:] == ["batch"]:
            body = refs.inline(_json_schema(refs, op.get("requestBody")) or {})
            if body.get("properties", {}).get("operations", {}).get("type") != "array":
                yield Violation(where, "a batch body must be an application/json object with an operations array")
        if method == "get" and segments[2:] != ["{id}"] and all(s.startswith("{") for s in segments[3:]):
            if _json_schema(refs, op.get("responses", {}).get("200")) is None:
                yield Violation(where, "needs a 200 response with an application/json body")
            declared = {refs.deref(p).get("name") for p in op.get("parameters", [])}
            missing = [s.strip("{}") for s in segments[3:] if s.strip("{}") not in declared]
            if missing:
                yield Violation(where, f"declare the path parameter(s) {', '.join(missing)} on the operation itself")


def _security(spec: dict[str, Any]) -> Iterator[Violation]:
    """The mock checks tokens for `http` bearer and `apiKey` in a header (both read Authorization)."""
    schemes = spec.get("components", {}).get("securitySchemes", {})
    for name, scheme in schemes.items():
        scheme = Resolver(spec).deref(scheme)
        kind = (scheme.get("type"), str(scheme.get("scheme", scheme.get("in", ""))).lower())
        if kind not in AUTH:
            yield Violation(
                f"security scheme {name}",
                f"type {kind[0]} ({kind[1]}) is not one the mock checks: http bearer, or apiKey in a header",
            )


def _query_names(contract: Contract, operation: Operation) -> set[str]:
    """The query parameters of an operation, its path item's included."""
    item = contract.spec["paths"][operation.path]
    parameters = [*item.get("parameters", []), *item[operation.method].get("parameters", [])]
    return {p.get("name") for p in map(contract.refs.deref, parameters) if p.get("in") == "query"}


def _custom_hint(path: str) -> str:
    segments = _segments(path)
    if segments[1:2] == [TENANT] and len(segments) == 3 and segments[2].startswith("{"):
        return f"an item path's parameter must be named {{id}} (not {segments[2]})"
    return (
        "not a path shape the mock derives behaviour from (create, list, get, replace, patch, delete, search, "
        "batch, lookup, warm-up) and no handler in mockserver/handlers/ for its operationId"
    )
