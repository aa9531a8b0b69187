"""The snapshot: a TinyDB JSON file holding every record at the time it was written. No other module imports tinydb.

Layout: table `meta` (one document: the format and the database's own data) and table `records` (one document per
record, its TinyDB doc_id the record's sequence number). It is written one document per line, beside the old
file, fsynced and renamed over it, so a reader sees one snapshot or the other, whole:

    {"meta":{"1":{"format":3,"secret":"...","database":"...","created_at":"...","lsn":41,"k":"1c291ca3"}},
    "records":{
    "1":{"t":"acme","c":"invoices","id":"inv-1","k":"8a3f09d2","r":{"id":"inv-1",...}},
    ...
    "9":{"t":"acme","c":"batches","id":"bat-2","k":"03c1e5a7","r":{"id":"bat-2",...}}
    }}

The meta holds the database's secret, its identity (`database`) and the log sequence number of the last change the
snapshot holds (`lsn`: the logs continue from there, see `mockserver/tinystore.py`). Each document and the meta
carry a checksum (`k`: crc32, 8 hex digits) of what they hold: a byte changed after writing is seen even where the
JSON stays valid, and whatever else a line holds is still read. The checksum is of the content (the sequence number,
tenant, collection and id, and the record as orjson encodes it), not of the bytes of the line, so the file stays
TinyDB's to read and to write: TinyDB reads it as it is, and a file TinyDB wrote (on one line, spaced differently)
is still read and verified (`tests/test_snapshot.py`).

`SnapshotStorage` is a TinyDB storage class for this layout: `TinyDB(path, storage=SnapshotStorage)` reads a
snapshot verified and writes one with its checksums (for scripts and tests that edit a stopped database).

`read_snapshot` refuses a file that is not a mock database (an ordinary JSON file given as `--db` is never
taken for one, and so never overwritten: `looks_ours` wants the meta table with the database's secret at the start
of the file, or a database written before the meta table, a record) unless the caller knows it is one (`ours`: a
log beside it names its database), and reads a mock database's line by line with orjson, keeping each
record's encoded bytes (what the database holds in memory). Every record it yields passed its checksum; what
it could not read is listed in `damage`, with the line, once the records have been read. A snapshot of format 2
(before checksums) is read as it is, and written anew in format 3 when the store starts.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from tinydb.storages import Storage

from mockserver.storage import Change
from mockserver.wal import Damage, legible_key, sync_directory

FORMAT = 3
TABLES = frozenset({"meta", "records", "_default"})  # `_default`: the table TinyDB itself always knows
CHECKSUM = "k"
# The head of a file this mock wrote: the meta table with the database's secret, or (a database written before the
# meta table) the records table with a record. Anything else is another program's file, however JSON-like.
_OURS = re.compile(
    rb'^\s*\{\s*(?:"meta"\s*:\s*\{\s*"1"\s*:\s*\{[^{}]{0,4000}?"secret"\s*:\s*"[0-9a-f]{64}"'
    rb'|"records"\s*:\s*\{\s*"\d+"\s*:\s*\{\s*"t"\s*:)'
)
_SECRET = re.compile(r"^[0-9a-f]{64}$")
_META_LINE = re.compile(rb'^\{"meta":\{"1":(\{.*\})\},\s*$')
_RECORDS_LINE = re.compile(rb'^"records":\{\s*$')
_DOCUMENT_LINE = re.compile(rb'^"((?:[^"\\]|\\.)*)":(\{.*\})(,?)\s*$')
_END_LINE = re.compile(rb"^\}\}\s*$")
_RECORD_KEY = b',"r":'


class NotADatabaseError(ValueError):
    """The file exists but is not a mock database; it is left as it is."""


def looks_ours(head: bytes) -> bool:
    """Whether the first bytes of a file are those of a snapshot this mock wrote (only then is it ever rewritten)."""
    return bool(_OURS.match(head))


def _is_ours(parsed: Any) -> bool:
    """A JSON document this mock wrote: its tables only, and the meta table with a secret (or, written before the
    meta table, a record). `{}`, `{"records": {}}`, another program's empty TinyDB file are not."""
    if not _holds_tables(parsed) or parsed.get("_default"):
        return False  # `_default` data: another program's TinyDB file, not ours to overwrite
    meta = parsed.get("meta")
    if meta:
        first = meta.get("1")
        return isinstance(first, dict) and isinstance(first.get("secret"), str) and bool(_SECRET.match(first["secret"]))
    return any(isinstance(doc, dict) and "t" in doc for doc in parsed.get("records", {}).values())


def _holds_tables(parsed: Any) -> bool:
    return isinstance(parsed, dict) and set(parsed) <= TABLES and all(isinstance(v, dict) for v in parsed.values())


