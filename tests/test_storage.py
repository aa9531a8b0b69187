"""The stores: what is written is loaded again; the TinyDB store survives kills, torn writes, refused writes and
damaged files, and never writes over a file that is not its own."""

import errno
import json
import logging
import os
import time

import pytest
from tinydb import TinyDB

from mockserver import compaction, wal
from mockserver.database import Database
from mockserver.storage import Change, MemoryStore, StorageWriteError, StoreBusyError, StoreError
from mockserver.tinystore import DamagedStoreError, ReadOnlyStore, TinyStore, check_database, repair_database


def put(seq, record_id, **fields):
    return Change(seq, "acme", "batches", record_id, {"id": record_id, **fields})


def opened(path, **kwargs):
    store = TinyStore(path, **kwargs)
    loaded = list(store.load())
    return store, loaded


def records_of(path):
    store, loaded = opened(path)
    store.close()
    return {c.id: c.value for c in loaded}


def written(path, *groups):
    """A database at `path` whose log holds `groups` of changes, one write each."""
    store, _ = opened(path)
    for group in groups:
        store.write(group)
    store.close()


@pytest.fixture(params=["memory", "tiny"])
def store(request, tmp_path):
    if request.param == "memory":
        return MemoryStore()
    return opened(tmp_path / "db.json")[0]


def test_a_store_accepts_writes_and_a_rewrite(store):
    with store:
        store.write([put(1, "a"), put(2, "b")])
        store.rewrite([put(1, "a")])
    if isinstance(store, TinyStore):  # the memory store keeps nothing for a restart
        assert set(records_of(store.path)) == {"a"}


def test_tiny_store_loads_what_was_written_in_sequence_order(tmp_path):
    written(tmp_path / "db.json", [put(2, "b", name="B"), put(1, "a", name="A")], [put(1, "a", name="A2")])
    written(tmp_path / "db.json", [Change(2, "acme", "batches", "b", None)])
    store, loaded = opened(tmp_path / "db.json")
    store.close()
    assert [(c.seq, c.id, c.value["name"]) for c in loaded] == [(1, "a", "A2")]


def test_the_snapshot_is_a_tinydb_file_with_the_databases_secret(tmp_path):
    store, _ = opened(tmp_path / "db.json")
    store.write([put(1, "a"), put(2, "b")])
    store.compact([put(1, "a"), put(2, "b")])
    folded = wal.read_log(tmp_path / "db.json.wal")
    assert folded.changes == [] and folded.header == {"log": store.database, "from": 3}  # only its header is left
    store.close()
    with TinyDB(tmp_path / "db.json") as db:
        assert sorted(doc.doc_id for doc in db.table("records").all()) == [1, 2]  # doc_ids: the sequence numbers
        [meta] = db.table("meta").all()
    assert len(meta["secret"]) == 64
    store, _ = opened(tmp_path / "db.json")
    assert store.meta["secret"] == meta["secret"]  # the secret outlives the process
    store.close()


def test_a_database_written_before_the_meta_table_loads_and_gains_one(tmp_path):
    (tmp_path / "db.json").write_text(json.dumps({"records": {"1": {"t": "acme", "c": "batches", "id": "a", "r": {}}}}))
    assert set(records_of(tmp_path / "db.json")) == {"a"}
    assert "meta" in json.loads((tmp_path / "db.json").read_text())


