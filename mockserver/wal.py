"""The write-ahead log: one checksummed line per change, appended whole or not at all, in an unbroken sequence.

A line is `<crc32 of the JSON, 8 hex digits> <JSON>\\n`, so any damaged byte shows. A log of this format holds:

    {"log": "<database id>", "from": L}      its first line, the header: whose log it is, and the log sequence
                                             number (LSN) of its first change
    {"l": L, "seq": ..., "t", "c", "id", "r"}  a change; `l` is L, L+1, L+2, ... without a gap or a repeat
    {"void": <byte offset>, "next": L}       everything from that byte up to this line was a refused write (the
                                             disk refused both the write and the cut that should have undone it)

`read_log` checks what one file can tell: the header is first and only first, the changes follow each other
(a repeated, reordered or missing change is damage: a duplicated old line would otherwise undo a later update,
silently), every line has its checksum. What only the database can tell (the header names this database, the
first change follows the snapshot and the log before it) is checked by `mockserver/tinystore.py`.

A log with no header was written by a version before this format (a legacy log): its lines carry no `l`, and
lines with no checksum (`{...}`, from a version before checksums) are read as they are, counted in `unchecked`.
A legacy log is accepted only beside a legacy snapshot, and the first start folds it into a snapshot of this
format (see tinystore).

`LogWriter` appends through a raw file descriptor, never a buffer: a write that fails (a full disk, an I/O
error) leaves nothing behind in Python that a later flush could write after all, and the bytes it may have put
in the file are undone before anything else is written: cut off (the log is truncated back to its last whole
line), or, if the disk refuses the cut too, voided by a void line. A refused append never comes back.
`read_log` tells the lines it could not read from a torn last line, which a kill in the middle of a write leaves
and which was never acknowledged.
"""

from __future__ import annotations

import os
import re
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

_CHECKED = re.compile(rb"^([0-9a-f]{8}) (.*)$", re.DOTALL)
_KEY = re.compile(rb'"t":"([^"\\]{1,200})","c":"([^"\\]{1,200})","id":"([^"\\]{1,300})"')
_LSN = "l"


def encode(entry: dict[str, Any]) -> bytes:
    body = orjson.dumps(entry)
    return b"%08x %s\n" % (zlib.crc32(body), body)


def encode_all(changes: list[dict[str, Any]], first: int | None = None) -> bytes:
    """The lines of one append, numbered from LSN `first` (None: a legacy log's unnumbered lines); when there are
    several, each says its place among them (`"i"` of `"n"`), so that they count only whole."""
    numbered = changes if first is None else [{_LSN: first + i, **change} for i, change in enumerate(changes)]
    if len(numbered) == 1:
        return encode(numbered[0])
    return b"".join(encode({**change, "i": i, "n": len(numbered)}) for i, change in enumerate(numbered))


def header(database: str, first: int) -> bytes:
    return encode({"log": database, "from": first})


@dataclass(frozen=True)
class Damage:
    """Something stored that could not be read: where, and the record it held if that much is legible."""

    path: Path
    line: int
    reason: str
    record: str | None = None  # "tenant/collection/id"

    def __str__(self) -> str:
        what = f" (it held {self.record})" if self.record else ""
        return f"{self.path} line {self.line}: {self.reason}{what}"


def legible_key(raw: bytes) -> str | None:
    """The tenant, collection and id of a damaged change or snapshot document, when they can still be read."""
    found = _KEY.search(raw)
    return "/".join(part.decode("utf-8", "replace") for part in found.groups()) if found else None


@dataclass
class LogContents:
    header: dict[str, Any] | None = None  # {"log": database id, "from": LSN}; None: a legacy log (or none at all)
    exists: bool = False
    changes: list[dict[str, Any]] = field(default_factory=list)  # with their "l" in a log of this format
    damage: list[Damage] = field(default_factory=list)
    whole: int = 0  # bytes up to the end of the last whole line
    torn: int = 0  # bytes after it: a write cut short, never acknowledged
    last: int | None = None  # the LSN of the last whole change (or the header's `from` - 1)
    unchecked: int = 0  # lines without a checksum (legacy logs only)
    voided: int = 0  # void lines: refused writes the disk would not let be cut off
    torn_line: int = 0  # the number of the line the torn tail begins

    @property
    def database(self) -> str | None:
        return str(self.header["log"]) if self.header else None


