"""Status code rules: only documented codes; 400 for bad input, 401 without a credential, 403 for another
tenant, 409 for references to records that do not exist."""

from __future__ import annotations

from typing import Any

from collect_contract import Kind, Operation, Resource, constraints
from collect_contract.constraints import Constraint
from conformance.context import Context
from conformance.errors import Reason, Skipped
from conformance.failures import (
    DanglingReferenceAccepted,
    Failure,
    ForeignTenantAllowed,
    InvalidBodyAccepted,
    InvalidParameterAccepted,
    MissingAuthAccepted,
    UndocumentedStatus,
)
from conformance.http import Exchange
from conformance.probes import MISSING, valid_value
from conformance.registry import Need, response_rule, rule
from conformance.rules._probing import Sent, not_verified, probe_body, probe_parameters, record_probe, summary
from conformance.rules._support import expect_status, lookups, sample_record, succeeded, unchanged
from conformance.rules.scope import scope_overrides, search_body, stored_in_scope

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


@rule(
    "status.bad-body-400",
    "A request body that is not JSON, or that breaks exactly one constraint the contract states for it (type, "
    "enum, range, pattern, length, format, item count, required, a field the schema does not list, "
    "x-conditional-required), is a 400 and stores nothing: each such constraint of the create, patch, search and "
    "batch bodies is probed once, from a body that is otherwise valid.",
    source="000 L236 (400 The write off you supplied was invalid), L820; collect.yaml info (Limits)",
    failure=InvalidBodyAccepted,
)
def invalid_bodies_are_400(ctx: Context, resource: Resource) -> None:
    name, operations = resource.collection, resource.operations
    malformed = ctx.call(name, Kind.CREATE, content=b'{"name": ', headers={"Content-Type": "application/json"})
    sent = [Sent(operations[Kind.CREATE], Constraint("body", (), "JSON", {}), malformed, 400)]
    scope = scope_overrides(ctx, resource)
    base = ctx.body(name, **scope)
    probes, controls = probe_body(
        ctx, operations[Kind.CREATE], base, lambda body: ctx.call(name, Kind.CREATE, json=body)
    )
    sent += probes
    if Kind.SEARCH in operations:
        search = search_body(resource, base)
        sent += probe_body(ctx, operations[Kind.SEARCH], search, lambda body: ctx.call(name, Kind.SEARCH, json=body))[0]
    if Kind.BATCH in operations:
        harmless = {"operations": [{"operation": "patch", "id": ctx.missing_id(), "patch_directives": []}]}
        sent += probe_body(ctx, operations[Kind.BATCH], harmless, lambda body: ctx.call(name, Kind.BATCH, json=body))[0]
    unprobed, before = "", None
    target = ctx.call(name, Kind.CREATE, json=ctx.body(name, **scope))
    accepted = len(controls) + succeeded(target)  # creates of the scope that were meant to store a record
    try:
        before = ctx.read(name, ctx.created(name, target)["id"])
    except Skipped as skipped:
        unprobed = f"patch documents not probed: {skipped}"
    if before is not None:
        no_op = [{"op": "test", "path": "/id", "value": before["id"]}]
        patch, record_id = operations[Kind.PATCH], before["id"]
        sent += probe_body(ctx, patch, no_op, lambda body: ctx.call(name, Kind.PATCH, id=record_id, json=body))[0]
    deviations = [s for s in sent if s.deviates]
    if deviations:
        accepted = any(succeeded(s.exchange) for s in deviations)
        raise InvalidBodyAccepted(
            received=summary(deviations, len(sent)),
            expected="400 for a body that breaks exactly one stated constraint",
            title="Invalid body accepted" if accepted else "Invalid body not refused with 400",
            exchange=deviations[0].exchange,
        )
    _nothing_stored(ctx, resource, base, accepted, InvalidBodyAccepted)
    if before is not None:
        unchanged(ctx, resource, before, InvalidBodyAccepted, "the refused patches")
    if unprobed:
        raise Skipped(unprobed)


def _nothing_stored(ctx: Context, resource: Resource, body: Any, accepted: int, failure: type[Failure]) -> None:
    """The scope of `body` holds no more records than the `accepted` creates made: refused ones stored nothing."""
    stored = stored_in_scope(ctx, resource, body, failure)
    if len(stored) > accepted:
        raise failure(
            received=f"{len(stored)} records in the probes' scope ({', '.join(stored[:8])}), {accepted} of them "
            "made by creates that were accepted",
            expected="nothing stored by a refused create",
            title="Refused create stored a record",
        )


@rule(
    "status.bad-param-400",
    "A request whose one path or query parameter breaks a constraint the contract states for it (pattern, enum, "
    "length, a name outside `fields`, a repeated name, a missing required query), or that names a query parameter "
    "the operation does not define, is a 400: each such constraint of each operation is probed once.",
    source="000 L315-321, L365-371; NOTES.md Parameters; collect.yaml info (Limits: an undefined query parameter)",
    failure=InvalidParameterAccepted,
    needs=(),
)
def invalid_parameters_are_400(ctx: Context, resource: Resource) -> None:
    record = sample_record(ctx, resource.collection)
    found = {operation.operation_id: args for operation, args in lookups(resource, record)}
    sent: list[Sent] = []
    writes = not ctx.config.read_only
    for operation in resource.all_operations:
        if not operation.is_safe and not writes:
            continue
        request = _valid_request(ctx, resource, operation, record, found)
        if request is None:
            for constraint in constraints.of_parameters(ctx.contract, operation):
                not_verified(ctx, operation, constraint, f"no record holds the values {operation.operation_id} needs")
            continue
        sent += probe_parameters(ctx, operation, *request)
    deviations = [s for s in sent if s.deviates]
    if deviations:
        raise InvalidParameterAccepted(
            received=summary(deviations, len(sent)),
            expected="400 for a request with one parameter that breaks a stated constraint",
            exchange=deviations[0].exchange,
        )


