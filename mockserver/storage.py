"""The storage interface: where the records outlive the process, and what a backend promises.

The records live in memory (`mockserver/database.py`, which indexes them and answers every read); a `Store` makes
them durable. Two backends implement it: `MemoryStore` (`--db :memory:`, nothing outlives the process) and
`TinyStore` (`mockserver/tinystore.py`: a snapshot, a write-ahead log and a lock file). `open_store` picks one.

A backend implements `Store` from this docstring alone. The database calls it from one thread (the event loop),
in this order:

    load(records)      once, at start: every stored record, each once, in sequence order, as `Change`s, given
                       as they are read (the database takes each in turn: a million records are never held
                       twice). After it, `meta["secret"]` is the database's own secret (64 hex digits: `new_meta()`
                       makes one for a new database) and stays the same as long as the records do: paging keys and
                       caller ids are keyed with it. `records` is the database in memory (`Records`): the store
                       may read it later, whenever it wants to write the records anew.
    write(changes)     any number of times: store the changes (a record put, or deleted when `record` is None)
                       durably before returning, all of them or none.
    rewrite(changes)   after a bulk load in memory (seeding, a reset): what is stored becomes exactly `changes`.
    close()            last: what `write` stored stays stored; the store releases its files and locks.

and `status()` and `healthy` whenever `GET /_mock/health` asks.

What each call promises (the durability promise of docs/architecture.md rests on it):

- `write`: when it returns, the changes survive the process being killed (`kill -9`), and with `fsync` a power
  loss; when it raises `StoreError` (`StorageWriteError` for a disk that refuses: full, failing, read-only),
  nothing of them is stored, now or after a restart, and the database undoes them in memory (the file store cuts
  the refused bytes off, or voids them, or folds past them; only a disk that refuses all of these and yet keeps
  the bytes defeats it, which the file store then logs at ERROR). When it is called, `records` already holds the
  changes.
- `load`: never yields a change that was not written, nor one a refused write carried, nor one of another
  database's files; what it cannot read raises `DamagedStoreError` (the message names the file, the line and
  what helps) rather than start without it, at the latest once the last change has been taken (a damaged line
  may be found after the records before it). `meta["database"]` (from `new_meta()`) is the database's identity.
- `rewrite`: durable when it returns, like `write`.
- `close`: loses nothing `write` acknowledged, even if what it does at the end fails.

A record travels as its JSON (`Change.record`, bytes as orjson writes them): that is what the database keeps in
memory, answers unchanged to a GET, and what a store writes; `Change.value` decodes it.

Everything else is the backend's own business: the format of its files, compacting them, locking them against a
second server, checking and repairing them (`collect-mock check` and `repair` are the file store's).

    StoreError              the database cannot be opened, read or written; the message says which file and why
    ├── StoreBusyError      another process holds the database
    ├── StorageWriteError   the disk refused a write (no space, I/O error, read-only, file too large)
    └── DamagedStoreError   something stored cannot be read (mockserver/tinystore.py)
"""

from __future__ import annotations

import errno
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

MEMORY = ":memory:"


class StoreError(Exception):
    """The database cannot be opened, read or written; the message says which file and why."""


class StoreBusyError(StoreError):
    """Another process holds the database."""


class StorageWriteError(StoreError):
    """The disk refused a write; nothing of it was kept."""

    def __init__(self, path: Path, exc: OSError):
        self.path = path
        self.code = errno.errorcode.get(exc.errno or 0, "EIO")
        self.reason = exc.strerror or str(exc)
        super().__init__(f"cannot write to {path}: {self.reason} ({self.code}); nothing of this change was stored")


