"""Projection rules: `fields` and `fieldsToReturn` return exactly the fields named, with their stored values."""

from __future__ import annotations

from typing import Any

from collect_contract import Kind, Resource
from conformance.context import Context
from conformance.failures import Failure, ProjectionMismatch, SearchProjectionMismatch
from conformance.http import Exchange
from conformance.registry import rule
from conformance.rules._support import Record, expect_status, ids, lookups, records_of, sample_record
from conformance.rules.scope import scope_overrides, search_body


def _chosen(record: Record, count: int = 2) -> list[str]:
    """`id` and the first `count` other plain fields the record holds."""
    others = [k for k in sorted(record) if k != "id" and not k.startswith("sys_")]
    return ["id", *others[:count]]


def _expect_shape(exchange: Exchange, item: Any, wanted: set[str], full: Record | None, failure: type[Failure]) -> None:
    """`item` has exactly the `wanted` fields it holds (all of them when `full` is known), with `full`'s values."""
    keys = set(item) if isinstance(item, dict) else set()
    expected = wanted & set(full) if full is not None else wanted
    if not isinstance(item, dict) or not keys <= wanted or (full is not None and keys != expected) or "id" not in keys:
        raise failure(received=f"fields {sorted(keys)}", expected=f"fields {sorted(expected)}", exchange=exchange)
    if full is not None:
        changed = sorted(k for k in keys if item[k] != full.get(k))
        if changed:
            raise failure(
                received=f"values of {changed} differ from the record", expected="the stored values", exchange=exchange
            )


@rule(
    "projection.fields",
    "With `fields`, get, list and lookups return each record with exactly the named fields it holds, and their "
    "stored values.",
    source="000 L315-318, L365-368 (The fields that you want to retrieve); NOTES.md Parameters",
    failure=ProjectionMismatch,
    needs=(),
)
def fields_project_records(ctx: Context, resource: Resource) -> None:
    name = resource.collection
    # A record of a scope of its own: each lookup then answers exactly it, so its projection is checked whole.
    own = ctx.create(name, **scope_overrides(ctx, resource)) if not ctx.config.read_only else sample_record(ctx, name)
    record = ctx.read(name, own["id"])
    chosen = _chosen(record)
    params = {"fields": ",".join(chosen)}
    got = ctx.get(name, record["id"], **params)
    expect_status(got, [200], ProjectionMismatch, "get with fields")
    _expect_shape(got, got.json_or_none(), set(chosen), record, ProjectionMismatch)
    pages = [(ctx.call(name, Kind.LIST, params=params), False)]
    for lookup, args in lookups(resource, record):
        pages.append((ctx.client.call(lookup.operation_id, params=params, **args), not ctx.config.read_only))
    for page, holds_it in pages:
        expect_status(page, [200], ProjectionMismatch, f"{page.label} with fields")
        items = records_of(page.json_or_none())
        for item in items:
            _expect_shape(
                page, item, set(chosen), record if item.get("id") == record["id"] else None, ProjectionMismatch
            )
        if holds_it and record["id"] not in ids(items):
            raise ProjectionMismatch(
                received=f"{page.label} with fields: ids {ids(items)}",
                expected=f"the scope's one record {record['id']!r}",
                title="Projected lookup lost the record",
                exchange=page,
            )


@rule(
    "projection.fields-to-return",
    "A search hit carries exactly the `fieldsToReturn` it holds; without them, exactly the summary fields of the "
    "search result schema that it holds.",
    source="000 L901-904; 002 L472-484; NOTES.md #9",
    failure=SearchProjectionMismatch,
    applies=lambda resource: Kind.SEARCH in resource.operations,
)
def search_returns_the_named_fields(ctx: Context, resource: Resource) -> None:
    name = resource.collection
    record = ctx.create(name)
    body = search_body(resource, record) | {"id": [record["id"]]}
    chosen = _chosen(record)
    for params, wanted in (({"fieldsToReturn": ",".join(chosen)}, set(chosen)), (None, set(resource.summary_fields))):
        exchange = ctx.call(name, Kind.SEARCH, json=body, params=params)
        expect_status(exchange, [200], SearchProjectionMismatch, "search for one record")
        hits = records_of(exchange.json_or_none())
        if len(hits) != 1:
            raise SearchProjectionMismatch(received=f"{len(hits)} hits", expected="1 hit", exchange=exchange)
        _expect_shape(exchange, hits[0], wanted, record, SearchProjectionMismatch)
