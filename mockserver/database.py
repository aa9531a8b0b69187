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
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mockserver.storage import Change, Store, decode

Record = dict[str, Any]
Key = tuple[Any, ...]


def _seqs() -> array[int]:
    return array("q")


@dataclass(frozen=True)
class IndexSpec:
    """Index the records of `collection` on `fields`; `many`: the one field holds a list, index each item."""

    collection: str
    fields: tuple[str, ...]
    many: bool = False


_SCALARS = frozenset({str, int, float, bool})


@dataclass
class Index:
    """Each key's records, as sorted sequence numbers in a compact array (8 bytes a record)."""

    spec: IndexSpec
    entries: dict[Key, array[int]] = field(default_factory=dict)

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
        fields = self.spec.fields
        if len(fields) == 1 and not self.spec.many:  # the common case, inlined: it runs for every record loaded
            value = record.get(fields[0])
            if value is not None and type(value) not in _SCALARS:
                return
            seqs = self.entries.get((value,))
            if seqs is None:
                self.entries[(value,)] = array("q", (seq,))
            elif seqs[-1] < seq:
                seqs.append(seq)
            else:
                seqs.insert(bisect.bisect_left(seqs, seq), seq)
            return
        for key in self.keys_of(record):
            seqs = self.entries.get(key)
            if seqs is None:
                self.entries[key] = array("q", (seq,))
            elif seqs[-1] < seq:
                seqs.append(seq)  # the common case: a new record is the newest
            else:
                seqs.insert(bisect.bisect_left(seqs, seq), seq)

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


BUCKET = 1024  # entries a range bucket holds before it is split in two (by value)


class Bucket:
    """The records whose value lies in one span of a range index, in sequence order, each with its value."""

    __slots__ = ("limit", "seqs", "single", "values")

    def __init__(self, numeric: bool):
        self.seqs = _seqs()
        self.values: Any = array("d") if numeric else []
        self.limit = 2 * BUCKET  # split when it holds more
        self.single = False  # known to hold one value only (it cannot be split)


