"""Scopes: sets of records that only one check created, so that walks and searches over them are exact.

A scope gives its records a business unit and fiscal year of their own and, for every reference a lookup
reads (a transaction's `batch_id`), a fresh target record. Every lookup and the business-unit search then find
exactly the scope, however much other data the tenant holds and whatever other checks run at the same time.

The paging rules share one `PagingScope` per resource: enough records that every walk over it crosses at least
one paging key. Its size comes from the page size the target shows (a list-all page that has a key), or else
grows once to `GROWTH` records; batch creates make them 100 at a time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from collect_contract import Kind, Operation, Resource
from conformance.context import Context
from conformance.errors import Reason, Skipped
from conformance.failures import Failure
from conformance.http import Exchange
from conformance.ledger import Ownership
from conformance.rules._support import Record, ids, lookups, next_key, records_of, walk

GROWTH = 101  # one above the page size of 100 that the mock and many DynamoDB-backed APIs use
BATCH_LIMIT = 100  # creates per batch request (002 L565-592)
PAGING_SHARE = 0.05  # of the budget: the most records one paging scope may make


def scope_overrides(ctx: Context, resource: Resource, lookups: bool = True) -> dict[str, Any]:
    """Field values that set a new scope apart from every other record (`lookups`: for index lookups too)."""
    overrides: dict[str, Any] = {}
    for name in ("business_unit_id", "fiscal_year_id"):
        if name in resource.fields:
            overrides[name] = ctx.unique(name.removesuffix("_id").replace("_", "-"))
    for lookup in resource.lookups if lookups else []:
        for _, field_name in lookup.lookup:
            if field_name in resource.references and field_name not in overrides:
                overrides[field_name] = ctx.create(resource.references[field_name].target)["id"]
    return overrides


def scoped_records(ctx: Context, resource: Resource, count: int, **extra: Any) -> list[Record]:
    """`count` new records that share a new scope (plus `extra` fields)."""
    overrides = scope_overrides(ctx, resource) | extra
    return [ctx.create(resource.collection, **overrides) for _ in range(count)]


def search_body(resource: Resource, record: Record) -> dict[str, Any]:
    """The search that finds the scope of `record`: its business unit."""
    if "business_unit_id" in resource.filters and record.get("business_unit_id") is not None:
        return {"business_unit_id": record["business_unit_id"]}
    return {}


def scoped_walks(resource: Resource, record: Record) -> list[tuple[Operation, dict[str, Any]]]:
    """The lookups (with their path arguments) and the search that find exactly the scope of `record`."""
    found: list[tuple[Operation, dict[str, Any]]] = list(lookups(resource, record))
    if Kind.SEARCH in resource.operations:
        found.append((resource.operations[Kind.SEARCH], {"json": search_body(resource, record)}))
    return found


def stored_in_scope(ctx: Context, resource: Resource, record: Record, failure: type[Failure]) -> list[str]:
    """The ids that the walks over the scope of `record` find (each walk followed to its end). A walk that cannot
    be finished (a page refused, a key that comes back) is paging's finding, not the calling rule's: what was
    stored cannot be told, and the check is not verified."""
    found: dict[str, None] = {}
    for operation, args in scoped_walks(resource, record):
        try:
            found |= dict.fromkeys(walk(ctx, operation, failure, **args).ids)
        except failure as broken:
            raise Skipped(
                f"what was stored cannot be told: the walk over {operation.operation_id}: {broken.title} "
                f"({broken.received}; see paging.full-walk)",
                Reason.SETUP_REFUSED,
            ) from None
    return list(found)


@dataclass
class PagingScope:
    """Records of one scope, more than a page of every walk over them; `lock` keeps walks and inserts apart."""

    records: list[Record]
    overrides: dict[str, Any]
    first_pages: dict[str, Exchange] = field(default_factory=dict)  # operation id -> the first page it answered
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ids(self) -> list[str]:
        return ids(self.records)

    def walks(self, resource: Resource) -> list[tuple[Operation, dict[str, Any]]]:
        return scoped_walks(resource, self.records[0])


def paging_scope(ctx: Context, resource: Resource) -> PagingScope:
    """The resource's paging scope, made once per run (`Skipped` when no walk over it can reach a second page)."""
    return ctx.once(("paging", resource.collection), lambda: _make_paging_scope(ctx, resource))