def test_a_legacy_database_is_read_as_before_and_folded_into_the_current_format_with_an_identity(tmp_path, caplog):
    """Written before identities and sequence numbers: a meta without `database`, a log without a header, a line
    without a checksum (older still). Read with a warning, and folded at the first start."""
    db = tmp_path / "db.json"
    meta = {"format": 2, "secret": "ab" * 32}
    document = {"t": "acme", "c": "batches", "id": "a", "r": {"id": "a"}}
    db.write_text(json.dumps({"meta": {"1": meta}, "records": {"1": document}}))
    legacy = wal.encode(put(2, "b").as_json()) + json.dumps(put(3, "c").as_json()).encode() + b"\n"
    db.with_name("db.json.wal").write_bytes(legacy)
    assert check_database(db).unchecked == 1 and check_database(db).damage == []
    with caplog.at_level(logging.WARNING, logger="mockserver.tinystore"):
        store, loaded = opened(db)
    assert {c.id for c in loaded} == {"a", "b", "c"} and "without a checksum" in caplog.text
    assert store.secret == meta["secret"] and len(store.database) == 32  # the same secret; an identity now
    store.close()
    assert wal.read_log(db.with_name("db.json.wal")).database == store.database
    assert set(records_of(db)) == {"a", "b", "c"}


def test_a_snapshot_alone_is_a_database_and_starts_with_a_warning(tmp_path, caplog):
    """A copy of a seeded snapshot, without its log: a deleted log cannot be told from one never copied."""
    store, _ = opened(tmp_path / "db.json")
    store.compact([put(1, "a")])
    store.close()
    (tmp_path / "db.json.wal").unlink()
    assert check_database(tmp_path / "db.json").log_missing
    with caplog.at_level(logging.WARNING, logger="mockserver.tinystore"):
        assert set(records_of(tmp_path / "db.json")) == {"a"}
    assert "has no log beside it" in caplog.text


def test_a_torn_last_line_is_skipped_and_cut_off(tmp_path):
    written(tmp_path / "db.json", [put(1, "a")])
    with open(tmp_path / "db.json.wal", "ab") as fh:
        fh.write(wal.encode(put(2, "b").as_json())[:-9])  # a kill in the middle of a write
    store, loaded = opened(tmp_path / "db.json")
    assert [c.id for c in loaded] == ["a"]
    store.write([put(3, "c")])
    store.close()
    assert set(records_of(tmp_path / "db.json")) == {"a", "c"}


# -- a disk that refuses writes ---------------------------------------------------------------------------------


