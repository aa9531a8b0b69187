"""Id rules: the server makes every id, unique and in the pattern; clients cannot choose or change one;
ids that name nothing, or nothing any more, are a 404."""

from __future__ import annotations

from conformance.context import Context
from conformance.contract import ID_PATTERN, Resource
from conformance.failures import (
    DeletedRecordServed,
    DuplicateId,
    IdMismatchAccepted,
    MalformedGeneratedId,
    SuppliedIdAccepted,
    UnknownIdAnswered,
)
from conformance.http import Exchange
from conformance.registry import rule
from conformance.rules._support import expect_status, require_deleted, require_ok, scratch_fields

PATTERN = r"^[\w|-]+$"


@rule(
    "ids.server-generated",
    "A create answers with a server-generated id matching ^[\\w|-]+$; a workflow create names it in X-Record-Id "
    "and as the last segment of executionArn, and the record's workflow_execution_id is that executionArn.",
    source="000 L7, L22-26, L291-299; 004 L283; NOTES.md Responses (X-Record-Id)",
    failure=MalformedGeneratedId,
)
def ids_are_server_generated(ctx: Context, resource: Resource) -> None:
    exchange = ctx.call(resource.name, "create", json=ctx.body(resource.name))
    body = require_ok(exchange, f"create a {resource.name} record") or {}
    if resource.workflow:
        arn = str(body.get("executionArn", ""))
        record_id = exchange.headers.get("x-record-id", "")
        if not record_id or arn.rsplit(":", 1)[-1] != record_id:
            raise MalformedGeneratedId(
                received=f"X-Record-Id {record_id!r}, executionArn {arn!r}",
                expected="X-Record-Id equal to the last ':'-segment of executionArn",
                exchange=exchange,
            )
    else:
        record_id = str(body.get("id", ""))
    if not ID_PATTERN.fullmatch(record_id):
        raise MalformedGeneratedId(received=repr(record_id), expected=f"an id matching {PATTERN}", exchange=exchange)
    stored = ctx.get(resource.name, record_id)
    record = stored.json_or_none() if stored.status == 200 else None
    if not isinstance(record, dict) or record.get("id") != record_id:
        raise MalformedGeneratedId(
            received=stored.summary(), expected=f"GET of {record_id!r} returns it", exchange=stored
        )
    if resource.workflow and "workflow_execution_id" in resource.fields and record.get("workflow_execution_id") != arn:
        raise MalformedGeneratedId(
            received=f"workflow_execution_id {record.get('workflow_execution_id')!r}",
            expected=repr(arn),
            exchange=stored,
        )


@rule(
    "ids.unique",
    "Every created record gets an id no other record of the tenant has, by create and by batch create alike.",
    source="000 L22-26 (The unique, string identifier)",
    failure=DuplicateId,
)
def ids_are_unique(ctx: Context, resource: Resource) -> None:
    made = [str(ctx.create(resource.name)["id"]) for _ in range(3)]
    exchange = ctx.batch(resource.name, [{"operation": "create", "object": ctx.body(resource.name)} for _ in range(2)])
    body = require_ok(exchange, "batch create") or {}
    made += [str(r.get("id")) for r in body.get("results", []) if r.get("outcome") == "success"]
    duplicates = sorted({i for i in made if made.count(i) > 1})
    if duplicates:
        raise DuplicateId(received=f"ids {made}", expected="distinct ids", exchange=exchange)


@rule(
    "ids.supplied-id-rejected",
    "A create body that carries an id is a 400, and no record gets that id.",
    source="000 L7; 001 L675; 002 L1; 003 L249; 004 L283 (If an ID is specified ... an error); NOTES.md #1",
    failure=SuppliedIdAccepted,
)
def supplied_ids_are_rejected(ctx: Context, resource: Resource) -> None:
    chosen = ctx.missing_id()
    exchange = ctx.call(resource.name, "create", json=ctx.body(resource.name, id=chosen))
    expect_status(exchange, [400], SuppliedIdAccepted, "a create body with an id")
    after = ctx.get(resource.name, chosen)
    expect_status(after, [404], SuppliedIdAccepted, f"no record {chosen!r} after the refused create")


@rule(
    "ids.put-mismatch-rejected",
    "A replace whose body id differs from the path's id is a 400 and changes nothing.",
    source="000 L455-461 (the replace body's id); NOTES.md #3",
    failure=IdMismatchAccepted,
)
def replace_id_mismatch_is_rejected(ctx: Context, resource: Resource) -> None:
    record = ctx.create(resource.name)
    body = ctx.body(resource.name, id=ctx.missing_id())
    exchange = ctx.call(resource.name, "replace", id=record["id"], json=body)
    expect_status(exchange, [400], IdMismatchAccepted, "a replace body naming another id")
    after = ctx.read(resource.name, record["id"])
    if after.get("sys_version") != record.get("sys_version"):
        raise IdMismatchAccepted(
            received=f"sys_version {after.get('sys_version')}", expected=f"unchanged ({record.get('sys_version')})"
        )


def _item_calls(ctx: Context, resource: Resource, record_id: str) -> list[tuple[str, Exchange]]:
    """GET, PUT, PATCH and DELETE of `record_id` (only GET in read-only mode)."""
    name = resource.name
    calls = [("get", ctx.get(name, record_id))]
    if ctx.config.read_only:
        return calls
    patch = [{"op": "add", "path": f"/{scratch_fields(resource, 1)[0]}", "value": "cfz"}]
    calls.append(("replace", ctx.call(name, "replace", id=record_id, json=ctx.body(name))))
    calls.append(("patch", ctx.call(name, "patch", id=record_id, json=patch)))
    if "delete" in resource.operations:
        calls.append(("delete", ctx.call(name, "delete", id=record_id)))
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
    record = ctx.create(resource.name)
    require_deleted(ctx, resource.name, record["id"])
    for kind, exchange in _item_calls(ctx, resource, record["id"]):
        expect_status(exchange, [404], DeletedRecordServed, f"{kind} of a deleted record")
