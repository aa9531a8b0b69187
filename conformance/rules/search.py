"""Search rules: scalar filters match equal values, lists any of their values, [min, max] ranges include both
bounds, and a search never leaves its business unit.

Each check creates three records in a business unit of its own, giving every filtered field a low, middle and
high value chosen from the field's schema (enum members, dates, numbers within bounds, or new records for
references), then asks for subsets and compares the ids it gets with the ids it should get.
"""

from __future__ import annotations

from typing import Any

from collect_contract import Filter, Kind, Match, Resource
from conformance.context import Context
from conformance.errors import Skipped
from conformance.failures import (
    BusinessUnitLeak,
    EqualityFilterMismatch,
    Failure,
    ListFilterMismatch,
    RangeFilterMismatch,
)
from conformance.registry import rule
from conformance.rules._support import Record, ids, walk
from conformance.rules.scope import scope_overrides

SOURCE = "000 L896-936 (search filters); 002 L451-484; 004 L908-993; collect.yaml *SearchRequest"
DATES = ["2025-03-01", "2025-03-15", "2025-03-31"]
BU = "business_unit_id"


def _values(ctx: Context, resource: Resource, flt: Filter) -> list[Any] | None:
    """Three increasing values of the record field a filter reads, or None if it cannot be set."""
    prop = resource.schema["properties"].get(flt.name)
    if prop is None or flt.name in resource.read_only:
        return None
    if flt.name in resource.references:
        return [ctx.create(resource.references[flt.name].target)["id"] for _ in range(3)]
    if "enum" in prop:
        allowed = [v for v in prop["enum"] if v in flt.schema.get("enum", prop["enum"])]
        return sorted(allowed)[:3] if len(allowed) >= 3 else None
    if prop.get("format") == "date":
        return list(DATES)
    if prop.get("type") in ("integer", "number"):
        low = prop.get("minimum", 100)
        return [low + 1, low + 2, low + 3]
    return [ctx.unique(flt.name) for _ in range(3)] if prop.get("type") == "string" else None


def _fixture(ctx: Context, resource: Resource) -> tuple[list[Record], dict[str, list[Any]]]:
    """Three records of a new business unit, and the value each filtered field has in each of them."""
    values = {
        n: v
        for n, f in resource.filters.items()
        if n not in ("id", BU) and (v := _values(ctx, resource, f)) is not None
    }
    scope = scope_overrides(ctx, resource, lookups=False)
    records = [ctx.create(resource.collection, **scope | {n: v[i] for n, v in values.items()}) for i in range(3)]
    values["id"] = ids(records)
    return records, values


def _wire(flt: Filter, value: Any) -> Any:
    """A value as the filter takes it (the batch search sends its number bounds as strings)."""
    return str(value) if flt.schema.get("type") == "string" and isinstance(value, (int, float)) else value


def _expect_hits(
    ctx: Context, resource: Resource, body: dict[str, Any], wanted: list[str], failure: type[Failure]
) -> None:
    result = walk(ctx, resource.operations[Kind.SEARCH], failure, json=body)
    if sorted(result.ids) != sorted(wanted):
        raise failure(
            received=f"ids {sorted(result.ids)}",
            expected=f"ids {sorted(wanted)} for {body}",
            exchange=result.exchanges[-1],
        )


def _base(records: list[Record]) -> dict[str, Any]:
    return {BU: records[0][BU]} if BU in records[0] else {}


def _has_search(resource: Resource) -> bool:
    return Kind.SEARCH in resource.operations


@rule(
    "search.equality",
    "A scalar filter (business_unit_id; a batch's name, fiscal_year_id, fiscal_period) matches exactly the records "
    "whose field equals it.",
    source=SOURCE,
    failure=EqualityFilterMismatch,
    applies=_has_search,
)
def equality_filters_match_equal_values(ctx: Context, resource: Resource) -> None:
    records, values = _fixture(ctx, resource)
    _expect_hits(ctx, resource, _base(records), values["id"], EqualityFilterMismatch)
    for name, flt in resource.filters.items():
        if flt.match is Match.EQUALS and name in values:
            body = _base(records) | {name: _wire(flt, values[name][1])}
            _expect_hits(ctx, resource, body, [values["id"][1]], EqualityFilterMismatch)


@rule(
    "search.lists",
    "A list filter (id, batch_id, status, type, ...) matches exactly the records whose field is one of its values.",
    source=SOURCE,
    failure=ListFilterMismatch,
    applies=_has_search,
)
def list_filters_match_any_value(ctx: Context, resource: Resource) -> None:
    records, values = _fixture(ctx, resource)
    lists = [n for n, f in resource.filters.items() if f.match is Match.ANY_OF and n in values]
    if not lists:
        raise Skipped("no list filter")
    for name in lists:
        body = _base(records) | {name: [_wire(resource.filters[name], v) for v in values[name][:2]]}
        _expect_hits(ctx, resource, body, values["id"][:2], ListFilterMismatch)


@rule(
    "search.range-inclusive",
    "A 2-item [min, max] filter (date, number, total, ...) matches exactly the records within it, both bounds "
    "included.",
    source=SOURCE,
    failure=RangeFilterMismatch,
    applies=_has_search,
)
def range_filters_include_bounds(ctx: Context, resource: Resource) -> None:
    records, values = _fixture(ctx, resource)
    ranges = [n for n, f in resource.filters.items() if f.match is Match.RANGE and n in values]
    if not ranges:
        raise Skipped("no range filter")
    for name in ranges:
        flt = resource.filters[name]
        for low, high, wanted in ((0, 1, values["id"][:2]), (1, 1, values["id"][1:2]), (1, 2, values["id"][1:])):
            body = _base(records) | {name: [_wire(flt, values[name][low]), _wire(flt, values[name][high])]}
            _expect_hits(ctx, resource, body, wanted, RangeFilterMismatch)


@rule(
    "search.business-unit-scope",
    "A search returns only records of the business unit it names, and all of them.",
    source="000 L910-913 (business_unit_id required); 004 L932",
    failure=BusinessUnitLeak,
    applies=lambda resource: _has_search(resource) and BU in resource.filters,
)
def search_stays_in_its_business_unit(ctx: Context, resource: Resource) -> None:
    scopes = [scope_overrides(ctx, resource, lookups=False) for _ in range(2)]
    units = [[ctx.create(resource.collection, **scope) for _ in range(2)] for scope in scopes]
    for mine, theirs in (units, units[::-1]):
        result = walk(ctx, resource.operations[Kind.SEARCH], BusinessUnitLeak, json={BU: mine[0][BU]})
        leaked = sorted(set(result.ids) & set(ids(theirs)))
        foreign = sorted({str(r.get(BU)) for r in result.records if r.get(BU, mine[0][BU]) != mine[0][BU]})
        if leaked or foreign or sorted(result.ids) != sorted(ids(mine)):
            raise BusinessUnitLeak(
                received=f"ids {sorted(result.ids)} (of other units: {leaked}, units {foreign})",
                expected=f"ids {sorted(ids(mine))} of {mine[0][BU]!r}",
                exchange=result.exchanges[-1],
            )
