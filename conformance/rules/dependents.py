"""The dependents lookup: every batch that depends on the ones asked for, directly or through others."""

from __future__ import annotations

from typing import Any

from collect_contract import Kind, Operation, Resource
from conformance.context import Context
from conformance.failures import DependentsMismatch
from conformance.registry import rule
from conformance.rules._support import expect_status


def _lookup(resource: Resource) -> Operation | None:
    return next((op for op in resource.customs if op.path.endswith("/dependents")), None)


def _children(ctx: Context, operation: Operation, asked: list[str]) -> Any:
    exchange = ctx.client.call(operation.operation_id, params={"ids": ",".join(asked)})
    expect_status(exchange, [200], DependentsMismatch, f"dependents of {asked}")
    return exchange, (exchange.json_or_none() or {}).get("children")


@rule(
    "dependents.recursive",
    "The dependents of batches are every batch that depends on them directly or through other batches, each "
    "once, in breadth-first order, without the batches asked for; none is an empty list; cycles end.",
    source="004 L831-862 (Recursively retrieve batches dependent ...); NOTES.md #7",
    failure=DependentsMismatch,
    applies=lambda resource: _lookup(resource) is not None and "dependents" in resource.references,
)
def dependents_are_followed_recursively(ctx: Context, resource: Resource) -> None:
    operation = _lookup(resource)
    assert operation is not None
    # c <- b <- a: a's dependents name b, b's name c (a target must exist before a record names it).
    c = ctx.create(resource.collection)
    b = ctx.create(resource.collection, dependents=[c["id"]])
    a = ctx.create(resource.collection, dependents=[b["id"]])
    cases = [([a["id"]], [b["id"], c["id"]]), ([a["id"], b["id"]], [c["id"]]), ([c["id"]], [])]
    patch = [{"op": "add", "path": "/dependents", "value": [a["id"]]}]
    for asked, wanted in cases:
        exchange, children = _children(ctx, operation, asked)
        if children != wanted:
            raise DependentsMismatch(
                received=f"children {children}", expected=f"{wanted} for ids={asked}", exchange=exchange
            )
    # Close the cycle c -> a: the walk must still end, each batch once, the asked one left out.
    expect_status(
        ctx.call(resource.collection, Kind.PATCH, id=c["id"], json=patch),
        [200],
        DependentsMismatch,
        "patch closing a cycle",
    )
    exchange, children = _children(ctx, operation, [a["id"]])
    if children != [b["id"], c["id"]]:
        raise DependentsMismatch(
            received=f"children {children}", expected=f"{[b['id'], c['id']]} (cycle a->b->c->a)", exchange=exchange
        )