class FailingDisk:
    """os.write and os.fsync of the log fail like a full or broken disk: a write may land half before failing."""

    def __init__(self, monkeypatch, code, partial=True, on="write"):
        self.code, self.partial, self.failing = code, partial, True
        real_write, real_fsync = os.write, os.fsync

        def write(fd, data):
            if self.failing and on == "write":
                if self.partial and len(data) > 1:
                    real_write(fd, bytes(data[: len(data) // 2]))
                raise OSError(code, os.strerror(code))
            return real_write(fd, data)

        def fsync(fd):
            if self.failing and on == "fsync":
                raise OSError(code, os.strerror(code))
            return real_fsync(fd)

        monkeypatch.setattr(wal.os, "write", write)
        monkeypatch.setattr(wal.os, "fsync", fsync)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EROFS, errno.EFBIG])
def test_a_refused_write_is_an_error_naming_the_file_and_leaves_only_whole_lines(tmp_path, monkeypatch, code):
    store, _ = opened(tmp_path / "db.json")
    store.write([put(1, "kept")])
    disk = FailingDisk(monkeypatch, code)
    with pytest.raises(StorageWriteError) as refused:
        store.write([put(2, "refused", memo="x" * 500)])
    assert str(tmp_path / "db.json.wal") in str(refused.value) and errno.errorcode[code] in str(refused.value)
    assert not store.healthy and store.status()["last_write_error"]
    assert (tmp_path / "db.json.wal").read_bytes().endswith(b"\n")  # the half-written line is gone
    disk.failing = False  # space returns
    store.write([put(3, "after")])
    assert store.healthy
    store.close()
    assert set(records_of(tmp_path / "db.json")) == {"kept", "after"}  # the refused write never reappears


def test_a_failed_fsync_is_a_refused_write(tmp_path, monkeypatch):
    store, _ = opened(tmp_path / "db.json", fsync=True)
    disk = FailingDisk(monkeypatch, errno.EIO, on="fsync")
    with pytest.raises(StorageWriteError, match="EIO"):
        store.write([put(1, "unsure")])
    disk.failing = False
    store.write([put(2, "sure")])
    store.close()
    assert set(records_of(tmp_path / "db.json")) == {"sure"}


def test_when_even_the_cut_fails_the_next_write_cuts_first(tmp_path, monkeypatch):
    store, _ = opened(tmp_path / "db.json")
    store.write([put(1, "a")])
    disk = FailingDisk(monkeypatch, errno.ENOSPC)
    real_truncate = os.ftruncate
    monkeypatch.setattr(wal.os, "ftruncate", lambda fd, size: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    with pytest.raises(StorageWriteError):
        store.write([put(2, "b")])
    assert not (tmp_path / "db.json.wal").read_bytes().endswith(b"\n")  # the torn half is still there ...
    monkeypatch.setattr(wal.os, "ftruncate", real_truncate)
    disk.failing = False
    store.write([put(3, "c")])  # ... until the next write cuts it off before appending
    store.close()
    assert set(records_of(tmp_path / "db.json")) == {"a", "c"}


def refuse_cuts(monkeypatch):
    def truncate(fd, size):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(wal.os, "ftruncate", truncate)


@pytest.mark.parametrize("partial", [False, True], ids=["whole-line-left", "half-line-left"])
def test_a_refused_write_the_disk_will_not_let_be_cut_off_never_comes_back_after_a_kill(tmp_path, monkeypatch, partial):
    """fsync (or the write) fails, then the cut that should undo it fails too: the line may be whole in the file.
    A void line makes it count for nothing; the writes after it are kept."""
    store, _ = opened(tmp_path / "db.json", fsync=True, compact_every=0)
    store.write([put(1, "kept")])
    disk = FailingDisk(monkeypatch, errno.EIO, partial=partial, on="write" if partial else "fsync")
    refuse_cuts(monkeypatch)
    with pytest.raises(StorageWriteError):
        store.write([put(2, "refused"), put(3, "refused too")])
    disk.failing = False
    store.write([put(4, "after")])
    store._writer = None  # kill -9: no fold at close
    store.close()
    monkeypatch.undo()
    assert set(records_of(tmp_path / "db.json")) == {"kept", "after"}


def test_when_the_disk_refuses_the_write_the_cut_and_the_void_the_final_fold_leaves_it_behind(tmp_path, monkeypatch):
    """Only the snapshot can still be written at the clean stop: it holds the numbers of the refused write, so the
    log's refused line is skipped at the next start, should the log keep it."""
    store = TinyStore(tmp_path / "db.json", fsync=True, compact_every=0)
    db = Database(store)
    db.load()
    db.put("acme", "batches", "kept", {"id": "kept"})
    real_write = os.write
    log_fd = store._writer._fd

    def write(fd, data):
        if fd == log_fd:
            if not bytes(data).startswith(b"\n"):  # the line lands whole, and then the disk says it failed;
                real_write(fd, data)  # the void line after it does not land at all
            raise OSError(errno.EIO, "I/O error")
        return real_write(fd, data)

    monkeypatch.setattr(wal.os, "write", write)
    refuse_cuts(monkeypatch)
    with pytest.raises(StorageWriteError):
        db.put("acme", "batches", "refused", {"id": "refused"})
    assert store._writer.dirty

    def no_new_log(*args):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr("mockserver.tinystore.create_log", no_new_log)  # the old log, refused line and all, stays
    db.close()  # the fold writes a snapshot past the refused numbers
    monkeypatch.undo()
    assert b"refused" in (tmp_path / "db.json.wal").read_bytes()
    assert set(records_of(tmp_path / "db.json")) == {"kept"}


def test_a_group_the_store_refuses_is_undone_in_memory(tmp_path, monkeypatch):
    store, _ = opened(tmp_path / "db.json")
    db = Database(store)
    db.put("acme", "batches", "a", {"id": "a", "v": 1})
    FailingDisk(monkeypatch, errno.ENOSPC)
    with pytest.raises(StorageWriteError), db.atomic():
        db.put("acme", "batches", "a", {"id": "a", "v": 2})
        db.put("acme", "batches", "b", {"id": "b"})
        db.delete("acme", "batches", "a")
        assert db.get("acme", "batches", "b") is not None  # visible inside the group ...
    assert db.get("acme", "batches", "a") == {"id": "a", "v": 1}  # ... and undone, all of it, when it fails
    assert db.get("acme", "batches", "b") is None and db.size == 1
    assert [r["id"] for _, r in db.scan("acme", "batches")] == ["a"]


def test_a_group_is_one_append(tmp_path):
    store, _ = opened(tmp_path / "db.json")
    db = Database(store)
    writes = []
    store.write = lambda changes: writes.append(len(changes))  # type: ignore[method-assign]
    with db.atomic():
        for i in range(5):
            db.put("acme", "batches", f"r{i}", {"id": f"r{i}"})
    assert writes == [5]
    store.close()


# -- damage found at start ----------------------------------------------------------------------------------------


def damage_byte(path, near=b"record 5"):
    """One byte changed in the middle of the log, inside a value: the line still parses, its checksum does not."""
    data = bytearray(path.read_bytes())
    data[data.index(near) + 2] ^= 0x01
    path.write_bytes(bytes(data))


def logged(path, count):
    written(path, *([put(i, f"r{i}", memo=f"record {i}")] for i in range(1, count + 1)))


def test_a_damaged_byte_in_the_log_stops_the_start_naming_file_line_and_commands(tmp_path):
    db = tmp_path / "db.json"
    logged(db, 9)
    damage_byte(db.with_name("db.json.wal"))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix != ".lock"}
    with pytest.raises(DamagedStoreError) as refused:
        list(TinyStore(db).load())
    message = str(refused.value)
    assert f"{db}.wal line 6" in message and "acme/batches/r5" in message  # line 1 is the log's header
    assert f"collect-mock check --db {db}" in message and f"collect-mock repair --db {db}" in message
    assert "8 records" in message
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix != ".lock"} == before  # untouched
    TinyStore(db, lock_wait=0).close()  # and the lock was released


