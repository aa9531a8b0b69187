"""What the mock knows about the API, derived from the contract alone.

Nothing here names a resource: adding one to `collect.yaml` (a create path `POST /{collection}/{tenantId}` whose
body is its record schema, plus the usual item, search, batch and lookup paths) is enough for the mock to serve it.

Operation kinds follow from the shape of the path, as connexion's RestyResolver does:

    POST   /{c}/warmUpStepFunctions        warm_up
    POST   /{c}/{tenantId}                 create      GET /{c}/{tenantId}        list
    POST   /{c}/{tenantId}/search          search      POST /{c}/{tenantId}/batch batch
    GET    /{c}/{tenantId}/{id}            get         PUT replace, PATCH patch, DELETE delete
    GET    /{c}/{tenantId}/word/{p}[/...]  lookup      (the 200 body is a page: Count/Items)
    anything else                          custom      (a handler in mockserver/handlers/)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

try:  # the C loader reads the contract about ten times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

METHODS = ("get", "put", "post", "patch", "delete")
TENANT = "{tenantId}"


def load_spec(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        spec: dict[str, Any] = yaml.load(fh, Loader=_Loader)
    return spec


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


class Resolver:
    """Follows local `$ref`s; `inline` returns a copy with every reference replaced by its target."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec

    def deref(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def inline(self, node: Any) -> Any:
        node = self.deref(node)
        if isinstance(node, dict):
            return {k: self.inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.inline(v) for v in node]
        return node

    @staticmethod
    def ref_name(node: Any) -> str | None:
        if isinstance(node, dict) and "$ref" in node:
            return str(node["$ref"]).rsplit("/", 1)[1]
        return None


@dataclass(frozen=True)
class Filter:
    """One search filter: `equals` a scalar, `any_of` a list, or an inclusive 2-item `range`."""

    name: str
    match: str
    numeric: bool = False  # compare as numbers (the batch search sends numbers as strings)


@dataclass(frozen=True)
class Reference:
    """A field whose value(s) must name an existing record of `collection` in the same tenant."""

    field: str
    collection: str
    many: bool = False


@dataclass
class Resource:
    collection: str
    schema_name: str
    schema: dict[str, Any]  # the record schema with every $ref inlined
    noun: str
    workflow: bool = False  # create answers with an execution token instead of the record
    references: list[Reference] = field(default_factory=list)
    conditional_required: list[dict[str, Any]] = field(default_factory=list)
    filters: dict[str, Filter] = field(default_factory=dict)
    summary_fields: tuple[str, ...] = ()
    lookups: list[tuple[str, ...]] = field(default_factory=list)  # indexed field tuples

    @cached_property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.schema["properties"])

    @cached_property
    def read_only(self) -> frozenset[str]:
        return frozenset(k for k, v in self.schema["properties"].items() if v.get("readOnly"))

    @cached_property
    def field_types(self) -> dict[str, str]:
        return {k: str(v.get("type", "")) for k, v in self.schema["properties"].items()}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    kind: str
    resource: Resource | None = None
    # For lookups: (path parameter, record field) pairs, in path order.
    lookup: tuple[tuple[str, str], ...] = ()


