"""Paging rules: a walk returns every record once and ends, pages count their items, bad keys are a 400,
and records created during a walk do not disturb it.

Walks are scoped to records the check created (their own batch, fiscal year and business unit), so that they
are exact on a tenant full of other data; the list-all walk is the exception and is capped by `Config.max_pages`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from conformance.context import Context
from conformance.contract import Operation, Resource
from conformance.errors import Reason, Skipped
from conformance.failures import BadStartKeyAccepted, CountMismatch, Failure, IncompleteWalk, WalkDisturbedByInserts
from conformance.http import Exchange
from conformance.registry import response_rule, rule
from conformance.rules._support import START, Record, expect_status, ids, lookups, next_key, records_of, walk
from conformance.rules.scope import scoped_records, search_body


def _compare(found: list[str], expected: list[str], failure: type[Failure], what: str, exact: bool = True) -> None:
    counts = Counter(found)
    twice = sorted(i for i, n in counts.items() if n > 1)
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected)) if exact else []
    if twice or missing or extra:
        received = f"{len(found)} records; twice: {twice}; missing: {missing}; not in scope: {extra}"
        raise failure(received=received, expected=f"each of the {len(expected)} records once ({what})")


def scoped_walks(resource: Resource, record: Record) -> list[tuple[Operation, dict[str, Any]]]:
    """The lookups (with their path arguments) and the search that find exactly the scope of `record`."""
    found: list[tuple[Operation, dict[str, Any]]] = list(lookups(resource, record))
    if "search" in resource.operations:
        found.append((resource.operations["search"], {"json": search_body(resource, record)}))
    return found


@rule(
    "paging.full-walk",
    "Following X-Last-Evaluated-Key (lists) or LastEvaluatedKey (searches, lookups) as exclusiveStartKey returns "
    "every record exactly once, and the walk ends with a page that has no key.",
    source="000 L320-321, L957-961, L1008-1013; 004 L903-906; collect.yaml info (Paging)",
    failure=IncompleteWalk,
    needs=(),
)
def walks_return_every_record_once(ctx: Context, resource: Resource) -> None:
    listing = resource.operations["list"]
    if ctx.config.read_only:
        result = walk(ctx, listing, IncompleteWalk)
        _compare(result.ids, [], IncompleteWalk, "list-all", exact=False)
        return
    records = scoped_records(ctx, resource, ctx.config.paging_records)
    expected = ids(records)
    for operation, args in scoped_walks(resource, records[0]):
        _compare(walk(ctx, operation, IncompleteWalk, **args).ids, expected, IncompleteWalk, operation.operation_id)
    result = walk(ctx, listing, IncompleteWalk)
    _compare(result.ids, expected if result.complete else [], IncompleteWalk, "list-all", exact=False)


def _bad_key_calls(ctx: Context, resource: Resource) -> list[tuple[str, Exchange]]:
    name, garbage = resource.name, {START: "cfz-not-a-key"}
    calls = [("a malformed key on list-all", ctx.call(name, "list", params=garbage))]
    first = ctx.call(name, "list")
    key = next_key(first) if first.status == 200 else None
    if key is not None:
        # A key is bound to its walk: the same tenant's other collection must refuse it.
        other = next(r for r in ctx.contract.resources.values() if r is not resource)
        calls.append(("a list key of another collection", ctx.call(other.name, "list", params={START: key})))
    if not ctx.config.read_only:
        record = ctx.create(name)
        for operation, args in scoped_walks(resource, record):
            calls.append(
                (
                    f"a malformed key on {operation.operation_id}",
                    ctx.client.call(operation.operation_id, params=garbage, **args),
                )
            )
            if key is not None:
                calls.append(
                    (
                        f"a list-all key on {operation.operation_id}",
                        ctx.client.call(operation.operation_id, params={START: key}, **args),
                    )
                )
    return calls


@rule(
    "paging.bad-key-400",
    "An exclusiveStartKey that the server did not issue, or issued for another collection or query, is a 400.",
    source="000 L320-321, L896-898; collect.yaml ExclusiveStartKey; NOTES.md Responses (X-Last-Evaluated-Key)",
    failure=BadStartKeyAccepted,
    needs=(),
)
def bad_start_keys_are_400(ctx: Context, resource: Resource) -> None:
    for what, exchange in _bad_key_calls(ctx, resource):
        expect_status(exchange, [400], BadStartKeyAccepted, what)


@rule(
    "paging.stable-under-inserts",
    "Records created while a walk is under way make it return no record twice and lose none that existed when "
    "it started.",
    source="collect.yaml info (Paging: a walk returns every record once, even while records are being created)",
    failure=WalkDisturbedByInserts,
)
def walks_survive_inserts(ctx: Context, resource: Resource) -> None:
    records = scoped_records(ctx, resource, ctx.config.paging_records)
    operation, args = scoped_walks(resource, records[0])[0]
    first = ctx.client.call(operation.operation_id, **args)
    expect_status(first, [200], WalkDisturbedByInserts, "the first page")
    key = next_key(first)
    if key is None:
        raise Skipped(
            f"all {len(records)} records fit in one page: raise --paging-records above the page size", Reason.ONE_PAGE
        )
    scope = {k: records[0].get(k) for k in ("business_unit_id", "fiscal_year_id", "batch_id") if k in records[0]}
    for _ in range(3):
        ctx.create(resource.name, **scope)
    rest = walk(ctx, operation, WalkDisturbedByInserts, params={START: key}, **args)
    found = ids(records_of(first.json_or_none())) + rest.ids
    _compare(
        found, ids(records), WalkDisturbedByInserts, f"{operation.operation_id} with creates between pages", exact=False
    )


@response_rule(
    "paging.count",
    "The Count of an index-lookup page equals the number of its Items.",
    source="000 L1008-1013 (Count, Items, LastEvaluatedKey); 004 L906, L1037",
    failure=CountMismatch,
)
def page_count_matches_items(exchange: Exchange) -> None:
    body = exchange.json_or_none() if exchange.status == 200 else None
    if isinstance(body, dict) and "Count" in body and isinstance(body.get("Items"), list):
        if body["Count"] != len(body["Items"]):
            raise CountMismatch(
                received=f"Count {body['Count']}", expected=f"{len(body['Items'])} (len(Items))", exchange=exchange
            )
