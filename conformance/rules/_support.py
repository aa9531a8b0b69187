"""Helpers the checks share: expectations that raise a rule's failure, walks over pages, field choices."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from collect_contract import Kind, Operation, Resource
from conformance.context import Context, shorten
from conformance.errors import Reason, Skipped
from conformance.failures import Failure
from conformance.http import Exchange

START = "exclusiveStartKey"
Record = dict[str, Any]


def expect_status(
    exchange: Exchange, statuses: Iterable[int], failure: type[Failure], what: str = "", title: str | None = None
) -> None:
    """Raise `failure` unless the answer has one of `statuses`, titled by what was observed: `title`, or, where
    a success was expected (a request the check needed), the status that came instead, never the rule's usual
    finding (a search answered 404 did not cross business units)."""
    allowed = sorted(set(statuses))
    if exchange.status not in allowed:
        if title is None and all(200 <= s < 300 for s in allowed):
            title = f"Valid request answered {exchange.status}"
        expected = " or ".join(map(str, allowed)) + (f" ({what})" if what else "")
        raise failure(received=exchange.summary(), expected=expected, exchange=exchange, title=title)


def succeeded(exchange: Exchange) -> bool:
    return 200 <= exchange.status < 300


def require_ok(exchange: Exchange, doing: str) -> Any:
    """The JSON body of a success (any 2xx) that a check needs in order to go on; anything else leaves the rule
    not verified (a 201 where the contract says 200 is `status.documented`'s finding)."""
    if not 200 <= exchange.status < 300:
        raise Skipped(f"setup refused: {doing} answered {exchange.summary(120)}", Reason.SETUP_REFUSED)
    return exchange.json_or_none()


def require_deleted(ctx: Context, collection: str, record_id: str) -> Exchange:
    """Delete one of the run's records; a refusal leaves the rule not verified."""
    exchange = ctx.delete(collection, record_id)
    if not deleted(exchange):
        raise Skipped(
            f"setup refused: the delete of {collection} {record_id!r} answered {exchange.summary(120)}",
            Reason.SETUP_REFUSED,
        )
    return exchange


def deleted(exchange: Exchange) -> bool:
    """Whether a DELETE, or a one-operation batch delete, succeeded."""
    if not 200 <= exchange.status < 300:
        return False
    body = exchange.json_or_none()
    if exchange.operation is not None and exchange.operation.kind is Kind.BATCH:
        results = body.get("results") if isinstance(body, dict) else None
        return isinstance(results, list) and bool(results) and all(r.get("outcome") == "success" for r in results)
    return True


def unchanged(ctx: Context, resource: Resource, before: Record, failure: type[Failure], what: str) -> None:
    """Read the record back: it must be exactly `before` (read back just before `what`)."""
    after = ctx.read(resource.collection, before["id"])
    if after != before:
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        shown = ", ".join(f"{k} {shorten(before.get(k))} -> {shorten(after.get(k))}" for k in changed[:5])
        raise failure(
            received=f"after {what}: {shown}",
            expected="the record unchanged",
            title=f"{what[0].upper()}{what[1:]} changed the record",
            exchange=ctx.session.last,
        )


def records_of(body: Any) -> list[Record]:
    """The records of a list answer (a bare array) or a page (`Items`)."""
    items = body.get("Items") if isinstance(body, dict) else body
    return [r for r in items if isinstance(r, dict)] if isinstance(items, list) else []


def ids(records: Iterable[Record]) -> list[str]:
    return [str(r.get("id")) for r in records]


@dataclass
class Walk:
    """The records of every page of a walk, and the exchanges that fetched them."""

    records: list[Record] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    complete: bool = True  # False when stopped at the page cap

    @property
    def ids(self) -> list[str]:
        return ids(self.records)


def next_key(exchange: Exchange) -> str | None:
    """The paging key of a page: the X-Last-Evaluated-Key header of a list, LastEvaluatedKey of a page."""
    body = exchange.json_or_none()
    if isinstance(body, dict) and body.get("LastEvaluatedKey"):
        return str(body["LastEvaluatedKey"])
    return exchange.headers.get("x-last-evaluated-key") or None


def walk(ctx: Context, operation: Operation, failure: type[Failure], **kwargs: Any) -> Walk:
    """Follow the paging keys to the end (or `Config.max_pages` pages); a failing page or a repeated key raises
    `failure`."""
    result, seen_keys = Walk(), set()
    params = dict(kwargs.pop("params", None) or {})
    limit = ctx.config.max_pages
    while True:
        exchange = ctx.client.call(operation.operation_id, params=params or None, **kwargs)
        result.exchanges.append(exchange)
        page = f"page {len(result.exchanges)} of a walk"
        expect_status(exchange, [200], failure, page, f"Page of a walk answered {exchange.status}")
        result.records += records_of(exchange.json_or_none())
        key = next_key(exchange)
        if key is None:
            return result
        if key in seen_keys:
            raise failure(
                received=f"the key {key!r} again",
                expected="a walk that moves on and ends",
                title="Paging key repeated: the walk does not end",
                exchange=exchange,
            )
        if len(result.exchanges) >= limit:
            result.complete = False
            return result
        seen_keys.add(key)
        params[START] = key


CONSTRAINTS = {"enum", "format", "pattern", "minLength", "maxLength", "$ref", "x-references"}
PREFERRED = ["memo", "notes", "description"]


def scratch_fields(resource: Resource, count: int = 2) -> list[str]:
    """Optional free-text fields a check may write at will (no enum, format, pattern or reference)."""
    required = set(resource.schema.get("required", []))
    names = [
        name
        for name, prop in resource.schema["properties"].items()
        if prop.get("type") == "string"
        and not (CONSTRAINTS & set(prop))
        and name not in required | resource.read_only
        and not name.endswith("_id")
    ]
    names.sort(key=lambda name: (name not in PREFERRED, PREFERRED.index(name) if name in PREFERRED else 0))
    if len(names) < count:
        raise Skipped(f"{resource.collection} has fewer than {count} free-text fields to patch")
    return names[:count]


def writable(resource: Resource, record: Record) -> Record:
    """The fields of a record that clients write (no id, no sys_*)."""
    return {k: v for k, v in record.items() if k not in resource.read_only}


def sample_record(ctx: Context, collection: str) -> Record:
    """A record to read: one of the run's own, or in read-only mode the first the tenant lists."""
    if not ctx.config.read_only:
        return ctx.create(collection)
    exchange = ctx.call(collection, Kind.LIST)
    found = records_of(exchange.json_or_none()) if exchange.status == 200 else []
    found = [r for r in found if isinstance(r.get("id"), str) and r["id"]]
    if not found:
        raise Skipped(
            f"no records: read-only, and the tenant's first page of {collection} has none to read", Reason.NO_RECORDS
        )
    return found[0]


def lookups(resource: Resource, record: Record) -> Iterator[tuple[Operation, dict[str, str]]]:
    """The index lookups of `resource` that find `record`, each with its path arguments as text (a lookup on a
    field the record lacks is left out)."""
    for operation in resource.lookups:
        if all(record.get(field_name) is not None for _, field_name in operation.lookup):
            yield operation, {param: str(record[field_name]) for param, field_name in operation.lookup}


def required_fields(resource: Resource) -> list[str]:
    """The required fields of a record that clients write (not id, not sys_*), in schema order."""
    return [name for name in resource.schema.get("required", []) if name not in resource.read_only]
