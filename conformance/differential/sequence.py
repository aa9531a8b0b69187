"""The seeded sequence of operations a differential run sends to both sides, derived from the contract alone.

Each step is one call (or one paging walk) with literal values, except the records it names: those are `Ref`s
("invoices#2"), resolved on each side to the id that side gave the record. Bodies are the same bytes on both
sides; a step never depends on what one side answered before, so that one drift cannot cascade into others
(a patch guards with the version the contract's rules give, not with the version a side reported).

    warm up         each resource's warm-up operation
    create          `records` records per resource, in dependency order (a workflow create is read back)
    read            get, get with `fields`, the list walk, every index lookup walked, searches walked
                    (by business unit and ids, by a range, with `fieldsToReturn`)
    change          replace, patch (a `test` that holds, one that fails, one on a server-managed field),
                    batch operations (patch, delete, an unknown id), delete (then 404 twice)
    refuse          404s (unknown ids), 400s (unknown field, an id in a create, a value outside its enum, a
                    body that is not JSON, an unknown parameter, a bad start key, an unknown `fields` name),
                    409s (a dangling reference, deleting a record that others still name)
    walk again      the list walks, after the changes

In read-only mode only the GET steps that need no record of the suite's own are sent (404s, 400s and lookups
of values that match nothing); the rest is not verified.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from collect_contract import Contract, Kind, Match, Resource
from conformance.factory import Bodies, Record, dependency_order
from conformance.safety import MISSING_PREFIX

PREFERRED_TEXT = ("memo", "description", "notes")
NO_BODY: Any = object()
# The kinds a step may write with (a search is a POST; a custom operation's effect is unknown).
WRITES = frozenset(Kind) - {Kind.GET, Kind.LIST, Kind.LOOKUP}


class Ref(str):
    """A record of the run, by collection and creation number: resolved per side to that side's id."""

    collection: str

    def __new__(cls, collection: str, number: int) -> Ref:
        ref = super().__new__(cls, f"{collection}#{number}")
        ref.collection = collection
        return ref


@dataclass(frozen=True)
class Raw:
    """A body sent as these bytes (bad input), with a JSON Content-Type."""

    data: bytes


@dataclass(frozen=True)
class Step:
    number: int
    name: str  # "create invoices#2", "walk listInvoicesByBatch"
    operation_id: str
    kind: Kind
    resource: str  # the collection
    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = NO_BODY
    walk: bool = False  # follow the paging keys to the end and compare the whole walk
    creates: Ref | None = None  # the record a create step makes
    reads_back: Ref | None = None  # a read-back: the record of a workflow create, checked to look new
    compare_body: bool = True  # False where the sides cannot hold the same data (read-only reads)

    @property
    def writes(self) -> bool:
        return self.kind in WRITES

    @property
    def where(self) -> str:
        return f"step {self.number}: {self.name}"

    def refs(self) -> set[Ref]:
        found: set[Ref] = set()
        _collect(self.path, found)
        _collect(self.query, found)
        if self.body is not NO_BODY:
            _collect(self.body, found)
        return found


def _collect(value: Any, found: set[Ref]) -> None:
    if isinstance(value, Ref):
        found.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, found)


