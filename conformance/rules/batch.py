"""Batch operation rules: 1 to 100 operations; one result per operation, in order, each with its own outcome;
counts that add up."""

from __future__ import annotations

from typing import Any

from conformance.context import Context
from conformance.contract import Resource
from conformance.failures import BatchCountsMismatch, BatchLimitIgnored, BatchResultsMismatch
from conformance.http import Exchange
from conformance.registry import rule
from conformance.rules._support import Record, expect_status, require_ok, required_fields, scratch_fields

SOURCE = "002 L565-592 (up to 100 parallel patch/delete operations); 004 L775-828"
OUTCOMES = ["success", "error", "error", "success", "success"]


def _mixed(ctx: Context, resource: Resource) -> tuple[list[dict[str, Any]], Record, Record, str]:
    """Five operations whose outcomes are OUTCOMES: good create, patch of nothing, bad create, patch, delete."""
    name = resource.name
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


def _results(exchange: Exchange) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    body = require_ok(exchange, "batch request") or {}
    return body, [r for r in body.get("results", []) if isinstance(r, dict)]


@rule(
    "batch.limit",
    "A batch request holds 1 to 100 operations: 100 are accepted, 0 or 101 are a 400 that applies none of them.",
    source=SOURCE,
    failure=BatchLimitIgnored,
    applies=lambda resource: "batch" in resource.operations,
)
def batch_size_is_limited(ctx: Context, resource: Resource) -> None:
    harmless: list[dict[str, Any]] = [{"operation": "patch", "id": ctx.missing_id(), "patch_directives": []}] * 100
    expect_status(ctx.batch(resource.name, []), [400], BatchLimitIgnored, "0 operations")
    over = [*harmless, {"operation": "create", "object": ctx.body(resource.name)}]
    expect_status(ctx.batch(resource.name, over), [400], BatchLimitIgnored, "101 operations")
    exchange = ctx.batch(resource.name, harmless)
    expect_status(exchange, [200], BatchLimitIgnored, "100 operations")
    if len(_results(exchange)[1]) != 100:
        raise BatchLimitIgnored(
            received=f"{len(_results(exchange)[1])} results", expected="100 results", exchange=exchange
        )


@rule(
    "batch.per-operation-results",
    "A batch answers one result per operation, in request order, naming the operation and its own outcome; a "
    "failing operation does not stop the others, and each successful one takes effect.",
    source=SOURCE,
    failure=BatchResultsMismatch,
    applies=lambda resource: "batch" in resource.operations,
)
def batch_results_follow_operations(ctx: Context, resource: Resource) -> None:
    operations, keep, victim, field = _mixed(ctx, resource)
    exchange = ctx.batch(resource.name, operations)
    _, results = _results(exchange)
    got = [(r.get("operation"), r.get("outcome")) for r in results]
    wanted = [(op["operation"], outcome) for op, outcome in zip(operations, OUTCOMES, strict=True)]
    if got != wanted:
        raise BatchResultsMismatch(received=f"results {got}", expected=f"results {wanted}", exchange=exchange)
    checks = [
        (ctx.get(resource.name, str(results[0].get("id"))).status, 200, "the batch-created record"),
        (ctx.read(resource.name, keep["id"]).get(field), "cfz-batch", "the batch-patched record"),
        (ctx.get(resource.name, victim["id"]).status, 404, "the batch-deleted record"),
    ]
    for received, expected, what in checks:
        if received != expected:
            raise BatchResultsMismatch(received=f"{what}: {received!r}", expected=repr(expected), exchange=exchange)


@rule(
    "batch.counts",
    "success_count and error_count count the results' outcomes and add up to the number of operations.",
    source="004 L817-828; 002 L582-583",
    failure=BatchCountsMismatch,
    applies=lambda resource: "batch" in resource.operations,
)
def batch_counts_add_up(ctx: Context, resource: Resource) -> None:
    operations, *_ = _mixed(ctx, resource)
    exchange = ctx.batch(resource.name, operations)
    body, results = _results(exchange)
    tally = {o: sum(1 for r in results if r.get("outcome") == o) for o in ("success", "error")}
    got = (body.get("success_count"), body.get("error_count"))
    if got != (tally["success"], tally["error"]) or sum(tally.values()) != len(operations) or None in got:
        raise BatchCountsMismatch(
            received=f"success_count {got[0]}, error_count {got[1]}",
            expected=f"{tally['success']} and {tally['error']} (the outcomes of {len(operations)} operations)",
            exchange=exchange,
        )