def document_checksum(seq: int, tenant: str, collection: str, record_id: str, record: bytes) -> str:
    """The checksum of a snapshot document: its key and what it holds, the record as orjson encodes it."""
    head = f"{seq}\x1f{tenant}\x1f{collection}\x1f{record_id}\x1f".encode()
    return f"{zlib.crc32(record, zlib.crc32(head)):08x}"


def meta_checksum(meta: dict[str, Any]) -> str:
    return f"{zlib.crc32(orjson.dumps({k: v for k, v in meta.items() if k != CHECKSUM})):08x}"


# -- writing ----------------------------------------------------------------------------------------------------


def write_snapshot(
    path: Path, meta: dict[str, Any], changes: Iterable[Change], still_wanted: Callable[[], bool]
) -> int:
    """Write a new snapshot of `changes` (records, in sequence order) beside `path` and rename it over `path` if
    `still_wanted()`; returns its size."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as fh:
            stored = {**meta, "format": FORMAT}
            stored[CHECKSUM] = meta_checksum(stored)
            fh.write(b'{"meta":{"1":' + orjson.dumps(stored) + b'},\n"records":{')
            separator = b"\n"
            for change in changes:
                if change.record is None:
                    continue
                head = orjson.dumps(
                    {
                        "t": change.tenant,
                        "c": change.collection,
                        "id": change.id,
                        CHECKSUM: document_checksum(
                            change.seq, change.tenant, change.collection, change.id, change.record
                        ),
                    }
                )
                fh.write(b'%s"%d":%s,"r":%s}' % (separator, change.seq, head[:-1], change.record))
                separator = b",\n"
            fh.write(b"\n}}\n")
            fh.flush()
            os.fsync(fh.fileno())
            size = fh.tell()
        if not still_wanted():
            return 0
        os.replace(tmp, path)
        sync_directory(path.parent)
        return size
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# -- reading ----------------------------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """A snapshot being read: `meta` at once, the records by iterating (once), `damage` complete after that."""

    path: Path
    meta: dict[str, Any] | None = None
    size: int = 0
    exists: bool = False
    damage: list[Damage] = field(default_factory=list)
    blank: bool = False  # the file holds nothing but blanks
    checksummed: bool = True  # every document must carry a checksum (all but a file written before format 3)
    last_seq: int = 0  # the sequence number of the last document read: each line's must be greater
    _records: Iterator[Change] = field(default_factory=lambda: iter(()))

    @property
    def empty(self) -> bool:
        """No snapshot at all, or a file holding nothing but blanks."""
        return not self.exists or self.blank

    def __iter__(self) -> Iterator[Change]:
        return _guarded(self, self._records)


def _guarded(snapshot: Snapshot, records: Iterator[Change]) -> Iterator[Change]:
    """The records, whatever a damaged file makes the reader raise turned into damage (never a traceback)."""
    try:
        yield from records
    except (OSError, NotADatabaseError):
        raise
    except Exception as exc:  # noqa: BLE001 - reported as damage, with what was read before it kept
        reason = f"cannot be read ({type(exc).__name__}: {str(exc)[:200]})"
        snapshot.damage.append(Damage(snapshot.path, 1, reason))


def read_snapshot(path: Path, ours: bool = False) -> Snapshot:
    """Open a snapshot: its meta is read now, its records as the result is iterated (NotADatabaseError: a file
    that is not a mock database; OSError: one that cannot be read). `ours`: the caller knows the file is this
    mock's (a log beside it says so), so a file that does not look like one is read as damaged, not refused."""
    snapshot = Snapshot(path)
    try:
        fh = open(path, "rb", buffering=1 << 20)  # noqa: SIM115 - closed by the generator that reads it
    except FileNotFoundError:
        return snapshot
    snapshot.exists = True
    snapshot.size = os.fstat(fh.fileno()).st_size
    first = fh.readline()
    while first and not first.strip():
        first = fh.readline()
    if not first:
        fh.close()
        snapshot.blank = True
        return snapshot
    found = _META_LINE.match(first)
    if found and (ours or looks_ours(first)):
        _read_meta(snapshot, found.group(1))  # now: the caller needs the identity before the records
        snapshot._records = _read_lines(snapshot, fh)
        return snapshot
    fh.seek(0)
    data = fh.read()
    fh.close()
    snapshot._records = _read_whole(snapshot, data, ours)
    return snapshot


def _read_meta(snapshot: Snapshot, raw: bytes) -> None:
    try:
        meta = orjson.loads(raw)
    except orjson.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict):
        snapshot.damage.append(Damage(snapshot.path, 1, "its meta table cannot be read"))
        return
    _check_meta(snapshot, meta)


