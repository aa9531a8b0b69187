"""The file store: the records' snapshot, a write-ahead log and a lock file beside the database path.

`TinyStore` keeps, beside the database path (`data/collect.json`):

- the snapshot, a TinyDB JSON file (`mockserver/snapshot.py`, the only module that imports tinydb);
- the write-ahead log (`collect.json.wal`, `mockserver/wal.py`): one checksummed line per change since the
  snapshot; sealed logs (`collect.json.wal.1`, ...) while a background compaction folds them in
  (`mockserver/compaction.py`);
- a lock file (`collect.json.lock`): one server per database; a second one is refused, not let in to write
  over the first one's log.

The files are found through the resolved path (`--db` may be a symlink; it stays one), and locked twice: the
lock file, and the snapshot file itself (so a second name of the same file, a hard link, is refused too).

Each database has an identity (`meta["database"]`, made by `new_meta()`), which the header of each of its logs
repeats, and the snapshot records the log sequence number (LSN) of the last change it holds (`meta["lsn"]`).
So start knows which logs are this database's and where each must begin: a log of another database (copied or
appended), a snapshot of another database, a log whose start or earlier changes are missing (a sealed log cut
short, a log emptied or deleted), a repeated or reordered line, a line without a checksum: each is damage.

A write appends its lines in one go and is answered only once they are in the file (with `fsync=True`, on the
disk). A write the disk refuses raises `StorageWriteError` having left nothing: the log is cut back to its last
whole line, or, when the disk refuses even the cut, a void line says to skip it; and should that fail too, the
store writes nothing more to that log and its final fold writes a snapshot past the refused numbers (and with
none of their changes), so replay skips them. Start reads the snapshot and replays the logs. A torn last line of
the active log, left by a kill in the middle of a write, was never acknowledged and is dropped with a warning;
this is the one place where damage cannot be told from a crash: the active log cut at its end (after a kill, at
a line boundary or inside its last line) loses the changes after the cut without a refusal. Any other damage
stops the start (`DamagedStoreError` names the file, the line and the commands that help) unless the store is
opened to repair it, which keeps a copy of each damaged file, keeps every record still readable and writes them
back whole under the database's identity.

A database written before identities and LSNs (a legacy database: no `meta["database"]`, logs without a header)
is read as before, lines without a checksum included (counted, and warned about), and folded into the current
format at its first start: it gains an identity then.

Compaction is this store's own business: once the log holds as many writes as the database holds records (at
least `compact_every`) or as many bytes as the last snapshot (at least `compact_bytes`), a forked child writes a
new snapshot from the records in memory while the server goes on; a log replayed at start is folded the same
way, and a clean stop (`close`) folds what is left.
"""

from __future__ import annotations

import fcntl
import logging
import os
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
    NotADatabaseError,
    Snapshot,
    looks_ours,
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
from mockserver.wal import Damage, LogContents, LogWriter, create_log, read_log

logger = logging.getLogger(__name__)

LOCK_WAIT = 3.0  # seconds a start waits for the lock (a stopping server may still be writing its snapshot)
COMPACT_EVERY = 50_000  # writes (at least) between background compactions; 0: only at start and stop
COMPACT_BYTES = 64 * 1_048_576  # bytes of log (at least) between background compactions


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
    database: str | None = None  # the identity (None: a new or legacy database)
    next_lsn: int = 1  # the LSN the next change gets
    legacy: bool = False  # written before identities and LSNs: folded into the current format at start
    unchecked: int = 0  # legacy log lines without a checksum, replayed as they are
    voided: int = 0  # refused writes a void line skips
    logs_in_order: bool = True  # the active log continues the chain (else start writes a fresh one)
    log_missing: bool = False  # a snapshot of the current format with no log beside it
    logged: dict[tuple[str, str, str], Change] = field(default_factory=dict)  # each record's last change logged
    snapshot_damage_at: int = 0  # where in `damage` the snapshot's goes, once it has been read

    def finish(self, snapshot: Snapshot) -> None:
        """Add the damage found reading the snapshot's records (known once they have all been read)."""
        at, self.snapshot_damage_at = self.snapshot_damage_at, -1
        if at >= 0:
            self.damage[at:at] = snapshot.damage


def resolved(path: Path | str) -> Path:
    """The database's own file: a symlink is followed (and stays a symlink), so every name reaches one set of files."""
    return Path(os.path.realpath(path))