def decode_line(line: bytes) -> tuple[dict[str, Any], bool]:
    """One log line as (entry, whether it carried a checksum); ValueError saying why it cannot be an entry."""
    checked = _CHECKED.match(line)
    if checked:
        body = checked.group(2)
        if int(checked.group(1), 16) != zlib.crc32(body):
            raise ValueError("its checksum does not match: the line was changed after it was written")
    elif line.startswith(b"{"):
        body = line
    else:
        raise ValueError("it is not a line of this log")
    try:
        entry = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"it is not valid JSON ({exc})") from None
    if not isinstance(entry, dict):
        raise ValueError("it is not a JSON object")
    if "log" in entry:
        if not (isinstance(entry["log"], str) and _is_lsn(entry.get("from"))):
            raise ValueError("it is a header without a database id and a first number (log, from)")
    elif "void" in entry:
        if not (_is_lsn(entry["void"]) and _is_lsn(entry.get("next"))):
            raise ValueError("it is a void line without its offset and next number (void, next)")
    elif not (
        type(entry.get("seq")) is int
        and all(isinstance(entry.get(k), str) for k in ("t", "c", "id"))
        and (entry.get("r") is None or isinstance(entry["r"], dict))
        and type(entry.get("n", 1)) is int
        and type(entry.get("i", 0)) is int
        and (_LSN not in entry or _is_lsn(entry[_LSN]))
    ):
        raise ValueError("it lacks the fields of a change (l, seq, t, c, id, r)")
    return entry, bool(checked)


def _is_lsn(value: Any) -> bool:
    return type(value) is int and 0 <= value < 2**62


@dataclass
class _Group:
    """The lines of one append of `size` lines, as they are read."""

    size: int
    line: int  # the number of its first line
    offset: int  # the byte its first line starts at
    last: int | None  # the LSN before its first change
    changes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    read: int = 0  # lines of it seen, readable or not
    damaged: bool = False


