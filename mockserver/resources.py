"""The generic behaviour of every resource, written once and bound per operation by the resolver.

A `Collection` serves one resource of the contract: create, list, get, replace, patch, delete, search, index
lookups, batch operations and warm-up. Its rules come from the contract (`collect_contract.Resource`): which fields are
server-managed, which must name existing records (409), which are required together (400), what a search may
filter on and which lookups exist. Endpoints that behave differently live in `mockserver/handlers/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from collect_contract import Contract, Match, Operation, Resource
from mockserver import records
from mockserver.database import Database, IndexSpec, RangeSpec
from mockserver.errors import (
    BadRequestProblem,
    ConflictProblem,
    FieldError,
    MockProblem,
    NotFoundProblem,
    shown_value,
)
from mockserver.paging import KeyCodec
from mockserver.patching import PatchBudget, apply_patch, identical
from mockserver.search import Search
from mockserver.storage import decode
from mockserver.validation import ReadValidator, WriteValidator, schema_errors

Record = dict[str, Any]
Response = tuple[Any, int, dict[str, str]]
Item = TypeVar("Item")


def _shaped(items: list[bytes], fields: list[str] | None) -> list[Any]:
    """A page's records as stored (embedded in the answer as they are), or decoded and cut to `fields`."""
    if not fields:
        return [orjson.Fragment(raw) for raw in items]
    return [records.project(decode(raw), fields) for raw in items]


@dataclass
class Caller:
    """Who is asking, and for which tenant (from the security check and the path)."""

    tenant: str
    user: str


def range_specs(contract: Contract) -> list[RangeSpec]:
    """A sorted index for every range a search can ask for, so that a range is found, not scanned for."""
    return [
        RangeSpec(resource.collection, name, spec.numeric)
        for resource in contract.resources.values()
        for name, spec in resource.filters.items()
        if spec.match is Match.RANGE and name in resource.fields
    ]


def index_specs(contract: Contract) -> list[IndexSpec]:
    """The indexes that lookups, reference checks and searches read, derived from the contract."""
    specs: dict[IndexSpec, None] = {}
    for resource in contract.resources.values():
        for lookup in resource.lookups:
            specs[IndexSpec(resource.collection, lookup.lookup_fields)] = None
        for ref in resource.references.values():
            specs[IndexSpec(resource.collection, (ref.field,), ref.many)] = None
        for name, spec in resource.filters.items():
            if name != "id" and name in resource.fields and spec.match is not Match.RANGE and not spec.numeric:
                specs[IndexSpec(resource.collection, (name,))] = None
    return list(specs)


