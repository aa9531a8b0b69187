"""The request journal: what clients sent and what the mock answered, for client tests to verify.

Like WireMock's request log. Each API request (not the admin API) is recorded with its method, path, query,
tenant, operationId, request body, status and duration. The Authorization header is never recorded. The journal
keeps the most recent entries, at most `capacity` of them and at most `max_bytes` of paths, queries and bodies
together: a client without a token sending huge refused requests cannot fill the memory, nor make
`GET /_mock/journal` build an answer of hundreds of megabytes. Each entry keeps at most 2 KiB of path and of query
and 64 KiB of body; what was cut is marked so.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

MAX_BODY = 65_536
MAX_TEXT = 2_048  # of a path or a query string
ENTRY_OVERHEAD = 200  # bytes an entry costs beyond its path, query and body
CUT = "…"


def clipped(text: str) -> str:
    return text if len(text) <= MAX_TEXT else f"{text[:MAX_TEXT]}{CUT}({len(text)} characters)"


@dataclass(frozen=True)
class Entry:
    seq: int
    at: float  # epoch seconds; shown as ISO 8601 (formatting it per request would cost more than recording)
    method: str
    path: str
    query: str
    tenant: str | None
    operation_id: str | None
    status: int
    duration_ms: float
    body: bytes = b""  # as received (at most 64 KiB); decoding it per request would cost more than recording

    @property
    def size(self) -> int:
        return len(self.path) + len(self.query) + len(self.body) + ENTRY_OVERHEAD

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["body"] = decode_body(self.body)
        data["at"] = datetime.fromtimestamp(self.at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return data


def decode_body(raw: bytes) -> Any:
    """The JSON request body if it is one, its text otherwise; cut at 64 KiB."""
    if not raw:
        return None
    if len(raw) > MAX_BODY:
        return raw[:MAX_BODY].decode("utf-8", "replace") + CUT
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


class Journal:
    def __init__(self, capacity: int = 10_000, max_bytes: int = 32 * 1_048_576):
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: deque[Entry] = deque()
        self._seq = itertools.count(1)

    @property
    def enabled(self) -> bool:
        return self.capacity > 0 and self.max_bytes > 0

    def record(self, *, path: str, query: str, **fields: Any) -> None:
        if not self.enabled:
            return
        entry = Entry(seq=next(self._seq), path=clipped(path), query=clipped(query), **fields)
        self._entries.append(entry)
        self.bytes += entry.size
        while self._entries and (len(self._entries) > self.capacity or self.bytes > self.max_bytes):
            self.bytes -= self._entries.popleft().size

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0

    def find(
        self,
        method: str | None = None,
        path: str | None = None,
        tenant: str | None = None,
        status: int | None = None,
        operation_id: str | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        """Entries, oldest first, matching every filter given; `path` matches a prefix."""
        found: Iterable[Entry] = (
            e
            for e in self._entries
            if (method is None or e.method == method.upper())
            and (path is None or e.path.startswith(path))
            and (tenant is None or e.tenant == tenant)
            and (status is None or e.status == status)
            and (operation_id is None or e.operation_id == operation_id)
        )
        entries = list(found)
        return entries[-limit:] if limit else entries
