"""The HTTP server around the mock: uvicorn, with bounds on slow clients, and every answer in the problem shape.

uvicorn closes idle keep-alive connections (after 5 s) but has no limit on how long a client may take to send a
request, nor on how many connections it holds: 200 clients trickling a byte at a time kept 200 connections, and
300 idle half-requests under a 256-descriptor limit left no descriptor for anyone else. `GuardedProtocol`, the
uvicorn HTTP protocol with the gaps closed, gives a connection

- `header_timeout` seconds (10) to send a request's line and headers, counted from when it connected or finished
  its previous request, and at most 64 KiB of them (414 for a longer URL, 431 for longer headers);
- `body_timeout` seconds (30) to send the body, counted from the end of the headers;
- a place among at most `max_connections` (by default what the open-file limit allows, at most 1000): at the
  limit, a new connection displaces the one that has waited longest without a request in flight, or is refused
  with 503 if every one is busy.

A request that runs out of time is answered 408 and its connection closed; a request the HTTP parser cannot read
is a 400. All of them in the problem shape, as every answer of the mock (uvicorn's own are text/plain).
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockserver.errors import problem_body
from mockserver.http_titles import title
from mockserver.settings import Settings

MAX_HEAD_BYTES = 65_536
_RESERVED_FILES = 64  # descriptors kept for the database, the listener, logs and the compaction child


def connection_limit(settings: Settings) -> int:
    if settings.max_connections:
        return settings.max_connections
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(8, min(1000, soft - _RESERVED_FILES))


def raw_problem(status: int, detail: str, headers: dict[str, str] | None = None) -> bytes:
    """A complete HTTP/1.1 answer that closes the connection, for the protocol to write itself."""
    body = problem_body(status, detail)
    head = [
        f"HTTP/1.1 {status} {title(status)}",
        "content-type: application/problem+json",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class _Refused(Exception):
    """Raised in a parser callback after the answer is sent: httptools stops, uvicorn finds the connection closing."""


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol with time and room limits; `protocol_for(settings)` makes one with its numbers."""

    header_timeout = 10.0
    body_timeout = 30.0
    max_connections = 1000

    # Per request, the common case costs a few attribute checks: timers are armed only when a request arrives in
    # parts (headers or body still missing once a chunk is parsed), which a fast client never causes.

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0  # received while waiting for a request's headers (an upper bound of their size)
        self._began = False  # a request has started arriving; its headers have not ended
        self._body_pending = False  # its headers have ended; its body has not
        self._waiting_since: float | None = time.monotonic()  # None while a request is in flight
        if len(self.connections) > self.max_connections and not self._displace():
            detail = f"The mock serves at most {self.max_connections} connections at once and all are busy"
            self._refuse(503, f"{detail}: try again in a moment", {"retry-after": "1"})
            return
        # A connection that never sends a byte: uvicorn's keep-alive timer only starts after a first request.
        self._arm(self.header_timeout, self._headers_late)

    def data_received(self, data: bytes) -> None:
        if self._waiting_since is not None:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._timer is None:
            if self._began:
                self._arm(self.header_timeout, self._headers_late)
            elif self._body_pending:
                self._arm(self.body_timeout, self._body_late)
        # Still no end of the headers after all of this: the parser keeps what it has read, so it is bounded here.
        if self._waiting_since is not None and self._head_bytes > MAX_HEAD_BYTES:
            if self.headers:
                self._refuse(431, f"The request's headers are longer than {MAX_HEAD_BYTES} bytes")
            else:
                self._refuse(414, f"The request's URL is longer than {MAX_HEAD_BYTES} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._began = True

    def on_headers_complete(self) -> None:
        if self._timer is not None:
            self._cancel()
        if self._head_bytes > MAX_HEAD_BYTES:  # what was received may be over the limit: measure what was parsed
            if len(self.url) > MAX_HEAD_BYTES:
                self._stop(414, f"The request's URL is longer than {MAX_HEAD_BYTES} bytes")
            if len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers) > MAX_HEAD_BYTES:
                self._stop(431, f"The request's headers are longer than {MAX_HEAD_BYTES} bytes")
        self._began, self._body_pending, self._waiting_since, self._head_bytes = False, True, None, 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._body_pending = False
        if self._timer is not None:
            self._cancel()
        super().on_message_complete()
        if self.cycle is not None and self.cycle.response_complete:
            self._waiting_since = time.monotonic()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # the next request starts now: still in flight
        super().on_response_complete()
        if not self._body_pending and not pipelined:
            self._waiting_since = time.monotonic()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        if self.transport.is_closing():
            return  # refused already (_stop), or gone
        error = sys.exc_info()[1]
        cause = error.__cause__ or error.__context__ if error else None
        reason = str(cause or error or msg)
        self._refuse(400, f"The request is not valid HTTP/1.1 (or its URL is over 65,535 bytes): {reason}")

    # -- the limits ---------------------------------------------------------------------------------------------

    def _arm(self, seconds: float, callback: Any) -> None:
        self._cancel()
        self._timer = self.loop.call_later(seconds, callback)

    def _cancel(self) -> None:
        timer = getattr(self, "_timer", None)
        if timer is not None:
            timer.cancel()
            self._timer = None

    def _headers_late(self) -> None:
        if self._began:
            self._refuse(408, f"The request's headers did not arrive within {self.header_timeout:g} s")
        else:
            self.transport.close()  # idle: nothing to answer

    def _body_late(self) -> None:
        cycle = self.cycle
        if cycle is None or cycle.response_started:
            self.transport.close()
            return
        cycle.disconnected = True  # the application's receive() now reports a disconnect: it stores nothing
        cycle.message_event.set()
        self._refuse(408, f"The request's body did not arrive within {self.body_timeout:g} s")

    def _displace(self) -> bool:
        """Close the connection that has waited longest for a request, to make room; False if all are busy."""
        waiting = [
            c
            for c in self.connections
            if c is not self and isinstance(c, GuardedProtocol) and getattr(c, "_waiting_since", None) is not None
        ]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda c: c._waiting_since or 0.0)
        if oldest._began:
            oldest._refuse(408, "The request's headers were too slow while the mock was at its connection limit")
        else:
            oldest.transport.close()
        oldest.connections.discard(oldest)
        return True

    def _stop(self, status: int, detail: str) -> None:
        """Refuse from inside a parser callback, and stop the parser reading any further."""
        self._refuse(status, detail)
        raise _Refused(detail)

    def _refuse(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        self._cancel()
        if not self.transport.is_closing():
            self.transport.write(raw_problem(status, detail, headers))
            self.transport.close()


def protocol_for(settings: Settings) -> type[GuardedProtocol]:
    """The protocol class with this server's limits."""
    return type(
        "GuardedProtocol",
        (GuardedProtocol,),
        {
            "header_timeout": settings.header_timeout,
            "body_timeout": settings.body_timeout,
            "max_connections": connection_limit(settings),
        },
    )


def uvicorn_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for the mock: its protocol, and a clean stop that waits at most 5 s for requests."""
    return uvicorn.Config(app, http=protocol_for(settings), timeout_graceful_shutdown=5, **options)
