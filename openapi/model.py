"""The contract's structure, read once: resources, their operations and kinds, references, search filters,
lookups and examples. The mock, the suite, the benchmark and the tests all read the contract through it.

It states what the contract says and holds no rule: what a server must do with a reference or a filter is
decided by the mock (`mockserver/`) and checked by the suite (`conformance/rules/`), each from the pages.

A resource is the collection of a create path `POST /{collection}/{tenantId}`, whose request body is a `$ref` to
its record schema. An operation's kind follows from its path's shape (`collect_contract.paths`) and method:

    POST   /{c}/warmUpStepFunctions        WARM_UP
    POST   /{c}/{tenantId}                 CREATE      GET  /{c}/{tenantId}          LIST
    POST   /{c}/{tenantId}/search          SEARCH      POST /{c}/{tenantId}/batch    BATCH
    GET    /{c}/{tenantId}/{id}            GET         PUT REPLACE, PATCH PATCH, DELETE DELETE
    GET    /{c}/{tenantId}/word/{p}[/...]  LOOKUP      (its 200 body is a page: Count and Items)
    anything else                          CUSTOM      (a handler in mockserver/handlers/)

The document must follow the conventions `collect_contract.structure` checks (the packaged one does, as the
tests prove): this module reads it without checking it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

from collect_contract.document import JSON, Refs, load_spec, operations_of, reference_of, snake_case
from collect_contract.paths import Router, Shape, segments, shape_of

Schema = dict[str, Any]


class Kind(StrEnum):
    """What an operation does, from the shape of its path (see the module docstring)."""

    CREATE = "create"
    LIST = "list"
    GET = "get"
    REPLACE = "replace"
    PATCH = "patch"
    DELETE = "delete"
    SEARCH = "search"
    BATCH = "batch"
    LOOKUP = "lookup"
    WARM_UP = "warm_up"
    CUSTOM = "custom"


ITEM_KINDS = {"get": Kind.GET, "put": Kind.REPLACE, "patch": Kind.PATCH, "delete": Kind.DELETE}
COLLECTION_KINDS = {"post": Kind.CREATE, "get": Kind.LIST}


class Match(StrEnum):
    """How a search filter matches, from its schema: a scalar is an equality, an array any of its values, an array
    of exactly two items an inclusive [min, max] range."""

    EQUALS = "equals"
    ANY_OF = "any_of"
    RANGE = "range"


@dataclass(frozen=True)
class Filter:
    """One property of a search body: its name, how it matches, and the schema of one value (the item schema for
    lists and ranges)."""

    name: str
    match: Match
    schema: Schema = field(repr=False, compare=False, hash=False)

    @property
    def numeric(self) -> bool:
        """Whether its values are numbers, or numbers written as strings (a pattern on a range's items: the batch
        search sends fiscal periods as strings)."""
        kind = self.schema.get("type")
        if self.match == Match.RANGE:
            return kind in ("number", "integer") or "pattern" in self.schema
        return self.match == Match.EQUALS and kind in ("number", "integer")


@dataclass(frozen=True)
class Reference:
    """`source.field` names records of `target` (whose record schema is `schema_name`) in the same tenant; `many`:
    the field is an array of such ids."""

    source: str
    field: str
    target: str
    schema_name: str
    many: bool = False


@dataclass(frozen=True)
class Requirement:
    """`x-conditional-required`: when every field of `when` has its value, the fields of `then` are required."""

    when: dict[str, Any] = field(hash=False)
    then: tuple[str, ...]


@dataclass(eq=False)
class Operation:
    """One operation of the contract, its kind, and for a lookup the (path parameter, record field) pairs."""

    operation_id: str
    method: str  # lower case
    path: str
    kind: Kind
    raw: dict[str, Any] = field(repr=False)
    parameters: dict[str, dict[str, Any]] = field(repr=False)  # by name: the path item's, then the operation's
    resource: Resource | None = field(default=None, repr=False)
    lookup: tuple[tuple[str, str], ...] = ()

    @property
    def collection(self) -> str | None:
        return self.resource.collection if self.resource is not None else None

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def is_safe(self) -> bool:
        return self.method == "get"

    @property
    def lookup_fields(self) -> tuple[str, ...]:
        return tuple(field for _, field in self.lookup)

    @property
    def statuses(self) -> list[str]:
        return list(self.raw["responses"])

    def media_types(self, status: int) -> list[str] | None:
        """The media types documented for `status`, [] when it has no body, None when it is undocumented."""
        response = self.raw["responses"].get(str(status))
        return None if response is None else list(response.get("content") or {})

    def response_schema(self, status: int, media_type: str) -> Schema | None:
        response = self.raw["responses"].get(str(status)) or {}
        schema: Schema | None = ((response.get("content") or {}).get(media_type) or {}).get("schema")
        return schema

    @property
    def request_schema(self) -> Schema | None:
        """The JSON schema of the request body (None without one)."""
        content = (self.raw.get("requestBody") or {}).get("content") or {}
        schema: Schema | None = (content.get(JSON) or {}).get("schema")
        return schema

    def query_names(self) -> set[str]:
        return {name for name, p in self.parameters.items() if p.get("in") == "query"}

    def url(self, **params: Any) -> str:
        """The path with its parameters filled in (each percent-encoded as one segment)."""
        return re.sub(r"\{(\w+)\}", lambda m: quote(str(params[m.group(1)]), safe=""), self.path)


@dataclass(eq=False)
class Resource:
    """A collection of records: its record schema, and what the contract says about it."""

    collection: str  # the first path segment, e.g. "writeOffs"
    schema_name: str
    schema: Schema = field(repr=False)  # the record schema as written (its properties may hold $refs)
    inline_schema: Schema = field(repr=False)  # the same with every $ref replaced by its target
    workflow: bool = False  # its create answers with an execution token, not the record
    create_example: dict[str, Any] = field(default_factory=dict, repr=False)
    references: dict[str, Reference] = field(default_factory=dict)  # by field
    referenced_by: list[Reference] = field(default_factory=list)  # other resources' fields that name it
    conditional_required: tuple[Requirement, ...] = ()
    filters: dict[str, Filter] = field(default_factory=dict, repr=False)  # of its search, by name
    summary_fields: tuple[str, ...] = ()  # the fields of a search hit
    operations: dict[Kind, Operation] = field(default_factory=dict, repr=False)  # one per kind, but lookups
    lookups: list[Operation] = field(default_factory=list, repr=False)
    customs: list[Operation] = field(default_factory=list, repr=False)

    @cached_property
    def noun(self) -> str:
        """How messages name one record: the schema's title, lower case ("write off")."""
        return str(self.schema.get("title", self.schema_name)).lower()

    @cached_property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.inline_schema["properties"])

    @cached_property
    def read_only(self) -> frozenset[str]:
        """The server-managed fields (`readOnly`)."""
        return frozenset(k for k, v in self.inline_schema["properties"].items() if v.get("readOnly"))

    @cached_property
    def field_types(self) -> dict[str, str]:
        return {k: str(v.get("type", "")) for k, v in self.inline_schema["properties"].items()}

    @property
    def all_operations(self) -> list[Operation]:
        return [*self.operations.values(), *self.lookups, *self.customs]

    @property
    def schema_ref(self) -> Schema:
        """`{"$ref": ...}` to the record schema, for validators rooted in the document."""
        return {"$ref": f"#/components/schemas/{self.schema_name}"}

    def property_ref(self, name: str) -> Schema:
        return {"$ref": f"#/components/schemas/{self.schema_name}/properties/{name}"}