class Collection:
    def __init__(
        self,
        resource: Resource,
        contract: Contract,
        db: Database,
        codec: KeyCodec,
        clock: records.Clock,
        page_size: int,
    ):
        self.resource = resource
        self.contract = contract
        self.db = db
        self.codec = codec
        self.clock = clock
        self.page_size = page_size
        self.name = resource.collection

    # -- reads --------------------------------------------------------------------------------------------------

    def get(self, caller: Caller, record_id: str, fields: list[str] | None = None) -> Response:
        if not fields:  # the record as stored, answered without decoding it
            raw = self.db.get_raw(caller.tenant, self.name, record_id)
            if raw is None:
                raise self._not_found(caller, record_id)
            return orjson.Fragment(raw), 200, {}
        return records.project(self.require(caller, record_id), fields), 200, {}

    def list_all(self, caller: Caller, start: str | None = None, fields: list[str] | None = None) -> Response:
        walk = self.codec.fingerprint(caller.tenant, self.name, "list")
        stream = self.db.scan_raw(caller.tenant, self.name, self.codec.decode(start, walk))
        items, last = self._page(stream, walk)
        headers = {"X-Last-Evaluated-Key": last} if last else {}
        return _shaped(items, fields), 200, headers

    def lookup(
        self,
        caller: Caller,
        operation: Operation,
        params: dict[str, Any],
        start: str | None = None,
        fields: list[str] | None = None,
    ) -> Response:
        names = operation.lookup_fields
        key = tuple(self._coerce(field, params[param]) for param, field in operation.lookup)
        walk = self.codec.fingerprint(caller.tenant, self.name, operation.operation_id, key)
        after = self.codec.decode(start, walk)
        items, last = self._page(self.db.scan_raw(caller.tenant, self.name, after, names, key), walk)
        return self._envelope(_shaped(items, fields), last, count=True), 200, {}

    def search(
        self, caller: Caller, body: Record, start: str | None = None, fields: list[str] | None = None
    ) -> Response:
        search = Search(self.db, caller.tenant, self.resource, body)
        walk = self.codec.fingerprint(caller.tenant, self.name, "search", search.body)
        items, last = self._page(search.matches(self.codec.decode(start, walk)), walk)
        shape = fields or self.resource.summary_fields
        return self._envelope([records.project(r, shape) for r in items], last, count=False), 200, {}

    def _page(self, stream: Iterator[tuple[int, Item]], walk: str) -> tuple[list[Item], str | None]:
        """Up to a page of records, and the key to resume after the last one if more remain."""
        items: list[Item] = []
        last_seq = 0
        for seq, record in stream:
            if len(items) == self.page_size:
                return items, self.codec.encode(walk, last_seq)
            items.append(record)
            last_seq = seq
        return items, None

    @staticmethod
    def _envelope(items: list[Any], last: str | None, count: bool) -> Record:
        body: Record = {"Count": len(items), "Items": items} if count else {"Items": items}
        if last:
            body["LastEvaluatedKey"] = last
        return body

    def _coerce(self, field: str, value: str) -> Any:
        # Path parameters are strings; the record field may be a number (a batch's fiscal_period).
        if self.resource.field_types.get(field) in ("integer", "number"):
            try:
                return int(value)
            except ValueError:
                return value
        return value

    def find(self, caller: Caller, record_id: str) -> Record | None:
        """The caller's tenant's record `record_id`, or None."""
        return self.db.get(caller.tenant, self.name, record_id)

    def require(self, caller: Caller, record_id: str) -> Record:
        record = self.find(caller, record_id)
        if record is None:
            raise self._not_found(caller, record_id)
        return record

    def _not_found(self, caller: Caller, record_id: str) -> NotFoundProblem:
        return NotFoundProblem(f"No {self.resource.noun} {shown_value(record_id)} in tenant '{caller.tenant}'")

    # -- writes -------------------------------------------------------------------------------------------------

    def create(self, caller: Caller, body: Record) -> Response:
        record = self.insert(caller, body)
        if not self.resource.workflow:
            return record, 200, {}
        return self._token(caller, record, "create"), 200, {"X-Record-Id": record["id"]}

    def insert(self, caller: Caller, body: Record) -> Record:
        if "id" in body:
            raise BadRequestProblem.from_errors(
                f"Invalid {self.resource.noun}",
                [FieldError("body", "id", "must not be sent: the server generates the id of a new record")],
            )
        record_id = records.new_id(self.name, lambda i: self.db.exists(caller.tenant, self.name, i))
        record = records.created(self.resource, body, record_id, caller.user, caller.tenant, self.clock.tick())
        if self.resource.workflow and "workflow_execution_id" in self.resource.fields:
            record["workflow_execution_id"] = self._token(caller, record, "create")["executionArn"]
        self.check(caller, record)
        self.db.put(caller.tenant, self.name, record_id, record)
        return record

    def replace(self, caller: Caller, record_id: str, body: Record) -> Response:
        return self.update(caller, record_id, body), 200, {}

    def update(self, caller: Caller, record_id: str, body: Record, stamp: Record | None = None) -> Record:
        """Replace a record's writable fields by `body`; `stamp`: server-managed values the change sets too."""
        if "id" in body and body["id"] != record_id:
            raise BadRequestProblem.from_errors(
                f"Invalid {self.resource.noun}",
                [FieldError("body", "id", f"is {shown_value(body['id'])} but the path names {shown_value(record_id)}")],
            )
        old = self.require_writable(caller, record_id)
        record = self._changed(caller, old, body)
        record.update(stamp or {})
        self.check(caller, record)
        self.db.put(caller.tenant, self.name, record_id, record)
        return record

    def _changed(self, caller: Caller, old: Record, fields: Record) -> Record:
        try:
            return records.changed(self.resource, old, fields, caller.user, caller.tenant, self.clock.tick())
        except records.VersionExhaustedError as exc:
            raise ConflictProblem(
                f"The {self.resource.noun} '{old.get('id')}' cannot be changed any more: {exc}",
                [FieldError("body", "sys_version", str(exc))],
            ) from None

    def patch(self, caller: Caller, record_id: str, directives: list[Record]) -> Response:
        return self.apply_patch(caller, record_id, directives, PatchBudget()), 200, {}

    def apply_patch(self, caller: Caller, record_id: str, directives: list[Record], budget: PatchBudget) -> Record:
        old = self.require_writable(caller, record_id)
        self._refuse_server_managed(directives)
        if not directives:
            return old  # nothing changes, so the version does not move
        result = apply_patch(old, directives, budget)
        if not isinstance(result, dict):
            raise BadRequestProblem.from_errors(
                "Invalid patch", [FieldError("body", "[0].path", "the result must be an object")]
            )
        if identical(result, old):
            return old  # only tests, or values set to what they were: no change, so the version stays
        record = self._changed(caller, old, result)
        errors = schema_errors(ReadValidator, self.resource.inline_schema, record)
        if errors:
            raise BadRequestProblem.from_errors("The patched record would break the schema", errors)
        self.check(caller, record)
        self.db.put(caller.tenant, self.name, record_id, record)
        return record

    def delete(self, caller: Caller, record_id: str) -> Response:
        self.remove(caller, record_id)
        return record_id, 200, {}

    def remove(self, caller: Caller, record_id: str) -> None:
        self.require_writable(caller, record_id)
        for collection, field in self._referrers(caller.tenant, record_id):
            raise ConflictProblem(
                f"The {self.resource.noun} '{record_id}' is still referenced by {collection}.{field}; "
                "delete or change those records first"
            )
        self.db.delete(caller.tenant, self.name, record_id)

    def require_writable(self, caller: Caller, record_id: str) -> Record:
        record = self.require(caller, record_id)
        if record.get("sys_locked"):
            raise ConflictProblem(
                f"The {self.resource.noun} '{record_id}' is locked (sys_locked) and cannot be changed via the API",
                [FieldError("body", "sys_locked", "the record is locked")],
            )
        return record

    # -- rules --------------------------------------------------------------------------------------------------

    def check(self, caller: Caller, record: Record) -> None:
        """The rules a stored record obeys beyond its schema: conditional requirements (400), references (409)."""
        missing = []
        for rule in self.resource.conditional_required:
            if all(record.get(k) == v for k, v in rule.when.items()):
                condition = ", ".join(f"{k} is {v!r}" for k, v in rule.when.items())
                missing += [
                    FieldError("body", name, f"is required when {condition}")
                    for name in rule.then
                    if record.get(name) in (None, "")
                ]
        if missing:
            raise BadRequestProblem.from_errors(f"Invalid {self.resource.noun}", missing)
        dangling = []
        for ref in self.resource.references.values():
            values = record.get(ref.field)
            for position, value in enumerate(values if ref.many and isinstance(values, list) else [values]):
                if value is None or (ref.target == self.name and value == record["id"] and ref.many):
                    continue
                if not self.db.exists(caller.tenant, ref.target, value):
                    where = f"{ref.field}[{position}]" if ref.many else ref.field
                    noun = self.contract.resources[ref.target].noun
                    dangling.append(
                        FieldError("body", where, f"no {noun} {shown_value(value)} in tenant {caller.tenant!r}")
                    )
        if dangling:
            raise ConflictProblem("; ".join(f"{e.field}: {e.message}" for e in dangling), dangling)

    def _referrers(self, tenant: str, record_id: str) -> Iterator[tuple[str, str]]:
        for ref in self.resource.referenced_by:
            for _, referrer in self.db.scan(tenant, ref.source, 0, (ref.field,), (record_id,), ref.many):
                if not (ref.source == self.name and referrer.get("id") == record_id):
                    yield ref.source, ref.field
                    break

    def _refuse_server_managed(self, directives: list[Record]) -> None:
        """Directives may read server-managed fields (`test`, `copy` from) but not change them."""
        errors: list[FieldError] = []
        directive: Record
        for i, directive in enumerate(directives):
            keys = ("path", "from") if directive.get("op") == "move" else ("path",)
            for key in keys if directive.get("op") != "test" else ():
                pointer = directive.get(key)
                if isinstance(pointer, str) and self._top_field(pointer) in self.resource.read_only:
                    errors.append(
                        FieldError("body", f"[{i}].{key}", f"{pointer!r} is server-managed and cannot be changed")
                    )
        if errors:
            raise BadRequestProblem.from_errors("Invalid patch", errors)

    @staticmethod
    def _top_field(pointer: str) -> str:
        parts = pointer.split("/")
        return parts[1].replace("~1", "/").replace("~0", "~") if len(parts) > 1 else ""

    def _token(self, caller: Caller, record: Record, action: str) -> Record:
        # The record's own stamp: set by this server's clock a moment ago.
        stamp = record.get("sys_last_modified_at")
        return records.execution_token(caller.tenant, self.name, action, record["id"], stamp or self.clock.tick())

    # -- batch operations and warm-up ---------------------------------------------------------------------------

    def batch(self, caller: Caller, body: Record) -> Response:
        """Each operation follows the rules of its direct twin and succeeds or fails alone; the successful ones
        are stored together, in one write: a crash or a full disk leaves all of them or none."""
        budget = PatchBudget()
        with self.db.atomic():
            results = [self._one(caller, operation, budget) for operation in body["operations"]]
        successes = sum(1 for r in results if r["outcome"] == "success")
        return {"success_count": successes, "error_count": len(results) - successes, "results": results}, 200, {}

    def _one(self, caller: Caller, operation: Record, budget: PatchBudget) -> Record:
        kind, record_id = operation["operation"], operation.get("id")
        result: Record = {"operation": kind, "id": record_id}
        try:
            if kind == "create":
                if record_id is not None:  # as a direct create refuses an id in its body
                    raise BadRequestProblem.from_errors(
                        "Invalid operation",
                        [
                            FieldError(
                                "body", "id", "must be null or absent: the server generates the id of a new record"
                            )
                        ],
                    )
                obj = self._required_member(operation, "object", dict)
                errors = schema_errors(WriteValidator, self.resource.inline_schema, obj, prefix="object")
                if errors:
                    raise BadRequestProblem.from_errors(f"Invalid {self.resource.noun}", errors)
                record = self.insert(caller, obj)
                result.update(id=record["id"], object=record)
            elif kind == "patch":
                self._required_member(operation, "id", str)
                directives = self._required_member(operation, "patch_directives", list)
                result["object"] = self.apply_patch(caller, str(record_id), directives, budget)
            else:
                self._required_member(operation, "id", str)
                self.remove(caller, str(record_id))
        except MockProblem as problem:
            result.update(outcome="error", error_message=str(problem.detail))
            result.pop("object", None)
            return result
        result["outcome"] = "success"
        return result

    @staticmethod
    def _required_member(operation: Record, name: str, kind: type) -> Any:
        value = operation.get(name)
        if not isinstance(value, kind):
            raise BadRequestProblem.from_errors(
                "Invalid operation",
                [FieldError("body", name, f"is required for a {operation['operation']} operation")],
            )
        return value

    def warm_up(self) -> Response:
        return None, 200, {}
