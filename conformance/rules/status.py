"""Status code rules: only documented codes; 400 for bad input, 401 without a credential, 403 for another
tenant, 409 for references to records that do not exist."""

from __future__ import annotations

from typing import Any

from conformance.context import Context
from conformance.contract import Resource
from conformance.errors import Reason, Skipped
from conformance.failures import (
    DanglingReferenceAccepted,
    ForeignTenantAllowed,
    InvalidBodyAccepted,
    InvalidParameterAccepted,
    MissingAuthAccepted,
    UndocumentedStatus,
)
from conformance.http import Exchange
from conformance.registry import OTHER_TENANT, response_rule, rule
from conformance.rules._support import expect_status, lookups, required_fields, sample_record

BOGUS_TOKEN = "cfz-not-a-valid-token"


@response_rule(
    "status.documented",
    "Every response has a status code that its operation documents.",
    source="000 L235-242, L326-332, L376-382; NOTES.md Responses (status codes)",
    failure=UndocumentedStatus,
)
def status_code_is_documented(exchange: Exchange) -> None:
    operation = exchange.operation
    if operation is not None and str(exchange.status) not in operation.statuses:
        raise UndocumentedStatus(received=exchange.status, expected=", ".join(operation.statuses), exchange=exchange)


def _required_string(resource: Resource) -> str:
    required = required_fields(resource)
    strings = [n for n in required if resource.schema["properties"][n].get("type") == "string"]
    return str((strings or required)[0])


@rule(
    "status.bad-body-400",
    "A body that is not JSON, is not an object, lacks a required field, has a field of the wrong type or a field "
    "the schema does not list is a 400.",
    source="000 L236 (400 The write off you supplied was invalid); collect.yaml info (Limits)",
    failure=InvalidBodyAccepted,
)
def invalid_bodies_are_400(ctx: Context, resource: Resource) -> None:
    name, required = resource.name, _required_string(resource)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("malformed JSON", {"content": b'{"name": ', "headers": {"Content-Type": "application/json"}}),
        ("a JSON array, not an object", {"json": []}),
        (f"no required field {required!r}", {"json": {k: v for k, v in ctx.body(name).items() if k != required}}),
        (f"{required!r} of the wrong type", {"json": ctx.body(name, **{required: {"not": "a string"}})}),
        ("a field the schema does not list", {"json": ctx.body(name, cfz_unknown_field=1)}),
    ]
    for what, kwargs in cases:
        expect_status(ctx.call(name, "create", **kwargs), [400], InvalidBodyAccepted, f"create with {what}")
    if "search" in resource.operations:
        body = {"business_unit_id": ctx.unique("bu"), "cfz_unknown_filter": ["x"]}
        expect_status(ctx.call(name, "search", json=body), [400], InvalidBodyAccepted, "search with an unknown filter")


@rule(
    "status.bad-param-400",
    "An unknown query parameter, an unknown `fields` name, an empty start key, a path id outside the id pattern "
    "or a lookup value outside its enum is a 400.",
    source="000 L315-321, L365-371; NOTES.md Parameters",
    failure=InvalidParameterAccepted,
    needs=(),
)
def invalid_parameters_are_400(ctx: Context, resource: Resource) -> None:
    name, record = resource.name, sample_record(ctx, resource.name)
    checks: list[tuple[str, Exchange]] = [
        ("an unknown query parameter", ctx.call(name, "list", params={"cfz_unknown": "1"})),
        ("an unknown field in `fields`", ctx.call(name, "list", params={"fields": "id,cfz_no_such_field"})),
        ("an empty exclusiveStartKey", ctx.call(name, "list", params={"exclusiveStartKey": ""})),
        ("an unknown field in `fields`", ctx.get(name, record["id"], fields="id,cfz_no_such_field")),
        ("an id outside ^[\\w|-]+$", ctx.get(name, "cfz.bad.id")),
    ]
    for lookup in resource.lookups:
        for param in (p for p, _ in lookup.lookup if "enum" in lookup.parameters[p].get("schema", {})):
            args = {p: "cfz-value" for p, _ in lookup.lookup} | {param: "cfz-not-in-enum"}
            checks.append((f"{param} outside its enum", ctx.client.call(lookup.operation_id, **args)))
    for what, exchange in checks:
        expect_status(exchange, [400], InvalidParameterAccepted, what)


