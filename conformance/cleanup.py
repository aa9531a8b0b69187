"""Removing what the run created, and saying what could not be removed.

Records go in dependency order (transactions before the invoices and batches they name), a resource's DELETE
where it has one and batch delete operations (100 at a time) otherwise. A record that another one still names
is retried on the next pass; before the last pass the run's own `dependents` lists are emptied, so that batch
cycles can go too. What is left is reported with the last answer the API gave.
"""

from __future__ import annotations

from conformance.context import Context
from conformance.contract import Resource
from conformance.report import Cleanup

PASSES = 3
CHUNK = 100


def clean_up(ctx: Context) -> Cleanup:
    result = Cleanup()
    if ctx.config.read_only:
        return result
    why: dict[tuple[str, str], str] = {}
    for attempt in range(PASSES):
        if attempt == PASSES - 1:
            _unlink(ctx)
        for resource in ctx.deletable():
            removed = _remove(ctx, resource, why)
            if removed:
                result.removed[resource.name] = result.removed.get(resource.name, 0) + removed
        if not ctx.session.ledger.count():
            break
    for collection in ctx.session.ledger.collections():
        for record_id in ctx.session.ledger.ids(collection):
            result.left.append((collection, record_id, why.get((collection, record_id), "not attempted")))
    return result


def _remove(ctx: Context, resource: Resource, why: dict[tuple[str, str], str]) -> int:
    ledger, name = ctx.session.ledger, resource.name
    ids = ledger.ids(name)
    if "delete" in resource.operations:
        for record_id in ids:
            exchange = ctx.call(name, "delete", id=record_id)
            _settle(ctx, resource, record_id, exchange.status == 200, exchange.summary(), why)
        return len(ids) - len(ledger.ids(name))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        exchange = ctx.batch(name, [{"operation": "delete", "id": i} for i in chunk])
        results = (exchange.json_or_none() or {}).get("results", []) if exchange.status == 200 else []
        outcomes = {str(r.get("id")): r for r in results if isinstance(r, dict)}
        for record_id in chunk:
            result = outcomes.get(record_id, {})
            _settle(
                ctx,
                resource,
                record_id,
                result.get("outcome") == "success",
                str(result.get("error_message") or exchange.summary()),
                why,
            )
    return len(ids) - len(ledger.ids(name))


def _settle(
    ctx: Context, resource: Resource, record_id: str, ok: bool, answer: str, why: dict[tuple[str, str], str]
) -> None:
    """Forget a record that is gone (deleted now, or already); remember why one is not."""
    if not ok and ctx.get(resource.name, record_id).status == 404:
        ok = True
    if ok:
        ctx.session.ledger.discard(resource.name, record_id)
    else:
        why[(resource.name, record_id)] = answer


def _unlink(ctx: Context) -> None:
    """Empty the many-valued self-references (a batch's dependents) of the records still left."""
    for resource in ctx.contract.resources.values():
        fields = [f for f, (schema, many) in resource.references.items() if many and schema == resource.schema_name]
        for record_id in ctx.session.ledger.ids(resource.name) if fields else []:
            patch = [{"op": "add", "path": f"/{f}", "value": []} for f in fields]
            ctx.call(resource.name, "patch", id=record_id, json=patch)
