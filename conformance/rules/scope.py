"""Scopes: sets of records that only one check created, so that walks and searches over them are exact.

A scope gives its records a business unit and fiscal year of their own and, for every reference a lookup
reads (a transaction's `batch_id`), a fresh target record. Every lookup and the business-unit search then find
exactly the scope, however much other data the tenant holds and whatever other checks run at the same time.
"""

from __future__ import annotations

from typing import Any

from conformance.context import Context
from conformance.contract import Resource
from conformance.rules._support import Record


def scope_overrides(ctx: Context, resource: Resource, lookups: bool = True) -> dict[str, Any]:
    """Field values that set a new scope apart from every other record (`lookups`: for index lookups too)."""
    overrides: dict[str, Any] = {}
    for name in ("business_unit_id", "fiscal_year_id"):
        if name in resource.fields:
            overrides[name] = ctx.unique(name.removesuffix("_id").replace("_", "-"))
    for lookup in resource.lookups if lookups else []:
        for _, field in lookup.lookup:
            if field in resource.references and field not in overrides:
                target = ctx.contract.resource_of_schema(resource.references[field][0])
                overrides[field] = ctx.create(target.name)["id"]
    return overrides


def scoped_records(ctx: Context, resource: Resource, count: int, **extra: Any) -> list[Record]:
    """`count` new records that share a new scope (plus `extra` fields)."""
    overrides = scope_overrides(ctx, resource) | extra
    return [ctx.create(resource.name, **overrides) for _ in range(count)]


def search_body(resource: Resource, record: Record) -> dict[str, Any]:
    """The search that finds the scope of `record`: its business unit."""
    if "business_unit_id" in resource.filters and record.get("business_unit_id") is not None:
        return {"business_unit_id": record["business_unit_id"]}
    return {}