def _valid_request(
    ctx: Context, resource: Resource, operation: Operation, record: dict[str, Any], found: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
    """Path arguments, query and body of a valid request of `operation` about `record` (None when there is none).
    A delete gets a record of its own: a target that ignores a bad parameter deletes it."""
    name, kind = resource.collection, operation.kind
    harmless = [{"operation": "patch", "id": ctx.missing_id(), "patch_directives": []}]
    simple: dict[Kind, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
        Kind.LIST: ({}, {}, {}),
        Kind.WARM_UP: ({}, {}, {}),
        Kind.GET: ({"id": record["id"]}, {}, {}),
        Kind.PATCH: ({"id": record["id"]}, {}, {"json": []}),
        Kind.SEARCH: ({}, {}, {"json": search_body(resource, record)}),
        Kind.BATCH: ({}, {}, {"json": {"operations": harmless}}),
    }
    if kind in simple:
        return simple[kind]
    if kind is Kind.LOOKUP:
        return (found[operation.operation_id], {}, {}) if operation.operation_id in found else None
    if kind is Kind.REPLACE:
        return {"id": record["id"]}, {}, {"json": ctx.body(name)}
    if kind is Kind.CREATE:
        return {}, {}, {"json": ctx.body(name)}
    if kind is Kind.DELETE:
        return {"id": ctx.create(name)["id"]}, {}, {}
    # An operation of its own shape: the record's id wherever it takes an id, a valid body where it takes one.
    path = {n: record["id"] for n, p in operation.parameters.items() if p["in"] == "path" and n != "tenantId"}
    query = {n: record["id"] for n, p in operation.parameters.items() if p["in"] == "query" and p.get("required")}
    schema = operation.request_schema
    if schema is None:
        return path, query, {}
    body = valid_value(ctx.contract, schema)
    return None if body is MISSING else (path, query, {"json": body})


@rule(
    "status.no-auth-401",
    "A request without a credential, or with one the API does not know, is a 401, in both header styles.",
    source="000 L237, L337; 003 L230-234; collect.yaml info (Authentication)",
    failure=MissingAuthAccepted,
    needs=(),
)
def missing_credentials_are_401(ctx: Context, resource: Resource) -> None:
    name = resource.collection
    for auth, what in (
        (None, "no Authorization"),
        (f"Bearer {BOGUS_TOKEN}", "an unknown bearer token"),
        (BOGUS_TOKEN, "an unknown API key"),
    ):
        expect_status(ctx.call(name, Kind.LIST, auth=auth), [401], MissingAuthAccepted, f"list with {what}")
        unknown = ctx.call(name, Kind.GET, id=ctx.missing_id(), auth=auth)
        expect_status(unknown, [401], MissingAuthAccepted, f"get of a record with {what}")
    if not ctx.config.read_only:
        # A server that ignores auth would create this record; the ledger still removes it at the end.
        exchange = ctx.call(name, Kind.CREATE, json=ctx.body(name), auth=None)
        expect_status(exchange, [401], MissingAuthAccepted, "create with no Authorization")


@rule(
    "status.foreign-tenant-403",
    "The credential used on a tenant it does not cover (--other-tenant) is a 403, for lists, records and lookups.",
    source="000 L238 (403 Forbidden); collect.yaml info (Authentication)",
    failure=ForeignTenantAllowed,
    needs=(Need.OTHER_TENANT,),
)
def other_tenant_is_403(ctx: Context, resource: Resource) -> None:
    other = ctx.config.other_tenant
    if other is None:
        raise Skipped("needs --other-tenant", Reason.NEEDS_OTHER_TENANT)
    name = resource.collection
    expect_status(ctx.call(name, Kind.LIST, tenant=other), [403], ForeignTenantAllowed, f"list in tenant {other!r}")
    expect_status(ctx.call(name, Kind.GET, tenant=other, id=ctx.missing_id()), [403], ForeignTenantAllowed, "get")
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
    name, operations = resource.collection, resource.operations
    scope = scope_overrides(ctx, resource)
    record = ctx.create(name, **scope)
    before = ctx.read(name, record["id"])
    sent: list[Sent] = []
    for field, reference in resource.references.items():
        dangling: Any = [ctx.missing_id()] if reference.many else ctx.missing_id()
        constraint = Constraint("body", (field,), "x-references", {}, reference.schema_name)
        for kind, exchange in (
            (Kind.CREATE, ctx.call(name, Kind.CREATE, json=ctx.body(name, **(scope | {field: dangling})))),
            (
                Kind.REPLACE,
                ctx.call(name, Kind.REPLACE, id=record["id"], json=ctx.body(name, **(scope | {field: dangling}))),
            ),
            (
                Kind.PATCH,
                ctx.call(
                    name, Kind.PATCH, id=record["id"], json=[{"op": "add", "path": f"/{field}", "value": dangling}]
                ),
            ),
        ):
            sent.append(record_probe(ctx, operations[kind], constraint, exchange, 409))
    deviations = [s for s in sent if s.deviates]
    if deviations:
        accepted = any(succeeded(s.exchange) for s in deviations)
        raise DanglingReferenceAccepted(
            received=summary(deviations, len(sent)),
            expected="409 for a write whose reference names no record of the tenant",
            title="Missing reference accepted" if accepted else "Missing reference not refused with 409",
            exchange=deviations[0].exchange,
        )
    _nothing_stored(ctx, resource, ctx.body(name, **scope), 1, DanglingReferenceAccepted)
    unchanged(ctx, resource, before, DanglingReferenceAccepted, "the refused replaces and patches")