@rule(
    "status.no-auth-401",
    "A request without a credential, or with one the API does not know, is a 401, in both header styles.",
    source="000 L237, L337; 003 L230-234; collect.yaml info (Authentication)",
    failure=MissingAuthAccepted,
    needs=(),
)
def missing_credentials_are_401(ctx: Context, resource: Resource) -> None:
    name = resource.name
    for auth, what in (
        (None, "no Authorization"),
        (f"Bearer {BOGUS_TOKEN}", "an unknown bearer token"),
        (BOGUS_TOKEN, "an unknown API key"),
    ):
        expect_status(ctx.call(name, "list", auth=auth), [401], MissingAuthAccepted, f"list with {what}")
    if not ctx.config.read_only:
        # A server that ignores auth would create this record; the ledger still removes it at the end.
        exchange = ctx.call(name, "create", json=ctx.body(name), auth=None)
        expect_status(exchange, [401], MissingAuthAccepted, "create with no Authorization")


@rule(
    "status.foreign-tenant-403",
    "The credential used on a tenant it does not cover (--other-tenant) is a 403, for lists, records and lookups.",
    source="000 L238 (403 Forbidden); collect.yaml info (Authentication)",
    failure=ForeignTenantAllowed,
    needs=(OTHER_TENANT,),
)
def other_tenant_is_403(ctx: Context, resource: Resource) -> None:
    other = ctx.config.other_tenant
    if other is None:
        raise Skipped("needs --other-tenant", Reason.NEEDS_OTHER_TENANT)
    name = resource.name
    expect_status(ctx.call(name, "list", tenant=other), [403], ForeignTenantAllowed, f"list in tenant {other!r}")
    expect_status(ctx.call(name, "get", tenant=other, id=ctx.missing_id()), [403], ForeignTenantAllowed, "get")
    if not resource.lookups:
        return
    # Lookup values taken from a record of the tenant, so that nothing but the tenant is wrong.
    try:
        record = sample_record(ctx, name)
    except Skipped:
        return  # read-only on a tenant without such records: no values to look up
    for lookup, args in lookups(resource, record):
        exchange = ctx.client.call(lookup.operation_id, tenant=other, **args)
        expect_status(exchange, [403], ForeignTenantAllowed, f"{lookup.operation_id} in tenant {other!r}")


@rule(
    "status.missing-reference-409",
    "A create, replace or patch whose reference field (x-references) names no record of the tenant is a 409, "
    "and stores nothing.",
    source="000 L240, L677, L824 (409 ... refers to/depends on a non-existent object); NOTES.md Bodies",
    failure=DanglingReferenceAccepted,
    applies=lambda resource: bool(resource.references),
)
def dangling_references_are_409(ctx: Context, resource: Resource) -> None:
    name = resource.name
    record = ctx.create(name)
    for field, (_, many) in resource.references.items():
        dangling: Any = [ctx.missing_id()] if many else ctx.missing_id()
        created = ctx.call(name, "create", json=ctx.body(name, **{field: dangling}))
        expect_status(created, [409], DanglingReferenceAccepted, f"create with {field}={dangling!r}")
        replaced = ctx.call(name, "replace", id=record["id"], json=ctx.body(name, **{field: dangling}))
        expect_status(replaced, [409], DanglingReferenceAccepted, f"replace with {field}={dangling!r}")
        patch = [{"op": "add", "path": f"/{field}", "value": dangling}]
        expect_status(
            ctx.call(name, "patch", id=record["id"], json=patch), [409], DanglingReferenceAccepted, f"patch of {field}"
        )
        after = ctx.read(name, record["id"])
        if after.get(field) != record.get(field) or after.get("sys_version") != record.get("sys_version"):
            version = record.get("sys_version")
            raise DanglingReferenceAccepted(
                received=f"{field}={after.get(field)!r}, sys_version {after.get('sys_version')}",
                expected=f"the record unchanged ({field}={record.get(field)!r}, sys_version {version})",
            )