def test_repair_keeps_every_readable_record_and_a_copy_of_the_damaged_file(tmp_path):
    db = tmp_path / "db.json"
    logged(db, 9)
    damage_byte(db.with_name("db.json.wal"))
    assert [d.line for d in check_database(db).damage] == [6]
    dropped, kept = repair_database(db)
    assert [d.record for d in dropped] == ["acme/batches/r5"] and kept == 8
    assert [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert set(records_of(db)) == {f"r{i}" for i in range(1, 10)} - {"r5"}
    assert check_database(db).damage == []


def test_a_truncated_snapshot_stops_the_start_and_repair_keeps_what_precedes_the_cut(tmp_path):
    db = tmp_path / "db.json"
    store, _ = opened(db)
    store.compact([put(i, f"r{i}", memo="m" * 50) for i in range(1, 21)])
    store.close()
    data = db.read_bytes()
    db.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(DamagedStoreError, match="cut short"):
        list(TinyStore(db).load())
    dropped, kept = repair_database(db)
    assert 10 <= kept < 20 and dropped
    assert set(records_of(db)) == {f"r{i}" for i in range(1, kept + 1)}


def test_a_damaged_byte_in_the_snapshot_loses_only_its_record(tmp_path):
    db = tmp_path / "db.json"
    store, _ = opened(db)
    store.compact([put(i, f"r{i}", memo="m" * 50) for i in range(1, 21)])
    store.close()
    lines = db.read_bytes().split(b"\n")
    lines[10] = lines[10].replace(b'"memo"', b'"me"mo"')
    db.write_bytes(b"\n".join(lines))
    damage = check_database(db).damage
    assert len(damage) == 1 and damage[0].line == 11 and damage[0].record == "acme/batches/r9"
    repair_database(db)
    assert set(records_of(db)) == {f"r{i}" for i in range(1, 21)} - {"r9"}


def test_a_torn_sealed_log_is_damage_not_a_crash_to_forgive(tmp_path):
    db = tmp_path / "db.json"
    logged(db, 3)
    sealed = db.with_name("db.json.wal.1")
    db.with_name("db.json.wal").rename(sealed)
    sealed.write_bytes(sealed.read_bytes()[:-7])
    with pytest.raises(DamagedStoreError, match=r"wal\.1 line 4: ends in the middle of a line"):
        list(TinyStore(db).load())


# -- files that are not ours, and a second server -----------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        '{"name": "my-app", "version": "1.0.0"}',
        '{"_default": {"1": {"x": 1}}}',
        '{"_default": {}}',
        '{"records": {}}',
        '{"meta": {"1": {"format": 2}}, "records": {}}',
        '{"meta": {"name": "my-app"}}',
        "{}",
        " { }\n",
        "",
        "[1, 2]",
        "key: value\n",
    ],
    ids=[
        "package.json",
        "another-tinydb",
        "an-empty-tinydb",
        "records-only-empty",
        "meta-without-secret",
        "meta-of-another-program",
        "empty-object",
        "empty-object-spaced",
        "empty-file",
        "array",
        "yaml",
    ],
)
def test_a_file_that_is_not_a_mock_database_is_refused_and_left_as_it_is(tmp_path, content):
    path = tmp_path / "package.json"
    path.write_text(content)
    with pytest.raises(StoreError, match="is not a Collect mock database"):
        TinyStore(path).load()
    with pytest.raises(StoreError, match="is not a Collect mock database"):
        repair_database(path)
    assert path.read_text() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["package.json"]  # nothing created beside it


