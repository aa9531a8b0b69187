"""Batch operation rules: 1 to 100 operations; one result per operation, in order, each with its own outcome;
counts that add up."""

from __future__ import annotations

from typing import Any

from collect_contract import Kind, Resource
from conformance.context import Context
from conformance.failures import BatchCountsMismatch, BatchLimitIgnored, BatchResultsMismatch, Failure
from conformance.http import Exchange
from conformance.registry import rule
from conformance.rules._support import Record, expect_status, required_fields, scratch_fields
from conformance.rules.scope import scope_overrides, stored_in_scope

SOURCE = "002 L565-592 (up to 100 parallel patch/delete operations); 004 L775-828"
OUTCOMES = ["success", "error", "error", "success", "success"]


def _mixed(ctx: Context, resource: Resource) -> tuple[list[dict[str, Any]], Record, Record, str]:
    """Five operations whose outcomes are OUTCOMES: good create, patch of nothing, bad create, patch, delete."""
    name = resource.collection
    keep, victim = ctx.create(name), ctx.create(name)
    field = scratch_fields(resource, 1)[0]
    required = required_fields(resource)[0]
    directive = [{"op": "add", "path": f"/{field}", "value": "cfz-batch"}]
    operations: list[dict[str, Any]] = [
        {"operation": "create", "object": ctx.body(name)},
        {"operation": "patch", "id": ctx.missing_id(), "patch_directives": directive},
        {"operation": "create", "object": {k: v for k, v in ctx.body(name).items() if k != required}},
        {"operation": "patch", "id": keep["id"], "patch_directives": directive},
        {"operation": "delete", "id": victim["id"]},
    ]
    return operations, keep, victim, field


def _results(exchange: Exchange, failure: type[Failure]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    expect_status(exchange, [200], failure, "a valid batch request", "Valid batch request refused")
    body = exchange.json_or_none()
    body = body if isinstance(body, dict) else {}
    return body, [r for r in body.get("results", []) if isinstance(r, dict)]


@rule(
    "batch.limit",
    "A batch request holds 1 to 100 operations: 100 are accepted, 0 or 101 are a 400 that applies none of them.",
    source=SOURCE,
    failure=BatchLimitIgnored,
    applies=lambda resource: Kind.BATCH in resource.operations,
)
def batch_size_is_limited(ctx: Context, resource: Resource) -> None:
    name = resource.collection
    harmless: list[dict[str, Any]] = [{"operation": "patch", "id": ctx.missing_id(), "patch_directives": []}] * 100
    empty = ctx.batch(name, [])
    expect_status(empty, [400], BatchLimitIgnored, "0 operations", "Empty batch request not refused with 400")
    # The 101st operation creates a record of a scope of its own: if it is applied, a walk over the scope finds it.
    scope = scope_overrides(ctx, resource)
    body = ctx.body(name, **scope)
    over = ctx.batch(name, [*harmless, {"operation": "create", "object": body}])
    expect_status(over, [400], BatchLimitIgnored, "101 operations", "Batch of 101 operations not refused with 400")
    stored = stored_in_scope(ctx, resource, body, BatchLimitIgnored)
    if stored:
        raise BatchLimitIgnored(
            received=f"the refused request's create was applied: {stored} stored",
            expected="nothing applied by a refused batch request",
            title="Refused batch request applied",
            exchange=over,
        )
    exchange = ctx.batch(name, harmless)
    _, results = _results(exchange, BatchLimitIgnored)
    if len(results) != 100:
        raise BatchLimitIgnored(received=f"{len(results)} results", expected="100 results", exchange=exchange)


@rule(
    "batch.per-operation-results",
    "A batch answers one result per operation, in request order, naming the operation, its record and its own "
    "outcome; a failing operation does not stop the others, and each successful one takes effect.",
    source=SOURCE,
    failure=BatchResultsMismatch,
    applies=lambda resource: Kind.BATCH in resource.operations,
)
def batch_results_follow_operations(ctx: Context, resource: Resource) -> None:
    operations, keep, victim, field = _mixed(ctx, resource)
    exchange = ctx.batch(resource.collection, operations)
    _, results = _results(exchange, BatchResultsMismatch)
    got = [(r.get("operation"), r.get("outcome")) for r in results]
    wanted = [(op["operation"], outcome) for op, outcome in zip(operations, OUTCOMES, strict=True)]
    if got != wanted:
        raise BatchResultsMismatch(received=f"results {got}", expected=f"results {wanted}", exchange=exchange)
    named = [r.get("id") for r in results]
    for position, operation in enumerate(operations):
        if "id" in operation and named[position] != operation["id"]:
            raise BatchResultsMismatch(
                received=f"result {position} names {named[position]!r}",
                expected=f"{operation['id']!r}, the record of operation {position}",
                title="Batch result names another record",
                exchange=exchange,
            )
    created = named[0]
    if not isinstance(created, str) or not created:
        raise BatchResultsMismatch(
            received=f"result 0 names {created!r}", expected="the id of the created record", exchange=exchange
        )
    ctx.read(resource.collection, created, written=operations[0]["object"])
    ctx.read(resource.collection, keep["id"], written={field: "cfz-batch"})
    gone = ctx.get(resource.collection, victim["id"])
    if gone.status != 404:
        raise BatchResultsMismatch(
            received=f"GET of the batch-deleted {victim['id']!r} answered {gone.summary(120)}",
            expected="404 after its delete operation succeeded",
            title="Batch delete did not take effect",
            exchange=gone,
        )


@rule(
    "batch.counts",
    "success_count and error_count count the results' outcomes and add up to the number of operations.",
    source="004 L817-828; 002 L582-583",
    failure=BatchCountsMismatch,
    applies=lambda resource: Kind.BATCH in resource.operations,
)
def batch_counts_add_up(ctx: Context, resource: Resource) -> None:
    operations, *_ = _mixed(ctx, resource)
    exchange = ctx.batch(resource.collection, operations)
    body, results = _results(exchange, BatchCountsMismatch)
    tally = {o: sum(1 for r in results if r.get("outcome") == o) for o in ("success", "error")}
    got = (body.get("success_count"), body.get("error_count"))
    if len(results) != len(operations) or sum(tally.values()) != len(results):
        raise BatchCountsMismatch(
            received=f"{len(results)} results, {tally['success']} success and {tally['error']} error outcomes",
            expected=f"one success or error outcome for each of the {len(operations)} operations",
            title="Batch outcomes do not account for the operations",
            exchange=exchange,
        )
    if got != (tally["success"], tally["error"]):
        raise BatchCountsMismatch(
            received=f"success_count {got[0]!r}, error_count {got[1]!r}",
            expected=f"success_count {tally['success']}, error_count {tally['error']} (the outcomes of the results)",
            exchange=exchange,
        )
