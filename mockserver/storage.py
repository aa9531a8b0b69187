"""Durable storage of records behind a small interface. No other module imports tinydb.

The request path never rewrites a whole file. `TinyStore` keeps two files:

- the snapshot, a TinyDB JSON file (`data/collect.json`): table `records`, one document per record, whose
  TinyDB doc_id is the record's sequence number (its position in creation order);
- the write-ahead log next to it (`data/collect.json.wal`): one JSON line per change since the snapshot.

A write appends its lines to the log in one `write()` and flushes them before the request is answered, so an
acknowledged write survives the process being killed (and power loss too with `fsync=True`). Loading reads the
snapshot and replays the log; a torn last line, left by a kill in the middle of a write, was never acknowledged
and is skipped. `compact()` folds the log into a new snapshot written beside the old one and renamed over it.
"""

from __future__ import annotations

import json
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from tinydb import TinyDB
from tinydb.storages import MemoryStorage
from tinydb.table import Document

from mockserver.memory import paused_gc


class StoreError(Exception):
    """The database cannot be opened, read or written; the message says which file and why."""


@dataclass(frozen=True)
class Change:
    """A record stored (`record` set) or deleted (`record` None) at position `seq`."""

    seq: int
    tenant: str
    collection: str
    id: str
    record: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "t": self.tenant, "c": self.collection, "id": self.id, "r": self.record}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        return cls(int(data["seq"]), data["t"], data["c"], data["id"], data["r"])