@pytest.mark.parametrize("command", [check_database, repair_database, ReadOnlyStore])
def test_commands_that_read_a_database_never_create_one(tmp_path, command):
    with pytest.raises(StoreError, match="there is no database at"):
        command(tmp_path / "missing.json")
    assert list(tmp_path.iterdir()) == []


def test_reading_a_database_to_export_it_changes_nothing(tmp_path):
    db = tmp_path / "db.json"
    killed_with_log(db, [put(1, "a")], [put(2, "b")])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix != ".lock"}
    store = ReadOnlyStore(db)
    assert [c.id for c in store.load()] == ["a", "b"]
    store.close()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix != ".lock"} == before  # no fold


def test_a_database_reached_through_a_symlink_is_one_database_and_the_link_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "db.json"
    link = tmp_path / "link.json"
    written(real, [put(1, "a")])
    link.symlink_to(real)
    first, _ = opened(link)
    with pytest.raises(StoreBusyError, match="in use by another collect-mock"):
        TinyStore(real, lock_wait=0.1)
    first.write([put(2, "b")])
    first.compact([put(1, "a"), put(2, "b")])
    first.close()
    assert link.is_symlink() and set(records_of(real)) == {"a", "b"}
    assert not (tmp_path / "link.json.wal").exists()  # the log lives beside the file itself


def test_a_second_name_of_the_same_file_a_hard_link_is_refused_while_the_first_runs(tmp_path):
    written(tmp_path / "db.json", [put(1, "a")])
    os.link(tmp_path / "db.json", tmp_path / "hard.json")
    first, _ = opened(tmp_path / "db.json")
    with pytest.raises(StoreBusyError, match="in use by another collect-mock"):
        TinyStore(tmp_path / "hard.json", lock_wait=0.1)
    first.close()


def test_a_second_store_on_the_same_database_is_refused_until_the_first_closes(tmp_path):
    first, _ = opened(tmp_path / "db.json")
    with pytest.raises(StoreBusyError, match="in use by another collect-mock"):
        TinyStore(tmp_path / "db.json", lock_wait=0.1)
    first.close()
    TinyStore(tmp_path / "db.json", lock_wait=0).close()


