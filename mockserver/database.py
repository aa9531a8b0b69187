"""The records in memory, ordered and indexed, written through to a `Store`.

Every record has a sequence number: its position in creation order, kept for life. Pages are walks in that
order that resume after the last sequence number returned, so a walk sees every record once even while records
are being created (they land behind the walker) or deleted. Indexes map a tuple of field values to the sorted
sequence numbers of the records that hold them, which is what index lookups, searches and reference checks read:
their cost follows the matches, not the size of the tenant.

The event loop is the only writer, so no locks are needed. A change is applied in memory, then written to the
store (`mockserver/storage.py`), and undone in memory if the store refuses it: memory never holds what the store
does not, and a store that writes the records anew (a compaction) reads them here with every change it was asked
to write. Writes made inside `atomic()` reach the store in one append when the block ends, or (if the store
refuses them, or the block raises) are undone: a batch request is stored whole or not at all.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sortedcontainers import SortedList

from mockserver.storage import Change, Store

Record = dict[str, Any]
Key = tuple[Any, ...]


@dataclass(frozen=True)
class IndexSpec:
    """Index the records of `collection` on `fields`; `many`: the one field holds a list, index each item."""

    collection: str
    fields: tuple[str, ...]
    many: bool = False


_SCALARS = frozenset({str, int, float, bool})


@dataclass
class Index:
    spec: IndexSpec
    entries: dict[Key, list[int]] = field(default_factory=dict)

    def keys_of(self, record: Record) -> list[Key]:
        fields = self.spec.fields
        if self.spec.many:
            values = record.get(fields[0])
            if not isinstance(values, list):
                return []
            return list(dict.fromkeys((v,) for v in values if v is None or type(v) in _SCALARS))
        if len(fields) == 1:  # the common case, kept cheap: it runs for every index on every write
            value = record.get(fields[0])
            return [(value,)] if value is None or type(value) in _SCALARS else []
        key = tuple(record.get(f) for f in fields)
        return [key] if all(v is None or type(v) in _SCALARS for v in key) else []

    def add(self, seq: int, record: Record) -> None:
        for key in self.keys_of(record):
            seqs = self.entries.setdefault(key, [])
            if not seqs or seqs[-1] < seq:
                seqs.append(seq)  # the common case: a new record is the newest
            else:
                bisect.insort(seqs, seq)

    def remove(self, seq: int, record: Record) -> None:
        for key in self.keys_of(record):
            seqs = self.entries.get(key)
            if seqs:
                i = bisect.bisect_left(seqs, seq)
                if i < len(seqs) and seqs[i] == seq:
                    del seqs[i]
                if not seqs:
                    del self.entries[key]


@dataclass(frozen=True)
class RangeSpec:
    """Keep the records of `collection` sorted by `field` (as numbers, or as strings such as dates)."""

    collection: str
    field: str
    numeric: bool = False


@dataclass
class RangeIndex:
    """(value, seq) pairs in order: the records in a range, found by bisection, whatever the collection's size.

    A `SortedList` rather than a list: a new record's value lands anywhere in the order, and inserting into a
    Python list moves everything after it (a cost that grows with the collection).
    """

    spec: RangeSpec
    entries: SortedList = field(default_factory=SortedList)

    def key_of(self, record: Record) -> Any:
        value = record.get(self.spec.field)
        if self.spec.numeric:
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        return value if type(value) is str else None

    def add(self, seq: int, record: Record) -> None:
        key = self.key_of(record)
        if key is not None:
            self.entries.add((key, seq))

    def remove(self, seq: int, record: Record) -> None:
        key = self.key_of(record)
        if key is not None:
            self.entries.discard((key, seq))

    def span(self, low: Any, high: Any) -> tuple[int, int]:
        """Positions of the entries from `low` to `high`; for strings also those that extend `high`
        (a date-time of the last day of a date range)."""
        top = (high, math.inf) if self.spec.numeric else (high + "\uffff", 0)
        return self.entries.bisect_left((low, -1)), self.entries.bisect_right(top)

    def seqs(self, span: tuple[int, int]) -> Iterator[int]:
        return (seq for _, seq in self.entries.islice(span[0], span[1]))


@dataclass
class Table:
    """The records of one collection of one tenant."""

    by_id: dict[str, tuple[int, Record]] = field(default_factory=dict)
    ids: dict[int, str] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    indexes: dict[tuple[tuple[str, ...], bool], Index] = field(default_factory=dict)
    ranges: dict[str, RangeIndex] = field(default_factory=dict)


def _build_indexes(table: Table) -> None:
    """Every index of a freshly loaded table in one pass each: records arrive in sequence order, so each index
    list is appended to in order, and each range index is sorted once."""
    records = [(seq, table.by_id[table.ids[seq]][1]) for seq in table.order]
    for index in table.indexes.values():
        entries: dict[Key, list[int]] = {}
        keys_of = index.keys_of
        for seq, record in records:
            for key in keys_of(record):
                entries.setdefault(key, []).append(seq)
        index.entries = entries
    for ranged in table.ranges.values():
        key_of = ranged.key_of
        ranged.entries = SortedList((key, seq) for seq, record in records if (key := key_of(record)) is not None)


class Database:
    def __init__(self, store: Store, indexes: Iterable[IndexSpec] = (), ranges: Iterable[RangeSpec] = ()):
        self._store = store
        self.range_specs = list(ranges)
        self.index_specs = list(indexes)
        self.tables: dict[tuple[str, str], Table] = {}
        self.next_seq = 1
        self.size = 0  # records held, over all tenants and collections
        self._bulk = False
        # Inside atomic(): the changes applied in memory, each with what it replaced, not yet written.
        self._group: list[tuple[Change, tuple[int, Record] | None]] | None = None

    # -- loading ------------------------------------------------------------------------------------------------

    def load(self) -> int:
        """Read everything the store holds; returns the number of records."""
        count = 0
        self._bulk = True
        try:
            for change in self._store.load(self):
                if change.record is not None:
                    self._put(change.seq, change.tenant, change.collection, change.id, change.record)
                    count += 1
                self.next_seq = max(self.next_seq, change.seq + 1)
        finally:
            self._bulk = False
            for table in self.tables.values():
                _build_indexes(table)
        return count

    def _table(self, tenant: str, collection: str) -> Table:
        table = self.tables.get((tenant, collection))
        if table is None:
            table = Table()
            for spec in self.index_specs:
                if spec.collection == collection:
                    table.indexes[(spec.fields, spec.many)] = Index(spec)
            for range_spec in self.range_specs:
                if range_spec.collection == collection:
                    table.ranges[range_spec.field] = RangeIndex(range_spec)
            self.tables[(tenant, collection)] = table
        return table

    # -- reads --------------------------------------------------------------------------------------------------

    def tenants(self) -> list[str]:
        return sorted({tenant for (tenant, _), table in self.tables.items() if table.by_id})

    def count(self, tenant: str, collection: str) -> int:
        table = self.tables.get((tenant, collection))
        return len(table.by_id) if table else 0

    def get(self, tenant: str, collection: str, record_id: str) -> Record | None:
        table = self.tables.get((tenant, collection))
        if table is None:
            return None
        found = table.by_id.get(record_id)
        return found[1] if found else None

    def seq_of(self, tenant: str, collection: str, record_id: str) -> int | None:
        table = self.tables.get((tenant, collection))
        found = table.by_id.get(record_id) if table else None
        return found[0] if found else None

    def scan(
        self,
        tenant: str,
        collection: str,
        after: int = 0,
        index: tuple[str, ...] | None = None,
        key: Key | None = None,
        many: bool = False,
    ) -> Iterator[tuple[int, Record]]:
        """Records in creation order after sequence number `after`, all of them or those with `index` = `key`."""
        table = self.tables.get((tenant, collection))
        if table is None:
            return
        if index is None:
            seqs: Sequence[int] = table.order
        else:
            found = table.indexes.get((index, many))
            if found is None:
                raise KeyError(f"no index on {collection}.{index}")
            seqs = found.entries.get(key if key is not None else (), [])
        # Walk by position without copying the tail: a page reads only as far as it needs.
        for position in range(bisect.bisect_right(seqs, after), len(seqs)):
            seq = seqs[position]
            yield seq, table.by_id[table.ids[seq]][1]

    def index_size(self, tenant: str, collection: str, fields: tuple[str, ...], key: Key) -> int:
        table = self.tables.get((tenant, collection))
        found = table.indexes.get((fields, False)) if table else None
        return len(found.entries.get(key, ())) if found else 0

    def range_span(self, tenant: str, collection: str, name: str, low: Any, high: Any) -> tuple[int, int] | None:
        """Where the records with `name` between `low` and `high` sit in its range index (None: no index)."""
        table = self.tables.get((tenant, collection))
        ranged = table.ranges.get(name) if table else None
        return ranged.span(low, high) if ranged else None

    def scan_range(
        self, tenant: str, collection: str, name: str, span: tuple[int, int], after: int = 0
    ) -> Iterator[tuple[int, Record]]:
        """The records of a range, in creation order: the cost follows the range, not the collection."""
        table = self.tables[(tenant, collection)]
        ranged = table.ranges[name]
        # A heap, not a sort: a page usually needs the first few of the range in creation order.
        heap = [seq for seq in ranged.seqs(span) if seq > after]
        heapq.heapify(heap)
        while heap:
            seq = heapq.heappop(heap)
            yield seq, table.by_id[table.ids[seq]][1]

    def has_range(self, collection: str, name: str) -> bool:
        return any(s.collection == collection and s.field == name for s in self.range_specs)

    def has_index(self, collection: str, fields: tuple[str, ...], many: bool = False) -> bool:
        return any(s.collection == collection and s.fields == fields and s.many == many for s in self.index_specs)

    def snapshot(self) -> Iterator[Change]:
        """The live records, in sequence order, for compaction and export."""
        changes = [
            Change(seq, tenant, collection, record_id, record)
            for (tenant, collection), table in self.tables.items()
            for record_id, (seq, record) in table.by_id.items()
        ]
        return iter(sorted(changes, key=lambda c: c.seq))

    # -- writes -------------------------------------------------------------------------------------------------

    def new_seq(self) -> int:
        seq = self.next_seq
        self.next_seq += 1
        return seq

    def apply(self, changes: Sequence[Change]) -> None:
        """Apply a group of changes in memory and write them to the store; undone in memory if it refuses them."""
        applied = []
        for change in changes:  # one at a time: a record changed twice is undone to what it was before both
            applied.append((change, self._current(change)))
            self.apply_in_memory([change])
        if self._group is not None:
            self._group.extend(applied)  # the enclosing atomic() writes them
        else:
            self._write(applied)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Changes made in the block are stored together when it ends, or not at all (and undone in memory)."""
        if self._group is not None:  # already inside one: the outer block decides
            yield
            return
        group: list[tuple[Change, tuple[int, Record] | None]] = []
        self._group = group
        try:
            yield
        except BaseException:
            self._undo_all(group)
            raise
        finally:
            self._group = None
        self._write(group)

    def _write(self, applied: list[tuple[Change, tuple[int, Record] | None]]) -> None:
        """Write changes already applied in memory; if the store refuses them, undo them there too."""
        try:
            self._store.write([change for change, _ in applied])
        except BaseException:
            self._undo_all(applied)
            raise

    def _undo_all(self, applied: list[tuple[Change, tuple[int, Record] | None]]) -> None:
        for change, before in reversed(applied):
            self._undo(change, before)

    def _current(self, change: Change) -> tuple[int, Record] | None:
        table = self.tables.get((change.tenant, change.collection))
        return table.by_id.get(change.id) if table else None

    def _undo(self, change: Change, before: tuple[int, Record] | None) -> None:
        if before is None:
            self._delete(change.tenant, change.collection, change.id)
        else:
            self._put(before[0], change.tenant, change.collection, change.id, before[1])

    def apply_in_memory(self, changes: Sequence[Change]) -> None:
        """Apply changes without writing them: for bulk loads that `save()` then makes durable at once."""
        for change in changes:
            if change.record is None:
                self._delete(change.tenant, change.collection, change.id)
            else:
                self._put(change.seq, change.tenant, change.collection, change.id, change.record)
            self.next_seq = max(self.next_seq, change.seq + 1)

    def save(self) -> None:
        """Make what is in memory exactly what the store holds (after a bulk load with `apply_in_memory`)."""
        self._store.rewrite(self.snapshot())

    def close(self) -> None:
        """Let the store keep what was written and release its files (the last call)."""
        self._store.close()

    # -- the store, as the rest of the mock sees it ---------------------------------------------------------------

    @property
    def secret(self) -> str:
        """The database's own secret, stable as long as its records (paging keys and caller ids are keyed with it)."""
        return self._store.secret

    @property
    def healthy(self) -> bool:
        return self._store.healthy

    def storage_status(self) -> dict[str, Any]:
        """What `GET /_mock/health` shows of the storage."""
        return self._store.status()

    def put(self, tenant: str, collection: str, record_id: str, record: Record) -> None:
        """Store a record, keeping the sequence number of the one it replaces."""
        seq = self.seq_of(tenant, collection, record_id) or self.new_seq()
        self.apply([Change(seq, tenant, collection, record_id, record)])

    def delete(self, tenant: str, collection: str, record_id: str) -> None:
        seq = self.seq_of(tenant, collection, record_id)
        if seq is not None:
            self.apply([Change(seq, tenant, collection, record_id, None)])

    def clear(self) -> None:
        """Delete every record (admin reset)."""
        changes = [
            Change(seq, tenant, collection, record_id, None)
            for (tenant, collection), table in self.tables.items()
            for record_id, (seq, _) in table.by_id.items()
        ]
        self.apply(changes)
        self.tables.clear()
        self.size = 0

    def _put(self, seq: int, tenant: str, collection: str, record_id: str, record: Record) -> None:
        table = self._table(tenant, collection)
        old = table.by_id.get(record_id)
        if old is not None:
            table.by_id[record_id] = (seq, record)
            for index in table.indexes.values():
                before, after = index.keys_of(old[1]), index.keys_of(record)
                if before != after:  # most updates leave the indexed fields alone
                    index.remove(old[0], old[1])
                    index.add(seq, record)
            for ranged in table.ranges.values():
                if ranged.key_of(old[1]) != ranged.key_of(record):
                    ranged.remove(old[0], old[1])
                    ranged.add(seq, record)
            return
        else:
            table.ids[seq] = record_id
            if not table.order or table.order[-1] < seq:
                table.order.append(seq)
            else:
                bisect.insort(table.order, seq)
        table.by_id[record_id] = (seq, record)
        self.size += 1
        if self._bulk:
            return  # a bulk load builds the indexes once at the end (_build_indexes)
        for index in table.indexes.values():
            index.add(seq, record)
        for ranged in table.ranges.values():
            ranged.add(seq, record)

    def _delete(self, tenant: str, collection: str, record_id: str) -> None:
        table = self.tables.get((tenant, collection))
        if table is None or record_id not in table.by_id:
            return
        seq, record = table.by_id.pop(record_id)
        self.size -= 1
        del table.ids[seq]
        i = bisect.bisect_left(table.order, seq)
        if i < len(table.order) and table.order[i] == seq:
            del table.order[i]
        for index in table.indexes.values():
            index.remove(seq, record)
        for ranged in table.ranges.values():
            ranged.remove(seq, record)
