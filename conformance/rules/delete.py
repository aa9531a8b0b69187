"""Delete rules: a delete removes the record from every read, and a record that others still name is kept."""

from __future__ import annotations

from collect_contract import Kind, Resource
from conformance.context import Context
from conformance.failures import RecordNotDeleted, ReferencedRecordDeleted
from conformance.registry import rule
from conformance.rules._support import deleted, walk
from conformance.rules.scope import scoped_records, scoped_walks


@rule(
    "delete.removes-record",
    "A delete (DELETE, or a batch delete operation) answers 200 naming the record, which then leaves every lookup "
    "and search.",
    source="004 L1039-1070 (the id of the deleted batch); 002 L565",
    failure=RecordNotDeleted,
)
def delete_removes_the_record(ctx: Context, resource: Resource) -> None:
    victim, survivor = scoped_records(ctx, resource, 2)
    exchange = ctx.delete(resource.collection, victim["id"])
    body = exchange.json_or_none()
    batch = exchange.operation is not None and exchange.operation.kind is Kind.BATCH
    results = body.get("results") if batch and isinstance(body, dict) else None
    named = (
        (results[0].get("id") if isinstance(results, list) and results and isinstance(results[0], dict) else None)
        if batch
        else body
    )
    if not deleted(exchange) or named != victim["id"]:
        raise RecordNotDeleted(
            received=exchange.summary(),
            expected=f"200 naming {victim['id']!r}",
            title="Delete refused" if not deleted(exchange) else "Delete answered without naming the record",
            exchange=exchange,
        )
    for operation, args in scoped_walks(resource, survivor):
        found = walk(ctx, operation, RecordNotDeleted, **args)
        if victim["id"] in found.ids or survivor["id"] not in found.ids:
            raise RecordNotDeleted(
                received=f"{operation.operation_id} ids {found.ids}",
                expected=f"{survivor['id']!r} without {victim['id']!r}",
                title="Deleted record still listed" if victim["id"] in found.ids else "Delete removed another record",
                exchange=found.exchanges[-1],
            )


@rule(
    "delete.referenced-409",
    "Deleting a record that another record still names (a transaction's batch_id, a batch's dependents) is "
    "refused, with 409 (or an error result in a batch), and the record stays.",
    source="000 L240; NOTES.md Responses (deleting a batch that transactions or dependents still name is a 409)",
    failure=ReferencedRecordDeleted,
    applies=lambda resource: bool(resource.referenced_by),
)
def referenced_records_are_kept(ctx: Context, resource: Resource) -> None:
    for reference in resource.referenced_by:
        other, field = reference.source, reference.field
        target = ctx.create(resource.collection)
        ctx.create(other, **{field: [target["id"]] if reference.many else target["id"]})
        exchange = ctx.delete(resource.collection, target["id"])
        direct = exchange.operation is not None and exchange.operation.kind is Kind.DELETE
        refused = exchange.status == 409 if direct else exchange.status == 200 and not deleted(exchange)
        still = ctx.get(resource.collection, target["id"])
        expected = f"409 (or an error result) while {other}.{field} names it; then GET 200"
        if still.status != 200:
            raise ReferencedRecordDeleted(
                received=f"{exchange.summary(150)}; then GET {still.status}",
                expected=expected,
                title="Referenced record deleted",
                exchange=exchange,
            )
        if not refused:
            title = "Delete of a referenced record answered success" if deleted(exchange) else None
            raise ReferencedRecordDeleted(
                received=f"{exchange.summary(150)}; the record stays (GET 200)",
                expected=expected,
                title=title or "Delete of a referenced record not refused with 409",
                exchange=exchange,
            )
        ctx.read(resource.collection, target["id"])