class RangeIndex:
    """The records of a collection by one field's value, for ranges that are read in creation order.

    The values are cut into spans (buckets); each bucket keeps its records in sequence order, with their values
    beside them (8 bytes each, strings shared). A range is the buckets it covers, merged lazily in creation order:
    the buckets inside it yield every record, the two at its ends only those in range. So the first page of a
    range costs the page (and the number of buckets the range spans), never the number of records in it; that is
    what a search for a month among a million invoices needs. A bucket that grows past `2 * BUCKET` records is
    split at its median value; one holding a single value (a busy day) cannot be split and needs no filtering.
    """

    def __init__(self, spec: RangeSpec):
        self.spec = spec
        self.numeric = spec.numeric
        self.bounds: list[Any] = [None]  # bounds[i]: the least value bucket i may hold (bucket 0: any below)
        self.buckets = [Bucket(spec.numeric)]
        self._shared: dict[str, str] = {}  # one object per distinct string value

    def key_of(self, record: Record) -> Any:
        value = record.get(self.spec.field)
        if self.numeric:
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        return value if type(value) is str else None

    def _bucket(self, value: Any) -> int:
        return bisect.bisect_right(self.bounds, value, 1) - 1

    def add(self, seq: int, record: Record) -> None:
        value = record.get(self.spec.field)  # key_of, inlined: it runs for every record loaded
        if self.numeric:
            if type(value) is int:
                value = float(value)
            elif type(value) is not float:
                return
        elif type(value) is str:
            value = self._shared.setdefault(value, value)
        else:
            return
        bounds = self.bounds
        i = bisect.bisect_right(bounds, value, 1) - 1 if len(bounds) > 1 else 0
        bucket = self.buckets[i]
        seqs, values = bucket.seqs, bucket.values
        if bucket.single and values[0] != value:  # a day's bucket meets the next day: split it off at once
            bucket.single = False
            bucket.limit = 2 * BUCKET
        if not seqs or seqs[-1] < seq:
            seqs.append(seq)
            values.append(value)
        else:
            at = bisect.bisect_left(seqs, seq)
            seqs.insert(at, seq)
            values.insert(at, value)
        if len(seqs) > bucket.limit:
            self._split(i)

    def remove(self, seq: int, record: Record) -> None:
        value = self.key_of(record)
        if value is None:
            return
        bucket = self.buckets[self._bucket(value)]
        at = bisect.bisect_left(bucket.seqs, seq)
        if at < len(bucket.seqs) and bucket.seqs[at] == seq:
            del bucket.seqs[at]
            del bucket.values[at]

    def _split(self, i: int) -> None:
        bucket = self.buckets[i]
        distinct = sorted(set(bucket.values))
        if len(distinct) < 2:
            bucket.single = True
            bucket.limit *= 2  # try again only once it has doubled
            return
        half = len(distinct) // 2
        middle = distinct[half]
        low, high = Bucket(self.numeric), Bucket(self.numeric)
        pairs = list(zip(bucket.seqs, bucket.values, strict=True))
        low.seqs.extend([seq for seq, value in pairs if value < middle])
        low.values.extend([value for value in bucket.values if value < middle])
        high.seqs.extend([seq for seq, value in pairs if value >= middle])
        high.values.extend([value for value in bucket.values if value >= middle])
        low.single, high.single = half == 1, len(distinct) - half == 1
        self.buckets[i : i + 1] = [low, high]
        self.bounds.insert(i + 1, middle)

    def top(self, high: Any) -> Any:
        """The greatest value in a range up to `high`: for strings also those that extend it (a date-time of the
        last day of a date range)."""
        return high if self.numeric else high + "\uffff"

    def count(self, low: Any, high: Any) -> int:
        """About how many records a range holds, to plan a search: exact but for the two buckets at its ends, of
        which a sample of values is read."""
        top = self.top(high)
        first, last = self._bucket(low), self._bucket(top)
        total = 0
        for i in range(first, last + 1):
            bucket = self.buckets[i]
            if first < i < last or (bucket.single and low <= bucket.values[0] <= top):
                total += len(bucket.seqs)
            elif not bucket.single:
                values = bucket.values
                step = max(1, len(values) // SAMPLE)  # a large bucket is sampled: the count is for planning
                total += step * sum(1 for value in values[::step] if low <= value <= top)
        return total

    def seqs(self, low: Any, high: Any, after: int = 0) -> Iterator[int]:
        """The sequence numbers of the records in [low, high] after `after`, in creation order, lazily.

        The buckets are merged a chunk at a time, in C (slices and a sort) rather than one record at a time: each
        round takes the next `CHUNK` of every bucket, and hands on, sorted, those that no bucket can still precede.
        """
        top = self.top(high)
        first, last = self._bucket(low), self._bucket(top)
        streams: list[tuple[Bucket, int, bool]] = []  # (bucket, next position, every value in range)
        for i in range(first, last + 1):
            bucket = self.buckets[i]
            start = bisect.bisect_right(bucket.seqs, after)
            if start == len(bucket.seqs):
                continue
            if first < i < last or (bucket.single and low <= bucket.values[0] <= top):
                streams.append((bucket, start, True))
            elif not bucket.single:
                streams.append((bucket, start, False))
        return _merged(streams, low, top)


CHUNK = 128  # records taken from each bucket per round of a range's merge
SAMPLE = 128  # values of a bucket at a range's end read to estimate how many of it are in the range


def _merged(streams: list[tuple[Bucket, int, bool]], low: Any, top: Any) -> Iterator[int]:
    while streams:
        taken: list[int] = []
        bound = None  # the least last-taken sequence number of a bucket that holds more: nothing beyond is final
        for bucket, start, whole in streams:
            end = start + CHUNK
            seqs = bucket.seqs
            if whole:
                taken.extend(seqs[start:end])
            else:
                values = bucket.values[start:end]
                taken.extend(seq for seq, value in zip(seqs[start:end], values, strict=True) if low <= value <= top)
            if end < len(seqs) and (bound is None or seqs[end - 1] < bound):
                bound = seqs[end - 1]
        taken.sort()
        if bound is None:  # every bucket is exhausted: all of it is final
            yield from taken
            return
        yield from taken[: bisect.bisect_right(taken, bound)]
        streams = [
            (bucket, at, whole)
            for bucket, _, whole in streams
            if (at := bisect.bisect_right(bucket.seqs, bound)) < len(bucket.seqs)
        ]


@dataclass
class Table:
    """The records of one collection of one tenant: each kept as its JSON (bytes), found by id or by position."""

    seqs: dict[str, int] = field(default_factory=dict)  # id -> sequence number
    records: dict[int, bytes] = field(default_factory=dict)  # sequence number -> the record's JSON
    order: array[int] = field(default_factory=_seqs)  # the sequence numbers, ascending
    indexes: dict[tuple[tuple[str, ...], bool], Index] = field(default_factory=dict)
    ranges: dict[str, RangeIndex] = field(default_factory=dict)


class Database:
    def __init__(self, store: Store, indexes: Iterable[IndexSpec] = (), ranges: Iterable[RangeSpec] = ()):
        self._store = store
        self.range_specs = list(ranges)
        self.index_specs = list(indexes)
        self.tables: dict[tuple[str, str], Table] = {}
        self.next_seq = 1
        self.size = 0  # records held, over all tenants and collections
        # Inside atomic(): the changes applied in memory, each with what it replaced, not yet written.
        self._group: list[tuple[Change, tuple[int, bytes] | None]] | None = None

    # -- loading ------------------------------------------------------------------------------------------------

    def load(self) -> int:
        """Read everything the store holds; returns the number of records."""
        count = 0
        tables = self.tables
        for change in self._store.load(self):
            seq, raw = change.seq, change.record
            if seq >= self.next_seq:
                self.next_seq = seq + 1
            table = tables.get((change.tenant, change.collection)) or self._table(change.tenant, change.collection)
            if raw is None or change.id in table.seqs:  # a deletion or a replacement: the general way
                if raw is None:
                    self._delete(change.tenant, change.collection, change.id)
                else:
                    self._put(seq, change.tenant, change.collection, change.id, raw, change.parsed)
                    count += 1
                continue
            # A new record, the common case at start: inserted inline (a million times over).
            record = change.parsed if change.parsed is not None else decode(raw)
            self._place(table, seq, change.id)
            table.records[seq] = raw
            for index in table.indexes.values():
                index.add(seq, record)
            for ranged in table.ranges.values():
                ranged.add(seq, record)
            count += 1
        self.size = sum(len(table.seqs) for table in tables.values())
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
        return sorted({tenant for (tenant, _), table in self.tables.items() if table.seqs})

    def count(self, tenant: str, collection: str) -> int:
        table = self.tables.get((tenant, collection))
        return len(table.seqs) if table else 0

    def get_raw(self, tenant: str, collection: str, record_id: str) -> bytes | None:
        """The record's JSON as stored, to be answered as it is."""
        table = self.tables.get((tenant, collection))
        if table is None:
            return None
        seq = table.seqs.get(record_id)
        return None if seq is None else table.records[seq]

    def get(self, tenant: str, collection: str, record_id: str) -> Record | None:
        raw = self.get_raw(tenant, collection, record_id)
        return None if raw is None else decode(raw)

    def exists(self, tenant: str, collection: str, record_id: str) -> bool:
        table = self.tables.get((tenant, collection))
        return table is not None and record_id in table.seqs

    def seq_of(self, tenant: str, collection: str, record_id: str) -> int | None:
        table = self.tables.get((tenant, collection))
        return table.seqs.get(record_id) if table else None

    def scan_raw(
        self,
        tenant: str,
        collection: str,
        after: int = 0,
        index: tuple[str, ...] | None = None,
        key: Key | None = None,
        many: bool = False,
    ) -> Iterator[tuple[int, bytes]]:
        """Records' JSON in creation order after sequence number `after`, all of them or those with `index` = `key`."""
        table = self.tables.get((tenant, collection))
        if table is None:
            return
        if index is None:
            seqs: Sequence[int] = table.order
        else:
            found = table.indexes.get((index, many))
            if found is None:
                raise KeyError(f"no index on {collection}.{index}")
            seqs = found.entries.get(key if key is not None else (), ())
        # Walk by position without copying the tail: a page reads only as far as it needs.
        records = table.records
        for position in range(bisect.bisect_right(seqs, after), len(seqs)):
            seq = seqs[position]
            yield seq, records[seq]

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
        for seq, raw in self.scan_raw(tenant, collection, after, index, key, many):
            yield seq, decode(raw)

    def index_size(self, tenant: str, collection: str, fields: tuple[str, ...], key: Key) -> int:
        table = self.tables.get((tenant, collection))
        found = table.indexes.get((fields, False)) if table else None
        return len(found.entries.get(key, ())) if found else 0

    def range_count(self, tenant: str, collection: str, name: str, low: Any, high: Any) -> int | None:
        """At most how many records have `name` between `low` and `high` (None: no index)."""
        table = self.tables.get((tenant, collection))
        if table is None:
            return 0 if self.has_range(collection, name) else None
        ranged = table.ranges.get(name)
        return ranged.count(low, high) if ranged else None

    def scan_range(
        self, tenant: str, collection: str, name: str, low: Any, high: Any, after: int = 0
    ) -> Iterator[tuple[int, Record]]:
        """The records with `name` between `low` and `high`, in creation order: a page costs the page."""
        table = self.tables.get((tenant, collection))
        if table is None:
            return
        records = table.records
        for seq in table.ranges[name].seqs(low, high, after):
            yield seq, decode(records[seq])

    def has_range(self, collection: str, name: str) -> bool:
        return any(s.collection == collection and s.field == name for s in self.range_specs)

    def has_index(self, collection: str, fields: tuple[str, ...], many: bool = False) -> bool:
        return any(s.collection == collection and s.fields == fields and s.many == many for s in self.index_specs)

    def snapshot(self) -> Iterator[Change]:
        """The live records, in sequence order, for compaction and export (made as they are read)."""
        streams = [
            self._table_changes(tenant, collection, table) for (tenant, collection), table in self.tables.items()
        ]
        return heapq.merge(*streams, key=lambda change: change.seq)

    @staticmethod
    def _table_changes(tenant: str, collection: str, table: Table) -> Iterator[Change]:
        ids = {seq: record_id for record_id, seq in table.seqs.items()}
        for seq in list(table.order):
            yield Change(seq, tenant, collection, ids[seq], table.records[seq])

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
        group: list[tuple[Change, tuple[int, bytes] | None]] = []
        self._group = group
        try:
            yield
        except BaseException:
            self._undo_all(group)
            raise
        finally:
            self._group = None
        self._write(group)

    def _write(self, applied: list[tuple[Change, tuple[int, bytes] | None]]) -> None:
        """Write changes already applied in memory; if the store refuses them, undo them there too."""
        try:
            self._store.write([change for change, _ in applied])
        except BaseException:
            self._undo_all(applied)
            raise

    def _undo_all(self, applied: list[tuple[Change, tuple[int, bytes] | None]]) -> None:
        for change, before in reversed(applied):
            self._undo(change, before)

    def _current(self, change: Change) -> tuple[int, bytes] | None:
        table = self.tables.get((change.tenant, change.collection))
        seq = table.seqs.get(change.id) if table else None
        return None if table is None or seq is None else (seq, table.records[seq])

    def _undo(self, change: Change, before: tuple[int, bytes] | None) -> None:
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
                self._put(change.seq, change.tenant, change.collection, change.id, change.record, change.parsed)
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
        self.apply([Change.of(seq, tenant, collection, record_id, record)])

    def delete(self, tenant: str, collection: str, record_id: str) -> None:
        seq = self.seq_of(tenant, collection, record_id)
        if seq is not None:
            self.apply([Change(seq, tenant, collection, record_id, None)])

    def clear(self) -> None:
        """Delete every record (admin reset)."""
        changes = [
            Change(seq, tenant, collection, record_id, None)
            for (tenant, collection), table in self.tables.items()
            for record_id, seq in table.seqs.items()
        ]
        self.apply(changes)
        self.tables.clear()
        self.size = 0

    def _put(
        self, seq: int, tenant: str, collection: str, record_id: str, raw: bytes, record: Record | None = None
    ) -> None:
        table = self._table(tenant, collection)
        if record is None:
            record = decode(raw)
        old_seq = table.seqs.get(record_id)
        if old_seq is not None:
            old = decode(table.records[old_seq])
            if old_seq != seq:
                self._unplace(table, old_seq)
                self._place(table, seq, record_id)
            del table.records[old_seq]
            table.records[seq] = raw
            for index in table.indexes.values():
                if old_seq != seq or index.keys_of(old) != index.keys_of(record):  # most updates leave them alone
                    index.remove(old_seq, old)
                    index.add(seq, record)
            for ranged in table.ranges.values():
                if old_seq != seq or ranged.key_of(old) != ranged.key_of(record):
                    ranged.remove(old_seq, old)
                    ranged.add(seq, record)
            return
        self._place(table, seq, record_id)
        table.records[seq] = raw
        self.size += 1
        for index in table.indexes.values():
            index.add(seq, record)
        for ranged in table.ranges.values():
            ranged.add(seq, record)

    @staticmethod
    def _place(table: Table, seq: int, record_id: str) -> None:
        table.seqs[record_id] = seq
        order = table.order
        if not order or order[-1] < seq:
            order.append(seq)
        else:
            order.insert(bisect.bisect_left(order, seq), seq)

    @staticmethod
    def _unplace(table: Table, seq: int) -> None:
        order = table.order
        i = bisect.bisect_left(order, seq)
        if i < len(order) and order[i] == seq:
            del order[i]

    def _delete(self, tenant: str, collection: str, record_id: str) -> None:
        table = self.tables.get((tenant, collection))
        if table is None or record_id not in table.seqs:
            return
        seq = table.seqs.pop(record_id)
        record = decode(table.records.pop(seq))
        self.size -= 1
        self._unplace(table, seq)
        for index in table.indexes.values():
            index.remove(seq, record)
        for ranged in table.ranges.values():
            ranged.remove(seq, record)
