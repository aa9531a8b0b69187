"""The file store: the records' snapshot, a write-ahead log and a lock file beside the database path.

`TinyStore` keeps, beside the database path (`data/collect.json`):

- the snapshot, a TinyDB JSON file (`mockserver/snapshot.py`, the only module that imports tinydb);
- the write-ahead log (`collect.json.wal`, `mockserver/wal.py`): one checksummed line per change since the
  snapshot; sealed logs (`collect.json.wal.1`, ...) while a background compaction folds them in
  (`mockserver/compaction.py`);
- a lock file (`collect.json.lock`): one server per database; a second one is refused, not let in to write
  over the first one's log.

A write appends its lines in one go and is answered only once they are in the file (with `fsync=True`, on the
disk). A write the disk refuses raises `StorageWriteError` having left nothing: the log is cut back to its last
whole line. Start reads the snapshot and replays the logs. A torn last line of the log, left by a kill in the
middle of a write, was never acknowledged and is dropped. Any other damage stops the start (`DamagedStoreError`
names the file, the line and the commands that help) unless the store is opened to repair it, which keeps a
copy of each damaged file, keeps every record still readable and writes them back whole.

Compaction is this store's own business: once the log holds as many writes as the database holds records (at
least `compact_every`) or as many bytes as the last snapshot (at least `compact_bytes`), a forked child writes a
new snapshot from the records in memory while the server goes on; a log replayed at start is folded the same
way, and a clean stop (`close`) folds what is left.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from mockserver.compaction import Child, CompactionState
from mockserver.snapshot import (
    FORMAT,
    TABLES,
    NotADatabaseError,
    Snapshot,
    lost_snapshot,
    read_snapshot,
    write_snapshot,
)
from mockserver.storage import (
    Change,
    Records,
    StorageWriteError,
    Store,
    StoreBusyError,
    StoreError,
    new_meta,
)
from mockserver.wal import Damage, LogContents, LogWriter, encode_all, read_log

logger = logging.getLogger(__name__)

LOCK_WAIT = 3.0  # seconds a start waits for the lock (a stopping server may still be writing its snapshot)
COMPACT_EVERY = 50_000  # writes (at least) between background compactions; 0: only at start and stop
COMPACT_BYTES = 64 * 1_048_576  # bytes of log (at least) between background compactions
_FIRST_KEY = re.compile(rb'^\{\s*(?:"([^"\\]*)")?')


class DamagedStoreError(StoreError):
    """Something stored cannot be read; the message lists it and says how to recover."""

    def __init__(self, db: Path, damage: list[Damage], readable: int):
        self.damage = damage
        shown = "\n".join(f"  {d}" for d in damage[:5]) + (
            f"\n  (and {len(damage) - 5} more)" if len(damage) > 5 else ""
        )
        quoted = shlex.quote(str(db))
        super().__init__(
            f"the database {db} is damaged, so it was not opened and nothing was changed:\n{shown}\n"
            f"Everything else is readable: {readable} records. Run `collect-mock check --db {quoted}` to list the "
            f"damage, then `collect-mock repair --db {quoted}` to keep every readable record (each damaged file is "
            "copied aside first)."
        )


@dataclass
class Contents:
    """Everything a database's files hold, read without changing them (`collect-mock check`)."""

    latest: dict[tuple[str, str, str], int]  # the sequence number of each readable record
    active: LogContents
    changes: int  # log lines replayed
    log_bytes: int
    damage: list[Damage] = field(default_factory=list)


