"""Defects in reading: paging, projection and search."""

from __future__ import annotations

import datetime
from typing import Any

from collect_contract import Match
from tests.defects.app import Call, Response
from tests.defects.catalog import defect

START = "exclusiveStartKey"


def _items(body: Any) -> list[Any] | None:
    if isinstance(body, list):
        return body
    return body.get("Items") if isinstance(body, dict) and isinstance(body.get("Items"), list) else None


def _key(response: Response) -> str | None:
    body = response.json()
    key = body.get("LastEvaluatedKey") if isinstance(body, dict) else None
    return key or response.header("x-last-evaluated-key")


@defect(
    "IncompleteWalk",
    "paging.full-walk",
    "a page that has a successor loses its last record",
    also=("paging.count", "paging.stable-under-inserts"),
)
async def incomplete_walk(call: Call) -> Response:
    response = await call.forward()
    body = response.json()
    items = _items(body)
    if call.kind in ("list", "lookup", "search") and items and _key(response):
        items.pop()
        return response.with_json(body)
    return response


@defect("CountMismatch", "paging.count", "Count counts one record more than the page holds")
async def count_mismatch(call: Call) -> Response:
    response = await call.forward()
    body = response.json()
    if isinstance(body, dict) and "Count" in body:
        body["Count"] += 1
        return response.with_json(body)
    return response


@defect("BadStartKeyAccepted", "paging.bad-key-400", "a start key it cannot read restarts the walk from the top")
async def bad_start_key_accepted(call: Call) -> Response:
    response = await call.forward()
    if response.status == 400 and call.request.param(START) is not None:
        return await call.forward(call.request.with_query([(k, v) for k, v in call.request.query if k != START]))
    return response


@defect(
    "WalkDisturbedByInserts",
    "paging.stable-under-inserts",
    "keys are offsets: a create between pages repeats a record",
    also=("paging.count",),
)
async def walk_disturbed_by_inserts(call: Call) -> Response:
    issued: dict[str, tuple[int, Any]] = call.memory.setdefault("keys", {})
    creates = call.memory.get("creates", 0)
    response = await call.forward()
    if call.kind == "create" and response.status == 200:
        call.memory["creates"] = creates + 1
    body = response.json()
    items = _items(body)
    if items is None:
        return response
    key, asked = _key(response), call.request.param(START)
    if asked in issued and issued[asked][0] < creates:
        items.insert(0, issued[asked][1])  # the shifted offset shows the previous page's last record again
        response = response.with_json(body)
    if key and items:
        issued[key] = (creates, items[-1])
    return response


@defect("ProjectionMismatch", "projection.fields", "GET of one record ignores `fields`")
async def projection_mismatch(call: Call) -> Response:
    if call.kind != "get":
        return await call.forward()
    return await call.forward(call.request.with_query([(k, v) for k, v in call.request.query if k != "fields"]))


@defect("SearchProjectionMismatch", "projection.fields-to-return", "search ignores `fieldsToReturn`")
async def search_projection_mismatch(call: Call) -> Response:
    if call.kind != "search":
        return await call.forward()
    return await call.forward(call.request.with_query([(k, v) for k, v in call.request.query if k != "fieldsToReturn"]))


async def _search_with(call: Call, change: Any) -> Response:
    body = call.request.json()
    if call.kind != "search" or not isinstance(body, dict):
        return await call.forward()
    filters = call.app.contract.resources[call.collection].filters
    return await call.forward(call.request.with_json(change(body, filters)))


@defect("EqualityFilterMismatch", "search.equality", "scalar filters other than business_unit_id are ignored")
async def equality_filter_mismatch(call: Call) -> Response:
    def drop(body: dict[str, Any], filters: dict[str, Any]) -> dict[str, Any]:
        return {
            k: v
            for k, v in body.items()
            if k == "business_unit_id" or filters.get(k) is None or filters[k].match is not Match.EQUALS
        }

    return await _search_with(call, drop)


@defect("ListFilterMismatch", "search.lists", "a list filter matches its first value only")
async def list_filter_mismatch(call: Call) -> Response:
    def first(body: dict[str, Any], filters: dict[str, Any]) -> dict[str, Any]:
        return {
            k: v[:1] if k in filters and filters[k].match is Match.ANY_OF and isinstance(v, list) else v
            for k, v in body.items()
        }

    return await _search_with(call, first)


def _below(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value - 0.5
    try:
        return str(float(value) - 0.5)
    except (TypeError, ValueError):
        pass
    try:
        return (datetime.date.fromisoformat(str(value)) - datetime.timedelta(days=1)).isoformat()
    except ValueError:
        return value


@defect("RangeFilterMismatch", "search.range-inclusive", "a range excludes its upper bound")
async def range_filter_mismatch(call: Call) -> Response:
    def exclusive(body: dict[str, Any], filters: dict[str, Any]) -> dict[str, Any]:
        out = dict(body)
        for name, value in body.items():
            if name in filters and filters[name].match is Match.RANGE and isinstance(value, list) and len(value) == 2:
                out[name] = [value[0], _below(value[1])]
        return out

    return await _search_with(call, exclusive)


@defect(
    "BusinessUnitLeak",
    "search.business-unit-scope",
    "a search answers for the business unit of the previous search",
    also=("search.lists", "search.range-inclusive"),
)
async def business_unit_leak(call: Call) -> Response:
    previous: dict[str, Any] = call.memory.setdefault("unit", {})

    def stale(body: dict[str, Any], filters: dict[str, Any]) -> dict[str, Any]:
        asked = body.get("business_unit_id")
        used = previous.get(call.collection, asked)
        previous[call.collection] = asked
        return {**body, "business_unit_id": used} if asked is not None else body

    return await _search_with(call, stale)