def _check_meta(snapshot: Snapshot, meta: dict[str, Any]) -> None:
    checksum = meta.pop(CHECKSUM, None)
    if checksum is not None and checksum != meta_checksum(meta):
        snapshot.damage.append(
            Damage(snapshot.path, 1, "its meta table's checksum does not match: it was changed after it was written")
        )
        return
    if checksum is None:
        if meta.get("format", 2) != 2:
            snapshot.damage.append(Damage(snapshot.path, 1, "its meta table has no checksum"))
            return
        snapshot.checksummed = False  # format 2: written before checksums
    snapshot.meta = meta


def _read_lines(snapshot: Snapshot, fh: IO[bytes]) -> Iterator[Change]:
    """A snapshot as this module writes it, one document per line (its first line, the meta, read already)."""
    path, damage = snapshot.path, snapshot.damage
    checksummed = snapshot.checksummed
    number, state = 1, "records"  # what the next line should be: "records", "document", "end" or "after"
    comma = True  # whether the last document said another one follows
    with fh:
        for line in fh:
            number += 1
            if state == "document" and line[:1] == b'"' and line.endswith((b"},\n", b"}\n")):
                # The common case first, without a regular expression: a record, as written.
                colon = line.find(b'":', 1)
                if colon > 0:
                    if not comma:
                        damage.append(Damage(path, number, "the record before it is not followed by a comma"))
                    comma = line[-2] == 44  # ","
                    body = line[colon + 2 : -2 if comma else -1]
                    change = _document(snapshot, number, line[1:colon], body, checksummed)
                    if change is not None:
                        yield change
                    continue
            if not line.strip():
                continue
            if state == "records":
                if _RECORDS_LINE.match(line):
                    state = "document"
                    continue
                damage.append(Damage(path, number, 'it should open the "records" table'))
                state = "document"
            if state == "after":
                damage.append(Damage(path, number, "it follows the end of the records", legible_key(line)))
                continue
            if _END_LINE.match(line):
                if comma and number > 3:
                    damage.append(Damage(path, number, "the last record says another follows: records may be lost"))
                state = "after"
                continue
            document = _DOCUMENT_LINE.match(line)
            if document is None:
                reason = "it is not a record of this snapshot" if line.endswith(b"\n") else "it is cut short"
                damage.append(Damage(path, number, reason, legible_key(line)))
                comma = True
                continue
            if not comma:
                damage.append(Damage(path, number, "the record before it is not followed by a comma"))
            comma = document.group(3) == b","
            change = _document(snapshot, number, document.group(1), document.group(2), checksummed)
            if change is not None:
                yield change
    if state != "after":
        damage.append(Damage(path, number + 1, "the file ends early: records written after this point are lost"))


def _document(snapshot: Snapshot, line: int, key: bytes, body: bytes, checksummed: bool) -> Change | None:
    """One document as a change, or None having noted why it cannot be one."""
    path = snapshot.path
    if not key.isdigit() or len(key) > 18:
        shown = key.decode("utf-8", "replace")[:60]
        reason = f"its key {shown!r} is not a record's sequence number"
        snapshot.damage.append(Damage(path, line, reason, legible_key(body)))
        return None
    seq = int(key)
    if seq <= snapshot.last_seq:  # written in sequence order: a repeated line would put back an older record
        reason = f"record {seq} follows record {snapshot.last_seq}: a line repeated or moved"
        snapshot.damage.append(Damage(path, line, reason, legible_key(body)))
        return None
    snapshot.last_seq = seq
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        reason = f"record {seq} cannot be read ({str(exc)[:120]})"
        snapshot.damage.append(Damage(path, line, reason, legible_key(body)))
        return None
    return _verified(snapshot, line, seq, document, body, checksummed)


def _verified(
    snapshot: Snapshot, line: int, seq: int, document: Any, body: bytes | None, checksummed: bool
) -> Change | None:
    """The document as a change if it is whole and what its checksum says; else None, the damage noted."""
    path = snapshot.path
    try:
        tenant, collection, record_id, record = document["t"], document["c"], document["id"], document["r"]
        if not (type(tenant) is str and type(collection) is str and type(record_id) is str and type(record) is dict):
            raise TypeError
    except (KeyError, TypeError):
        reason = f"record {seq} is not a record (it lacks t, c, id or r)"
        snapshot.damage.append(Damage(path, line, reason, legible_key(body or orjson.dumps(document))))
        return None
    # The record as this module wrote it is the end of the line; a file written otherwise is encoded anew.
    raw = None
    if body is not None:
        at = body.find(_RECORD_KEY)
        if at > 0 and body.endswith(b"}}"):
            raw = body[at + len(_RECORD_KEY) : -1]
    checksum = document.get(CHECKSUM)
    if checksum is not None or checksummed:
        if type(checksum) is not str:
            snapshot.damage.append(
                Damage(path, line, f"record {seq} has no checksum", f"{tenant}/{collection}/{record_id}")
            )
            return None
        if raw is None or document_checksum(seq, tenant, collection, record_id, raw) != checksum:
            raw = orjson.dumps(record)
            if document_checksum(seq, tenant, collection, record_id, raw) != checksum:
                reason = f"record {seq}'s checksum does not match: it was changed after it was written"
                snapshot.damage.append(Damage(path, line, reason, f"{tenant}/{collection}/{record_id}"))
                return None
    else:  # format 2, before checksums: encoded as the database holds it
        raw = orjson.dumps(record)
    if record.get("id", record_id) != record_id:
        reason = f"record {seq} is stored as {record_id!r} but its id is {str(record.get('id'))[:60]!r}"
        snapshot.damage.append(Damage(path, line, reason, f"{tenant}/{collection}/{record_id}"))
        return None
    return Change(seq, tenant, collection, record_id, raw, record)


