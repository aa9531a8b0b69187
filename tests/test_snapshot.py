"""The snapshot file: TinyDB's to read and write, read line by line, and every changed byte seen, even one that
leaves valid JSON; a snapshot emptied or removed beside the files of a database is refused, never taken for a
new, empty database."""

import json

import orjson
import pytest
from tinydb import TinyDB

from mockserver.cli import main
from mockserver.snapshot import DamagedSnapshotError, SnapshotStorage, document_checksum
from mockserver.storage import Change
from mockserver.tinystore import DamagedStoreError, TinyStore, check_database, repair_database


def put(seq, record_id, **fields):
    return Change(seq, "acme", "batches", record_id, {"id": record_id, **fields})


def records_of(path):
    store = TinyStore(path)
    loaded = {c.id: c.value for c in store.load()}
    store.close()
    return loaded


@pytest.fixture
def db(tmp_path):
    """A database of 20 records, all in its snapshot (line 3 holds r1, line 22 r20)."""
    path = tmp_path / "db.json"
    store = TinyStore(path)
    list(store.load())
    store.compact([put(i, f"r{i}", memo=f"memo {i}", total=float(i)) for i in range(1, 21)])
    store.close()
    return path


def edit_line(path, number, old, new):
    lines = path.read_bytes().split(b"\n")
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    path.write_bytes(b"\n".join(lines))


def refused(path):
    with pytest.raises(DamagedStoreError) as caught:
        list(TinyStore(path).load())
    return str(caught.value)


def test_tinydb_reads_the_snapshot_as_it_is(db):
    with TinyDB(db) as tiny:
        documents = {doc.doc_id: dict(doc) for doc in tiny.table("records").all()}
        [meta] = tiny.table("meta").all()
    assert sorted(documents) == list(range(1, 21))  # doc_ids: the sequence numbers
    assert documents[3]["id"] == "r3" and documents[3]["r"]["memo"] == "memo 3"
    assert len(meta["secret"]) == 64


def test_a_snapshot_tinydb_wrote_again_is_read_and_verified(db):
    with TinyDB(db) as tiny:  # TinyDB writes the file its own way: one line, other spacing
        tiny.storage.write(tiny.storage.read())
    assert b"\n" not in db.read_bytes().strip()
    assert records_of(db) == {f"r{i}": {"id": f"r{i}", "memo": f"memo {i}", "total": float(i)} for i in range(1, 21)}


def test_tinydb_edits_a_stopped_database_through_the_snapshot_storage_checksums_included(db):
    with TinyDB(db, storage=SnapshotStorage) as tiny:
        records = tiny.table("records")
        assert records.get(doc_id=4)["r"]["memo"] == "memo 4"
        records.update({"r": {"id": "r4", "memo": "edited", "total": 4.0}}, doc_ids=[4])
    assert records_of(db)["r4"]["memo"] == "edited"
    edit_line(db, 6, b'"edited"', b'"edites"')
    with pytest.raises(DamagedSnapshotError, match="record 4's checksum does not match"):
        TinyDB(db, storage=SnapshotStorage).table("records").all()


def test_a_record_changed_through_tinydb_without_its_checksum_is_damage(db):
    with TinyDB(db) as tiny:
        tiny.table("records").update({"r": {"id": "r4", "memo": "edited", "total": 4.0}}, doc_ids=[4])
    assert "record 4's checksum does not match" in refused(db)


def test_a_changed_byte_that_leaves_valid_json_is_seen(db):
    edit_line(db, 11, b'"memo 9"', b'"memo 8"')  # still valid JSON, another value
    message = refused(db)
    assert f"{db} line 11: record 9's checksum does not match" in message and "acme/batches/r9" in message
    assert "collect-mock repair" in message
    [damage] = check_database(db).damage
    assert damage.line == 11
    repair_database(db)
    assert set(records_of(db)) == {f"r{i}" for i in range(1, 21)} - {"r9"}


def test_a_document_whose_key_is_not_a_number_is_damage_with_its_line_not_a_traceback(db):
    edit_line(db, 5, b'"3":', b'"x3":')
    message = refused(db)
    assert f"{db} line 5: its key 'x3' is not a record's sequence number" in message
    assert "invalid literal" not in message


def test_a_record_stored_under_another_id_is_damage(db):
    lines = db.read_bytes().split(b"\n")
    record = b'{"id":"other","memo":"memo 5","total":5.0}'
    checksum = document_checksum(5, "acme", "batches", "r5", record).encode()
    lines[6] = b'"5":{"t":"acme","c":"batches","id":"r5","k":"' + checksum + b'","r":' + record + b"},"
    db.write_bytes(b"\n".join(lines))
    assert "record 5 is stored as 'r5' but its id is 'other'" in refused(db)


