"""The sweep: one ordinary call of every operation of a resource, and a few bad ones.

It makes the traffic that the response rules (documented status, media type, schema, page counts) judge when
they are selected without the Schemathesis drivers, so that each of them can run alone. In read-only mode it
reads the tenant's existing records with GET requests only.
"""

from __future__ import annotations

from typing import Any

from collect_contract import Kind, Operation, Resource
from conformance.context import Context
from conformance.errors import Skipped
from conformance.rules._support import lookups, sample_record, scratch_fields
from conformance.rules.scope import search_body


def sweep(ctx: Context, resource: Resource) -> None:
    name = resource.collection
    try:
        record = sample_record(ctx, name)
    except Skipped:
        # No record to sweep (a create refused, or not the run's own): the calls that need none are still judged,
        # and the sweep then ends not verified.
        _without_record(ctx, resource)
        raise
    ctx.get(name, record["id"])
    ctx.get(name, record["id"], fields="id")
    ctx.get(name, ctx.missing_id())
    ctx.call(name, Kind.LIST)
    ctx.call(name, Kind.LIST, params={"fields": "id", "cfz_unknown": "1"})
    for lookup, args in lookups(resource, record):
        ctx.client.call(lookup.operation_id, **args)
    for operation in resource.customs:
        _custom(ctx, operation, record)
    if not ctx.config.read_only:
        _writes(ctx, resource, record)


def _without_record(ctx: Context, resource: Resource) -> None:
    name = resource.collection
    ctx.get(name, ctx.missing_id())
    ctx.call(name, Kind.LIST)
    ctx.call(name, Kind.LIST, params={"fields": "id", "cfz_unknown": "1"})
    if not ctx.config.read_only:
        ctx.call(name, Kind.CREATE, json={})


def _writes(ctx: Context, resource: Resource, record: dict[str, Any]) -> None:
    name = resource.collection
    ctx.call(name, Kind.CREATE, json={})
    if Kind.SEARCH in resource.operations:
        ctx.call(name, Kind.SEARCH, json=search_body(resource, record))
        ctx.call(name, Kind.SEARCH, json=search_body(resource, record), params={"fieldsToReturn": "id"})
    ctx.call(name, Kind.REPLACE, id=record["id"], json=ctx.body(name))
    directive = {"op": "add", "path": f"/{scratch_fields(resource, 1)[0]}", "value": "cfz-sweep"}
    ctx.call(name, Kind.PATCH, id=record["id"], json=[directive])
    ctx.batch(name, [{"operation": "patch", "id": record["id"], "patch_directives": [directive]}])
    if Kind.WARM_UP in resource.operations:
        ctx.call(name, Kind.WARM_UP)
    if Kind.DELETE in resource.operations:
        ctx.call(name, Kind.DELETE, id=ctx.create(name)["id"])


def _custom(ctx: Context, operation: Operation, record: dict[str, Any]) -> None:
    """Call an operation of its own shape with the record's id wherever it takes an id."""
    if not operation.is_safe and ctx.config.read_only:
        return
    args = {n: record["id"] for n, p in operation.parameters.items() if p["in"] == "path" and n != "tenantId"}
    query = {n: record["id"] for n, p in operation.parameters.items() if p["in"] == "query" and p.get("required")}
    body: dict[str, Any] = {"json": ctx.body(operation.collection or "")} if "requestBody" in operation.raw else {}
    ctx.client.call(operation.operation_id, params=query or None, **args, **body)