class _Locks:
    """One process per database: the lock file beside it (filelock), and the snapshot file itself, which a hard
    link shares (a lock on the inode). The inode lock moves to each new snapshot as it is renamed into place."""

    def __init__(self, path: Path, wait: float):
        self.path = path
        self._file = FileLock(str(path) + ".lock", thread_local=False)
        self._inode = -1
        try:
            self._file.acquire(timeout=wait)
        except Timeout:
            raise self.busy() from None
        try:
            self.follow()
        except BaseException:
            self._file.release()
            raise

    def busy(self) -> StoreBusyError:
        return StoreBusyError(
            f"the database {self.path} is in use by another collect-mock process (it holds {self.path}.lock or "
            "the file itself, through another name: a link); stop that one first, or give this one another --db"
        )

    def follow(self) -> None:
        """Lock the snapshot file now at the path (after a new one was renamed into place), and let the old go."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise self.busy() from None
        if self._inode >= 0:
            os.close(self._inode)
        self._inode = fd

    def release(self) -> None:
        if self._inode >= 0:
            os.close(self._inode)
            self._inode = -1
        if self._file.is_locked:
            self._file.release()


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
        self.path = resolved(path)
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
        self._next_lsn = 1  # before a log is open: the LSN the next change gets
        self._child = Child()
        self._sealing = 0  # the generation of sealed log a running compaction folds in
        self._writer: LogWriter | None = None
        self._locks: _Locks | None = None
        refuse_foreign(self.path)
        self._traces = _traces(self.path)  # before the lock file is made: what an earlier run left
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._locks = _Locks(self.path, lock_wait)
        except OSError as exc:
            raise StoreError(f"cannot open database {self.path}: {exc.strerror or exc}") from exc
        for stale in self.path.parent.glob(self.path.name + ".*.tmp"):
            stale.unlink(missing_ok=True)  # a snapshot or log a killed writer never finished

    @property
    def database(self) -> str:
        return str(self.meta["database"])

    # -- reading ------------------------------------------------------------------------------------------------

    def load(self, records: Records | None = None) -> Iterator[Change]:
        """The snapshot's records as they are read (never all of them at once: a million records fit in memory
        only as the database holds them), with the logs' changes in place; damage found on the way raises
        `DamagedStoreError` once everything has been read (the start fails), unless the store repairs. A file
        that is not a mock database is refused at once."""
        try:
            snapshot, contents = open_database(self.path, self._traces)
        except StoreError:
            self.close()
            raise
        return self._stream(snapshot, contents, records)

    def _stream(self, snapshot: Snapshot, contents: Contents, records: Records | None) -> Iterator[Change]:
        kept: list[Change] | None = [] if records is None else None  # what to write back when nothing holds it
        count = 0
        try:
            for change in replay(snapshot, contents.logged):
                count += 1
                if kept is not None:
                    kept.append(change)
                yield change
        except OSError as exc:
            self.close()
            raise StoreError(f"cannot read database {self.path}: {exc.strerror or exc}") from exc
        contents.finish(snapshot)
        if contents.damage and not self.repair:
            self.close()
            raise DamagedStoreError(self.path, contents.damage, count)
        _warn_about(contents, self.wal_path)
        meta = snapshot.meta
        fresh = not _is_meta(meta) or not contents.database or bool(contents.damage)
        self.meta = dict(meta) if meta is not None and _is_meta(meta) else {"format": FORMAT, **new_meta()}
        if contents.database:
            self.meta["database"] = contents.database
        self.meta.setdefault("database", new_meta()["database"])  # a legacy database gains its identity now
        older = self.meta.get("format") != FORMAT  # written before checksums: written anew with them
        self.snapshot_bytes = snapshot.size
        self.pending_writes, self.pending_bytes = contents.changes, contents.log_bytes
        self._next_lsn = contents.next_lsn

        def live() -> Iterable[Change]:
            return kept if kept is not None else records.snapshot() if records is not None else ()

        if contents.damage:
            self._set_aside(contents.damage)
        try:
            if fresh or older or contents.voided or not contents.logs_in_order and not contents.log_missing:
                # New, legacy, of an older format, repaired, or holding a refused write: folded now, into a
                # snapshot (written before its log: a log beside a missing snapshot means records were lost, see
                # `lost_snapshot`) and a fresh log.
                self.compact(live())
            elif contents.log_missing:
                # A snapshot alone (a copy of a seeded one): a log that continues it, not a rewrite of every record.
                create_log(self.wal_path, self.database, contents.next_lsn)
                self._writer = LogWriter(self.wal_path, self.wal_path.stat().st_size, contents.next_lsn, self.fsync)
            else:
                self._writer = LogWriter(self.wal_path, contents.active.whole, contents.next_lsn, self.fsync)
                if self.pending_writes and not self.compact_in_background(live):
                    # The log of the last run is folded in the background (start does not wait for it); with no
                    # fork on this system, everything is folded now, once.
                    self.compact(live())
        except (OSError, StoreError) as exc:
            self.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot open the log {self.wal_path}: {exc.strerror or exc}") from exc
        self._records = records

    def _set_aside(self, damage: list[Damage]) -> None:
        """Copy each damaged file aside before the repair rewrites it."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for path in sorted({d.path for d in damage}):
            if path.is_file():
                copy = path.with_name(f"{path.name}.damaged-{stamp}")
                shutil.copy2(path, copy)
                logger.warning("kept a copy of the damaged %s as %s", path, copy)
        self.dropped = damage

    # -- writing ------------------------------------------------------------------------------------------------

    def write(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        if self._writer is None:
            raise StoreError(f"the log {self.wal_path} is not open: the database was not loaded, or is closed")
        size = self._writer.size
        try:
            self._writer.append([c.as_encoded() for c in changes])
        except OSError as exc:
            error = StorageWriteError(self.wal_path, exc)
            self.last_write_error = {"error": str(error), "at": datetime.now(UTC).isoformat()}
            raise error from exc
        self.last_write_error = None
        self.pending_writes += len(changes)
        self.pending_bytes += self._writer.size - size
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

    @property
    def last_lsn(self) -> int:
        """The last LSN any log may hold, a refused write's included: a snapshot says it holds up to there."""
        return self._writer.last_lsn if self._writer is not None else self._next_lsn - 1

    def compact(self, live: Iterable[Change]) -> None:
        """Write a new snapshot of `live`, rename it over the old one, and start a fresh log after it."""
        self._wait_for_child()
        lsn = self.last_lsn
        meta = {**self.meta, "lsn": lsn}
        try:
            self.snapshot_bytes = write_snapshot(self.path, meta, live, lambda: True)
            self.meta = meta
            if self._locks is not None:
                self._locks.follow()
            for _, log in sealed_logs(self.path):
                log.unlink(missing_ok=True)
            create_log(self.wal_path, self.database, lsn + 1)
            if self._writer is not None:
                self._writer.close()
            self._writer = LogWriter(self.wal_path, self.wal_path.stat().st_size, lsn + 1, self.fsync)
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
        goes on writing to a fresh log, whose header continues their numbers. Once the child has renamed its
        snapshot into place, `poll()` deletes the sealed logs. If anything fails, they stay, are replayed at the
        next start, and the compaction is retried.
        """
        writer = self._writer
        if self._child.pid is not None or not hasattr(os, "fork") or writer is None:
            return False
        generation = max((g for g, _ in sealed_logs(self.path)), default=0) + 1
        sealed = _sealed_path(self.path, generation)
        try:
            writer.undo()  # a refused write still in the file is cut off or voided before the log is sealed
            lsn = writer.last_lsn
            os.replace(self.wal_path, sealed)
        except OSError as exc:
            self.compaction.failed(str(self.path), f"cannot seal the log: {exc.strerror or exc}")
            return False
        try:
            create_log(self.wal_path, self.database, lsn + 1)
        except OSError as exc:
            os.replace(sealed, self.wal_path)  # back as it was: the writer goes on appending to it
            self.compaction.failed(str(self.path), f"cannot start a new log: {exc.strerror or exc}")
            return False
        writer.close()
        self._writer = LogWriter(self.wal_path, self.wal_path.stat().st_size, lsn + 1, self.fsync)
        self.pending_writes = self.pending_bytes = 0
        self._sealing = generation
        parent, meta = os.getpid(), {**self.meta, "lsn": lsn}

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
        if self._locks is not None:
            try:
                self._locks.follow()
            except StoreBusyError:
                logger.error("cannot lock the new snapshot %s: another process holds it", self.path)
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
        and is replayed at the next start (nothing is lost, and a refused write still in it was voided or cut)."""
        try:
            writer = self._writer
            if self._records is not None and writer is not None and (self.pending_writes or writer.dirty):
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
                if self._writer.dirty:
                    logger.error(
                        "a write the disk refused may remain in %s: neither cut off, voided nor folded past (the disk "
                        "refused all three); check the database with `collect-mock check --db %s` before using it",
                        self.wal_path,
                        shlex.quote(str(self.path)),
                    )
                self._writer.close()
                self._writer = None
            if self._locks is not None:
                self._locks.release()
                self._locks = None


class ReadOnlyStore(Store):
    """A database read as it is, under its lock, changing nothing (`collect-mock export`): damage refuses it."""

    def __init__(self, path: Path | str):
        self.path = resolved(path)
        require_database(self.path)
        refuse_foreign(self.path)
        self._traces = _traces(self.path)  # before the lock file is made: what an earlier run left
        self._locks: _Locks | None = _Locks(self.path, LOCK_WAIT)
        self.meta = {}

    def load(self, records: Records | None = None) -> Iterator[Change]:
        """The records as they are read; damage raises `DamagedStoreError` once they have all been read."""
        try:
            snapshot, contents = open_database(self.path, self._traces)
        except StoreError:
            self.close()
            raise
        self.meta = dict(snapshot.meta or {})
        return self._stream(snapshot, contents)

    def _stream(self, snapshot: Snapshot, contents: Contents) -> Iterator[Change]:
        count = 0
        try:
            for change in replay(snapshot, contents.logged):
                count += 1
                yield change
            contents.finish(snapshot)
            if contents.damage:
                raise DamagedStoreError(self.path, contents.damage, count)
        except OSError as exc:
            raise StoreError(f"cannot read database {self.path}: {exc.strerror or exc}") from exc
        finally:
            self.close()

    def write(self, changes: Sequence[Change]) -> None:
        raise StoreError(f"the database {self.path} was opened to be read only")

    def rewrite(self, changes: Iterable[Change]) -> None:
        self.write([])

    def close(self) -> None:
        if self._locks is not None:
            self._locks.release()
            self._locks = None


def _warn_about(contents: Contents, wal_path: Path) -> None:
    if contents.active.torn:
        logger.warning(
            "dropped the last %d bytes of %s: a write cut short by a crash, never acknowledged (or the log was cut "
            "there: what followed is lost)",
            contents.active.torn,
            wal_path,
        )
    if contents.unchecked:
        logger.warning(
            "replayed %d lines of %s without a checksum (written by an older version); the database is now folded "
            "into the current format, whose every line is checked",
            contents.unchecked,
            wal_path,
        )
    if contents.voided:
        logger.warning("skipped %d writes in %s the disk refused (void lines)", contents.voided, wal_path)
    if contents.log_missing:
        logger.warning(
            "%s has no log beside it: started from the snapshot alone (a copy of a snapshot is a database); if the log "
            "was deleted, the changes it held after the snapshot are lost",
            wal_path.with_name(wal_path.name.removesuffix(".wal")),
        )


def _log_says_ours(path: Path) -> bool:
    """Whether a log beside `path` begins with a header (so `path` is this mock's snapshot, however damaged)."""
    for log in [path.with_name(path.name + ".wal"), *(log for _, log in sealed_logs(path))]:
        try:
            with open(log, "rb") as fh:
                head = fh.read(200)
        except OSError:
            continue
        if b'{"log":' in head.split(b"\n", 1)[0]:
            return True
    return False


def refuse_foreign(path: Path) -> None:
    """Refuse, before creating anything beside it, a file that is not plainly a mock database: another program's
    JSON (a package.json, an empty TinyDB file, `{}`), an empty file. Such a file is never written over."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except FileNotFoundError:
        return  # a new database
    except OSError:
        return  # an error that opening it reports better
    if looks_ours(head) or _log_says_ours(path):
        return
    stripped = head.strip()
    if not stripped:
        what = "it is empty"
    elif stripped.replace(b" ", b"") in (b"{}", b"{\n}"):
        what = "it is an empty JSON object"
    else:
        first = stripped[:60].decode("utf-8", "replace")
        what = f"it does not begin like one: {first!r}"
    raise StoreError(
        f"{path} is not a Collect mock database ({what}); it was left untouched: give --db a new file or a "
        "database this mock wrote"
    )


def require_database(path: Path) -> None:
    """Commands that read a database (check, repair, export) never create one: a missing one is an error."""
    if not path.exists() and not path.with_name(path.name + ".wal").exists() and not sealed_logs(path):
        raise StoreError(f"there is no database at {path} (no such file); nothing was created")


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
        if suffix.isascii() and suffix.isdigit():
            found.append((int(suffix), log))
    return sorted(found)


def _open_snapshot(path: Path, logs: list[LogContents]) -> Snapshot:
    """The snapshot opened (its meta read); `ours` when a log beside it names a database (so a file that does not
    look like a snapshot is a damaged one, not another program's)."""
    ours = any(log.header for log in logs)
    try:
        return read_snapshot(path, ours=ours)
    except NotADatabaseError as exc:
        raise StoreError(f"{exc}; it was left untouched: give --db a new file or a database this mock wrote") from None
    except OSError as exc:
        raise StoreError(f"cannot read database {path}: {exc.strerror or exc}") from exc
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file makes the reader raise is damage, reported
        snapshot = Snapshot(path, exists=True, size=path.stat().st_size)
        snapshot.damage.append(Damage(path, 1, f"cannot be read ({type(exc).__name__}: {str(exc)[:200]})"))
        return snapshot


def open_database(path: Path, traces: list[Path]) -> tuple[Snapshot, Contents]:
    """Read a database's logs and open its snapshot, changing nothing: its records are read as `replay(snapshot,
    contents.logged)` is iterated, after which `contents.finish(snapshot)` completes the damage found.
    StoreError if it is not a mock database. `traces`: the files an earlier run left beside it (found before a
    lock file was made), which show that a missing or blank snapshot was lost (`lost_snapshot`)."""
    logs = [log for _, log in sealed_logs(path)]
    wal_path = path.with_name(path.name + ".wal")
    read: list[tuple[Path, LogContents]] = []
    for log in [*logs, wal_path]:
        try:
            read.append((log, read_log(log)))
        except OSError as exc:
            raise StoreError(
                f"cannot read the log {log}: {exc.strerror or exc}; a log is a file this mock wrote: move whatever is "
                f"there aside, then run `collect-mock check --db {shlex.quote(str(path))}`"
            ) from exc
    snapshot = _open_snapshot(path, [c for _, c in read])
    damage: list[Damage] = []
    meta = snapshot.meta if _is_meta(snapshot.meta) else None
    database = str(meta["database"]) if meta and isinstance(meta.get("database"), str) else None
    headers = [c.database for _, c in read if c.database]
    legacy = meta is not None and database is None
    lost = lost_snapshot(path, snapshot, traces)
    if lost is not None:
        damage.append(lost)
    if meta is None and headers:
        database = headers[-1]  # the log says whose it was
        if lost is None and not snapshot.damage:  # (a meta changed after writing is reported by the snapshot)
            damage.append(
                Damage(
                    path,
                    1,
                    f"has no readable meta, yet the logs beside it belong to database {database}: what was folded "
                    "into the snapshot is lost, only the logs' changes can be kept",
                )
            )
    expected = int(meta.get("lsn", 0)) + 1 if meta and database and type(meta.get("lsn", 0)) is int else 1
    contents = Contents({}, LogContents(), 0, 0, damage, database, legacy=legacy, snapshot_damage_at=len(damage))
    for log, found in read:
        active = log == wal_path
        contents.damage += found.damage
        contents.unchecked += found.unchecked
        contents.voided += found.voided
        if not active and found.torn:
            contents.damage.append(Damage(log, found.torn_line, "ends in the middle of a line: it was cut short"))
        if _check_log(contents, log, found, active, bool(logs), expected):
            for data in found.changes:
                lsn = data.get("l")
                if isinstance(lsn, int) and lsn < expected:
                    continue  # folded into the snapshot already
                change = Change.from_json(data)
                contents.logged[(change.tenant, change.collection, change.id)] = change
                contents.changes += 1
            contents.log_bytes += found.whole
            if found.last is not None:
                expected = max(expected, found.last + 1)
        if active:
            contents.active = found
    contents.next_lsn = expected
    last = contents.active.last  # the active log ends where the chain does, or start writes a fresh one
    contents.logs_in_order = last is not None and last + 1 == expected
    return snapshot, contents


def _check_log(contents: Contents, log: Path, found: LogContents, active: bool, sealed: bool, expected: int) -> bool:
    """Whether the changes of `log` belong in this database here, reporting why not (or what is missing before)."""
    database = contents.database
    if database is None:  # a new or legacy database: logs without a header, as written before identities
        if found.header is not None:
            contents.damage.append(
                Damage(
                    log,
                    1,
                    f"belongs to database {found.database}, but the snapshot has no identity (it was "
                    "written by an older version, or copied in from elsewhere)",
                )
            )
            return False
        return True
    if not found.exists:
        # A snapshot alone is a database (a copy of a seeded one, say): it starts, with a warning, since a log
        # deleted beside it cannot be told from one never copied.
        contents.log_missing = active and not sealed
        return False
    if found.header is None:
        if not found.changes and not found.damage and not found.torn:
            contents.damage.append(
                Damage(
                    log,
                    1,
                    f"is empty: every log begins with a header; it was emptied, and the changes it held "
                    f"after change {expected - 1} are lost",
                )
            )
            return False
        if found.damage and found.damage[0].line == 1 and found.last is not None:
            return True  # its header line is damaged (reported): the numbered changes after it still count
        contents.damage.append(
            Damage(
                log,
                1,
                f"has no header: it is not a log of database {database} (an older version's log, or "
                "its start was cut off)",
            )
        )
        return False
    if found.database != database:
        contents.damage.append(
            Damage(
                log,
                1,
                f"belongs to another database ({found.database}), not to {database} whose snapshot is "
                f"{log.with_name(log.name.split('.wal')[0])}: one of the two was copied in from elsewhere",
            )
        )
        return False
    first = int(found.header["from"])
    if first > expected:
        missing = f"{expected}" if first == expected + 1 else f"{expected} to {first - 1}"
        contents.damage.append(
            Damage(
                log,
                1,
                f"begins at change {first}, but the snapshot and the logs before it end at change "
                f"{expected - 1}: changes {missing} are missing (a log was lost or cut short)",
            )
        )
    return True


def replay(snapshot: Iterable[Change], latest: dict[tuple[str, str, str], Change]) -> Iterator[Change]:
    """The live records, in sequence order: the snapshot's, each replaced or dropped as the logs changed it, and
    the records the logs added, each in its place (also where the snapshot's own line of a record was lost to
    damage: a repair writes the records back in order)."""
    if not latest:  # nothing logged since the snapshot: its records as they are
        yield from snapshot
        return
    pending = dict(latest)
    logged = sorted(latest.values(), key=lambda c: c.seq)
    at = 0
    for change in snapshot:
        while at < len(logged) and logged[at].seq < change.seq:  # logged before this record: no later match
            before = logged[at]
            at += 1
            if pending.pop((before.tenant, before.collection, before.id), None) is before and before.record:
                yield before
        key = (change.tenant, change.collection, change.id)
        newer = pending.get(key)
        if newer is None:
            yield change
        elif newer.seq == change.seq:  # changed in place (or deleted)
            del pending[key]
            if newer.record is not None:
                yield newer
    for change in logged[at:]:
        if pending.get((change.tenant, change.collection, change.id)) is change and change.record is not None:
            yield change


def read_contents(path: Path, traces: list[Path] | None = None) -> Contents:
    """Read a database's snapshot and logs, changing nothing; StoreError if it is not a mock database.
    `traces`: the files an earlier run left beside it (found before a lock file was made)."""
    snapshot, contents = open_database(path, _traces(path) if traces is None else traces)
    try:
        contents.latest = {(c.tenant, c.collection, c.id): c.seq for c in replay(snapshot, contents.logged)}
    except OSError as exc:
        raise StoreError(f"cannot read database {path}: {exc.strerror or exc}") from exc
    contents.finish(snapshot)
    return contents


def check_database(path: Path | str) -> Contents:
    """What a database holds and what of it is damaged, changing nothing (`collect-mock check`)."""
    path = resolved(path)
    require_database(path)
    refuse_foreign(path)
    traces = _traces(path)
    locks = _Locks(path, LOCK_WAIT)
    try:
        return read_contents(path, traces)
    finally:
        locks.release()


def repair_database(path: Path | str) -> tuple[list[Damage], int]:
    """Keep every readable record, copy damaged files aside, write the rest back whole (`collect-mock repair`)."""
    require_database(resolved(path))
    store = TinyStore(path, repair=True)
    try:
        kept = sum(1 for _ in store.load())
        return store.dropped, kept
    finally:
        store.close()
