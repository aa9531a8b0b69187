"""The storage interface (`mockserver.storage.Store`) as a backend sees it: every promise of its docstring, checked
on each backend that keeps records, and on one written here from the docstring alone (`OneFileStore`). A new
backend joins the `durable` fixture's list."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from mockserver.database import Database
from mockserver.storage import Change, Records, StorageWriteError, Store, new_meta
from mockserver.tinystore import TinyStore


class OneFileStore(Store):
    """A backend from the docstring alone: every record in one JSON file, written anew (beside it, then renamed)
    on every write. Slow for many records; durable and all-or-none."""

    def __init__(self, path: Path):
        self.path = path
        self.meta: dict[str, Any] = {}
        self.stored: dict[tuple[str, str, str], Change] = {}
        self.refuse = False  # a disk that refuses writes

    def load(self, records: Records | None = None) -> Iterator[Change]:
        data = json.loads(self.path.read_text()) if self.path.exists() else {"meta": new_meta(), "changes": []}
        self.meta = data["meta"]
        self.stored = {(c.tenant, c.collection, c.id): c for c in map(Change.from_json, data["changes"])}
        self._save(self.stored)  # a new database's secret is stored before any write
        return iter(sorted(self.stored.values(), key=lambda c: c.seq))

    def write(self, changes: Sequence[Change]) -> None:
        after = dict(self.stored)
        for change in changes:
            key = (change.tenant, change.collection, change.id)
            if change.record is None:
                after.pop(key, None)
            else:
                after[key] = change
        self._save(after)
        self.stored = after

    def rewrite(self, changes: Iterable[Change]) -> None:
        after = {(c.tenant, c.collection, c.id): c for c in changes}
        self._save(after)
        self.stored = after

    def _save(self, stored: dict[tuple[str, str, str], Change]) -> None:
        if self.refuse:
            raise StorageWriteError(self.path, OSError(errno.ENOSPC, "No space left on device"))
        data = {"meta": self.meta, "changes": [c.as_json() for c in stored.values()]}
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "w") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, self.path)


BACKENDS = {
    "tiny": lambda path: TinyStore(path, compact_every=3),  # small: compactions happen during the tests
    "one-file": OneFileStore,
}


@pytest.fixture(params=sorted(BACKENDS))
def durable(request, tmp_path):
    """Opens a store of one backend on the same path each time it is called."""
    opened: list[Store] = []

    def open_store() -> Store:
        store = BACKENDS[request.param](tmp_path / "collect.json")
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


def database(store: Store) -> Database:
    db = Database(store)
    db.load()
    return db


def records(db: Database) -> dict[str, Any]:
    return {c.id: c.value for c in db.snapshot()}


def refuse_writes(store: Store, monkeypatch) -> None:
    def refuse(changes: Sequence[Change]) -> None:
        raise StorageWriteError(Path("the disk"), OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(store, "write", refuse)


def test_what_is_written_loads_again_each_record_once_in_sequence_order(durable):
    db = database(durable())
    for i in range(5):
        db.put("acme", "batches", f"b{i}", {"id": f"b{i}", "v": 1})
    db.put("acme", "batches", "b1", {"id": "b1", "v": 2})
    db.delete("acme", "batches", "b3")
    db.close()
    store = durable()
    loaded = list(store.load())
    assert [c.id for c in loaded] == ["b0", "b1", "b2", "b4"]
    assert [c.seq for c in loaded] == sorted(c.seq for c in loaded)
    assert loaded[1].value == {"id": "b1", "v": 2}


def test_the_secret_is_the_databases_own_and_outlives_the_process(durable):
    first = database(durable())
    secret = first.secret
    first.close()
    assert len(secret) == 64 and database(durable()).secret == secret


def test_a_refused_write_is_undone_in_memory_and_never_stored(durable, monkeypatch):
    db = database(durable())
    db.put("acme", "batches", "kept", {"id": "kept"})
    refuse_writes(db._store, monkeypatch)
    with pytest.raises(StorageWriteError):
        db.put("acme", "batches", "refused", {"id": "refused"})
    with pytest.raises(StorageWriteError), db.atomic():
        db.put("acme", "batches", "kept", {"id": "kept", "changed": True})
        db.put("acme", "batches", "also-refused", {"id": "also-refused"})
    assert records(db) == {"kept": {"id": "kept"}}
    monkeypatch.undo()
    db.close()
    assert records(database(durable())) == {"kept": {"id": "kept"}}


def test_when_a_write_is_called_the_records_in_memory_already_hold_it(durable, monkeypatch):
    db = database(durable())
    store, seen = db._store, []
    original = store.write

    def observed(changes: Sequence[Change]) -> None:
        seen.append({c.id for c in db.snapshot()})  # what a compaction started now would write
        original(changes)

    monkeypatch.setattr(store, "write", observed)
    db.put("acme", "batches", "a", {"id": "a"})
    assert seen == [{"a"}]


def test_a_rewrite_makes_exactly_the_records_in_memory_what_is_stored(durable):
    db = database(durable())
    db.put("acme", "batches", "old", {"id": "old"})
    db.apply_in_memory([Change(db.new_seq(), "acme", "batches", "bulk", {"id": "bulk"})])
    db.save()
    db.close()
    assert set(records(database(durable()))) == {"old", "bulk"}


def test_closing_keeps_every_acknowledged_write(durable):
    db = database(durable())
    for i in range(10):  # enough for the file store to compact in the background meanwhile
        db.put("acme", "invoices", f"i{i}", {"id": f"i{i}"})
    db.close()
    assert set(records(database(durable()))) == {f"i{i}" for i in range(10)}
