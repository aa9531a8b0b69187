"""Id rules: the server makes every id, unique and in the pattern; clients cannot choose or change one;
ids that name nothing, or nothing any more, are a 404."""

from __future__ import annotations

from collect_contract import Kind, Resource
from conformance.context import Context
from conformance.errors import Reason, Skipped
from conformance.failures import (
    DeletedRecordServed,
    DuplicateId,
    IdMismatchAccepted,
    MalformedGeneratedId,
    SuppliedIdAccepted,
    UnknownIdAnswered,
)
from conformance.http import Exchange, created_id
from conformance.ledger import Ownership
from conformance.registry import rule
from conformance.rules._support import (
    expect_status,
    require_deleted,
    require_ok,
    scratch_fields,
    succeeded,
    unchanged,
)
from conformance.validators import ID_PATTERN

PATTERN = r"^[\w|-]+$"


@rule(
    "ids.server-generated",
    "A create answers with a server-generated id matching ^[\\w|-]+$; a workflow create names it in X-Record-Id "
    "and as the last segment of executionArn, and the record's workflow_execution_id is that executionArn; a GET "
    "of that id returns the record with the values the create sent.",
    source="000 L7, L22-26, L291-299; 004 L283; NOTES.md Responses (X-Record-Id)",
    failure=MalformedGeneratedId,
)
def ids_are_server_generated(ctx: Context, resource: Resource) -> None:
    sent = ctx.body(resource.collection)
    exchange = ctx.call(resource.collection, Kind.CREATE, json=sent)
    body = require_ok(exchange, f"a valid create of a {resource.collection} record") or {}
    arn = str(body.get("executionArn", "")) if isinstance(body, dict) else ""
    if resource.workflow:
        record_id = exchange.headers.get("x-record-id", "")
        if not record_id or arn.rsplit(":", 1)[-1] != record_id:
            raise MalformedGeneratedId(
                received=f"X-Record-Id {record_id!r}, executionArn {arn!r}",
                expected="X-Record-Id equal to the last ':'-segment of executionArn",
                exchange=exchange,
            )
    else:
        record_id = str(body.get("id", "")) if isinstance(body, dict) else ""
    if not ID_PATTERN.fullmatch(record_id):
        raise MalformedGeneratedId(received=repr(record_id), expected=f"an id matching {PATTERN}", exchange=exchange)
    record = ctx.read(resource.collection, record_id, written=sent)
    if resource.workflow and "workflow_execution_id" in resource.fields and record.get("workflow_execution_id") != arn:
        raise MalformedGeneratedId(
            received=f"workflow_execution_id {record.get('workflow_execution_id')!r}",
            expected=repr(arn),
            exchange=ctx.session.last,
        )


@rule(
    "ids.unique",
    "Every create answers with a new id: one that no other create answered and that names a record the create "
    "made (sys_version 1, created during the run), by create and by batch create alike.",
    source="000 L22-26 (The unique, string identifier); 000 L150-172 (sys_version, sys_created_at)",
    failure=DuplicateId,
)
def ids_are_unique(ctx: Context, resource: Resource) -> None:
    name, ledger = resource.collection, ctx.session.ledger
    made: list[tuple[str, Exchange]] = []
    for _ in range(3):
        exchange = ctx.call(name, Kind.CREATE, json=ctx.body(name))
        require_ok(exchange, f"a valid create of a {name} record")
        made.append((str(created_id(exchange)), exchange))
    exchange = ctx.batch(name, [{"operation": "create", "object": ctx.body(name)} for _ in range(2)])
    body = require_ok(exchange, "a batch create of two records") or {}
    made += [(str(r.get("id")), exchange) for r in body.get("results", []) if r.get("outcome") == "success"]
    answered = [record_id for record_id, _ in made]
    duplicates = sorted({i for i in answered if answered.count(i) > 1})
    if duplicates:
        raise DuplicateId(received=f"ids {answered}", expected="distinct ids", exchange=exchange)
    for record_id, answer in made:
        if ledger.state(name, record_id) is Ownership.PENDING:
            ctx.confirm(name, record_id)
        why = ledger.why_not(name, record_id)
        if why:
            raise DuplicateId(
                received=f"{record_id!r}: {why}",
                expected="the id of the new record the create made",
                title="Create answered the id of a record it did not make",
                exchange=answer,
            )
    # What other checks' creates met so far counts too: a create anywhere in the run that answered an id that
    # was not new.
    for stray in ledger.strays():
        if stray.collection == name and stray.record_id:
            raise DuplicateId(
                received=f"{stray.record_id!r}: {stray.why}",
                expected="the id of the new record the create made",
                title="Create answered the id of a record it did not make",
            )