def _read_whole(snapshot: Snapshot, data: bytes, ours: bool) -> Iterator[Change]:
    """A snapshot not laid out one document per line (TinyDB wrote it, or someone reformatted it): parsed whole."""
    path = snapshot.path
    try:
        parsed = json.loads(data)  # the standard parser: it names the line and column of what it cannot read
    except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        if not (ours or looks_ours(data)):
            raise NotADatabaseError(
                f"{path} is not a Collect mock database (it is not a JSON object of its tables)"
            ) from None
        line = getattr(exc, "lineno", 1)
        snapshot.damage.append(Damage(path, line, f"the snapshot cannot be read ({str(exc)[:160]})"))
        return iter(())
    if not _is_ours(parsed):
        found = ", ".join(repr(k) for k in list(parsed)[:5]) if isinstance(parsed, dict) else type(parsed).__name__
        if not ours:
            raise NotADatabaseError(
                f"{path} is not a Collect mock database: it holds {found}, where a mock database holds the tables "
                "'meta' and 'records'"
            )
        if not _holds_tables(parsed):  # a log beside it says it was ours: damaged past reading
            snapshot.damage.append(Damage(path, 1, f"it is not a snapshot: it holds {found or 'nothing'}"))
            return iter(())
    metas = parsed.get("meta") or {}
    meta = metas.get("1") if len(metas) == 1 else None
    if isinstance(meta, dict):
        _check_meta(snapshot, meta)
    elif "meta" not in parsed:
        snapshot.checksummed = False  # written before the meta table: a new secret is made
    else:
        snapshot.damage.append(Damage(path, 1, "its meta table cannot be read"))
    return _whole_documents(snapshot, parsed.get("records") or {})


def _whole_documents(snapshot: Snapshot, documents: dict[str, Any]) -> Iterator[Change]:
    checksummed = snapshot.checksummed
    found = []
    for key, document in documents.items():
        if not key.isdigit() or len(key) > 18:
            shown = key[:60]
            snapshot.damage.append(Damage(snapshot.path, 1, f"its key {shown!r} is not a record's sequence number"))
            continue
        found.append((int(key), document))
    for seq, document in sorted(found, key=lambda pair: pair[0]):
        change = _verified(snapshot, 1, seq, document, None, checksummed)
        if change is not None:
            yield change


class DamagedSnapshotError(ValueError):
    """A snapshot that does not read whole; the message lists the damage (`collect-mock check` says more)."""


class SnapshotStorage(Storage):
    """TinyDB's access to a snapshot, verified: each record read passed its checksum, each written gets one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        snapshot = read_snapshot(self.path)
        records = {
            str(c.seq): {"t": c.tenant, "c": c.collection, "id": c.id, "r": c.value} for c in snapshot if c.record
        }
        if snapshot.damage:
            raise DamagedSnapshotError("; ".join(str(d) for d in snapshot.damage[:5]))
        if snapshot.empty:
            return None
        return {"meta": {"1": dict(snapshot.meta or {})}, "records": records}

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        meta = dict((data.get("meta") or {}).get("1") or {})
        documents = sorted((int(seq), doc) for seq, doc in (data.get("records") or {}).items())
        changes = (Change.of(seq, doc["t"], doc["c"], doc["id"], doc["r"]) for seq, doc in documents)
        write_snapshot(self.path, meta, changes, lambda: True)


def lost_snapshot(path: Path, snapshot: Snapshot, traces: list[Path]) -> Damage | None:
    """Damage when the snapshot is missing or blank although files beside it show that the database held records
    (its write-ahead log, its lock file): reading it as a new, empty database would lose them for good."""
    if not snapshot.empty or not traces:
        return None
    what = "is missing" if not snapshot.exists else f"is empty ({snapshot.size} bytes)"
    shown = ", ".join(str(p) for p in traces)
    return Damage(
        path,
        1,
        f"the snapshot {what}, yet {shown} beside it show(s) a database was kept here: its records may have been "
        "lost. Restore the file from a backup; or `repair` keeps what the log still holds; or, to start a new "
        f"database, delete {shown} too",
    )