class Contract:
    """The contract's resources and operations, derived from the document once."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.refs = Refs(spec)
        self.resources: dict[str, Resource] = {}
        self.operations: dict[str, Operation] = {}
        self._by_route: dict[tuple[str, str], list[Operation]] = {}  # (path, method) -> its operation
        self._derive()
        self.router = Router(dict.fromkeys(o.path for o in self.operations.values()))

    @classmethod
    def from_path(cls, path: Path) -> Contract:
        return cls(load_spec(path))

    def deref(self, node: Any) -> Any:
        return self.refs.deref(node)

    def inline(self, node: Any) -> Any:
        return self.refs.inline(node)

    def resource_of_schema(self, schema_name: str) -> Resource:
        """The resource whose record schema is `schema_name` (KeyError if none is)."""
        for resource in self.resources.values():
            if resource.schema_name == schema_name:
                return resource
        raise KeyError(schema_name)

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation serving `METHOD path`, and its path parameters (static segments win, as in routing)."""
        wanted = method.lower()
        for template, params in self.router.match(path):
            for operation in self._by_route.get((template, wanted), ()):
                return operation, params
        return None

    # -- derivation ---------------------------------------------------------------------------------------------

    def _derive(self) -> None:
        # Resources first: each create path's request body names a record schema.
        for path, method, op, _ in operations_of(self.spec):
            if method == "post" and shape_of(path) is Shape.COLLECTION:
                self._add_resource(segments(path)[0], op)
        for resource in self.resources.values():
            self._add_references(resource)
        for path, method, op, item in operations_of(self.spec):
            operation = self._classify(path, method, op, item)
            self.operations[operation.operation_id] = operation
            self._by_route.setdefault((path, method), []).append(operation)
            if operation.resource is not None:
                self._attach(operation.resource, operation)

    def _add_resource(self, collection: str, create: dict[str, Any]) -> None:
        content = create["requestBody"]["content"][JSON]
        name = Refs.ref_name(content["schema"])
        assert name, f"create {collection} must reference a named schema"
        schema = self.refs.deref(content["schema"])
        ok = create["responses"]["200"]["content"][JSON]["schema"]
        examples = [self.refs.deref(e).get("value") for e in (content.get("examples") or {}).values()]
        resource = Resource(
            collection=collection,
            schema_name=name,
            schema=schema,
            inline_schema=self.refs.inline(schema),
            workflow=Refs.ref_name(ok) != name,
            create_example=dict(examples[0]) if examples else {},
            conditional_required=tuple(
                Requirement(dict(rule["if"]), tuple(rule["then"])) for rule in schema.get("x-conditional-required", [])
            ),
        )
        self.resources[collection] = resource

    def _add_references(self, resource: Resource) -> None:
        """Its fields that name records (`x-references`), known from both ends."""
        for name, prop in resource.schema["properties"].items():
            found = reference_of(self.refs, prop)
            if found and found[0]:
                schema_name, many = found
                target = self.resource_of_schema(schema_name)
                reference = Reference(resource.collection, name, target.collection, schema_name, many)
                resource.references[name] = reference
                target.referenced_by.append(reference)

    def _classify(self, path: str, method: str, op: dict[str, Any], item: dict[str, Any]) -> Operation:
        parameters = {
            p["name"]: p for p in map(self.refs.deref, [*item.get("parameters", []), *op.get("parameters", [])])
        }
        resource = self.resources.get(segments(path)[0])
        shape = shape_of(path)
        kind = Kind.CUSTOM
        lookup: tuple[tuple[str, str], ...] = ()
        if resource is None:
            pass
        elif shape is Shape.WARM_UP:
            kind = Kind.WARM_UP if method == "post" else Kind.CUSTOM
        elif shape is Shape.COLLECTION:
            kind = COLLECTION_KINDS.get(method, Kind.CUSTOM)
        elif shape is Shape.ITEM:
            kind = ITEM_KINDS[method]
        elif shape in (Shape.SEARCH, Shape.BATCH) and method == "post":
            kind = Kind.SEARCH if shape is Shape.SEARCH else Kind.BATCH
        elif shape in (Shape.WORDS, Shape.SEARCH, Shape.BATCH) and method == "get" and self._answers_page(op):
            kind = Kind.LOOKUP
            names = [s.strip("{}") for s in segments(path)[3:]]
            lookup = tuple((n, str(parameters[n].get("x-record-field", snake_case(n)))) for n in names)
        return Operation(op["operationId"], method, path, kind, op, parameters, resource, lookup)

    def _answers_page(self, op: dict[str, Any]) -> bool:
        schema = self.refs.deref(op["responses"]["200"]["content"][JSON]["schema"])
        return {"Count", "Items"} <= set(schema.get("properties", {}))

    def _attach(self, resource: Resource, operation: Operation) -> None:
        if operation.kind is Kind.LOOKUP:
            resource.lookups.append(operation)
        elif operation.kind is Kind.CUSTOM:
            resource.customs.append(operation)
        else:
            resource.operations[operation.kind] = operation
        if operation.kind is Kind.SEARCH:
            self._add_search(resource, operation.raw)

    def _add_search(self, resource: Resource, op: dict[str, Any]) -> None:
        body = self.refs.deref(op["requestBody"]["content"][JSON]["schema"])
        for name, prop in body["properties"].items():
            prop = self.refs.deref(prop)
            if prop.get("type") == "array":
                is_range = prop.get("minItems") == prop.get("maxItems") == 2
                match = Match.RANGE if is_range else Match.ANY_OF
                resource.filters[name] = Filter(name, match, self.refs.deref(prop.get("items", {})))
            else:
                resource.filters[name] = Filter(name, Match.EQUALS, prop)
        results = self.refs.deref(op["responses"]["200"]["content"][JSON]["schema"])
        hit = self.refs.deref(self.refs.deref(results["properties"]["Items"])["items"])
        resource.summary_fields = tuple(hit.get("properties", {}))
