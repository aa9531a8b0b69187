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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import MemoryStorage
from tinydb.table import Document


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
        self.fsync = fsync
        self._pending = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._wal = open(self.wal_path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for appends
        except OSError as exc:
            raise StoreError(f"cannot open database {self.path}: {exc.strerror or exc}") from exc

    @property
    def pending(self) -> int:
        return self._pending

    def load(self) -> Iterator[Change]:
        # Later changes to a key win; a deleted key disappears. Sequence numbers keep creation order.
        latest: dict[tuple[str, str, str], Change] = {}
        for change in self._read_snapshot():
            latest[(change.tenant, change.collection, change.id)] = change
        for change in self._read_wal():
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
        text = "".join(json.dumps(c.as_json(), separators=(",", ":"), ensure_ascii=False) + "\n" for c in changes)
        try:
            self._wal.write(text)
            self._wal.flush()
            if self.fsync:
                os.fsync(self._wal.fileno())
        except OSError as exc:
            raise StoreError(f"cannot write to {self.wal_path}: {exc.strerror or exc}") from exc
        self._pending += len(changes)

    def compact(self, live: Iterable[Change]) -> None:
        """Write a new snapshot of `live` beside the old one, rename it over the old one, empty the log."""
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        try:
            db = TinyDB(storage=MemoryStorage)
            table = db.table("records")
            table.insert_multiple(
                Document({"t": c.tenant, "c": c.collection, "id": c.id, "r": c.record}, doc_id=c.seq) for c in live
            )
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(db.storage.read(), fh, separators=(",", ":"), ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            raise StoreError(f"cannot write database {self.path}: {exc.strerror or exc}") from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        # The snapshot now holds every logged change: start an empty log.
        self._wal.close()
        self._wal = open(self.wal_path, "w", encoding="utf-8")  # noqa: SIM115
        self._pending = 0

    def close(self) -> None:
        self._wal.close()

    def _read_snapshot(self) -> Iterator[Change]:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
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

    def _read_wal(self) -> Iterator[Change]:
        if not self.wal_path.exists():
            return
        data = self.wal_path.read_bytes()
        good = 0  # bytes of complete, readable lines
        lines = data.split(b"\n")
        for number, line in enumerate(lines, 1):
            last = number == len(lines)  # no newline after it: the write that made it was cut short
            if line.strip():
                try:
                    change = Change.from_json(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    if last:
                        break
                    raise StoreError(f"cannot read log {self.wal_path}: line {number} is damaged ({exc})") from exc
                if last:
                    break  # even a parseable line without its newline was never acknowledged
                yield change
            good += len(line) + 1
        if good < len(data):
            # Drop the torn tail so that the next append does not land behind it.
            os.truncate(self.wal_path, good)


def open_store(db: str, *, fsync: bool = False) -> Store:
    return MemoryStore() if db == ":memory:" else TinyStore(db, fsync=fsync)