class Contract:
    """The contract, and the resources and operations derived from it."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.refs = Resolver(spec)
        self.resources: dict[str, Resource] = {}
        self.operations: dict[str, Operation] = {}
        self._derive()

    @classmethod
    def from_path(cls, path: Path) -> Contract:
        return cls(load_spec(path))

    def resource_for_schema(self, schema_name: str) -> Resource:
        for resource in self.resources.values():
            if resource.schema_name == schema_name:
                return resource
        raise KeyError(schema_name)

    def _operations(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for path, item in self.spec["paths"].items():
            for method in METHODS:
                if method in item:
                    yield path, method, item[method]

    def _derive(self) -> None:
        # Resources first: each create path's request body names a record schema.
        for path, method, op in self._operations():
            segments = path.strip("/").split("/")
            if method == "post" and segments[1:] == [TENANT]:
                self._add_resource(segments[0], op)
        for resource in self.resources.values():
            resource.references = list(self._references(resource.schema_name))
        for path, method, op in self._operations():
            operation = self._classify(path, method, op)
            self.operations[operation.operation_id] = operation
            if operation.kind == "search" and operation.resource:
                self._add_search(operation.resource, op)
            if operation.kind == "lookup" and operation.resource:
                operation.resource.lookups.append(tuple(f for _, f in operation.lookup))

    def _add_resource(self, collection: str, create_op: dict[str, Any]) -> None:
        body = create_op["requestBody"]["content"]["application/json"]["schema"]
        name = self.refs.ref_name(body)
        assert name, f"create {collection} must reference a named schema"
        schema = self.refs.inline(body)
        ok = create_op["responses"]["200"]["content"]["application/json"]["schema"]
        self.resources[collection] = Resource(
            collection=collection,
            schema_name=name,
            schema=schema,
            noun=str(schema.get("title", name)).lower(),
            workflow=self.refs.ref_name(ok) != name,
            conditional_required=list(schema.get("x-conditional-required", [])),
        )

    def _references(self, schema_name: str) -> Iterator[Reference]:
        raw = self.refs.deref({"$ref": f"#/components/schemas/{schema_name}"})
        for name, prop in raw["properties"].items():
            prop = self.refs.deref(prop)
            target, many = prop.get("x-references"), False
            if target is None and prop.get("type") == "array":
                target, many = self.refs.deref(prop.get("items", {})).get("x-references"), True
            if target:
                yield Reference(name, self.resource_for_schema(target).collection, many)

    def _classify(self, path: str, method: str, op: dict[str, Any]) -> Operation:
        segments = path.strip("/").split("/")
        resource = self.resources.get(segments[0])
        rest = segments[2:] if segments[1:2] == [TENANT] else None
        op_id = op["operationId"]

        def make(kind: str, lookup: tuple[tuple[str, str], ...] = ()) -> Operation:
            return Operation(op_id, method, path, kind, resource, lookup)

        if resource is None:
            return make("custom")
        if segments[1:] == ["warmUpStepFunctions"] and method == "post":
            return make("warm_up")
        if rest == []:
            return make({"post": "create", "get": "list"}.get(method, "custom"))
        if rest == ["{id}"]:
            return make({"get": "get", "put": "replace", "patch": "patch", "delete": "delete"}[method])
        if rest in (["search"], ["batch"]) and method == "post":
            return make(rest[0])
        if rest and method == "get" and all(s.startswith("{") for s in rest[1:]) and self._returns_page(op):
            params = {p["name"]: p for p in (self.refs.deref(p) for p in op.get("parameters", []))}
            pairs = []
            for segment in rest[1:]:
                name = segment.strip("{}")
                pairs.append((name, params[name].get("x-record-field", snake_case(name))))
            return make("lookup", tuple(pairs))
        return make("custom")

    def _returns_page(self, op: dict[str, Any]) -> bool:
        schema = self.refs.deref(op["responses"]["200"]["content"]["application/json"]["schema"])
        return {"Count", "Items"} <= set(schema.get("properties", {}))

    def _add_search(self, resource: Resource, op: dict[str, Any]) -> None:
        body = self.refs.inline(op["requestBody"]["content"]["application/json"]["schema"])
        for name, prop in body["properties"].items():
            if prop.get("type") == "array":
                items = prop.get("items", {})
                is_range = prop.get("minItems") == prop.get("maxItems") == 2
                numeric = items.get("type") in ("number", "integer") or "pattern" in items
                resource.filters[name] = Filter(name, "range" if is_range else "any_of", numeric and is_range)
            else:
                resource.filters[name] = Filter(name, "equals", prop.get("type") in ("number", "integer"))
        results = self.refs.inline(op["responses"]["200"]["content"]["application/json"]["schema"])
        resource.summary_fields = tuple(results["properties"]["Items"]["items"].get("properties", {}))
