"""What the suite knows about the API, read from the contract alone (never from an implementation).

Operations are classified by the shape of their path, as the contract lays them out:

    POST   /{c}/warmUpStepFunctions     warm_up        POST /{c}/{tenantId}/search    search
    POST   /{c}/{tenantId}              create         POST /{c}/{tenantId}/batch     batch
    GET    /{c}/{tenantId}              list           GET  /{c}/{tenantId}/{id}      get (PUT replace, ...)
    GET    /{c}/{tenantId}/word/{p}...  lookup         (answers a Count/Items page)
    anything else                       custom         (dependents, invoice adjustment)

A resource is the collection of a create path; its record schema is the create body's schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker

try:  # the C loader reads the 8,000-line contract ten times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

METHODS = ("get", "put", "post", "patch", "delete")
TENANT = "{tenantId}"
ID_PATTERN = re.compile(r"^[\w|-]+$", re.ASCII)


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


@dataclass(frozen=True)
class Filter:
    """A search filter: `equals` a scalar, `any_of` a list, or an inclusive 2-item `range`."""

    name: str
    match: str
    schema: dict[str, Any]  # the schema of one value (the item schema for lists and ranges)


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


@dataclass
class Operation:
    operation_id: str
    method: str
    path: str
    kind: str
    raw: dict[str, Any] = field(repr=False)
    parameters: dict[str, dict[str, Any]] = field(repr=False)
    resource: str | None = None
    lookup: tuple[tuple[str, str], ...] = ()  # (path parameter, record field) pairs of a lookup

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def is_safe(self) -> bool:
        return self.method == "get"

    @property
    def statuses(self) -> list[str]:
        return list(self.raw["responses"])

    def media_types(self, status: int) -> list[str] | None:
        """The media types documented for `status`, [] when it has no body, None when it is undocumented."""
        response = self.raw["responses"].get(str(status))
        return None if response is None else list(response.get("content") or {})

    def response_schema(self, status: int, media_type: str) -> dict[str, Any] | None:
        response = self.raw["responses"].get(str(status)) or {}
        return ((response.get("content") or {}).get(media_type) or {}).get("schema")

    def query_names(self) -> set[str]:
        return {name for name, p in self.parameters.items() if p["in"] == "query"}

    def url(self, **params: Any) -> str:
        """The path with its parameters filled in (each percent-encoded as one segment)."""
        return re.sub(r"\{(\w+)\}", lambda m: quote(str(params[m.group(1)]), safe=""), self.path)


@dataclass
class Resource:
    name: str  # the collection: the first path segment, e.g. "writeOffs"
    schema_name: str
    schema: dict[str, Any] = field(repr=False)  # the record schema as written (with $refs)
    workflow: bool = False  # create answers with an execution token
    operations: dict[str, Operation] = field(default_factory=dict, repr=False)
    lookups: list[Operation] = field(default_factory=list, repr=False)
    customs: list[Operation] = field(default_factory=list, repr=False)
    references: dict[str, tuple[str, bool]] = field(default_factory=dict)  # field -> (schema name, many)
    referenced_by: list[tuple[str, str, bool]] = field(default_factory=list)  # (collection, field, many)
    filters: dict[str, Filter] = field(default_factory=dict, repr=False)
    summary_fields: tuple[str, ...] = ()
    create_example: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.schema["properties"])

    @cached_property
    def read_only(self) -> frozenset[str]:
        return frozenset(k for k, v in self.schema["properties"].items() if v.get("readOnly"))

    @cached_property
    def server_set(self) -> frozenset[str]:
        """Fields the server sets whatever a body sends: the readOnly ones, and a workflow-backed record's
        `workflow_execution_id` (its create's executionArn, NOTES.md Responses)."""
        extra = {"workflow_execution_id"} if self.workflow and "workflow_execution_id" in self.fields else set()
        return self.read_only | extra

    @property
    def all_operations(self) -> list[Operation]:
        return [*self.operations.values(), *self.lookups, *self.customs]


class Contract:
    """The contract, its resources and operations, and validators for its schemas."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.operations: dict[str, Operation] = {}
        self.resources: dict[str, Resource] = {}
        self._validators: dict[Any, Any] = {}
        self._routes: list[tuple[re.Pattern[str], Operation]] = []
        self._derive()

    @classmethod
    def from_path(cls, path: Path) -> Contract:
        with Path(path).open(encoding="utf-8") as fh:
            return cls(yaml.load(fh, Loader=_Loader))

    # -- lookups ------------------------------------------------------------------------------------------------

    def deref(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def resource_of_schema(self, schema_name: str) -> Resource:
        return next(r for r in self.resources.values() if r.schema_name == schema_name)

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation serving `METHOD path`, and its path parameters (static segments win, as in routing)."""
        for pattern, operation in self._routes:
            found = pattern.match(path)
            if found and operation.method == method.lower():
                return operation, found.groupdict()
        return None

    def validator(self, schema: dict[str, Any]) -> Any:
        """A cached OpenAPI 3.0 response validator for `schema` (which may hold $refs into the contract)."""
        key = repr(schema)
        if key not in self._validators:
            self._validators[key] = OAS30ReadValidator({"components": self.spec["components"], **schema})
        return self._validators[key]

    def request_validator(self, schema: dict[str, Any]) -> Any:
        """A cached validator of request values for `schema`: readOnly properties are not needed, formats count."""
        key = ("request", repr(schema))
        if key not in self._validators:
            self._validators[key] = OAS30WriteValidator(
                {"components": self.spec["components"], **schema}, format_checker=oas30_format_checker
            )
        return self._validators[key]

    def request_schema(self, operation: Operation) -> dict[str, Any] | None:
        """The JSON schema of an operation's request body (None without one)."""
        content = (operation.raw.get("requestBody") or {}).get("content") or {}
        media = content.get("application/json") or {}
        return media.get("schema")

    def body_constraints(self, schema: dict[str, Any]) -> list[Constraint]:
        """Every constraint the contract states for a request body of `schema`, in schema order."""
        found: list[Constraint] = []
        self._visit(schema, "body", (), found, 0)
        return found

    def parameter_constraints(self, operation: Operation) -> list[Constraint]:
        """Every constraint the contract states for the operation's parameters that a URL can break (a URL
        carries text only, so `type: string` cannot be broken there), plus `required` for required queries."""
        found: list[Constraint] = []
        for name, parameter in operation.parameters.items():
            where = parameter["in"]
            if name == "tenantId" or where not in ("path", "query"):
                continue
            schema = self.deref(parameter.get("schema") or {})
            if where == "query" and parameter.get("required"):
                found.append(Constraint(where, (), "required", schema, name))
            self._visit(schema, where, (name,), found, 0)
        return [c for c in found if not (c.where != "body" and c.keyword == "type")]

    def _visit(self, schema: Any, where: str, path: ValuePath, found: list[Constraint], depth: int) -> None:
        schema = self.deref(schema)
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            return
        if "type" in schema and "enum" not in schema:
            found.append(Constraint(where, path, "type", schema))
        found += [Constraint(where, path, keyword, schema) for keyword in ASSERTED if keyword in schema]
        if schema.get("format") in BREAKABLE_FORMATS:
            found.append(Constraint(where, path, "format", schema))
        if schema.get("x-references"):
            found.append(Constraint(where, path, "x-references", schema, schema["x-references"]))
        properties = {n: p for n, p in (schema.get("properties") or {}).items() if not self.deref(p).get("readOnly")}
        for name in schema.get("required", []):
            if name in properties:
                found.append(Constraint(where, path, "required", schema, name))
        if schema.get("additionalProperties") is False:
            found.append(Constraint(where, path, "additionalProperties", schema))
        for rule in schema.get("x-conditional-required") or []:
            for name in rule.get("then", []):
                found.append(Constraint(where, path, "x-conditional-required", schema, (dict(rule["if"]), name)))
        for name, prop in properties.items():
            self._visit(prop, where, (*path, name), found, depth + 1)
        if schema.get("type") == "array" and "items" in schema:
            self._visit(schema["items"], where, (*path, 0), found, depth + 1)

    def property_schema(self, resource: Resource, name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{resource.schema_name}/properties/{name}"}

    def record_schema(self, resource: Resource) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{resource.schema_name}"}

    # -- derivation ---------------------------------------------------------------------------------------------

    def _walk(self) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
        return [
            (path, method, item[method], item)
            for path, item in self.spec["paths"].items()
            for method in METHODS
            if method in item
        ]

    def _derive(self) -> None:
        for path, method, op, _ in self._walk():
            segments = path.strip("/").split("/")
            if method == "post" and segments[1:] == [TENANT]:
                self._add_resource(segments[0], op)
        for resource in self.resources.values():
            for name, (schema_name, many) in resource.references.items():
                self.resource_of_schema(schema_name).referenced_by.append((resource.name, name, many))
        for path, method, op, item in self._walk():
            operation = self._classify(path, method, op, item)
            self.operations[operation.operation_id] = operation
            owner = self.resources.get(operation.resource or "")
            if owner is not None:
                self._attach(owner, operation, op)
        # Static segments before parameters, so that /batches/{t}/dependents is not read as /batches/{t}/{id}.
        ordered = sorted(self.operations.values(), key=lambda o: [s.startswith("{") for s in o.path.split("/")])
        for operation in ordered:
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(operation.path))
            self._routes.append((re.compile(f"^{pattern}$"), operation))

    def _attach(self, resource: Resource, operation: Operation, op: dict[str, Any]) -> None:
        if operation.kind == "lookup":
            resource.lookups.append(operation)
        elif operation.kind == "custom":
            resource.customs.append(operation)
        else:
            resource.operations[operation.kind] = operation
        if operation.kind == "search":
            self._add_search(resource, op)

    def _add_resource(self, collection: str, create: dict[str, Any]) -> None:
        content = create["requestBody"]["content"]["application/json"]
        name = str(content["schema"]["$ref"]).rsplit("/", 1)[1]
        schema = self.deref(content["schema"])
        ok = create["responses"]["200"]["content"]["application/json"]["schema"]
        examples = [self.deref(e).get("value") for e in (content.get("examples") or {}).values()]
        resource = Resource(collection, name, schema, workflow=not str(ok.get("$ref", "")).endswith("/" + name))
        resource.create_example = dict(examples[0]) if examples else {}
        for prop_name, prop in schema["properties"].items():
            prop = self.deref(prop)
            target, many = prop.get("x-references"), False
            if target is None and prop.get("type") == "array":
                target, many = self.deref(prop.get("items", {})).get("x-references"), True
            if target:
                resource.references[prop_name] = (target, many)
        self.resources[collection] = resource

    def _classify(self, path: str, method: str, op: dict[str, Any], item: dict[str, Any]) -> Operation:
        segments = path.strip("/").split("/")
        params = {
            p["name"]: p for p in (self.deref(p) for p in [*item.get("parameters", []), *op.get("parameters", [])])
        }
        collection = segments[0] if segments[0] in self.resources else None
        rest = segments[2:] if segments[1:2] == [TENANT] else None
        kind = "custom"
        lookup: tuple[tuple[str, str], ...] = ()
        if collection and segments[1:] == ["warmUpStepFunctions"]:
            kind = "warm_up"
        elif rest == []:
            kind = {"post": "create", "get": "list"}.get(method, "custom")
        elif rest == ["{id}"]:
            kind = {"get": "get", "put": "replace", "patch": "patch", "delete": "delete"}[method]
        elif rest in (["search"], ["batch"]) and method == "post":
            kind = rest[0]
        elif rest and method == "get" and all(s.startswith("{") for s in rest[1:]) and self._answers_page(op):
            kind = "lookup"
            names = [s.strip("{}") for s in rest[1:]]
            lookup = tuple((n, params[n].get("x-record-field", snake_case(n))) for n in names)
        return Operation(op["operationId"], method, path, kind, op, params, collection, lookup)

    def _answers_page(self, op: dict[str, Any]) -> bool:
        schema = self.deref(op["responses"]["200"]["content"]["application/json"]["schema"])
        return {"Count", "Items"} <= set(schema.get("properties", {}))

    def _add_search(self, resource: Resource, op: dict[str, Any]) -> None:
        body = self.deref(op["requestBody"]["content"]["application/json"]["schema"])
        for name, prop in body["properties"].items():
            prop = self.deref(prop)
            if prop.get("type") == "array":
                is_range = prop.get("minItems") == prop.get("maxItems") == 2
                resource.filters[name] = Filter(name, "range" if is_range else "any_of", self.deref(prop["items"]))
            else:
                resource.filters[name] = Filter(name, "equals", prop)
        results = self.deref(op["responses"]["200"]["content"]["application/json"]["schema"])
        hit = self.deref(self.deref(results["properties"]["Items"])["items"])
        resource.summary_fields = tuple(hit.get("properties", {}))
