"""Search: the filters the contract declares for a resource, matched against records.

Each filter's kind comes from the contract (see `collect_contract.Filter`): a scalar is an equality, an array a list of
accepted values, a 2-item array an inclusive [min, max] range. All filters given must match. Candidates come
from the most selective index a filter can use (ids, indexed lists, equalities or ranges), in creation order and
lazily, so a page stops reading once it is full: its cost follows the page (and how many of the candidates the
other filters keep), never the size of the tenant nor the number of matches.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from typing import Any

from collect_contract import Filter, Match, Resource
from mockserver.database import Database
from mockserver.errors import BadRequestProblem, FieldError, shown_value

Record = dict[str, Any]
Matcher = Callable[[Record], bool]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def compile_filter(spec: Filter, value: Any) -> Matcher:
    field = spec.name
    if spec.match is Match.EQUALS:
        if spec.numeric:
            wanted = _number(value)
            return lambda r: _number(r.get(field)) == wanted
        return lambda r: r.get(field) == value
    if spec.match is Match.ANY_OF:
        accepted = set(v for v in value if isinstance(v, (str, int, float, bool)))
        return lambda r: r.get(field) in accepted
    low, high = value
    if spec.numeric:
        low_n, high_n = _number(low), _number(high)
        if low_n is None or high_n is None or low_n > high_n:
            raise _range_error(field, value)

        def in_number_range(r: Record) -> bool:
            n = _number(r.get(field))
            return n is not None and low_n <= n <= high_n

        return in_number_range
    if str(low) > str(high):
        raise _range_error(field, value)
    return lambda r: isinstance(r.get(field), str) and str(low) <= r[field][: len(str(high))] <= str(high)


def _range_error(field: str, value: Any) -> BadRequestProblem:
    return BadRequestProblem.from_errors(
        "Invalid search", [FieldError("body", field, f"{shown_value(value)} is not a [min, max] range with min <= max")]
    )


class Search:
    def __init__(self, db: Database, tenant: str, resource: Resource, body: Record):
        self.db, self.tenant, self.resource = db, tenant, resource
        self.body = {k: v for k, v in body.items() if k in resource.filters and v is not None}
        self.matchers = [compile_filter(resource.filters[k], v) for k, v in self.body.items()]

    def matches(self, after: int) -> Iterator[tuple[int, Record]]:
        for seq, record in self._candidates(after):
            if all(match(record) for match in self.matchers):
                yield seq, record

    def _candidates(self, after: int) -> Iterator[tuple[int, Record]]:
        """Records that may match, in creation order, from the index that promises the fewest of them."""
        collection = self.resource.collection
        ids = self.body.get("id")
        if isinstance(ids, list) and self.resource.filters["id"].match is Match.ANY_OF:
            found = []
            for record_id in dict.fromkeys(ids):
                seq = self.db.seq_of(self.tenant, collection, record_id)
                record = self.db.get(self.tenant, collection, record_id)
                if seq is not None and seq > after and record is not None:
                    found.append((seq, record))
            yield from sorted(found, key=lambda pair: pair[0])
            return
        options = [option for name, value in self.body.items() if (option := self._source(name, value, after))]
        if options:
            yield from min(options, key=lambda option: option[0])[1]
        else:
            yield from self.db.scan(self.tenant, collection, after)

    def _source(self, name: str, value: Any, after: int) -> tuple[int, Iterator[tuple[int, Record]]] | None:
        """(how many candidates, the candidates) from the index a filter can use, if any."""
        db, tenant, collection = self.db, self.tenant, self.resource.collection
        spec = self.resource.filters[name]
        if spec.match is Match.ANY_OF and db.has_index(collection, (name,)):
            values = list(dict.fromkeys(v for v in value if isinstance(v, (str, int, float, bool))))
            size = sum(db.index_size(tenant, collection, (name,), (v,)) for v in values)
            streams = [db.scan(tenant, collection, after, (name,), (v,)) for v in values]
            return size, heapq.merge(*streams, key=lambda pair: pair[0])
        if spec.match is Match.EQUALS and not spec.numeric and db.has_index(collection, (name,)):
            return db.index_size(tenant, collection, (name,), (value,)), db.scan(
                tenant, collection, after, (name,), (value,)
            )
        if spec.match is Match.RANGE and db.has_range(collection, name):
            low, high = (_number(v) for v in value) if spec.numeric else (str(v) for v in value)
            count = db.range_count(tenant, collection, name, low, high)
            if count is not None:
                return count, db.scan_range(tenant, collection, name, low, high, after)
        return None
