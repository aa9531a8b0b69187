"""The snapshot: a TinyDB JSON file holding every record at the time it was written. No other module imports tinydb.

Layout: table `meta` (one document: the format and the database's secret) and table `records` (one document per
record, its TinyDB doc_id the record's sequence number). It is written one document per line, beside the old
file, fsynced and renamed over it, so a reader sees one snapshot or the other, whole; and should the file be
damaged later (cut short, a byte changed), every other line can still be read.

`read_snapshot` refuses a file that is not a mock database (an ordinary JSON file given as `--db` is never
taken for one, and so never overwritten), reads a sound one with TinyDB, and reads a damaged one document by
document, reporting what it could not read.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from tinydb import TinyDB
from tinydb.storages import MemoryStorage

from mockserver.memory import paused_gc
from mockserver.wal import Damage, legible_key

FORMAT = 2
TABLES = frozenset({"meta", "records", "_default"})  # `_default`: the table TinyDB itself always knows
# The head of a file this mock wrote: the meta table with the database's secret, or (a database written before the
# meta table) the records table with a record. Anything else is another program's file, however JSON-like.
_OURS = re.compile(
    rb'^\s*\{\s*(?:"meta"\s*:\s*\{\s*"1"\s*:\s*\{[^{}]{0,4000}?"secret"\s*:\s*"[0-9a-f]{64}"'
    rb'|"records"\s*:\s*\{\s*"\d+"\s*:\s*\{\s*"t"\s*:)'
)
_SECRET = re.compile(r"^[0-9a-f]{64}$")
_DOCUMENT = re.compile(rb'"(\d+)"\s*:\s*(?=\{"t")')
_META = re.compile(rb'"meta"\s*:\s*\{\s*"1"\s*:\s*(?=\{)')
_TAIL = re.compile(r"^\s*(,\s*)?(\}\s*\}\s*)?$")


class NotADatabaseError(ValueError):
    """The file exists but is not a mock database; it is left as it is."""


def looks_ours(head: bytes) -> bool:
    """Whether the first bytes of a file are those of a snapshot this mock wrote (only then is it ever rewritten)."""
    return bool(_OURS.match(head))


@dataclass
class SnapshotContents:
    meta: dict[str, Any] | None = None
    documents: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (sequence number, document)
    damage: list[Damage] = field(default_factory=list)
    size: int = 0


def write_snapshot(
    path: Path, meta: dict[str, Any], documents: Iterable[tuple[int, dict[str, Any]]], still_wanted: Callable[[], bool]
) -> int:
    """Write a new snapshot beside `path` and rename it over `path` if `still_wanted()`; returns its size."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b'{"meta":{"1":' + orjson.dumps(meta) + b'},\n"records":{')
            separator = b"\n"
            for seq, document in documents:
                fh.write(b'%s"%d":%s' % (separator, seq, orjson.dumps(document)))
                separator = b",\n"
            fh.write(b"\n}}\n")
            fh.flush()
            os.fsync(fh.fileno())
            size = fh.tell()
        if not still_wanted():
            return 0
        os.replace(tmp, path)
        _sync_directory(path.parent)
        return size
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _sync_directory(directory: Path) -> None:
    """Make a rename durable: the new name lives in the directory, which has to reach the disk too."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot sync a directory; the rename still happened
    finally:
        os.close(fd)


def read_snapshot(path: Path, ours: bool = False) -> SnapshotContents:
    """The snapshot at `path`; `ours`: the caller knows it is this mock's (its log says so), so a file that does not
    look like one is read as damaged, record by record, rather than refused as another program's."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return SnapshotContents()
    if not data.strip():
        return SnapshotContents(size=len(data))
    try:
        with paused_gc():
            parsed = json.loads(data)  # not orjson: the standard parser shares repeated keys (90 MB less at 100k)
    except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        if not (ours or _OURS.match(data)):
            raise NotADatabaseError(
                f"{path} is not a Collect mock database (it is not a JSON object of its tables)"
            ) from None
        return _recover(path, data)
    if ours and not _is_ours(parsed):
        return _recover(path, data)
    contents = _read_sound(path, parsed, data)
    contents.size = len(data)
    return contents


