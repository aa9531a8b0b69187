"""The in-memory database: creation order, indexes kept right through writes, searches that look at few records."""

import pytest

from collect_contract import SPEC_PATH, Contract
from mockserver.database import Database
from mockserver.resources import index_specs, range_specs
from mockserver.search import Search
from mockserver.storage import MemoryStore

CONTRACT = Contract.from_path(SPEC_PATH)


@pytest.fixture
def db():
    return Database(MemoryStore(), index_specs(CONTRACT), ranges=range_specs(CONTRACT))


def batch(i, **over):
    return {
        "id": f"b{i:04d}",
        "business_unit_id": "bu-us",
        "date": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "total": float(i),
        "status": "open",
        "name": f"batch {i}",
        **over,
    }


def examined(search, after=0):
    """How many records a search looks at, and which ids it returns."""
    seen = list(search._candidates(after))
    return len(seen), [r["id"] for _, r in search.matches(after)]


def test_scans_follow_creation_order_and_resume_after_a_position(db):
    for i in range(5):
        db.put("acme", "batches", f"b{i}", {"id": f"b{i}"})
    seqs = [seq for seq, _ in db.scan("acme", "batches")]
    assert [r["id"] for _, r in db.scan("acme", "batches", after=seqs[1])] == ["b2", "b3", "b4"]


def test_indexes_follow_updates_and_deletes(db):
    db.put("acme", "batches", "b1", batch(1, status="open"))
    db.put("acme", "batches", "b1", batch(1, status="closed", total=99.0))
    assert [r["id"] for _, r in db.scan("acme", "batches", 0, ("status",), ("closed",))] == ["b0001"]
    assert list(db.scan("acme", "batches", 0, ("status",), ("open",))) == []
    assert [seq for seq, _ in db.scan_range("acme", "batches", "total", 99.0, 99.0)] == [
        db.seq_of("acme", "batches", "b1")
    ]
    assert list(db.scan_range("acme", "batches", "total", 1.0, 1.0)) == []
    db.delete("acme", "batches", "b1")
    assert list(db.scan_range("acme", "batches", "total", 0.0, 1000.0)) == []
    assert db.size == 0


def test_a_narrow_range_examines_only_its_matches(db):
    for i in range(1000):
        db.put("acme", "batches", f"b{i:04d}", batch(i))
    search = Search(db, "acme", CONTRACT.resources["batches"], {"business_unit_id": "bu-us", "total": ["10", "19"]})
    count, found = examined(search)
    assert count == 10 and found == [f"b{i:04d}" for i in range(10, 20)]


def test_a_narrow_date_range_among_many_older_records_examines_its_matches(db):
    for i in range(500):
        db.put("acme", "batches", f"old{i}", batch(i, id=f"old{i}", date="2024-01-15"))
    for i in range(5):
        db.put("acme", "batches", f"new{i}", batch(i, id=f"new{i}", date="2025-10-15"))
    search = Search(
        db, "acme", CONTRACT.resources["batches"], {"business_unit_id": "bu-us", "date": ["2025-10-01", "2025-10-31"]}
    )
    count, found = examined(search)
    assert count == 5 and found == [f"new{i}" for i in range(5)]


def test_the_most_selective_index_wins(db):
    for i in range(300):
        db.put("acme", "batches", f"b{i:04d}", batch(i, status="closed" if i == 7 else "open"))
    search = Search(db, "acme", CONTRACT.resources["batches"], {"status": ["closed"], "total": ["0", "299"]})
    assert examined(search) == (1, ["b0007"])


def test_a_range_yields_exactly_its_records_in_creation_order_through_splits_updates_and_deletes(monkeypatch):
    import random

    from mockserver import database
    from mockserver.database import RangeIndex, RangeSpec

    monkeypatch.setattr(database, "BUCKET", 64)  # many buckets and many rounds of the merge
    monkeypatch.setattr(database, "CHUNK", 16)

    rng = random.Random(7)
    index = RangeIndex(RangeSpec("batches", "date"))
    held = {}
    for seq in range(1, 6001):  # enough to split buckets many times, days of many records among them
        day = f"2025-{rng.randint(1, 12):02d}-{rng.choice([1, 1, 1, 15, rng.randint(1, 28)]):02d}"
        index.add(seq, {"date": day})
        held[seq] = day
    for seq in rng.sample(sorted(held), 1500):  # deletions and changed dates
        index.remove(seq, {"date": held.pop(seq)})
        if seq % 2:
            held[seq] = "2025-06-01"
            index.add(seq, {"date": "2025-06-01"})
    assert len(index.buckets) > 20 and any(b.single for b in index.buckets)
    for low, high, after in [
        ("2025-01-01", "2025-12-31", 0),
        ("2025-06-01", "2025-06-01", 2000),
        ("2025-03-05", "2025-09-09", 4321),
    ]:
        expected = [seq for seq in sorted(held) if seq > after and low <= held[seq] <= high + "\uffff"]
        assert list(index.seqs(low, high, after)) == expected
        assert index.count(low, high) >= len([seq for seq in held if low <= held[seq] <= high + "\uffff"])


def test_a_month_among_a_year_of_busy_days_examines_a_page_not_the_month(db):
    day = 0
    for i in range(6000):  # 20 records a day: each day a bucket of its own once the buckets fill
        if i % 20 == 0:
            day += 1
        date = f"2025-{1 + (day - 1) // 28 % 12:02d}-{1 + (day - 1) % 28:02d}"
        db.put("acme", "batches", f"b{i:05d}", batch(i, id=f"b{i:05d}", date=date))
    body = {"date": ["2025-03-01", "2025-10-28"]}
    seen = 0
    for _ in Search(db, "acme", CONTRACT.resources["batches"], body)._candidates(0):
        seen += 1
        if seen == 100:
            break
    stream = db.tables[("acme", "batches")].ranges["date"].seqs("2025-03-01", "2025-10-28")
    first = [next(stream) for _ in range(100)]
    assert first == sorted(first) and len(set(first)) == 100
