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
