"""The write-ahead log: one checksummed line per change, appended whole or not at all.

A line is `<crc32 of the JSON, 8 hex digits> <JSON>\\n`. The checksum makes any damaged byte visible: a line
whose checksum does not match was changed after it was written. Lines without one (`{...}`, written before
checksums were added) are read as they are.

`LogWriter` appends through a raw file descriptor, never a buffer: a write that fails (a full disk, an I/O
error) leaves nothing behind in Python that a later flush could write after all, and the bytes it may have put
in the file are cut off again (the log is truncated back to its last whole line) before anything else is
written. `read_log` reads a log back, telling the lines it could not read from a torn last line, which a kill in
the middle of a write leaves and which was never acknowledged.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

_CHECKED = re.compile(rb"^([0-9a-f]{8}) (.*)$", re.DOTALL)
_KEY = re.compile(rb'"t":"([^"\\]{1,200})","c":"([^"\\]{1,200})","id":"([^"\\]{1,300})"')


def encode(change: dict[str, Any]) -> bytes:
    body = orjson.dumps(change)
    return b"%08x %s\n" % (zlib.crc32(body), body)


def encode_all(changes: list[dict[str, Any]]) -> bytes:
    """The lines of one append; when there are several, each says its place among them (`"i"` of `"n"`), so that
    they count only whole."""
    if len(changes) == 1:
        return encode(changes[0])
    return b"".join(encode({**change, "i": i, "n": len(changes)}) for i, change in enumerate(changes))


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
    changes: list[dict[str, Any]] = field(default_factory=list)
    damage: list[Damage] = field(default_factory=list)
    whole: int = 0  # bytes up to the end of the last whole line
    torn: int = 0  # bytes after it: a write cut short, never acknowledged


def decode_line(line: bytes) -> dict[str, Any]:
    """One log line as a change; ValueError saying why it cannot be one."""
    checked = _CHECKED.match(line)
    if checked:
        body = checked.group(2)
        if int(checked.group(1), 16) != zlib.crc32(body):
            raise ValueError("its checksum does not match: the line was changed after it was written")
    elif line.startswith(b"{"):
        body = line
    else:
        raise ValueError("it is not a change of this log")
    try:
        change = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"it is not valid JSON ({exc})") from None
    if not (
        isinstance(change, dict)
        and type(change.get("seq")) is int
        and all(isinstance(change.get(k), str) for k in ("t", "c", "id"))
        and (change.get("r") is None or isinstance(change["r"], dict))
        and type(change.get("n", 1)) is int
        and type(change.get("i", 0)) is int
    ):
        raise ValueError("it lacks the fields of a change (seq, t, c, id, r)")
    return change


@dataclass
class _Group:
    """The lines of one append of `size` lines, as they are read."""

    size: int
    line: int  # the number of its first line
    offset: int  # the byte its first line starts at
    changes: list[dict[str, Any]] = field(default_factory=list)
    read: int = 0  # lines of it seen, readable or not
    damaged: bool = False


def read_log(path: Path) -> LogContents:
    """Every change of a log, the lines that could not be read, and the length of a torn tail.

    The lines of one append (a batch request) count only whole: a kill in the middle of the append may have left
    some of them in the file, and none was acknowledged. Each such line says its place in the group (`"i"` of
    `"n"`). A group cut off by the end of the log belongs to the torn tail; a group with a damaged line, or cut
    off anywhere else, is damage, and none of its changes is kept.
    """
    contents = LogContents()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return contents
    start, number = 0, 0
    group: _Group | None = None

    def broken(reason: str, line: int) -> None:
        contents.damage.append(Damage(path, line, reason))

    while start < len(data):
        end = data.find(b"\n", start)
        number += 1
        if end < 0:
            break
        line_start, line = start, data[start:end]
        start = end + 1
        if not line.strip():
            continue
        try:
            change = decode_line(line)
        except ValueError as exc:
            contents.damage.append(Damage(path, number, f"cannot be read: {exc}", legible_key(line)))
            change = None
        size, index = (change.pop("n", 1), change.pop("i", 0)) if change is not None else (0, -1)
        if group is not None and change is not None and (size != group.size or index != group.read):
            broken(f"holds {group.read} of the {group.size} changes of one request, which count only whole", group.line)
            group = None
        if group is None and change is not None and size > 1:
            if index != 0:
                broken("is a change of a request whose first lines are missing", number)
                contents.whole = start
                continue
            group = _Group(size, number, line_start)
        if group is None:
            if change is not None:
                contents.changes.append(change)
            contents.whole = start
            continue
        group.read += 1
        if change is None:
            group.damaged = True  # the request's other changes go with it: stored whole or not at all
        else:
            group.changes.append(change)
        if group.read == group.size:
            if not group.damaged:
                contents.changes.extend(group.changes)
            elif group.changes:
                broken(f"dropped with the damaged line: {len(group.changes)} other changes of its request", group.line)
            group = None
            contents.whole = start
    if group is not None:  # the log ends inside a group: the append that wrote it never finished
        contents.whole = group.offset
    contents.torn = len(data) - contents.whole
    return contents


class LogWriter:
    """Appends lines to a log; a failed append is undone before the next one, so the log only holds whole lines."""

    def __init__(self, path: Path, size: int, fsync: bool = False):
        self.path = path
        self.fsync = fsync
        self.size = size  # bytes of whole lines: what the log holds once any failed write is cut off
        self._dirty = False
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.ftruncate(self._fd, size)  # a torn tail found when the log was read goes now

    def append(self, data: bytes) -> None:
        """Write `data` (whole lines) durably, or raise OSError having written none of it."""
        if self._dirty:
            self._cut()
        self._dirty = True
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            if self.fsync:
                os.fsync(self._fd)
        except OSError:
            try:
                self._cut()
            except OSError:
                pass  # still dirty: cut again before the next write, which fails until the cut succeeds
            raise
        self.size += len(data)
        self._dirty = False

    def _cut(self) -> None:
        os.ftruncate(self._fd, self.size)
        self._dirty = False

    def reset(self) -> None:
        """Empty the log: what it held is in a snapshot now."""
        os.ftruncate(self._fd, 0)
        self.size, self._dirty = 0, False

    def close(self) -> None:
        if self._fd >= 0:
            if self._dirty:
                try:
                    self._cut()
                except OSError:
                    pass  # the next start drops the torn tail
            os.close(self._fd)
            self._fd = -1