@rule(
    "ids.supplied-id-rejected",
    "A create body that carries an id is a 400, and no record gets that id.",
    source="000 L7; 001 L675; 002 L1; 003 L249; 004 L283 (If an ID is specified ... an error); NOTES.md #1",
    failure=SuppliedIdAccepted,
)
def supplied_ids_are_rejected(ctx: Context, resource: Resource) -> None:
    chosen = ctx.missing_id()
    exchange = ctx.call(resource.collection, Kind.CREATE, json=ctx.body(resource.collection, id=chosen))
    if succeeded(exchange):
        raise SuppliedIdAccepted(
            received=exchange.summary(), expected="400 (a create body with an id)", exchange=exchange
        )
    expect_status(
        exchange, [400], SuppliedIdAccepted, "a create body with an id", "Create with an id not refused with 400"
    )
    after = ctx.get(resource.collection, chosen)
    if after.status == 404:
        return
    record = after.json_or_none()
    if after.status == 200 and isinstance(record, dict) and record.get("id") == chosen:
        raise SuppliedIdAccepted(
            received=after.summary(),
            expected=f"404: no record {chosen!r} after the refused create",
            title="Refused create stored the supplied id",
            exchange=after,
        )
    raise Skipped(
        f"GET of an id that names no record answered {after.summary(120)} (see ids.unknown-404): whether the "
        f"refused create stored {chosen!r} cannot be told",
        Reason.SETUP_REFUSED,
    )


@rule(
    "ids.put-mismatch-rejected",
    "A replace whose body id differs from the path's id is a 400 and changes nothing.",
    source="000 L455-461 (the replace body's id); NOTES.md #3",
    failure=IdMismatchAccepted,
)
def replace_id_mismatch_is_rejected(ctx: Context, resource: Resource) -> None:
    record = ctx.create(resource.collection)
    before = ctx.read(resource.collection, record["id"])
    body = ctx.body(resource.collection, id=ctx.missing_id())
    exchange = ctx.call(resource.collection, Kind.REPLACE, id=record["id"], json=body)
    if succeeded(exchange):
        raise IdMismatchAccepted(
            received=exchange.summary(), expected="400 (a replace body naming another id)", exchange=exchange
        )
    expect_status(
        exchange,
        [400],
        IdMismatchAccepted,
        "a replace body naming another id",
        "Replace with a different body id not refused with 400",
    )
    unchanged(ctx, resource, before, IdMismatchAccepted, "the refused replace")


def _item_calls(ctx: Context, resource: Resource, record_id: str) -> list[tuple[str, Exchange]]:
    """GET, PUT, PATCH and DELETE of `record_id` (only GET in read-only mode)."""
    name = resource.collection
    calls = [("get", ctx.get(name, record_id))]
    if ctx.config.read_only:
        return calls
    patch = [{"op": "add", "path": f"/{scratch_fields(resource, 1)[0]}", "value": "cfz"}]
    calls.append(("replace", ctx.call(name, Kind.REPLACE, id=record_id, json=ctx.body(name))))
    calls.append(("patch", ctx.call(name, Kind.PATCH, id=record_id, json=patch)))
    if Kind.DELETE in resource.operations:
        calls.append(("delete", ctx.call(name, Kind.DELETE, id=record_id)))
    return calls


@rule(
    "ids.unknown-404",
    "GET, PUT, PATCH and DELETE of an id that names no record of the tenant are a 404.",
    source="000 L380, L676, L823 (404 The write off could not be found)",
    failure=UnknownIdAnswered,
    needs=(),
)
def unknown_ids_are_404(ctx: Context, resource: Resource) -> None:
    for kind, exchange in _item_calls(ctx, resource, ctx.missing_id()):
        expect_status(exchange, [404], UnknownIdAnswered, f"{kind} of an id that names no record")


@rule(
    "ids.deleted-404",
    "Once a record is deleted (DELETE, or a batch delete operation), GET, PUT, PATCH and DELETE of its id are a 404.",
    source="004 L1039-1070 (delete); 002 L565 (batch delete); 000 L380",
    failure=DeletedRecordServed,
)
def deleted_ids_are_404(ctx: Context, resource: Resource) -> None:
    record = ctx.create(resource.collection)
    require_deleted(ctx, resource.collection, record["id"])
    for kind, exchange in _item_calls(ctx, resource, record["id"]):
        expect_status(exchange, [404], DeletedRecordServed, f"{kind} of a deleted record")