def test_a_log_that_is_not_a_file_is_named_with_what_helps(tmp_path):
    written(tmp_path / "db.json", [put(1, "a")])
    (tmp_path / "db.json.wal").unlink()
    (tmp_path / "db.json.wal").mkdir()
    with pytest.raises(StoreError, match=r"cannot read the log .*db\.json\.wal: Is a directory; .*collect-mock check"):
        TinyStore(tmp_path / "db.json").load()


def test_an_unwritable_location_is_an_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="cannot open database"):
        TinyStore(tmp_path / "file" / "db.json")


# -- compaction ---------------------------------------------------------------------------------------------------


def wait(store):
    for _ in range(500):
        store.poll()
        if store._child.pid is None:
            return
        time.sleep(0.01)
    raise AssertionError("the background compaction did not finish")


def test_background_compaction_folds_the_log_while_writes_go_on(tmp_path):
    store, _ = opened(tmp_path / "db.json")
    live = {i: put(i, f"r{i}") for i in range(1, 6)}
    store.write(list(live.values()))
    assert store.compact_in_background(lambda: list(live.values()))
    store.write([put(6, "r6")])  # lands in the fresh log while the child writes the snapshot
    wait(store)
    assert not (tmp_path / "db.json.wal.1").exists()
    assert len(json.loads((tmp_path / "db.json").read_text())["records"]) == 5
    assert len(wal.read_log(tmp_path / "db.json.wal").changes) == 1
    store.close()
    assert set(records_of(tmp_path / "db.json")) == {f"r{i}" for i in range(1, 7)}


def test_a_failed_compaction_is_logged_shown_kept_and_retried(tmp_path, monkeypatch, caplog):
    store, _ = opened(tmp_path / "db.json")
    live = [put(i, f"r{i}") for i in range(1, 4)]
    store.write(live)
    no_space = lambda *a: (_ for _ in ()).throw(OSError(28, "No space"))  # noqa: E731
    monkeypatch.setattr("mockserver.tinystore.write_snapshot", no_space)
    with caplog.at_level(logging.ERROR, logger="mockserver.compaction"):
        assert store.compact_in_background(lambda: live)
        wait(store)
    assert "could not write the snapshot" in caplog.text and "No space" in caplog.text
    state = store.status()["compaction"]
    assert state["state"] == "failing" and state["failures"] == 1 and "No space" in state["last_error"]
    assert not store.healthy and (tmp_path / "db.json.wal.1").exists()  # kept: replayed at start
    store.compact_every = store.compact_bytes = 1
    assert not store.compaction_due(0)  # waits before trying again
    monkeypatch.undo()
    store.compaction.retry_at = 0
    assert store.compaction_due(0)
    store.write([put(4, "r4")])
    assert store.compact_in_background(lambda: [*live, put(4, "r4")])
    wait(store)
    assert store.healthy and store.status()["compaction"]["state"] == "idle"
    assert not list(tmp_path.glob("db.json.wal.*"))  # both sealed logs folded
    store.close()
    assert set(records_of(tmp_path / "db.json")) == {"r1", "r2", "r3", "r4"}


def test_the_retry_waits_longer_after_each_failure():
    state = compaction.CompactionState()
    delays = []
    for _ in range(4):
        state.failed("db", "boom")
        delays.append(round(state.retry_at - time.monotonic()))
    assert delays == [5, 10, 20, 40]


def killed_with_log(path, *groups):
    """A database whose server was killed after writing `groups` (its log is not folded)."""
    store, _ = opened(path, compact_every=0)
    for group in groups:
        store.write(group)
    store._writer = None  # as a kill leaves it: no fold at close
    store.close()
    return store.database