@dataclass(slots=True)
class Change:
    """A record stored (`record` set) or deleted (`record` None) at position `seq`.

    `record` is the record's JSON as orjson writes it: the database keeps records encoded (a tenth of the memory
    of a dict) and serves them as they are. A change made from a dict encodes it and keeps the dict in `parsed`
    (as does a store that decoded the record anyway), so that the database indexes it without decoding it again.
    """

    seq: int
    tenant: str
    collection: str
    id: str
    record: bytes | None
    parsed: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.record, dict):
            self.parsed, self.record = self.record, orjson.dumps(self.record)

    @classmethod
    def of(cls, seq: int, tenant: str, collection: str, record_id: str, record: dict[str, Any]) -> Change:
        """A record stored, from the record as a dict."""
        return cls(seq, tenant, collection, record_id, orjson.dumps(record), record)

    @property
    def value(self) -> dict[str, Any] | None:
        """The record as a dict (decoded, unless it is at hand)."""
        if self.parsed is not None:
            return self.parsed
        return None if self.record is None else decode(self.record)

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "t": self.tenant, "c": self.collection, "id": self.id, "r": self.value}

    def as_encoded(self) -> dict[str, Any]:
        """`as_json()` for orjson, the record embedded as it is encoded (not decoded only to be encoded again)."""
        record = None if self.record is None else orjson.Fragment(self.record)
        return {"seq": self.seq, "t": self.tenant, "c": self.collection, "id": self.id, "r": record}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        return cls(int(data["seq"]), data["t"], data["c"], data["id"], data["r"])


def decode(record: bytes) -> dict[str, Any]:
    """A stored record's JSON as a dict."""
    value: dict[str, Any] = orjson.loads(record)
    return value


class Records(Protocol):
    """The records in memory, as a store may read them (the database is one)."""

    @property
    def size(self) -> int:
        """How many records are held, over all tenants and collections."""

    def snapshot(self) -> Iterator[Change]:
        """Every record held, as a `Change`, in sequence order."""


def new_meta() -> dict[str, Any]:
    """A new database's own data: the secret that signs its paging keys and names its callers, and its identity
    (128 random bits), which every file of the database repeats so that a file of another one is told apart."""
    return {
        "secret": secrets.token_hex(32),
        "database": secrets.token_hex(16),
        "created_at": datetime.now(UTC).isoformat(),
    }


class Store(ABC):
    """Where records outlive the process (see the module docstring for what each method promises)."""

    meta: dict[str, Any]

    @abstractmethod
    def load(self, records: Records | None = None) -> Iterator[Change]:
        """Every stored record, each once, in sequence order; `records`: the database the changes go to."""
        raise NotImplementedError("To be overridden!")

    @abstractmethod
    def write(self, changes: Sequence[Change]) -> None:
        """Make the changes durable before returning, all of them or (raising StoreError) none."""
        raise NotImplementedError("To be overridden!")

    @abstractmethod
    def rewrite(self, changes: Iterable[Change]) -> None:
        """Make exactly `changes` what is stored, durably, before returning."""
        raise NotImplementedError("To be overridden!")

    def close(self) -> None:
        """Keep what was written and release files and locks (optional)."""
        return None

    @property
    def secret(self) -> str:
        """The database's own secret (after `load`)."""
        return str(self.meta["secret"])

    def status(self) -> dict[str, Any]:
        """What `GET /_mock/health` shows of the storage."""
        return {"kind": "memory"}

    @property
    def healthy(self) -> bool:
        """False while the storage refuses writes or cannot keep its files in order (health: degraded)."""
        return True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class MemoryStore(Store):
    """State that lives as long as the process: nothing to load, nothing to write."""

    def __init__(self) -> None:
        self.meta = new_meta()

    def load(self, records: Records | None = None) -> Iterator[Change]:
        return iter(())

    def write(self, changes: Sequence[Change]) -> None:
        pass

    def rewrite(self, changes: Iterable[Change]) -> None:
        pass


def open_store(
    db: str, *, fsync: bool = False, compact_every: int | None = None, compact_bytes: int | None = None
) -> Store:
    """The store for `--db`: in memory for `:memory:`, else the file store at that path."""
    if db == MEMORY:
        return MemoryStore()
    from mockserver.tinystore import COMPACT_BYTES, COMPACT_EVERY, TinyStore

    return TinyStore(
        db,
        fsync=fsync,
        compact_every=COMPACT_EVERY if compact_every is None else compact_every,
        compact_bytes=COMPACT_BYTES if compact_bytes is None else compact_bytes,
    )
