"""Whether a document has the structure `collect_contract.model` reads: checked before it is read, so that a
contract that strays is refused with every break named, rather than failing later with a KeyError.

The conventions are written down in docs/architecture.md ("Conventions a contract must follow"). This module
checks those of structure (operation ids, resources and their record schemas, references, item paths, search and
batch bodies, lookups); `mockserver/conventions.py` adds what the mock needs to serve (credentials it can check,
paging parameters, a handler for every operation of no known shape).

The check runs in two steps: `check_document` on the raw document (what the model needs to be derived at all),
then `check_model` on the derived `Contract`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collect_contract.document import TENANT, Refs, json_schema, load_spec, operations_of, reference_of
from collect_contract.model import Contract
from collect_contract.paths import Shape, is_parameter, segments, shape_of

ITEM_METHODS = ("get", "put", "patch", "delete")
GUIDE = 'docs/architecture.md, "Conventions a contract must follow"'


@dataclass(frozen=True)
class Violation:
    """One convention a contract breaks: where (an operation or a schema) and what is wrong."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


class StructureError(ValueError):
    """A document the model cannot read; `violations` names every break."""

    def __init__(self, path: Path, violations: list[Violation]):
        self.path, self.violations = path, violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(f"the contract {path} does not have the structure it is read with (see {GUIDE}):\n{lines}")


def load_checked(path: Path) -> Contract:
    """The contract at `path`, checked first: valid OpenAPI 3.0 with the structure the model reads. Raises
    StructureError naming every break, OSError or yaml.YAMLError for a file that cannot be read as YAML."""
    spec = load_spec(path)
    if not isinstance(spec, dict):
        raise StructureError(path, [Violation("file", "not an OpenAPI description (the document is not a mapping)")])
    violations = check_openapi(spec) or check_document(spec)
    if violations:
        raise StructureError(path, violations)
    contract = Contract(spec)
    violations = check_model(contract)
    if violations:
        raise StructureError(path, violations)
    return contract


def check_openapi(spec: dict[str, Any]) -> list[Violation]:
    """OpenAPI 3.0.x, valid by openapi-spec-validator: the model reads 3.0 semantics (nullable, readOnly)."""
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
    refs = Refs(spec)
    return [*_operation_ids(spec), *_resources(spec, refs), *_item_paths(spec), *_pages(spec, refs)]


def check_model(contract: Contract) -> list[Violation]:
    """What the derived resources and lookups need: at least one resource, and a field for every lookup key."""
    violations = []
    if not contract.resources:
        violations.append(Violation("paths", f"no resource: a resource is a create path POST /{{collection}}/{TENANT}"))
    for operation in contract.operations.values():
        if operation.resource is None:
            continue
        for param, field in operation.lookup:
            if field not in operation.resource.fields:
                violations.append(
                    Violation(
                        where(operation.path, operation.method, operation.raw),
                        f"path parameter '{param}' matches field '{field}', which {operation.resource.schema_name} "
                        "lacks (name the field with x-record-field)",
                    )
                )
    return violations


def where(path: str, method: str, op: dict[str, Any]) -> str:
    """How a violation names an operation: `POST /widgets/{tenantId} (createWidget)`."""
    op_id = op.get("operationId")
    return f"{method.upper()} {path}" + (f" ({op_id})" if op_id else "")


def _operation_ids(spec: dict[str, Any]) -> Iterator[Violation]:
    seen: dict[str, str] = {}
    for path, method, op, _ in operations_of(spec):
        op_id = op.get("operationId")
        if not op_id:
            yield Violation(where(path, method, op), "no operationId: operations are bound to behaviour by it")
        elif op_id in seen:
            yield Violation(where(path, method, op), f"operationId also used by {seen[op_id]}")
        else:
            seen[op_id] = f"{method.upper()} {path}"


def _resources(spec: dict[str, Any], refs: Refs) -> Iterator[Violation]:
    """Each create path names a record schema that has a server-generated id and answers 200 with JSON."""
    schemas = spec.get("components", {}).get("schemas", {})
    records = set()
    for path, method, op, _ in operations_of(spec):
        if method != "post" or shape_of(path) is not Shape.COLLECTION:
            continue
        at = where(path, method, op)
        body = json_schema(refs, op.get("requestBody"))
        name = Refs.ref_name(body)
        if name is None or name not in schemas:
            yield Violation(at, "the request body must be application/json with a $ref to the record's schema")
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
        if json_schema(refs, op.get("responses", {}).get("200")) is None:
            yield Violation(at, "needs a 200 response with an application/json body")
    yield from _references(spec, refs, records)


def _references(spec: dict[str, Any], refs: Refs, records: set[str]) -> Iterator[Violation]:
    """x-references name a record schema; x-conditional-required is a list of {if: {...}, then: [...]}."""
    for name in sorted(records):
        properties = refs.deref(spec["components"]["schemas"][name]).get("properties", {})
        for field, prop in properties.items():
            found = reference_of(refs, prop)
            if found is not None and found[0] not in records:
                yield Violation(
                    f"schema {name}, property {field}",
                    f"x-references {found[0]!r} is not the record schema of a create path "
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
    for path, method, op, _ in operations_of(spec):
        if shape_of(path) is Shape.ITEM and method not in ITEM_METHODS:
            yield Violation(where(path, method, op), "an item path takes GET, PUT, PATCH or DELETE only")


def _pages(spec: dict[str, Any], refs: Refs) -> Iterator[Violation]:
    """Searches take an object body and answer {Items: [...]}, batches take {operations: [...]}, GETs below a
    collection answer JSON and declare their path parameters on the operation (a lookup's keys)."""
    for path, method, op, _ in operations_of(spec):
        shape = shape_of(path)
        at = where(path, method, op)
        if method == "post" and shape is Shape.SEARCH:
            body = refs.inline(json_schema(refs, op.get("requestBody")) or {})
            if not isinstance(body.get("properties"), dict):
                yield Violation(at, "a search body must be an application/json object schema with properties")
            results = refs.inline(json_schema(refs, op.get("responses", {}).get("200")) or {})
            items = results.get("properties", {}).get("Items", {})
            if not isinstance(items, dict) or "items" not in items:
                yield Violation(at, "a search must answer 200 with an application/json object whose Items is an array")
        if method == "post" and shape is Shape.BATCH:
            body = refs.inline(json_schema(refs, op.get("requestBody")) or {})
            if body.get("properties", {}).get("operations", {}).get("type") != "array":
                yield Violation(at, "a batch body must be an application/json object with an operations array")
        if method == "get" and shape in (Shape.WORDS, Shape.SEARCH, Shape.BATCH):
            if json_schema(refs, op.get("responses", {}).get("200")) is None:
                yield Violation(at, "needs a 200 response with an application/json body")
            declared = {refs.deref(p).get("name") for p in op.get("parameters", [])}
            keys = [s.strip("{}") for s in segments(path)[3:]]
            missing = [key for key in keys if key not in declared]
            if missing:
                yield Violation(at, f"declare the path parameter(s) {', '.join(missing)} on the operation itself")


def item_parameter_hint(path: str) -> str | None:
    """For an item path whose parameter is not named `{id}`: what to rename (None for any other path)."""
    parts = segments(path)
    if parts[1:2] == [TENANT] and len(parts) == 3 and is_parameter(parts[2]):
        return f"an item path's parameter must be named {{id}} (not {parts[2]})"
    return None