class _Reader:
    """Reads one log line by line, keeping each change and each damage with the byte it starts at (a void line
    takes back everything after its offset)."""

    def __init__(self, path: Path, data: bytes):
        self.path, self.data = path, data
        self.contents = LogContents(exists=True)
        self.changes: list[tuple[int, dict[str, Any]]] = []
        self.damage: list[tuple[int, Damage]] = []
        self.group: _Group | None = None
        self.last: int | None = None  # LSN of the last change read (None before the header, or in a legacy log)
        self.header_end = 0  # the byte after the header
        self.first_damaged = False  # the first line could not be read: it may have been the header
        self.appended = False  # a second header was read: what follows is another log's, not replayed
        self.skipped = 0  # unreadable lines since the last change read: the numbers they held are not a gap

    def broken(self, offset: int, line: int, reason: str, record: str | None = None) -> None:
        self.damage.append((offset, Damage(self.path, line, reason, record)))

    def read(self) -> LogContents:
        data, start, number = self.data, 0, 0
        while start < len(data):
            end = data.find(b"\n", start)
            number += 1
            if end < 0:
                break
            offset, line = start, data[start:end]
            start = end + 1
            if line.strip() and not self.appended:
                self.line(offset, number, line)
            if self.group is None:
                self.contents.whole = start
                self.contents.last = self.last
        if self.group is not None:  # the log ends inside a group: the append that wrote it never finished
            self.contents.whole = self.group.offset
            self.contents.last = self.group.last
        self.contents.torn = len(data) - self.contents.whole
        self.contents.torn_line = data.count(b"\n", 0, self.contents.whole) + 1
        self.contents.changes = [change for _, change in self.changes]
        self.contents.damage = [damage for _, damage in self.damage]
        return self.contents

    def line(self, offset: int, number: int, line: bytes) -> None:
        try:
            entry, checked = decode_line(line)
        except ValueError as exc:
            self.broken(offset, number, f"cannot be read: {exc}", legible_key(line))
            self.first_damaged = self.first_damaged or (not self.changes and len(self.damage) == 1)
            self.skipped += 1
            self.unreadable(offset, number)
            return
        if "log" in entry:
            self.header(offset, number, entry)
        elif "void" in entry:
            self.void(offset, number, entry)
        else:
            self.change(offset, number, entry, checked)

    def header(self, offset: int, number: int, entry: dict[str, Any]) -> None:
        if self.contents.header is None and not self.changes and not self.damage:
            self.contents.header, self.header_end = entry, offset + len(encode(entry))
            self.last = entry["from"] - 1
            return
        mine = self.contents.database
        whose = "this database's log" if entry["log"] == mine else f"another database's log (database {entry['log']})"
        self.broken(
            offset, number, f"is the start of {whose}, in the middle of this one: a log was appended, its lines are not"
        )
        self.end_group(offset, number)
        self.appended = True

    def void(self, offset: int, number: int, entry: dict[str, Any]) -> None:
        start = entry["void"]
        if self.contents.header is None or not self.header_end <= start <= offset:
            self.broken(offset, number, f"voids bytes from {start}, which is not a place in this log")
            return
        self.changes = [(o, c) for o, c in self.changes if o < start]
        self.damage = [(o, d) for o, d in self.damage if o < start]
        self.group = None
        self.last = entry["next"] - 1
        self.contents.voided += 1

    def change(self, offset: int, number: int, change: dict[str, Any], checked: bool) -> None:
        size, index = change.pop("n", 1), change.pop("i", 0)
        lsn = change.get(_LSN)
        if self.contents.header is None and lsn is not None and self.first_damaged and self.last is None:
            self.last = lsn - 1  # the header was the damaged first line: the changes after it still count
        if self.contents.header is None and self.last is None:
            if lsn is not None:
                self.broken(offset, number, "is a numbered change in a log with no header: the log's start is lost")
                return self.unreadable(offset, number)
            if not checked:
                self.contents.unchecked += 1
        else:
            if not checked:
                self.broken(offset, number, "has no checksum, which every line of this log has: it was edited")
                return self.unreadable(offset, number)
            if lsn is None:
                self.broken(offset, number, "has no sequence number (l), which every change of this log has")
                return self.unreadable(offset, number)
            assert self.last is not None
            if lsn <= self.last:
                self.broken(
                    offset,
                    number,
                    f"repeats change {lsn} of this log (the last one read was {self.last}): a duplicated or "
                    "reordered line, which would undo later changes",
                    f"{change['t']}/{change['c']}/{change['id']}",
                )
                return self.unreadable(offset, number)
            if lsn > self.last + 1 + self.skipped:
                missing = f"{self.last + 1}" if lsn == self.last + 2 else f"{self.last + 1} to {lsn - 1}"
                self.broken(offset, number, f"follows a gap: changes {missing} are missing (lines were removed)")
            self.last, self.skipped = lsn, 0
        group = self.group
        if group is not None and (size != group.size or index != group.read):
            self.broken(
                group.offset,
                group.line,
                f"holds {group.read} of the {group.size} changes of one request, which count only whole",
            )
            self.group = group = None
        if group is None and size > 1:
            if index != 0:
                self.broken(offset, number, "is a change of a request whose first lines are missing")
                return
            self.group = group = _Group(size, number, offset, None if lsn is None else lsn - 1)
        if group is None:
            self.changes.append((offset, change))
            return
        group.read += 1
        group.changes.append((offset, change))
        self.finish_group()

    def unreadable(self, offset: int, number: int) -> None:
        if self.group is not None:
            self.group.read += 1
            self.group.damaged = True  # the request's other changes go with it: stored whole or not at all
            self.finish_group()

    def end_group(self, offset: int, number: int) -> None:
        if self.group is not None:
            self.group.damaged = True
            self.group.read = self.group.size
            self.finish_group()

    def finish_group(self) -> None:
        group = self.group
        if group is None or group.read < group.size:
            return
        if not group.damaged:
            self.changes.extend(group.changes)
        elif group.changes:
            self.broken(
                group.offset,
                group.line,
                f"dropped with the damaged line: {len(group.changes)} other changes of its request",
            )
        self.group = None


