"""JSON Patch rules (RFC 6902): each operation does what the RFC says, and a patch that fails, in part or in
its result, changes nothing; server-managed fields cannot be patched.

The checks patch free-text fields (`memo`, `notes`, `description`, ...) of records they created, chosen from the
record schema, so that any resource with two such fields can be checked.
"""

from __future__ import annotations

from typing import Any

from collect_contract import Kind, Resource
from conformance.context import Context
from conformance.factory import DROP
from conformance.failures import (
    FailedTestChangedRecord,
    InvalidPatchChangedRecord,
    PatchMisapplied,
    ServerManagedFieldPatched,
)
from conformance.registry import rule
from conformance.rules._support import Record, expect_status, required_fields, scratch_fields, unchanged

Patch = list[dict[str, Any]]


def _fresh(ctx: Context, resource: Resource) -> tuple[Record, str, str]:
    """A new record without its two scratch fields, and their names."""
    a, b = scratch_fields(resource)
    return ctx.create(resource.collection, **{a: DROP, b: DROP}), a, b


@rule(
    "patch.operations",
    "add, replace, copy, move, remove and test change the record as RFC 6902 says, and the answer is the "
    "record as stored.",
    source="000 L797-818 (The patch directives conforming to RFC 6902); 004 L1313-1325",
    failure=PatchMisapplied,
)
def patch_operations_follow_rfc6902(ctx: Context, resource: Resource) -> None:
    record, a, b = _fresh(ctx, resource)
    steps: list[tuple[Patch, dict[str, Any]]] = [
        ([{"op": "add", "path": f"/{a}", "value": "one"}], {a: "one"}),
        ([{"op": "replace", "path": f"/{a}", "value": "two"}], {a: "two"}),
        ([{"op": "copy", "from": f"/{a}", "path": f"/{b}"}], {a: "two", b: "two"}),
        (
            [{"op": "replace", "path": f"/{b}", "value": "three"}, {"op": "move", "from": f"/{b}", "path": f"/{a}"}],
            {a: "three", b: None},
        ),
        ([{"op": "remove", "path": f"/{a}"}], {a: None, b: None}),
        (
            [{"op": "test", "path": "/id", "value": record["id"]}, {"op": "add", "path": f"/{b}", "value": "four"}],
            {b: "four"},
        ),
    ]
    for patch, wanted in steps:
        exchange = ctx.call(resource.collection, Kind.PATCH, id=record["id"], json=patch)
        expect_status(exchange, [200], PatchMisapplied, f"patch {patch}")
        stored = ctx.read(resource.collection, record["id"])
        answer = exchange.json_or_none()
        if not isinstance(answer, dict) or answer.get("id") != record["id"]:
            raise PatchMisapplied(
                received=f"the answer: {exchange.summary(200)}",
                expected=f"the record {record['id']!r} as stored after {patch}",
                title="Patch answered another record",
                exchange=exchange,
            )
        for source, what in ((answer, "the answer"), (stored, "the stored record")):
            got = {k: source.get(k) for k in wanted}
            if got != wanted:
                raise PatchMisapplied(received=f"{what}: {got}", expected=f"{wanted} after {patch}", exchange=exchange)


@rule(
    "patch.test-failure-atomic",
    "A patch whose `test` fails is a 400 (or 409) and changes nothing, not even the directives before it.",
    source="000 L797, L820; collect.yaml PatchDocument (all-or-nothing)",
    failure=FailedTestChangedRecord,
)
def failed_test_changes_nothing(ctx: Context, resource: Resource) -> None:
    record, a, _ = _fresh(ctx, resource)
    before = ctx.read(resource.collection, record["id"])
    for patch in (
        [{"op": "add", "path": f"/{a}", "value": "changed"}, {"op": "test", "path": "/id", "value": "cfz-not-this-id"}],
        [{"op": "test", "path": f"/{a}", "value": "absent"}],
    ):
        exchange = ctx.call(resource.collection, Kind.PATCH, id=record["id"], json=patch)
        expect_status(
            exchange,
            [400, 409],
            FailedTestChangedRecord,
            "a patch whose test fails",
            "Patch with a failing test not refused",
        )
        unchanged(ctx, resource, before, FailedTestChangedRecord, "a patch whose test failed")


@rule(
    "patch.invalid-result-atomic",
    "A patch whose result breaks the schema (a required field removed, a wrong type, an unknown field) or that "
    "cannot be applied is a 400 and changes nothing.",
    source="000 L820 (400 The JSON patch directive you supplied was not valid); collect.yaml PatchDocument",
    failure=InvalidPatchChangedRecord,
)
def invalid_patch_changes_nothing(ctx: Context, resource: Resource) -> None:
    record, a, _ = _fresh(ctx, resource)
    before = ctx.read(resource.collection, record["id"])
    required = required_fields(resource)[0]
    first = [{"op": "add", "path": f"/{a}", "value": "changed"}]
    for patch in (
        first + [{"op": "remove", "path": f"/{required}"}],
        first + [{"op": "replace", "path": f"/{a}", "value": {"not": "text"}}],
        first + [{"op": "add", "path": "/cfz_unknown_field", "value": 1}],
        first + [{"op": "remove", "path": "/cfz_absent_field"}],
    ):
        exchange = ctx.call(resource.collection, Kind.PATCH, id=record["id"], json=patch)
        expect_status(
            exchange, [400], InvalidPatchChangedRecord, f"patch {patch[1]}", "Invalid patch not refused with 400"
        )
        unchanged(ctx, resource, before, InvalidPatchChangedRecord, f"the refused patch {patch[1]}")


@rule(
    "patch.server-managed-400",
    "A patch directive that would change id or a sys_* field is a 400 and changes nothing.",
    source="collect.yaml info (Server-managed fields); NOTES.md #2",
    failure=ServerManagedFieldPatched,
)
def server_managed_fields_cannot_be_patched(ctx: Context, resource: Resource) -> None:
    record = ctx.create(resource.collection)
    before = ctx.read(resource.collection, record["id"])
    for patch in (
        [{"op": "replace", "path": "/sys_version", "value": 99}],
        [{"op": "replace", "path": "/id", "value": ctx.missing_id()}],
        [{"op": "remove", "path": "/sys_created_at"}],
    ):
        exchange = ctx.call(resource.collection, Kind.PATCH, id=record["id"], json=patch)
        expect_status(
            exchange,
            [400],
            ServerManagedFieldPatched,
            f"patch {patch[0]}",
            "Patch of a server-managed field not refused with 400",
        )
        unchanged(ctx, resource, before, ServerManagedFieldPatched, f"the refused patch {patch[0]}")