def test_a_crash_before_the_new_snapshot_replays_the_sealed_log(tmp_path):
    database = killed_with_log(tmp_path / "db.json", [put(1, "a"), put(2, "b")])
    (tmp_path / "db.json.wal").rename(tmp_path / "db.json.wal.1")  # sealed, the child never finished
    deleted = Change(2, "acme", "batches", "b", None).as_json()
    (tmp_path / "db.json.wal").write_bytes(wal.header(database, 3) + wal.encode_all([deleted], 3))
    assert set(records_of(tmp_path / "db.json")) == {"a"}


def test_a_crash_after_the_new_snapshot_replays_the_sealed_log_harmlessly(tmp_path):
    store, _ = opened(tmp_path / "db.json")
    store.write([put(1, "a", name="old")])
    store.write([put(1, "a", name="new")])
    store.write([put(2, "b")])
    sealed = (tmp_path / "db.json.wal").read_bytes()  # the log the new snapshot already holds
    store.compact([put(1, "a", name="new"), put(2, "b")])
    store.close()
    (tmp_path / "db.json.wal.1").write_bytes(sealed)
    assert records_of(tmp_path / "db.json")["a"]["name"] == "new"


def test_the_store_starts_a_background_compaction_every_n_writes(tmp_path):
    store = TinyStore(tmp_path / "db.json", compact_every=10)
    db = Database(store)
    db.load()
    for i in range(25):
        db.put("acme", "batches", f"r{i}", {"id": f"r{i}"})
    store.close()
    assert not (tmp_path / "db.json.wal.1").exists()
    assert len(json.loads((tmp_path / "db.json").read_text())["records"]) >= 10
    assert set(records_of(tmp_path / "db.json")) == {f"r{i}" for i in range(25)}


def test_a_log_of_few_large_writes_is_folded_by_its_bytes(tmp_path):
    store = TinyStore(tmp_path / "db.json", compact_every=1000, compact_bytes=20_000)
    db = Database(store)
    db.load()
    for i in range(30):
        db.put("acme", "batches", "big", {"id": "big", "memo": f"{i}" + "x" * 1000})  # one record, rewritten
    wait(store)
    assert store.status()["log_bytes"] < 20_000  # folded long before 1,000 writes
    assert json.loads((tmp_path / "db.json").read_text())["records"]
    store.close()


# -- one append, one request --------------------------------------------------------------------------------------


def test_an_append_cut_short_by_a_kill_counts_for_nothing_not_for_its_first_lines(tmp_path):
    """A kill in the middle of writing a batch request's 100 lines leaves some of them in the file."""
    written(tmp_path / "db.json", [put(1, "before")])
    group = wal.encode_all([put(i, f"g{i}").as_json() for i in range(2, 102)], 2)
    with open(tmp_path / "db.json.wal", "ab") as fh:
        fh.write(group[: len(group) * 61 // 100])  # 61 whole lines and a torn one
    store, loaded = opened(tmp_path / "db.json")
    assert [c.id for c in loaded] == ["before"]
    store.write([put(200, "after")])  # lands after the last whole append: the partial one was cut off
    store.close()
    assert set(records_of(tmp_path / "db.json")) == {"before", "after"}


@pytest.mark.parametrize("line", [1, 2, 3], ids=["first", "middle", "last"])
def test_a_damaged_line_of_an_append_takes_the_whole_request_with_it_on_repair(tmp_path, line):
    db = tmp_path / "db.json"
    written(db, [put(1, "alone")], [put(2, "g2"), put(3, "g3"), put(4, "g4")], [put(5, "later")])
    log = db.with_name("db.json.wal")
    lines = log.read_bytes().split(b"\n")
    lines[line + 1] = lines[line + 1].replace(b'"acme"', b'"acne"')  # 0: the header, 1: "alone", 2-4: the request
    log.write_bytes(b"\n".join(lines))
    assert check_database(db).damage
    repair_database(db)
    assert set(records_of(db)) == {"alone", "later"}