def read_log(path: Path) -> LogContents:
    """Every change of a log, the lines that could not be read, and the length of a torn tail.

    The lines of one append (a batch request) count only whole: a kill in the middle of the append may have left
    some of them in the file, and none was acknowledged. Each such line says its place in the group (`"i"` of
    `"n"`). A group cut off by the end of the log belongs to the torn tail; a group with a damaged line, or cut
    off anywhere else, is damage, and none of its changes is kept.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return LogContents()
    return _Reader(path, data).read()


def create_log(path: Path, database: str, first: int) -> None:
    """A new, empty log holding only its header, put in place whole (written beside, synced, renamed over)."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        try:
            data = memoryview(header(database, first))
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        sync_directory(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def sync_directory(directory: Path) -> None:
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


class LogWriter:
    """Appends changes to a log, numbering them from `next_lsn`; a failed append is undone before the next one (cut
    off, or voided), so what the log holds is only whole, acknowledged changes in an unbroken sequence."""

    def __init__(self, path: Path, size: int, next_lsn: int, fsync: bool = False):
        self.path = path
        self.fsync = fsync
        self.size = size  # bytes of whole lines: what the log holds once any failed write is undone
        self.next_lsn = next_lsn  # the LSN of the next change appended
        self._dirty = False
        self._refused = next_lsn  # while dirty: the LSN after those a refused append may have left in the file
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.ftruncate(self._fd, size)  # a torn tail found when the log was read goes now

    @property
    def last_lsn(self) -> int:
        """The last LSN the file may hold: a snapshot that covers it leaves nothing of the log to replay."""
        return (self._refused if self._dirty else self.next_lsn) - 1

    @property
    def dirty(self) -> bool:
        """Whether a refused append may still be in the file (neither cut off nor voided yet)."""
        return self._dirty

    def append(self, changes: list[dict[str, Any]]) -> None:
        """Write `changes` (numbered) durably, or raise OSError having stored none of them."""
        if self._dirty:
            self.undo()
        data = encode_all(changes, self.next_lsn)
        self._dirty, self._refused = True, self.next_lsn + len(changes)
        try:
            self._write(data)
        except OSError:
            try:
                self.undo()
            except OSError:
                pass  # still dirty: undone before the next write, which fails until that succeeds
            raise
        self.size += len(data)
        self.next_lsn += len(changes)
        self._dirty = False

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        if self.fsync:
            os.fsync(self._fd)

    def undo(self) -> None:
        """Undo a refused append: cut the log back to its last whole line, or (if the disk refuses that too) append
        a void line that makes every byte since then count for nothing; OSError if both fail."""
        if not self._dirty:
            return
        try:
            os.ftruncate(self._fd, self.size)
        except OSError:
            # The cut is refused (an I/O error), yet an append may still land: the void line says what to skip.
            # It starts a line of its own, whatever half line the refused write left.
            self._write(b"\n" + encode({"void": self.size, "next": self._refused}))
            self.size = os.fstat(self._fd).st_size
            self.next_lsn = self._refused  # the refused numbers are spent: the void line says so
        self._dirty = False

    def close(self) -> None:
        if self._fd >= 0:
            try:
                self.undo()
            except OSError:
                pass  # the store folds past it, or the void line is missing: see TinyStore.close
            os.close(self._fd)
            self._fd = -1
