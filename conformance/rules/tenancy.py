"""Tenant isolation: a tenant's records never show under another tenant's paths (GET requests only).

Every run checks it: a record of the run's own (in read-only mode, one the tenant lists) must not be read, listed
or looked up through a tenant the suite makes up for the run (`cfz-other-<marker>`, which nobody has), nor through
`--other-tenant` when one is given (whose 403 answers `status.foreign-tenant-403` checks).
"""

from __future__ import annotations

from collect_contract import Kind, Resource
from conformance.context import Context
from conformance.failures import CrossTenantLeak
from conformance.registry import rule
from conformance.rules._support import Record, lookups, records_of, sample_record


@rule(
    "tenancy.isolation",
    "A record of the tenant cannot be read, listed or looked up through another tenant's paths: a tenant the suite "
    "makes up for the run, and --other-tenant.",
    source="collect.yaml info (Tenancy); 000 L12-16 (The id of the tenant being accessed)",
    failure=CrossTenantLeak,
    needs=(),
)
def records_stay_in_their_tenant(ctx: Context, resource: Resource) -> None:
    others = [t for t in (ctx.stranger_tenant, ctx.config.other_tenant) if t]
    # Ids are unique within a tenant only: another tenant may hold a different record under the same id. A leak
    # is this tenant's record itself showing up, so records are compared whole.
    record = ctx.read(resource.collection, sample_record(ctx, resource.collection)["id"])
    for other in others:
        _not_reachable(ctx, resource, record, other)


def _not_reachable(ctx: Context, resource: Resource, record: Record, other: str) -> None:
    exchange = ctx.call(resource.collection, Kind.GET, tenant=other, id=record["id"])
    if exchange.status == 200 and exchange.json_or_none() == record:
        raise CrossTenantLeak(
            received=f"{record['id']!r} served under tenant {other!r}", expected="a 403 or 404", exchange=exchange
        )
    pages = [ctx.call(resource.collection, Kind.LIST, tenant=other)]
    for lookup, args in lookups(resource, record):
        pages.append(ctx.client.call(lookup.operation_id, tenant=other, **args))
    for page in pages:
        if page.status == 200 and record in records_of(page.json_or_none()):
            raise CrossTenantLeak(
                received=f"{record['id']!r} in {page.label} under tenant {other!r}",
                expected=f"only tenant {other!r}'s records",
                exchange=page,
            )
