"""The request journal: what clients sent and what the mock answered, for client tests to verify.

Like WireMock's request log. Each API request (not the admin API) is recorded with its method, path, query,
tenant, operationId, request body, status and duration. The Authorization header is never recorded. The journal
keeps the most recent `capacity` entries, so a load test cannot exhaust memory.
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
        return raw[:MAX_BODY].decode("utf-8", "replace") + "…"
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


class Journal:
    def __init__(self, capacity: int = 10_000):
        self.capacity = capacity
        self._entries: deque[Entry] = deque(maxlen=capacity or None)
        self._seq = itertools.count(1)

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def record(self, **fields: Any) -> None:
        if self.enabled:
            self._entries.append(Entry(seq=next(self._seq), **fields))

    def clear(self) -> None:
        self._entries.clear()

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