class SequenceBuilder:
    """Builds the steps; `records` per resource (at least 3), values fixed by `seed` and the run `marker`."""

    def __init__(self, contract: Contract, records: int, marker: str, seed: int):
        self.contract, self.records, self.marker = contract, max(3, records), marker
        self.rng = random.Random(seed)
        self.bodies = Bodies(contract, f"bu-{marker}", f"fy-{marker}")
        self.steps: list[Step] = []
        self.order = dependency_order(contract)
        self._created: dict[str, list[Record]] = {}  # the bodies each record was created with

    def build(self, read_only: bool) -> list[Step]:
        if read_only:
            for resource in self.order:
                self._refusals(resource, read_only=True)
            return self.steps
        for resource in self.order:
            self._warm_up(resource)
        for resource in self.order:
            self._creates(resource)
        for resource in self.order:
            self._reads(resource)
        for resource in self.order:
            self._changes(resource)
        for resource in self.order:
            self._refusals(resource, read_only=False)
        for resource in self.order:
            self._referenced_delete(resource)
        for resource in self.order:
            self._walk(resource, Kind.LIST, {"fields": self._listed(resource)}, "walk again")
        return self.steps

    # -- helpers --------------------------------------------------------------------------------------------

    def add(self, resource: Resource, kind: Kind, name: str, operation_id: str | None = None, **values: Any) -> None:
        operation_id = operation_id or resource.operations[kind].operation_id
        step = Step(len(self.steps) + 1, name, operation_id, kind, resource.collection, **values)
        self.steps.append(step)

    def ref(self, resource: Resource, number: int) -> Ref:
        return Ref(resource.collection, number)

    def missing(self) -> str:
        return f"{MISSING_PREFIX}{self.rng.getrandbits(48):012x}"

    def body(self, resource: Resource, number: int) -> Record:
        body = self.bodies.create(resource, lambda collection: Ref(collection, 1))
        for name in self._varied(resource):
            if isinstance(body.get(name), int) and not isinstance(body.get(name), bool):
                body[name] = body[name] + number
        return body

    def _varied(self, resource: Resource) -> list[str]:
        """Integer fields a range search can ask for, without an upper bound: each record gets its own value."""
        names = []
        for name, found in resource.filters.items():
            prop = self.contract.deref(resource.schema["properties"].get(name, {}))
            if found.match is Match.RANGE and prop.get("type") == "integer" and "maximum" not in prop:
                if name not in resource.read_only:
                    names.append(name)
        return names

    def text_field(self, resource: Resource) -> str | None:
        """A free-text field to change: optional, writable, with no enum, pattern, format or reference."""
        plain = []
        required = set(resource.schema.get("required", []))
        for name, prop in resource.schema["properties"].items():
            prop = self.contract.deref(prop)
            constrained = {"enum", "pattern", "format", "x-references", "minLength", "maxLength"} & set(prop)
            if prop.get("type") == "string" and name not in required | resource.read_only and not constrained:
                plain.append(name)
        preferred = [name for name in PREFERRED_TEXT if name in plain]
        return (preferred or plain or [None])[0]

    def _listed(self, resource: Resource) -> str:
        names = ["id", "sys_version"] if "sys_version" in resource.fields else ["id"]
        return ",".join(names)

    def _walk(self, resource: Resource, kind: Kind, query: dict[str, Any], label: str, **values: Any) -> None:
        operation = resource.operations.get(kind)
        if operation is not None:
            self.add(resource, kind, f"{label} {operation.operation_id}", query=query, walk=True, **values)

    # -- phases ---------------------------------------------------------------------------------------------

    def _warm_up(self, resource: Resource) -> None:
        if Kind.WARM_UP in resource.operations:
            self.add(resource, Kind.WARM_UP, f"warm up {resource.collection}")

    def _creates(self, resource: Resource) -> None:
        self._created[resource.collection] = []
        for number in range(1, self.records + 1):
            body = self.body(resource, number)
            self._created[resource.collection].append(body)
            ref = self.ref(resource, number)
            self.add(resource, Kind.CREATE, f"create {ref}", body=body, creates=ref)
            if resource.workflow:
                self.add(resource, Kind.GET, f"read back {ref}", path={"id": ref}, reads_back=ref)

    def _reads(self, resource: Resource) -> None:
        first = self.ref(resource, 1)
        self.add(resource, Kind.GET, f"get {first}", path={"id": first})
        text = self.text_field(resource)
        projection = ",".join(n for n in ("id", text, "sys_version") if n and n in resource.fields)
        self.add(resource, Kind.GET, f"get {first} with fields", path={"id": first}, query={"fields": projection})
        self._walk(resource, Kind.LIST, {"fields": self._listed(resource)}, "walk")
        for lookup in resource.lookups:
            values = self._lookup_values(lookup.lookup, self._created[resource.collection][0])
            if values is not None:
                self.add(
                    resource, Kind.LOOKUP, f"walk {lookup.operation_id}", lookup.operation_id, path=values, walk=True
                )
        self._searches(resource)

    def _lookup_values(self, pairs: tuple[tuple[str, str], ...], body: Record) -> dict[str, Any] | None:
        values = {param: body.get(name) for param, name in pairs}
        return None if any(v is None for v in values.values()) else values

    def _searches(self, resource: Resource) -> None:
        if Kind.SEARCH not in resource.operations:
            return
        refs = [self.ref(resource, n) for n in range(1, self.records + 1)]
        scope: dict[str, Any] = {}
        if "business_unit_id" in resource.filters:
            scope["business_unit_id"] = self.bodies.business_unit
        if "id" in resource.filters:
            self._walk(resource, Kind.SEARCH, {}, "search by ids", body={**scope, "id": list(refs)})
        for name in self._varied(resource):
            found = resource.filters.get(name)
            base = self._created[resource.collection][0].get(name)
            if found is None or not isinstance(base, int):
                continue
            low, high = base + 1, base + min(3, self.records - 1)
            bounds: list[Any] = [low, high] if found.schema.get("type") != "string" else [str(low), str(high)]
            self._walk(resource, Kind.SEARCH, {}, f"search {name} in [{low}, {high}]", body={**scope, name: bounds})
            break
        text = self.text_field(resource)
        if "id" in resource.filters:
            fields = ",".join(n for n in ("id", text) if n)
            body = {**scope, "id": refs[:2]}
            self._walk(resource, Kind.SEARCH, {"fieldsToReturn": fields}, "search with fieldsToReturn", body=body)

    def _changes(self, resource: Resource) -> None:
        ops = resource.operations
        second, third, last = (self.ref(resource, n) for n in (2, 3, self.records))
        text = self.text_field(resource)
        versioned = "sys_version" in resource.fields
        if Kind.REPLACE in ops:
            body = {**self._created[resource.collection][1], "id": second}
            if text:
                body[text] = f"replaced by {self.marker}"
            self.add(resource, Kind.REPLACE, f"replace {second}", path={"id": second}, body=body)
        if Kind.PATCH in ops and text:
            version = 2 if Kind.REPLACE in ops else 1  # the model's version after the create (and the replace)
            guard = [{"op": "test", "path": "/sys_version", "value": version}] if versioned else []
            change = [*guard, {"op": "add", "path": f"/{text}", "value": f"patched by {self.marker}"}]
            self.add(resource, Kind.PATCH, f"patch {second}", path={"id": second}, body=change)
            failing = [{"op": "test", "path": f"/{text}", "value": "cfz-not-this"}, change[-1]]
            self.add(resource, Kind.PATCH, f"patch {second} with a failing test", path={"id": second}, body=failing)
            if versioned:
                managed = [{"op": "replace", "path": "/sys_version", "value": 99}]
                self.add(resource, Kind.PATCH, f"patch {second}'s sys_version", path={"id": second}, body=managed)
            self.add(resource, Kind.GET, f"get {second} after its changes", path={"id": second})
        if Kind.BATCH in ops and text:
            directive = [{"op": "add", "path": f"/{text}", "value": f"batch-patched by {self.marker}"}]
            operations = [
                {"operation": "patch", "id": third, "patch_directives": directive},
                {"operation": "delete", "id": last},
                {"operation": "patch", "id": self.missing(), "patch_directives": directive},
            ]
            self.add(resource, Kind.BATCH, "batch: patch, delete, unknown id", body={"operations": operations})
            self.add(resource, Kind.GET, f"get {third} after the batch", path={"id": third})
            self.add(resource, Kind.GET, f"get {last}, deleted by the batch", path={"id": last})
        if Kind.DELETE in ops:
            gone = self.ref(resource, self.records - 1)
            self.add(resource, Kind.DELETE, f"delete {gone}", path={"id": gone})
            self.add(resource, Kind.GET, f"get {gone}, deleted", path={"id": gone})
            self.add(resource, Kind.DELETE, f"delete {gone} again", path={"id": gone})

    def _refusals(self, resource: Resource, read_only: bool) -> None:
        ops = resource.operations
        missing = self.missing()
        if Kind.GET in ops:
            self.add(resource, Kind.GET, f"get an unknown {resource.collection} id", path={"id": missing})
            self.add(resource, Kind.GET, "get an id outside the id pattern", path={"id": "not an id!"})
        if Kind.LIST in ops:
            self.add(resource, Kind.LIST, "list with an unknown parameter", query={"cfz_unknown": "1"})
            self.add(resource, Kind.LIST, "list with a start key never issued", query={"exclusiveStartKey": "cfz-key"})
            self.add(resource, Kind.LIST, "list with an unknown field name", query={"fields": "id,cfz_unknown"})
        example = self.body(resource, 1)
        for lookup in resource.lookups:
            values = self._lookup_values(lookup.lookup, example)
            if values is None:
                continue
            values = {k: (missing if isinstance(v, Ref) else v) for k, v in values.items()}
            self.add(resource, Kind.LOOKUP, f"walk {lookup.operation_id} of values no record has", lookup.operation_id,
                     path=values, walk=True)  # fmt: skip
        if read_only:
            return
        for name, args in self._bad_creates(resource, missing).items():
            self.add(resource, Kind.CREATE, name, body=args)
        if Kind.PATCH in ops:
            directive = [{"op": "add", "path": f"/{self.text_field(resource) or 'id'}", "value": "x"}]
            self.add(
                resource, Kind.PATCH, f"patch an unknown {resource.collection} id", path={"id": missing}, body=directive
            )
        if Kind.REPLACE in ops:
            body = {**example, "id": missing}
            self.add(
                resource, Kind.REPLACE, f"replace an unknown {resource.collection} id", path={"id": missing}, body=body
            )

    def _bad_creates(self, resource: Resource, missing: str) -> dict[str, Any]:
        example = self.body(resource, 1)
        bad: dict[str, Any] = {
            "create with a field the contract does not list": {**example, "cfz_unknown_field": 1},
            "create with an id": {**example, "id": missing},
            "create with a body that is not JSON": Raw(b'{"not": json'),
        }
        for name, prop in resource.schema["properties"].items():
            prop = self.contract.deref(prop)
            if prop.get("enum") and name in example and name not in resource.read_only:
                bad[f"create with {name} outside its enum"] = {**example, name: "cfz-not-a-value"}
                break
        for name, reference in resource.references.items():
            if not reference.many and reference.target != resource.collection and name in example:
                bad[f"create with a {name} that names no record"] = {**example, name: missing}
                break
        return bad

    def _referenced_delete(self, resource: Resource) -> None:
        """Deleting a record that records of another resource still name (their references point at #1)."""
        others = [r.source for r in resource.referenced_by if r.source != resource.collection and not r.many]
        if Kind.DELETE in resource.operations and others:
            first = self.ref(resource, 1)
            self.add(resource, Kind.DELETE, f"delete {first}, which {others[0]} still name", path={"id": first})
