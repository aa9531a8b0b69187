"""Paging rules: a walk returns every record once and ends, pages count their items, bad keys are a 400,
and records created during a walk do not disturb it.

Walks are scoped to records the run created (the resource's `PagingScope`: a batch, fiscal year and business
unit of their own), so that they are exact on a tenant full of other data; the list-all walk is the exception
and is capped by `Config.max_pages`. A walk proves something only when it crosses a key: one that ends on its
first page is reported as not verified, never as a pass.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from collect_contract import Kind, Operation, Resource
from conformance.context import Context
from conformance.errors import Reason, Skipped
from conformance.failures import BadStartKeyAccepted, CountMismatch, Failure, IncompleteWalk, WalkDisturbedByInserts
from conformance.http import Exchange
from conformance.registry import response_rule, rule
from conformance.rules._support import START, expect_status, ids, next_key, records_of, walk
from conformance.rules.scope import paging_scope


def _compare(
    found: list[str],
    expected: list[str],
    failure: type[Failure],
    what: str,
    allowed: set[str] | None = None,
    exchange: Exchange | None = None,
) -> None:
    """Each of `expected` once in `found`; nothing else unless `allowed` says so (None: anything else may be)."""
    counts = Counter(found)
    twice = sorted(i for i, n in counts.items() if n > 1)
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected) - allowed) if allowed is not None else []
    if twice or missing or extra:
        received = f"{len(found)} records; twice: {twice}; missing: {missing}; not in the scope: {extra}"
        raise failure(
            received=received, expected=f"each of the {len(expected)} records once ({what})", exchange=exchange
        )


@rule(
    "paging.full-walk",
    "Following X-Last-Evaluated-Key (lists) or LastEvaluatedKey (searches, lookups) as exclusiveStartKey returns "
    "every record exactly once, and the walk ends with a page that has no key.",
    source="000 L320-321, L957-961, L1008-1013; 004 L903-906; collect.yaml info (Paging)",
    failure=IncompleteWalk,
    needs=(),
)
def walks_return_every_record_once(ctx: Context, resource: Resource) -> None:
    listing = resource.operations[Kind.LIST]
    if ctx.config.read_only:
        result = walk(ctx, listing, IncompleteWalk)
        _compare(result.ids, [], IncompleteWalk, "list-all", exchange=result.exchanges[-1])
        if len(result.exchanges) < 2:
            raise Skipped(
                f"fewer records than a page: read-only, and the tenant's {len(result.ids)} {resource.collection} "
                "fit one page of the list",
                Reason.ONE_PAGE,
            )
        return
    scope = paging_scope(ctx, resource)
    one_page: list[str] = []
    with scope.lock:
        for operation, args in scope.walks(resource):
            result = walk(ctx, operation, IncompleteWalk, **args)
            _compare(result.ids, scope.ids, IncompleteWalk, operation.operation_id, set(), result.exchanges[-1])
            if len(result.exchanges) < 2:
                one_page.append(operation.operation_id)
        result = walk(ctx, listing, IncompleteWalk)
        # Only the scope's records are known: on a tenant larger than the page cap the walk checks what it saw.
        expected = scope.ids if result.complete else [i for i in scope.ids if i in result.ids]
        _compare(result.ids, expected, IncompleteWalk, "list-all", exchange=result.exchanges[-1])
        if len(result.exchanges) < 2:
            one_page.append(listing.operation_id)
    if one_page:
        raise Skipped(
            f"fewer records than a page: {', '.join(one_page)} answered the scope in one page", Reason.ONE_PAGE
        )


def _bad_key_calls(ctx: Context, resource: Resource) -> list[tuple[str, Exchange]]:
    """Malformed keys on every walk, and keys that each walk issued on another walk (or collection)."""
    name, garbage = resource.collection, {START: "cfz-not-a-key"}
    walks: list[tuple[Operation, dict[str, Any]]] = [(resource.operations[Kind.LIST], {})]
    if not ctx.config.read_only:
        walks += paging_scope(ctx, resource).walks(resource)
    keys = []
    for operation, args in walks:
        first = ctx.client.call(operation.operation_id, **args)
        keys.append(next_key(first) if first.status == 200 else None)
    calls = [
        (f"a malformed key on {op.operation_id}", ctx.client.call(op.operation_id, params=garbage, **args))
        for op, args in walks
    ]
    # A key is bound to its walk: every other walk of the collection, and the other collection, must refuse it.
    other = next(r for r in ctx.contract.resources.values() if r is not resource)
    for (operation, _), key in zip(walks, keys, strict=True):
        if key is None:
            continue
        what = f"a key of {operation.operation_id}"
        calls.append((f"{what} on {other.collection} list", ctx.call(other.collection, Kind.LIST, params={START: key})))
        for target, args in walks:
            if target is not operation:
                on = ctx.client.call(target.operation_id, params={START: key}, **args)
                calls.append((f"{what} on {target.operation_id}", on))
    if not any(keys):
        # The malformed keys were judged; keys issued for another walk could not be tried.
        for what, exchange in calls:
            expect_status(exchange, [400], BadStartKeyAccepted, what)
        raise Skipped(f"no walk of {name} reached a second page: no issued key to try on another walk", Reason.ONE_PAGE)
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
    scope = paging_scope(ctx, resource)
    with scope.lock:
        before = scope.ids
        for operation, args in scope.walks(resource):
            first = ctx.client.call(operation.operation_id, **args)
            expect_status(first, [200], WalkDisturbedByInserts, f"the first page of {operation.operation_id}")
            key = next_key(first)
            if key is None:
                raise Skipped(
                    f"fewer records than a page: {operation.operation_id} answered the scope in one page",
                    Reason.ONE_PAGE,
                )
            inserted = [ctx.create(resource.collection, **scope.overrides) for _ in range(3)]
            scope.records += inserted
            rest = walk(ctx, operation, WalkDisturbedByInserts, params={START: key}, **args)
            found = ids(records_of(first.json_or_none())) + rest.ids
            what = f"{operation.operation_id} with creates between its pages"
            _compare(found, before, WalkDisturbedByInserts, what, set(scope.ids), rest.exchanges[-1])
            before = scope.ids


@response_rule(
    "paging.count",
    "The Count of an index-lookup page equals the number of its Items.",
    source="000 L1008-1013 (Count, Items, LastEvaluatedKey); 004 L906, L1037",
    failure=CountMismatch,
)
def page_count_matches_items(exchange: Exchange) -> bool:
    """False (not judged) for anything but a page: a target whose lookups answer no page is not verified here."""
    body = exchange.json_or_none() if exchange.status == 200 else None
    if not (isinstance(body, dict) and "Count" in body and isinstance(body.get("Items"), list)):
        return False
    if body["Count"] != len(body["Items"]):
        raise CountMismatch(
            received=f"Count {body['Count']}", expected=f"{len(body['Items'])} (len(Items))", exchange=exchange
        )
    return True
