"""Versioning rules: the server keeps sys_version, sys_created_* and sys_last_modified_* itself.

Each check walks one record through a create, a replace and a patch, and reads it back after each step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from collect_contract import Kind, Resource
from conformance.context import Context
from conformance.failures import (
    CreationFieldsChanged,
    ModificationTimeNotAdvanced,
    ServerFieldsAccepted,
    VersionNotIncremented,
)
from conformance.registry import rule
from conformance.rules._support import Record, expect_status, scratch_fields

SOURCE = "000 L150-172 (sys_version, sys_created_*, sys_last_modified_*); collect.yaml info (Server-managed fields)"


def _history(ctx: Context, resource: Resource, failure: Any) -> list[Record]:
    """The record after its create, a replace and a patch, each read back (it must hold what was written)."""
    name = resource.collection
    record = ctx.create(name)
    states = [record]
    body = ctx.body(name)
    replaced = ctx.call(name, Kind.REPLACE, id=record["id"], json=body)
    expect_status(replaced, [200], failure, "a valid replace", "Valid replace refused")
    states.append(ctx.read(name, record["id"], written=body))
    field = scratch_fields(resource, 1)[0]
    patch = [{"op": "add", "path": f"/{field}", "value": "cfz-patched"}]
    patched = ctx.call(name, Kind.PATCH, id=record["id"], json=patch)
    expect_status(patched, [200], failure, "a valid patch", "Valid patch refused")
    states.append(ctx.read(name, record["id"], written={field: "cfz-patched"}))
    return states


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


@rule(
    "versioning.version-increments",
    "sys_version is 1 after the create and goes up by exactly one on every replace and patch.",
    source=SOURCE,
    failure=VersionNotIncremented,
)
def version_increments(ctx: Context, resource: Resource) -> None:
    versions = [state.get("sys_version") for state in _history(ctx, resource, VersionNotIncremented)]
    if versions != [1, 2, 3]:
        raise VersionNotIncremented(
            received=f"sys_version {versions}", expected="[1, 2, 3] after create, replace, patch"
        )


@rule(
    "versioning.created-stable",
    "sys_created_at and sys_created_by_id keep their create-time values through every change.",
    source=SOURCE,
    failure=CreationFieldsChanged,
)
def creation_fields_are_stable(ctx: Context, resource: Resource) -> None:
    states = _history(ctx, resource, CreationFieldsChanged)
    for name in ("sys_created_at", "sys_created_by_id"):
        values = [state.get(name) for state in states]
        if values[0] is None or len(set(map(str, values))) != 1:
            raise CreationFieldsChanged(received=f"{name} {values}", expected="one value, set at create")


@rule(
    "versioning.modified-advances",
    "sys_last_modified_at is a date-time that moves forward on every replace and patch.",
    source=SOURCE,
    failure=ModificationTimeNotAdvanced,
)
def modification_time_advances(ctx: Context, resource: Resource) -> None:
    stamps = [state.get("sys_last_modified_at") for state in _history(ctx, resource, ModificationTimeNotAdvanced)]
    moments = [_moment(s) for s in stamps]
    if None in moments or not all(a < b for a, b in zip(moments, moments[1:], strict=False)):  # type: ignore[operator]
        raise ModificationTimeNotAdvanced(
            received=f"sys_last_modified_at {stamps}", expected="strictly increasing date-times"
        )


@rule(
    "versioning.server-fields-ignored",
    "sys_* values sent in a create or replace body are ignored: the server keeps its own.",
    source="collect.yaml info (Server-managed fields); NOTES.md #2",
    failure=ServerFieldsAccepted,
)
def sent_server_fields_are_ignored(ctx: Context, resource: Resource) -> None:
    name = resource.collection
    forged = {
        k: v
        for k, v in {
            "sys_version": 99,
            "sys_created_at": "2001-01-01T00:00:00.000000Z",
            "sys_created_by_id": "cfz-forger",
        }.items()
        if k in resource.fields
    }
    sent = ctx.body(name, **forged)
    exchange = ctx.call(name, Kind.CREATE, json=sent)
    record = ctx.created(name, exchange)
    if any(record.get(k) == v for k, v in forged.items()):
        raise ServerFieldsAccepted(
            received={k: record.get(k) for k in forged},
            expected="the server's own values after create",
            exchange=exchange,
        )
    body = ctx.body(name, **forged)
    exchange = ctx.call(name, Kind.REPLACE, id=record["id"], json=body)
    expect_status(
        exchange, [200], ServerFieldsAccepted, "a replace carrying sys_* values", "Replace with sys_* values refused"
    )
    after = ctx.read(name, record["id"], written={k: v for k, v in body.items() if k not in forged})
    if any(after.get(k) == v for k, v in forged.items()):
        raise ServerFieldsAccepted(
            received={k: after.get(k) for k in forged},
            expected="the server's own values after replace",
            exchange=ctx.session.last,
        )
