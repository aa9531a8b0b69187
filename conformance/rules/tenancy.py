"""Tenant isolation: a tenant's records never show under another tenant's paths (GET requests only)."""

from __future__ import annotations

from conformance.context import Context
from conformance.contract import Resource
from conformance.errors import Skipped
from conformance.failures import CrossTenantLeak
from conformance.registry import OTHER_TENANT, rule
from conformance.rules._support import lookup_params, records_of, sample_record


@rule(
    "tenancy.isolation",
    "A record of the tenant cannot be read, listed or looked up through another tenant's paths (--other-tenant).",
    source="collect.yaml info (Tenancy); 000 L12-16 (The id of the tenant being accessed)",
    failure=CrossTenantLeak,
    needs=(OTHER_TENANT,),
)
def records_stay_in_their_tenant(ctx: Context, resource: Resource) -> None:
    other = ctx.config.other_tenant
    if other is None:
        raise Skipped("needs --other-tenant")
    record = sample_record(ctx, resource.name)
    exchange = ctx.call(resource.name, "get", tenant=other, id=record["id"])
    if exchange.status == 200:
        raise CrossTenantLeak(
            received=exchange.summary(), expected=f"no record {record['id']!r} in tenant {other!r}", exchange=exchange
        )
    pages = [ctx.call(resource.name, "list", tenant=other)]
    for lookup in resource.lookups:
        args = lookup_params(lookup, record)
        if args is not None:
            pages.append(ctx.client.call(lookup.operation_id, tenant=other, **{k: str(v) for k, v in args.items()}))
    for page in pages:
        found = (
            [r for r in records_of(page.json_or_none()) if r.get("id") == record["id"]] if page.status == 200 else []
        )
        if found:
            raise CrossTenantLeak(
                received=f"{record['id']!r} in {page.label}", expected=f"only tenant {other!r}'s records", exchange=page
            )
