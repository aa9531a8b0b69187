"""The request journal: what clients sent and what the mock answered, for client tests to verify.

Like WireMock's request log. Each API request (not the admin API) is recorded with its method, path, query,
tenant, operationId, request body, status and duration. The Authorization header is never recorded. The journal
keeps the most recent entries, at most `capacity` of them and at most `max_bytes` of answer: each entry is
counted by the most it can take in `GET /_mock/journal`'s answer (`Entry.size`), not by what it keeps, because a
body of 64 KiB of control characters takes six times as much as JSON text. So a client without a token sending
huge or binary refused requests cannot fill the memory, nor make the answer larger than `max_bytes`; and `answer`
holds to that bound whatever it is given, leaving out the oldest entries (and saying how many) rather than
passing it. Each entry keeps at most 2 KiB of path and of query and 64 KiB of body; what was cut is marked so.

A body is shown as JSON when it is JSON the mock accepts (`validation.parse_json`: no `NaN`, no nesting past 32
levels, no lone surrogate, no field named twice), and as text otherwise, so the answer is always valid JSON.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import orjson

from mockserver.errors import MockProblem
from mockserver.faults import METHODS
from mockserver.validation import parse_json

MAX_BODY = 65_536
MAX_TEXT = 2_048  # of a path or a query string
ENTRY_OVERHEAD = 256  # bytes an entry takes in the answer beyond its path, query, tenant, operation and body
CUT = "…"
_ESCAPED_LONG = bytes(range(32))  # written \u00XX (at most six bytes for one)
_HIGH = bytes(range(128, 256))
# The query of `GET /_mock/journal` (the mock's and the validating recorder's): `find`'s filters.
QUERY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "method": {"type": "string", "enum": [*METHODS, *(m.lower() for m in METHODS)]},
        "path": {"type": "string", "maxLength": 2048},
        "tenant": {"type": "string", "maxLength": 2048},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "operation": {"type": "string", "maxLength": 200},
        "limit": {"type": "integer", "minimum": 1},
    },
}


def clipped(text: str) -> str:
    return text if len(text) <= MAX_TEXT else f"{text[:MAX_TEXT]}{CUT}({len(text)} characters)"


def shown_size(data: bytes) -> int:
    """At most how many bytes `data` takes in the answer, as JSON text or as a JSON string: escaped characters take
    up to six bytes, and each byte that is not UTF-8 three (U+FFFD)."""
    control = len(data) - len(data.translate(None, _ESCAPED_LONG))
    size = len(data) + 2 + data.count(b'"') + data.count(b"\\") + 5 * control
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            size += 2 * (len(data) - len(data.translate(None, _HIGH)))
    return size


def _shown_text_size(text: str) -> int:
    """`shown_size` of a text; the common case (plain ASCII, nothing escaped) without encoding it: it runs for every
    request."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return len(text) + 2
    return shown_size(text.encode("utf-8", "replace"))


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
    body: bytes = field(default=b"")  # as received (at most 64 KiB + 1); decoded when shown, not per request

    @cached_property
    def size(self) -> int:
        """The most this entry can take in the journal's answer."""
        texts = (self.path, self.query, self.tenant or "", self.operation_id or "", self.method)
        return ENTRY_OVERHEAD + sum(map(_shown_text_size, texts)) + (shown_size(self.body) if self.body else 2)

    def as_dict(self) -> dict[str, Any]:
        data = self._head()
        data["body"] = decode_body(self.body)
        return data

    def rendered(self) -> bytes:
        """The entry as JSON in the answer; a JSON body as it was sent (no number rewritten, nothing re-escaped)."""
        try:
            head = orjson.dumps(self._head())
        except (orjson.JSONEncodeError, TypeError):  # a path a client sent with a lone surrogate escape
            head = json.dumps(self._head()).encode()
        accepted, _ = _json_value(self.body)
        body = self.body if accepted else orjson.dumps(decode_body(self.body))
        return head[:-1] + b',"body":' + body + b"}"

    def _head(self) -> dict[str, Any]:
        data = asdict(self)
        del data["body"]
        data["at"] = datetime.fromtimestamp(self.at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return data


def _json_value(raw: bytes) -> tuple[bool, Any]:
    """(True, its value) for a body that is JSON the mock accepts, (False, None) for any other."""
    if not raw or len(raw) > MAX_BODY:
        return False, None
    try:
        return True, parse_json(raw)
    except MockProblem:
        return False, None


def decode_body(raw: bytes) -> Any:
    """The request body's JSON value if the mock would accept it as JSON, its text otherwise (a body cut at 64 KiB
    is text); None for no body."""
    if not raw:
        return None
    if len(raw) > MAX_BODY:
        return raw[:MAX_BODY].decode("utf-8", "replace") + CUT
    accepted, value = _json_value(raw)
    return value if accepted else raw.decode("utf-8", "replace")


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

    def answer_query(self, query: Mapping[str, Any]) -> bytes:
        """The answer of `GET /_mock/journal` to `query` (checked against `QUERY`)."""
        q = query
        return self.answer(
            self.find(
                q.get("method"), q.get("path"), q.get("tenant"), q.get("status"), q.get("operation"), q.get("limit")
            )
        )

    def answer(self, entries: list[Entry]) -> bytes:
        """`{"count", "omitted", "entries"}` as JSON of at most `max_bytes` (and a few for its frame): the newest of
        `entries` that fit, oldest first; `omitted` says how many older ones were left out."""
        shown: list[bytes] = []
        size = 0
        for entry in reversed(entries):
            rendered = entry.rendered()
            if size + len(rendered) + 1 > self.max_bytes:
                break
            shown.append(rendered)
            size += len(rendered) + 1
        shown.reverse()
        omitted = len(entries) - len(shown)
        return b'{"count":%d,"omitted":%d,"entries":[%s]}' % (len(shown), omitted, b",".join(shown))