class Store(ABC):
    """Where records outlive the process."""

    @abstractmethod
    def load(self) -> Iterator[Change]:
        """Every stored record, each once, in sequence order."""
        raise NotImplementedError("To be overridden!")

    @abstractmethod
    def write(self, changes: Sequence[Change]) -> None:
        """Make the changes durable before returning."""
        raise NotImplementedError("To be overridden!")

    def compact(self, live: Iterable[Change]) -> None:
        """Replace what is stored by `live`, the current records (optional)."""
        return None

    def compact_in_background(self, live: Callable[[], Iterable[Change]]) -> bool:
        """Start replacing what is stored by `live()` without blocking; False if not started (optional)."""
        return False

    def poll(self) -> None:
        """Finish a background compaction that has ended (optional)."""
        return None

    def close(self) -> None:
        """Release files (optional)."""
        return None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Changes written since the last compaction."""
        return 0


class MemoryStore(Store):
    """State that lives as long as the process: nothing to load, nothing to write."""

    def load(self) -> Iterator[Change]:
        return iter(())

    def write(self, changes: Sequence[Change]) -> None:
        pass


class TinyStore(Store):
    def __init__(self, path: Path | str, *, fsync: bool = False):
        self.path = Path(path)
        self.wal_path = self.path.with_name(self.path.name + ".wal")
        # The log sealed by a background compaction, until its snapshot is safely written.
        self.sealed_path = self.path.with_name(self.path.name + ".wal.1")
        self.fsync = fsync
        self._pending = 0
        self._child: int | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._wal = open(self.wal_path, "ab")  # noqa: SIM115 - kept open for appends
        except OSError as exc:
            raise StoreError(f"cannot open database {self.path}: {exc.strerror or exc}") from exc

    @property
    def pending(self) -> int:
        return self._pending

    def load(self) -> Iterator[Change]:
        # Later changes to a key win; a deleted key disappears. Sequence numbers keep creation order. Replaying a
        # sealed log over a snapshot that already holds it changes nothing: every change is a whole record.
        latest: dict[tuple[str, str, str], Change] = {}
        for change in self._read_snapshot():
            latest[(change.tenant, change.collection, change.id)] = change
        for log in (self.sealed_path, self.wal_path):
            for change in self._read_log(log):
                key = (change.tenant, change.collection, change.id)
                if change.record is None:
                    latest.pop(key, None)
                else:
                    latest[key] = change
                self._pending += 1
        return iter(sorted(latest.values(), key=lambda c: c.seq))

    def write(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        data = b"".join(orjson.dumps(c.as_json()) + b"\n" for c in changes)
        try:
            self._wal.write(data)
            self._wal.flush()
            if self.fsync:
                os.fsync(self._wal.fileno())
        except OSError as exc:
            raise StoreError(f"cannot write to {self.wal_path}: {exc.strerror or exc}") from exc
        self._pending += len(changes)

    def compact(self, live: Iterable[Change]) -> None:
        """Write a new snapshot of `live`, rename it over the old one, and drop the logs it holds."""
        self._wait_for_child()
        self._write_snapshot(live)
        self.sealed_path.unlink(missing_ok=True)
        self._wal.close()
        self._wal = open(self.wal_path, "wb")  # noqa: SIM115
        self._pending = 0

    def compact_in_background(self, live: Callable[[], Iterable[Change]]) -> bool:
        """Seal the log and let a forked copy of this process write the snapshot, off the request path.

        The child sees memory as it was at the fork (copy-on-write), which is exactly the snapshot plus the sealed
        log; the parent goes on writing to a fresh log. Once the child has renamed its snapshot into place,
        `poll()` deletes the sealed log. If anything fails, the sealed log stays and is replayed at the next start.
        """
        if self._child is not None or self.sealed_path.exists() or not hasattr(os, "fork"):
            return False
        self._wal.close()
        os.replace(self.wal_path, self.sealed_path)
        self._wal = open(self.wal_path, "ab")  # noqa: SIM115
        self._pending = 0
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; coverage does not follow it
            code = 1
            try:
                os.nice(10)  # the server comes first: requests should not wait for the snapshot
                self._write_snapshot(live())
                code = 0
            finally:
                os._exit(code)
        self._child = pid
        return True

    def poll(self) -> None:
        if self._child is None:
            return
        pid, status = os.waitpid(self._child, os.WNOHANG)
        if pid:
            self._finish(status)

    def close(self) -> None:
        self._wait_for_child()
        self._wal.close()

    def _wait_for_child(self) -> None:
        if self._child is not None:
            _, status = os.waitpid(self._child, 0)
            self._finish(status)

    def _finish(self, status: int) -> None:
        self._child = None
        if os.waitstatus_to_exitcode(status) == 0:
            self.sealed_path.unlink(missing_ok=True)

    def _write_snapshot(self, live: Iterable[Change]) -> None:
        """Write beside the old snapshot, fsync, then rename over it: a reader sees one or the other, whole."""
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        try:
            db = TinyDB(storage=MemoryStorage)
            table = db.table("records")
            table.insert_multiple(
                Document({"t": c.tenant, "c": c.collection, "id": c.id, "r": c.record}, doc_id=c.seq) for c in live
            )
            with open(tmp, "wb") as fh:
                fh.write(orjson.dumps(db.storage.read()))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            raise StoreError(f"cannot write database {self.path}: {exc.strerror or exc}") from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _read_snapshot(self) -> Iterator[Change]:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        try:
            with open(self.path, "rb") as fh, paused_gc():
                data = json.load(fh)  # not orjson: the standard parser shares repeated keys, 90 MB less at 100k
            # TinyDB reads its own layout; MemoryStorage spares a second parse of a large file.
            db = TinyDB(storage=MemoryStorage)
            db.storage.write(data)
            documents = db.table("records").all()
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            raise StoreError(f"cannot read database {self.path}: not a TinyDB JSON file ({exc})") from exc
        for doc in documents:
            try:
                yield Change(doc.doc_id, doc["t"], doc["c"], doc["id"], doc["r"])
            except (KeyError, TypeError) as exc:
                raise StoreError(f"cannot read database {self.path}: document {doc.doc_id} lacks {exc}") from exc

    def _read_log(self, log: Path) -> Iterator[Change]:
        if not log.exists():
            return
        data = log.read_bytes()
        good = 0  # bytes of complete, readable lines
        lines = data.split(b"\n")
        for number, line in enumerate(lines, 1):
            last = number == len(lines)  # no newline after it: the write that made it was cut short
            if line.strip():
                try:
                    change = Change.from_json(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
                    if last:
                        break
                    raise StoreError(f"cannot read log {log}: line {number} is damaged ({exc})") from exc
                if last:
                    break  # even a parseable line without its newline was never acknowledged
                yield change
            good += len(line) + 1
        if good < len(data):
            # Drop the torn tail so that the next append does not land behind it.
            os.truncate(log, good)


def open_store(db: str, *, fsync: bool = False) -> Store:
    return MemoryStore() if db == ":memory:" else TinyStore(db, fsync=fsync)