def page_size_hint(ctx: Context, resource: Resource) -> int | None:
    """The page size a list-all page shows: the records of a first page that has a key (None: no key)."""
    first = ctx.call(resource.collection, Kind.LIST)
    if first.status != 200 or next_key(first) is None:
        return None
    return len(records_of(first.json_or_none())) or None


def _make_paging_scope(ctx: Context, resource: Resource) -> PagingScope:
    hint = page_size_hint(ctx, resource)
    cap = max(ctx.config.paging_records, int(ctx.config.budget * PAGING_SHARE))
    wanted = max(ctx.config.paging_records, (hint or 0) + 1)
    if wanted > cap:
        raise Skipped(
            f"fewer records than a page (page size {hint}): a walk over two pages needs {wanted} records, more "
            f"than {cap} ({PAGING_SHARE:.0%} of --budget {ctx.config.budget}) allows",
            Reason.ONE_PAGE,
        )
    overrides = scope_overrides(ctx, resource)
    scope = PagingScope(make_records(ctx, resource, wanted, overrides), overrides)
    while True:
        single = _single_page_walks(ctx, resource, scope)
        if not single:
            return scope
        grown = max(GROWTH, len(scope.records) + 1)
        if hint is not None or len(scope.records) >= GROWTH or grown > cap:
            names = ", ".join(single)
            raise Skipped(
                f"fewer records than a page: all {len(scope.records)} records of the scope fit one page of {names} "
                f"(the page size is above {len(scope.records)}; raise --paging-records above it)",
                Reason.ONE_PAGE,
            )
        scope.records += make_records(ctx, resource, grown - len(scope.records), overrides)


def _single_page_walks(ctx: Context, resource: Resource, scope: PagingScope) -> list[str]:
    """The walks over the scope whose first page has no key (each first page is kept for the rules)."""
    single = []
    for operation, args in scope.walks(resource):
        first = ctx.client.call(operation.operation_id, **args)
        scope.first_pages[operation.operation_id] = first
        if first.status == 200 and next_key(first) is None:
            single.append(operation.operation_id)
    return single


def make_records(ctx: Context, resource: Resource, count: int, overrides: dict[str, Any]) -> list[Record]:
    """`count` new records of the run's own with `overrides`: by batch creates (100 a request) where the resource
    has them, one create at a time for whatever a batch did not make."""
    made: list[Record] = []
    if Kind.BATCH in resource.operations and count > 1:
        for start in range(0, count, BATCH_LIMIT):
            size = min(BATCH_LIMIT, count - start)
            made += _batch_created(ctx, resource, size, overrides)
    while len(made) < count:
        made.append(ctx.create(resource.collection, **overrides))
    return made


def _batch_created(ctx: Context, resource: Resource, size: int, overrides: dict[str, Any]) -> list[Record]:
    """The records of the run's own that one batch create of `size` records made (possibly fewer)."""
    objects = [ctx.body(resource.collection, **overrides) for _ in range(size)]
    exchange = ctx.batch(resource.collection, [{"operation": "create", "object": body} for body in objects])
    body = exchange.json_or_none() if exchange.status == 200 else None
    results = body.get("results") if isinstance(body, dict) else None
    made, seen = [], set()
    for result, sent in zip(results if isinstance(results, list) else [], objects, strict=False):
        record_id = result.get("id") if isinstance(result, dict) and result.get("outcome") == "success" else None
        state = ctx.session.ledger.state(resource.collection, record_id) if isinstance(record_id, str) else None
        if record_id in seen or state not in (Ownership.OWNED, Ownership.PENDING):
            continue
        seen.add(record_id)
        stored = result.get("object")
        made.append(dict(stored) if isinstance(stored, dict) else {**sent, "id": record_id})
    return made