def _is_ours(parsed: Any) -> bool:
    """A JSON document this mock wrote: its tables only, and the meta table with a secret (or, written before the
    meta table, a record). `{}`, `{"records": {}}`, another program's empty TinyDB file are not."""
    if not (isinstance(parsed, dict) and set(parsed) <= TABLES and all(isinstance(v, dict) for v in parsed.values())):
        return False
    if parsed.get("_default"):
        return False  # another program's TinyDB data: not ours to overwrite
    meta = parsed.get("meta")
    if meta:
        first = meta.get("1")
        return isinstance(first, dict) and isinstance(first.get("secret"), str) and bool(_SECRET.match(first["secret"]))
    return any(_is_document(doc) for doc in parsed.get("records", {}).values())


def _line_of(data: bytes, key: str) -> int:
    """The line a snapshot document starts on (1 if it cannot be found)."""
    found = data.find(b'\n"%s":' % key.encode("utf-8", "replace"))
    return data.count(b"\n", 0, found + 1) + 1 if found >= 0 else 1


def _read_sound(path: Path, parsed: Any, data: bytes) -> SnapshotContents:
    if not _is_ours(parsed):
        found = ", ".join(repr(k) for k in list(parsed)[:5]) if isinstance(parsed, dict) else type(parsed).__name__
        raise NotADatabaseError(
            f"{path} is not a Collect mock database: it holds {found}, where a mock database holds the tables "
            "'meta' and 'records'"
        )
    contents = SnapshotContents()
    for table in ("meta", "records"):  # a document key that is not a number is damage, not a crash of TinyDB
        for key in [k for k in parsed.get(table, {}) if not (k.isascii() and k.isdigit())]:
            document = parsed[table].pop(key)
            what = legible_key(orjson.dumps(document)) if isinstance(document, dict) else None
            reason = f"{table} document key {key!r} is not a sequence number"
            contents.damage.append(Damage(path, _line_of(data, key), reason, what))
    # TinyDB reads its own layout; MemoryStorage spares a second parse of a large file.
    db = TinyDB(storage=MemoryStorage)
    db.storage.write(parsed)
    metas = db.table("meta").all()
    contents.meta = dict(metas[0]) if metas else None
    for doc in db.table("records").all():
        if _is_document(doc):
            contents.documents.append((doc.doc_id, dict(doc)))
        else:
            key = legible_key(orjson.dumps(dict(doc)))
            line = _line_of(data, str(doc.doc_id))
            contents.damage.append(Damage(path, line, f"document {doc.doc_id} is not a record", key))
    return contents


def _is_document(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and all(isinstance(doc.get(k), str) for k in ("t", "c", "id"))
        and isinstance(doc.get("r"), dict)
    )


def _recover(path: Path, data: bytes) -> SnapshotContents:
    """Read a damaged snapshot document by document: each starts with `"<seq>":{"t":`, and whatever lies between
    one start and the next is that document, readable or not."""
    contents = SnapshotContents(size=len(data))
    decoder = json.JSONDecoder()
    meta = _META.search(data)
    if meta:
        try:
            value, _ = decoder.raw_decode(data[meta.end() : meta.end() + 65_536].decode("utf-8", "replace"))
            contents.meta = value if isinstance(value, dict) else None
        except ValueError:
            pass
    if contents.meta is None:
        contents.damage.append(Damage(path, 1, "its meta table cannot be read: a new secret is made"))
    starts = list(_DOCUMENT.finditer(data))
    for position, found in enumerate(starts):
        end = starts[position + 1].start() if position + 1 < len(starts) else len(data)
        segment = data[found.end() : end]
        line = data.count(b"\n", 0, found.start()) + 1
        try:
            text = segment.decode("utf-8")
            document, used = decoder.raw_decode(text)
            if not _is_document(document) or not _TAIL.match(text[used:]):
                raise ValueError("it is followed by something other than the next record")
        except ValueError as exc:
            reason = "it is cut short" if end == len(data) else f"cannot be read ({str(exc)[:120]})"
            contents.damage.append(
                Damage(path, line, f"record {found.group(1).decode()} {reason}", legible_key(segment))
            )
            continue
        contents.documents.append((int(found.group(1)), document))
    if not data.rstrip().endswith(b"}}"):
        line = data.count(b"\n") + 1
        contents.damage.append(Damage(path, line, "the file ends early: records written after this point are lost"))
    return contents
