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
    ):
        raise ValueError("it lacks the fields of a change (seq, t, c, id, r)")
    return change


def read_log(path: Path) -> LogContents:
    """Every change of a log, the lines that could not be read, and the length of a torn tail."""
    contents = LogContents()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return contents
    start, number = 0, 0
    while start < len(data):
        end = data.find(b"\n", start)
        number += 1
        if end < 0:
            contents.torn = len(data) - start
            break
        line = data[start:end]
        start = end + 1
        contents.whole = start
        if not line.strip():
            continue
        try:
            contents.changes.append(decode_line(line))
        except ValueError as exc:
            contents.damage.append(Damage(path, number, f"cannot be read: {exc}", legible_key(line)))
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