def test_a_changed_byte_in_the_meta_table_is_seen(db):
    secret = json.loads(db.read_bytes().split(b"\n")[0][len('{"meta":{"1":') : -2])["secret"]
    flipped = ("0" if secret[10] != "0" else "1").encode()
    edit_line(db, 1, secret.encode(), secret[:10].encode() + flipped + secret[11:].encode())
    assert f"{db} line 1: its meta table's checksum does not match" in refused(db)


@pytest.mark.parametrize("emptied", [b"", b"\n  \n"], ids=["empty", "blank"])
def test_an_emptied_snapshot_beside_its_log_is_refused_and_repair_keeps_what_the_log_holds(db, emptied):
    store = TinyStore(db)
    list(store.load())
    store.write([put(21, "r21")])  # in the log only
    store._writer.close()  # a kill: the log is not folded  # noqa: SLF001
    store._writer = None  # noqa: SLF001
    store._records = None  # noqa: SLF001
    store.close()
    db.write_bytes(emptied)  # `: > db.json`
    message = refused(db)
    assert f"{db} line 1: the snapshot is empty" in message and "collect-mock repair" in message
    assert main(["check", "--db", str(db)]) == 1
    repair_database(db)
    assert set(records_of(db)) == {"r21"}


def test_a_removed_snapshot_beside_its_lock_file_is_refused(db, capsys):
    db.unlink()
    assert db.with_name("db.json.lock").exists()
    message = refused(db)
    assert "the snapshot is missing" in message and "db.json.lock" in message
    assert not db.exists()  # nothing was written in its place


def test_a_new_database_is_not_mistaken_for_a_lost_one(tmp_path):
    path = tmp_path / "new.json"
    assert records_of(path) == {}
    assert records_of(path) == {}  # its lock and log are there now, and so is its snapshot


def test_a_snapshot_of_format_2_is_read_and_written_anew_with_checksums(tmp_path):
    path = tmp_path / "db.json"
    meta = {"format": 2, "secret": "ab" * 32, "created_at": "2026-01-01T00:00:00+00:00"}
    lines = [b'{"meta":{"1":' + orjson.dumps(meta) + b"},", b'"records":{']
    lines.append(b'"1":{"t":"acme","c":"batches","id":"a","r":{"id":"a","memo":"old"}}')
    path.write_bytes(b"\n".join([*lines, b"}}", b""]))
    assert records_of(path) == {"a": {"id": "a", "memo": "old"}}
    text = path.read_bytes()
    assert b'"format":3' in text and b'"k":' in text and b'"secret":"' + b"ab" * 32 in text


def test_a_record_line_repeated_in_the_snapshot_is_damage_not_an_older_record_put_back(db):
    store = TinyStore(db)
    list(store.load())
    store.write([put(4, "r4", memo="patched", total=4.0)])  # in the log only: the snapshot holds the old r4
    store._writer.close()  # a kill: the log is not folded  # noqa: SLF001
    store._writer = None  # noqa: SLF001
    store._records = None  # noqa: SLF001
    store.close()
    lines = db.read_bytes().split(b"\n")
    lines.insert(6, lines[5])  # r4's line again, right after itself
    db.write_bytes(b"\n".join(lines))
    assert f"{db} line 7: record 4 follows record 4: a line repeated or moved" in refused(db)
    repair_database(db)
    assert records_of(db)["r4"]["memo"] == "patched"


def test_a_repair_writes_the_records_back_in_sequence_order_where_a_damaged_line_had_a_logged_change(db):
    store = TinyStore(db)
    list(store.load())
    store.write([put(4, "r4", memo="patched", total=4.0)])  # in the log only
    store._writer.close()  # a kill: the log is not folded  # noqa: SLF001
    store._writer = None  # noqa: SLF001
    store._records = None  # noqa: SLF001
    store.close()
    edit_line(db, 6, b'"memo 4"', b'"memo 5"')  # r4's snapshot line is damaged; the log's change to it is whole
    assert "record 4's checksum does not match" in refused(db)
    repair_database(db)
    assert check_database(db).damage == []
    assert records_of(db)["r4"]["memo"] == "patched"
    store = TinyStore(db)
    assert [c.seq for c in store.load()] == list(range(1, 21))
    store.close()


def test_a_snapshot_copied_alone_starts_without_being_written_again_and_keeps_later_writes(db, tmp_path):
    copy = tmp_path / "copy" / "db.json"
    copy.parent.mkdir()
    copy.write_bytes(db.read_bytes())  # the snapshot alone, as the benchmarks copy a seeded one
    before = copy.stat().st_mtime_ns
    store = TinyStore(copy)
    assert len(list(store.load())) == 20
    assert copy.stat().st_mtime_ns == before and copy.with_name("db.json.wal").exists()
    store.write([put(21, "r21")])
    store._writer.close()  # a kill: the log is not folded  # noqa: SLF001
    store._writer = None  # noqa: SLF001
    store._records = None  # noqa: SLF001
    store.close()
    assert set(records_of(copy)) == {f"r{i}" for i in range(1, 22)}
