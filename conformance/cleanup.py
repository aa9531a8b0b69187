"""Removing what the run created, and saying what was created, removed and left.

Records go in dependency order (transactions before the invoices and batches they name), a resource's DELETE
where it has one and batch delete operations (100 at a time) otherwise. A record that another one still names
is retried on the next pass; before the last pass the run's own `dependents` lists are emptied, so that batch
cycles can go too. A removal counts only once a GET of the record answers 404; so does a record a check deleted
during the run (one still there is removed like the others).

Only the ledger's records are touched: an id a workflow create reported is read back first (the ledger then
tells whether it is the run's own); what a 2xx create made that the run cannot call its own (an id another create
answered too, a record that is not new, a create that named nothing) is listed as left, with the reason.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from collect_contract import Kind, Resource
from conformance.context import Context
from conformance.ledger import Ownership
from conformance.report import Cleanup

PASSES = 3
CHUNK = 100
T = TypeVar("T")


def clean_up(ctx: Context) -> Cleanup:
    result = Cleanup()
    if ctx.config.read_only:
        return result
    _confirm_pending(ctx)
    _check_deleted(ctx, result)
    why: dict[tuple[str, str], str] = {}
    for attempt in range(PASSES):
        if attempt == PASSES - 1:
            _unlink(ctx)
        for resource in ctx.deletable():
            removed = _remove(ctx, resource, why)
            if removed:
                result.removed[resource.collection] = result.removed.get(resource.collection, 0) + removed
        if not ctx.session.ledger.count():
            break
    ledger = ctx.session.ledger
    result.created = {name: n for name, n in ledger.created.items() if n > 0}
    for collection in ledger.collections():
        for record_id in ledger.ids(collection):
            result.left.append((collection, record_id, why.get((collection, record_id), "not attempted")))
    for stray in ledger.strays():
        result.left.append((stray.collection, stray.record_id, f"not the run's own, so not removed: {stray.why}"))
    return result


def _confirm_pending(ctx: Context) -> None:
    """Read back the ids workflow creates reported and no check has read yet (fuzzing makes most of them)."""
    ledger = ctx.session.ledger
    for resource in ctx.contract.resources.values():
        _parallel(ctx, functools.partial(ctx.confirm, resource.collection), ledger.pending(resource.collection))
        for record_id in ledger.pending(resource.collection):
            ledger.abandon(resource.collection, record_id, "a create reported it, and a GET of it answers no record")


def _check_deleted(ctx: Context, result: Cleanup) -> None:
    """A record a check deleted is gone only once a GET says so (a delete may answer success and keep it): the
    gone ones are counted as deleted, any other is the run's to remove again."""
    ledger = ctx.session.ledger
    for name in ctx.contract.resources:
        ids = ledger.retired(name)
        checks = _parallel(ctx, functools.partial(ctx.get, name), ids)
        for record_id, check in zip(ids, checks, strict=True):
            if check.status == 404:
                result.deleted[name] = result.deleted.get(name, 0) + 1
            else:
                ledger.revive(name, record_id)


def _remove(ctx: Context, resource: Resource, why: dict[tuple[str, str], str]) -> int:
    ledger, name = ctx.session.ledger, resource.collection
    ids = ledger.ids(name)
    answers: dict[str, str] = {}
    if Kind.DELETE in resource.operations:
        for record_id, exchange in zip(
            ids, _parallel(ctx, lambda i: ctx.call(name, Kind.DELETE, id=i), ids), strict=True
        ):
            answers[record_id] = exchange.summary()
    else:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            exchange = ctx.batch(name, [{"operation": "delete", "id": i} for i in chunk])
            body = exchange.json_or_none() if 200 <= exchange.status < 300 else None
            results = body.get("results", []) if isinstance(body, dict) else []
            found = {str(r.get("id")): r for r in results if isinstance(r, dict)}
            for record_id in chunk:
                answers[record_id] = str(found.get(record_id, {}).get("error_message") or exchange.summary())
    checks = _parallel(ctx, lambda i: ctx.get(name, i), ids)
    for record_id, check in zip(ids, checks, strict=True):
        _settle(ctx, resource, record_id, answers[record_id], check.status, why)
    return len(ids) - len(ledger.ids(name))


def _parallel(ctx: Context, call: Callable[[str], T], ids: list[str]) -> list[T]:
    """`call` for each id, `--workers` at once, in order (the guard still keeps the budget and rate limit)."""
    with ThreadPoolExecutor(max_workers=ctx.config.workers) as pool:
        return list(pool.map(call, ids))


def _settle(
    ctx: Context, resource: Resource, record_id: str, answer: str, status: int, why: dict[tuple[str, str], str]
) -> None:
    """A record is removed once a GET of it answers 404, whatever the delete answered; else remember why not."""
    ledger = ctx.session.ledger
    if status == 404:
        ledger.discard(resource.collection, record_id)
        return
    ledger.revive(resource.collection, record_id)  # a delete that answered success and left the record
    if ledger.state(resource.collection, record_id) is Ownership.OWNED:
        why[(resource.collection, record_id)] = f"{answer}; then GET answered {status}"


def _unlink(ctx: Context) -> None:
    """Empty the many-valued self-references (a batch's dependents) of the records still left."""
    for resource in ctx.contract.resources.values():
        fields = [f for f, ref in resource.references.items() if ref.many and ref.target == resource.collection]
        for record_id in ctx.session.ledger.ids(resource.collection) if fields else []:
            patch = [{"op": "add", "path": f"/{f}", "value": []} for f in fields]
            ctx.call(resource.collection, Kind.PATCH, id=record_id, json=patch)