class TinyStore(Store):
    """The records in a snapshot and a write-ahead log beside `path` (see the module docstring).

    `fsync`: every write reaches the disk before it is acknowledged (survives power loss). `compact_every` and
    `compact_bytes`: the least writes and log bytes before the log is folded in the background (0 writes: only
    at start and at a clean stop). `repair`: load what is readable of a damaged database and write it back whole.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        fsync: bool = False,
        compact_every: int = COMPACT_EVERY,
        compact_bytes: int = COMPACT_BYTES,
        repair: bool = False,
        lock_wait: float = LOCK_WAIT,
    ):
        self.path = Path(path)
        self.wal_path = self.path.with_name(self.path.name + ".wal")
        self.fsync = fsync
        self.compact_every, self.compact_bytes = compact_every, compact_bytes
        self.repair = repair
        self.meta = {}
        self._records: Records | None = None  # the records in memory, once loaded: what a compaction writes
        self.dropped: list[Damage] = []  # what a repair could not keep
        self.compaction = CompactionState()
        self.last_write_error: dict[str, str] | None = None
        self.pending_writes = 0
        self.pending_bytes = 0
        self.snapshot_bytes = 0
        self._child = Child()
        self._sealing = 0  # the generation of sealed log a running compaction folds in
        self._writer: LogWriter | None = None
        self._lock: FileLock | None = None
        _refuse_foreign(self.path)
        self._traces = _traces(self.path)  # before the lock file is made: what an earlier run left
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(str(self.path) + ".lock", thread_local=False)
            self._lock.acquire(timeout=lock_wait)
        except Timeout:
            raise StoreBusyError(
                f"the database {self.path} is in use by another collect-mock process (it holds {self.path}.lock); "
                "stop that one first, or give this one another --db"
            ) from None
        except OSError as exc:
            raise StoreError(f"cannot open database {self.path}: {exc.strerror or exc}") from exc
        for stale in self.path.parent.glob(self.path.name + ".*.tmp"):
            stale.unlink(missing_ok=True)  # a snapshot a killed writer never finished

    # -- reading ------------------------------------------------------------------------------------------------

    def load(self, records: Records | None = None) -> Iterator[Change]:
        """The snapshot's records as they are read (never all of them at once: a million records fit in memory
        only as the database holds them), with the logs' changes in place; damage found on the way raises
        `DamagedStoreError` once everything has been read (the start fails), unless the store repairs. A file
        that is not a mock database is refused at once."""
        try:
            logs = read_logs(self.path)
            snapshot = read_snapshot(self.path)
        except NotADatabaseError as exc:
            self.close()
            raise StoreError(
                f"{exc}; it was left untouched: give --db a new file or a database this mock wrote"
            ) from None
        except StoreError:
            self.close()
            raise
        except OSError as exc:
            self.close()
            raise StoreError(f"cannot read database {self.path}: {exc.strerror or exc}") from exc
        return self._stream(logs, snapshot, records)

    def _stream(self, logs: Logs, snapshot: Snapshot, records: Records | None) -> Iterator[Change]:
        kept: list[Change] | None = [] if records is None else None  # what to write back when nothing holds it
        count = 0
        try:
            for change in replay(snapshot, logs.latest):
                count += 1
                if kept is not None:
                    kept.append(change)
                yield change
        except OSError as exc:
            self.close()
            raise StoreError(f"cannot read database {self.path}: {exc.strerror or exc}") from exc
        damage = [*snapshot.damage, *logs.damage]
        lost = lost_snapshot(self.path, snapshot, self._traces)
        if lost is not None:
            damage.insert(0, lost)
        if damage and not self.repair:
            self.close()
            raise DamagedStoreError(self.path, damage, count)
        if logs.active.torn:
            logger.warning(
                "dropped the last %d bytes of %s: a write cut short by a crash, never acknowledged",
                logs.active.torn,
                self.wal_path,
            )
        meta = snapshot.meta
        self.meta = meta if meta is not None and _is_meta(meta) else {"format": FORMAT, **new_meta()}
        self.snapshot_bytes = snapshot.size
        self.pending_writes, self.pending_bytes = logs.changes, logs.log_bytes

        def live() -> Iterable[Change]:
            return kept if kept is not None else records.snapshot() if records is not None else ()

        # A new database's snapshot (or a repaired one's) is written before its log is opened, so that a log
        # beside a missing snapshot always means records were lost (`lost_snapshot`).
        folded = bool(damage) or not _is_meta(snapshot.meta) or (snapshot.meta or {}).get("format") != FORMAT
        if damage:
            self._set_aside(damage)
        if folded:
            # A new database, or one of an older format: its secret is stored, with checksums, before any write.
            self.compact(live())
        try:
            self._writer = LogWriter(self.wal_path, 0 if folded else logs.active.whole, self.fsync)
        except OSError as exc:
            self.close()
            raise StoreError(f"cannot open the log {self.wal_path}: {exc.strerror or exc}") from exc
        if self.pending_writes and not self.compact_in_background(live):
            # The log of the last run is folded in the background (start does not wait for it); with no fork on
            # this system, everything is folded now, once.
            self.compact(live())
        self._records = records

    def _set_aside(self, damage: list[Damage]) -> None:
        """Copy each damaged file aside before the repair rewrites it."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for path in sorted({d.path for d in damage}):
            if path.exists():
                copy = path.with_name(f"{path.name}.damaged-{stamp}")
                shutil.copy2(path, copy)
                logger.warning("kept a copy of the damaged %s as %s", path, copy)
        self.dropped = damage

    # -- writing ------------------------------------------------------------------------------------------------

    def write(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        assert self._writer is not None, "load() first"
        data = encode_all([c.as_encoded() for c in changes])
        try:
            self._writer.append(data)
        except OSError as exc:
            error = StorageWriteError(self.wal_path, exc)
            self.last_write_error = {"error": str(error), "at": datetime.now(UTC).isoformat()}
            raise error from exc
        self.last_write_error = None
        self.pending_writes += len(changes)
        self.pending_bytes += len(data)
        self._maybe_compact()

    def rewrite(self, changes: Iterable[Change]) -> None:
        self.compact(changes)

    def _maybe_compact(self) -> None:
        """Finish a compaction that has ended; start one when the log has grown enough (amortised: the log is
        folded once it holds as many writes as the database holds records, at least `compact_every`, or as many
        bytes as the last snapshot, at least `compact_bytes`, so the rewriting per write stays constant however
        large the database or its records grow)."""
        self.poll()
        if self._records is not None and self.compact_every and self.compaction_due(self._records.size):
            self.compact_in_background(self._records.snapshot)

    def compact(self, live: Iterable[Change]) -> None:
        """Write a new snapshot of `live`, rename it over the old one, and drop the logs it holds."""
        self._wait_for_child()
        try:
            self.snapshot_bytes = write_snapshot(self.path, self.meta, live, lambda: True)
            for _, log in sealed_logs(self.path):
                log.unlink(missing_ok=True)
            if self._writer is not None:
                self._writer.reset()
        except OSError as exc:
            raise StoreError(f"cannot write the snapshot {self.path}: {exc.strerror or exc}") from exc
        self.pending_writes = self.pending_bytes = 0

    def compaction_due(self, size: int) -> bool:
        """Whether the log has grown enough, for a database of `size` records, to be folded (or a failed
        compaction's retry is due)."""
        if self._child.pid is not None:
            return False
        if self.compaction.failures:
            return time.monotonic() >= self.compaction.retry_at
        return self.pending_writes >= max(self.compact_every, size) or self.pending_bytes >= max(
            self.compact_bytes, self.snapshot_bytes
        )

    def compact_in_background(self, live: Callable[[], Iterable[Change]]) -> bool:
        """Seal the log and let a forked copy of this process write the snapshot, off the request path.

        The child sees memory as it was at the fork, which is exactly the snapshot plus the sealed logs; the parent
        goes on writing to a fresh log. Once the child has renamed its snapshot into place, `poll()` deletes the
        sealed logs. If anything fails, they stay, are replayed at the next start, and the compaction is retried.
        """
        if self._child.pid is not None or not hasattr(os, "fork") or self._writer is None:
            return False
        generation = max((g for g, _ in sealed_logs(self.path)), default=0) + 1
        try:
            self._writer.close()
            os.replace(self.wal_path, _sealed_path(self.path, generation))
        except OSError as exc:
            self.compaction.failed(str(self.path), f"cannot seal the log: {exc.strerror or exc}")
            self._writer = LogWriter(self.wal_path, self._writer.size, self.fsync)
            return False
        self._writer = LogWriter(self.wal_path, 0, self.fsync)
        self.pending_writes = self.pending_bytes = 0
        self._sealing = generation
        parent, meta = os.getpid(), dict(self.meta)

        def write() -> None:
            # A child whose server was killed meanwhile must not rename: a new server may own the files by now.
            write_snapshot(self.path, meta, live(), lambda: os.getppid() == parent)

        self._child.start(write)
        self.compaction.running = True
        return True

    def poll(self) -> None:
        done, error = self._child.poll()
        if done:
            self._finish(error)

    def _wait_for_child(self) -> None:
        done, error = self._child.poll(block=True)
        if done:
            self._finish(error)

    def _finish(self, error: str | None) -> None:
        self.compaction.running = False
        if error is not None:
            self.compaction.failed(str(self.path), error)
            return
        for generation, log in sealed_logs(self.path):
            if generation <= self._sealing:
                log.unlink(missing_ok=True)
        self.snapshot_bytes = self.path.stat().st_size if self.path.exists() else 0
        self.compaction.succeeded()

    # -- state --------------------------------------------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        return self.last_write_error is None and self.compaction.healthy

    def status(self) -> dict[str, Any]:
        self.poll()
        return {
            "kind": "file",
            "path": str(self.path),
            "log_bytes": self._writer.size if self._writer else 0,
            "writes_since_snapshot": self.pending_writes,
            "snapshot_bytes": self.snapshot_bytes,
            "fsync": self.fsync,
            "last_write_error": self.last_write_error,
            "compaction": self.compaction.as_dict(),
        }

    def close(self) -> None:
        """Fold what the log holds into a new snapshot, then release the files; if the fold fails, the log stays
        and is replayed at the next start (nothing is lost)."""
        try:
            if self._records is not None and self.pending_writes and self._writer is not None:
                try:
                    self.compact(self._records.snapshot())
                except StoreError as exc:
                    logger.error(
                        "%s; the write-ahead log is kept and replayed at the next start (nothing is lost)", exc
                    )
        finally:
            self._records = None
            self._wait_for_child()
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if self._lock is not None and self._lock.is_locked:
                self._lock.release()


def _refuse_foreign(path: Path) -> None:
    """Refuse, before creating anything beside it, a file that is plainly not a mock database (a package.json)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).lstrip()
    except OSError:
        return  # a new database, or an error that opening it reports better
    if not head:
        return
    found = _FIRST_KEY.match(head)
    if found is None or (found.group(1) is not None and found.group(1).decode("utf-8", "replace") not in TABLES):
        what = f"its first field is {found.group(1)!r}" if found and found.group(1) else "it is not a JSON object"
        raise StoreError(
            f"{path} is not a Collect mock database ({what}); it was left untouched: give --db a new file or a "
            "database this mock wrote"
        )


def _is_meta(meta: Any) -> bool:
    return isinstance(meta, dict) and isinstance(meta.get("secret"), str) and len(meta["secret"]) >= 32


def _traces(path: Path) -> list[Path]:
    """Files beside a database that an earlier run leaves: its lock file, its write-ahead logs."""
    beside = [path.with_name(path.name + ".lock"), path.with_name(path.name + ".wal")]
    return [p for p in beside if p.exists()] + [log for _, log in sealed_logs(path)]


def _sealed_path(path: Path, generation: int) -> Path:
    return path.with_name(f"{path.name}.wal.{generation}")


def sealed_logs(path: Path) -> list[tuple[int, Path]]:
    """The sealed logs beside a database, oldest first."""
    prefix = path.name + ".wal."
    found = []
    for log in path.parent.glob(prefix + "*"):
        suffix = log.name[len(prefix) :]
        if suffix.isdigit():
            found.append((int(suffix), log))
    return sorted(found)


@dataclass
class Logs:
    """What a database's write-ahead logs hold: the latest change of each record they name."""

    latest: dict[tuple[str, str, str], Change] = field(default_factory=dict)
    active: LogContents = field(default_factory=LogContents)
    changes: int = 0  # log lines replayed
    log_bytes: int = 0
    damage: list[Damage] = field(default_factory=list)


def read_logs(path: Path) -> Logs:
    """Read a database's sealed and active logs, changing nothing."""
    logs = Logs()
    sealed = [log for _, log in sealed_logs(path)]
    for log in [*sealed, path.with_name(path.name + ".wal")]:
        try:
            contents = read_log(log)
        except OSError as exc:
            raise StoreError(f"cannot read the log {log}: {exc.strerror or exc}") from exc
        logs.damage += contents.damage
        if log in sealed and contents.torn:
            logs.damage.append(Damage(log, len(contents.changes) + 1, "ends in the middle of a line: it was cut short"))
        for data in contents.changes:
            change = Change.from_json(data)
            logs.latest[(change.tenant, change.collection, change.id)] = change
        logs.changes += len(contents.changes)
        logs.log_bytes += contents.whole
        logs.active = contents
    return logs


def replay(snapshot: Iterable[Change], latest: dict[tuple[str, str, str], Change]) -> Iterator[Change]:
    """The live records, in sequence order: the snapshot's, each replaced or dropped as the logs changed it, then
    the records the logs added."""
    if not latest:  # nothing logged since the snapshot: its records as they are
        yield from snapshot
        return
    pending = dict(latest)
    for change in snapshot:
        newer = pending.get((change.tenant, change.collection, change.id))
        if newer is None:
            yield change
        elif newer.seq == change.seq:  # changed in place (or deleted)
            del pending[(change.tenant, change.collection, change.id)]
            if newer.record is not None:
                yield newer
    yield from sorted((c for c in pending.values() if c.record is not None), key=lambda c: c.seq)


def read_contents(path: Path, traces: list[Path] | None = None) -> Contents:
    """Read a database's snapshot and logs, changing nothing; StoreError if it is not a mock database.
    `traces`: the files an earlier run left beside it (found before a lock file was made)."""
    logs = read_logs(path)
    try:
        snapshot = read_snapshot(path)
        latest = {(c.tenant, c.collection, c.id): c.seq for c in replay(snapshot, logs.latest)}
    except NotADatabaseError as exc:
        raise StoreError(f"{exc}; it was left untouched: give --db a new file or a database this mock wrote") from None
    except OSError as exc:
        raise StoreError(f"cannot read database {path}: {exc.strerror or exc}") from exc
    damage = [*snapshot.damage, *logs.damage]
    lost = lost_snapshot(path, snapshot, _traces(path) if traces is None else traces)
    if lost is not None:
        damage.insert(0, lost)
    return Contents(latest, logs.active, logs.changes, logs.log_bytes, damage)


def check_database(path: Path | str) -> Contents:
    """What a database holds and what of it is damaged, changing nothing (`collect-mock check`)."""
    path = Path(path)
    _refuse_foreign(path)
    if not path.exists() and not path.with_name(path.name + ".wal").exists():
        raise StoreError(f"there is no database at {path}")
    traces = _traces(path)
    lock = FileLock(str(path) + ".lock", thread_local=False)
    try:
        lock.acquire(timeout=LOCK_WAIT)
    except Timeout:
        raise StoreBusyError(f"the database {path} is in use by a running collect-mock; stop it first") from None
    try:
        return read_contents(path, traces)
    finally:
        lock.release()


def repair_database(path: Path | str) -> tuple[list[Damage], int]:
    """Keep every readable record, copy damaged files aside, write the rest back whole (`collect-mock repair`)."""
    store = TinyStore(path, repair=True)
    try:
        kept = sum(1 for _ in store.load())
        return store.dropped, kept
    finally:
        store.close()
