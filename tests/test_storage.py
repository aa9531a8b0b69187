"""The stores: what is written is loaded again; the TinyDB store survives kills and torn writes."""

import json
import time

import pytest

from mockserver.storage import Change, MemoryStore, StoreError, TinyStore


def put(seq, record_id, **fields):
    return Change(seq, "acme", "batches", record_id, {"id": record_id, **fields})


@pytest.fixture(params=["memory", "tiny"])
def store(request, tmp_path):
    if request.param == "memory":
        return MemoryStore()
    return TinyStore(tmp_path / "db.json")


def test_a_store_accepts_writes_and_compaction(store):
    with store:
        store.write([put(1, "a"), put(2, "b")])
        store.compact([put(1, "a")])
        # The memory store keeps nothing for a restart; the TinyDB store keeps what the compaction kept.
        assert [c.id for c in store.load()] == ([] if isinstance(store, MemoryStore) else ["a"])


def test_tiny_store_loads_what_was_written_in_sequence_order(tmp_path):
    store = TinyStore(tmp_path / "db.json")
    store.write([put(2, "b", name="B"), put(1, "a", name="A")])
    store.write([put(1, "a", name="A2"), Change(2, "acme", "batches", "b", None)])
    store.close()
    with TinyStore(tmp_path / "db.json") as reopened:
        loaded = list(reopened.load())
    assert [(c.seq, c.id, c.record["name"]) for c in loaded] == [(1, "a", "A2")]


def test_compaction_writes_a_tinydb_snapshot_and_empties_the_log(tmp_path):
    store = TinyStore(tmp_path / "db.json")
    store.write([put(1, "a"), put(2, "b")])
    store.compact([put(1, "a"), put(2, "b")])
    assert (tmp_path / "db.json.wal").read_text() == ""
    snapshot = json.loads((tmp_path / "db.json").read_text())
    assert set(snapshot["records"]) == {"1", "2"}  # TinyDB doc_ids are the sequence numbers
    store.write([put(3, "c")])
    store.close()
    with TinyStore(tmp_path / "db.json") as reopened:
        assert [c.id for c in reopened.load()] == ["a", "b", "c"]


def test_a_torn_last_line_is_skipped_and_cut_off(tmp_path):
    store = TinyStore(tmp_path / "db.json")
    store.write([put(1, "a")])
    store.close()
    with open(tmp_path / "db.json.wal", "a") as fh:
        fh.write('{"seq":2,"t":"acme","c":"batches","id":"b","r":{"id":')
    with TinyStore(tmp_path / "db.json") as reopened:
        assert [c.id for c in reopened.load()] == ["a"]
        reopened.write([put(3, "c")])
    with TinyStore(tmp_path / "db.json") as reopened:
        assert [c.id for c in reopened.load()] == ["a", "c"]


def test_damage_in_the_middle_of_the_log_is_an_error_naming_the_line(tmp_path):
    (tmp_path / "db.json.wal").write_text('{"seq":1,"t":"a","c":"b","id":"x","r":{}}\nnot json\n{"seq":2}\n')
    with TinyStore(tmp_path / "db.json") as store, pytest.raises(StoreError, match="line 2"):
        list(store.load())


def test_a_file_that_is_not_a_tinydb_database_is_an_error(tmp_path):
    (tmp_path / "db.json").write_text("this is not json")
    with TinyStore(tmp_path / "db.json") as store, pytest.raises(StoreError, match="not a TinyDB JSON file"):
        list(store.load())


def test_an_unwritable_location_is_an_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="cannot open database"):
        TinyStore(tmp_path / "file" / "db.json")


def wait(store):
    for _ in range(500):
        store.poll()
        if store._child is None:
            return
        time.sleep(0.01)
    raise AssertionError("the background compaction did not finish")


def records_of(path):
    with TinyStore(path) as store:
        return {c.id: c.record for c in store.load()}


def test_background_compaction_folds_the_log_while_writes_go_on(tmp_path):
    store = TinyStore(tmp_path / "db.json")
    live = {i: put(i, f"r{i}") for i in range(1, 6)}
    store.write(list(live.values()))
    assert store.compact_in_background(lambda: list(live.values()))
    store.write([put(6, "r6")])  # lands in the fresh log while the child writes the snapshot
    wait(store)
    assert not (tmp_path / "db.json.wal.1").exists()
    snapshot = json.loads((tmp_path / "db.json").read_text())
    assert len(snapshot["records"]) == 5
    assert (tmp_path / "db.json.wal").read_text().count("\n") == 1
    store.close()
    assert set(records_of(tmp_path / "db.json")) == {f"r{i}" for i in range(1, 7)}


def test_a_crash_before_the_new_snapshot_replays_the_sealed_log(tmp_path):
    with TinyStore(tmp_path / "db.json") as store:
        store.write([put(1, "a"), put(2, "b")])
    (tmp_path / "db.json.wal").rename(tmp_path / "db.json.wal.1")  # sealed, the child never finished
    (tmp_path / "db.json.wal").write_text(json.dumps(Change(2, "acme", "batches", "b", None).as_json()) + "\n")
    assert set(records_of(tmp_path / "db.json")) == {"a"}


def test_a_crash_after_the_new_snapshot_replays_the_sealed_log_harmlessly(tmp_path):
    with TinyStore(tmp_path / "db.json") as store:
        store.write([put(1, "a", name="old"), put(1, "a", name="new"), put(2, "b")])
        store.compact([put(1, "a", name="new"), put(2, "b")])
    (tmp_path / "db.json.wal.1").write_text(
        "".join(  # the sealed log that the snapshot already holds
            json.dumps(c.as_json()) + "\n" for c in [put(1, "a", name="old"), put(1, "a", name="new"), put(2, "b")]
        )
    )
    assert records_of(tmp_path / "db.json")["a"]["name"] == "new"


def test_the_database_starts_a_background_compaction_every_n_writes(tmp_path):
    from mockserver.database import Database

    store = TinyStore(tmp_path / "db.json")
    db = Database(store, compact_every=10)
    for i in range(25):
        db.put("acme", "batches", f"r{i}", {"id": f"r{i}"})
    store.close()
    assert not (tmp_path / "db.json.wal.1").exists()
    assert len(json.loads((tmp_path / "db.json").read_text())["records"]) >= 10
    assert set(records_of(tmp_path / "db.json")) == {f"r{i}" for i in range(25)}
