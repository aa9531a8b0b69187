"""The HTTP server around the mock: uvicorn, with bounds on slow clients, and every answer in the problem shape.

uvicorn closes idle keep-alive connections (after 5 s) but has no limit on how long a client may take to send a
request, nor on how many connections it holds: 200 clients trickling a byte at a time kept 200 connections, and
300 idle half-requests under a 256-descriptor limit left no descriptor for anyone else. `GuardedProtocol`, the
uvicorn HTTP protocol with the gaps closed, gives a connection

- `header_timeout` seconds (10) to send a request's line and headers, counted from when it connected or finished
  its previous request, and at most 64 KiB of them (414 for a longer URL, 431 for longer headers); bytes that
  start no request (the blank lines HTTP allows between requests) do not count as a request: a connection that
  sends only those is closed when the time is up, as an idle one is;
- `body_timeout` seconds (30) to send the body, counted from the end of the headers, and as long to take any of
  an answer it is sent (an answer it does not read at all is cut off, so it holds no descriptor for ever);
- a place among at most `max_connections` (by default what the open-file limit allows, at most 1000): at the
  limit, a new connection displaces the one that has waited longest without a request in flight, or is refused
  with 503 if every one is busy.

So every state of a connection has a time limit: connected, sending headers, sending a body, waiting between
requests (uvicorn's 5 s, or the header time when bytes keep coming), reading an answer. A request that runs out of
time is answered 408 and its connection closed; a request the HTTP parser cannot read is a 400. HTTP/1.1 and
HTTP/1.0 are served (another version is a 505), a request must name one `Host` (HTTP/1.1; at most one in 1.0) with
a valid value (else 400), and a body may come whole or `chunked`, no other transfer coding (501). All of them in
the problem shape, as every answer of the mock (uvicorn's own are text/plain).
"""

from __future__ import annotations

import asyncio
import re
import resource
import socket
import sys
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockserver.errors import problem_body
from mockserver.http_titles import title
from mockserver.settings import Settings

MAX_HEAD_BYTES = 65_536
HTTP_VERSIONS = ("1.1", "1.0")
# RFC 9110 uri-host [":" port]: a bracketed IP literal or a reg-name (empty allowed), then digits.
_HOST = re.compile(rb"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(:[0-9]*)?")
_RESERVED_FILES = 64  # descriptors kept for the database, the listener, logs and the compaction child


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` before anything else starts (the mock's and the recorder's), so that a busy port
    is a clear message rather than a late traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    listener.set_inheritable(True)
    return listener


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
        self._write_timer: asyncio.TimerHandle | None = None
        self._unread = 0  # bytes of answers buffered, at the last look of the write timer
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
            if self._body_pending:
                self._arm(self.body_timeout, self._body_late)
            elif self._began or self._waiting_since is not None:
                # A request arriving in parts, or bytes that begin none (blank lines): uvicorn's keep-alive timer
                # stops at any byte, so the time left since the connection waits for a request counts instead.
                since = self._waiting_since or time.monotonic()
                self._arm(max(0.0, since + self.header_timeout - time.monotonic()), self._headers_late)
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
        self._check_request_head()
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
        self._stop_write_timer()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        if self.transport.is_closing():
            return  # refused already (_stop), or gone
        error = sys.exc_info()[1]
        cause = error.__cause__ or error.__context__ if error else None
        reason = str(cause or error or msg)
        if "HTTP version" in reason:
            self._refuse(505, f"The mock speaks HTTP/1.1 and HTTP/1.0, not this request's version: {reason}")
            return
        self._refuse(400, f"The request is not valid HTTP/1.1 (or its URL is over 65,535 bytes): {reason}")

    def timeout_keep_alive_handler(self) -> None:
        self._close()

    # -- answers the client does not read -------------------------------------------------------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        self._watch_writes()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._stop_write_timer()

    def _watch_writes(self) -> None:
        self._stop_write_timer()
        self._unread = self.transport.get_write_buffer_size()
        self._write_timer = self.loop.call_later(self.body_timeout, self._writes_late)

    def _writes_late(self) -> None:
        """No byte of the buffered answers taken for `body_timeout` seconds: the client is not reading."""
        self._write_timer = None
        unread = self.transport.get_write_buffer_size()
        if unread and unread >= self._unread:
            self.transport.abort()
        elif unread:
            self._watch_writes()  # slow, but reading

    def _stop_write_timer(self) -> None:
        timer = getattr(self, "_write_timer", None)
        if timer is not None:
            timer.cancel()
            self._write_timer = None

    def _close(self) -> None:
        """Close; an answer still buffered gets `body_timeout` seconds to be read (close waits for it for ever)."""
        if not self.transport.is_closing():
            self.transport.close()
        if self.transport.get_write_buffer_size() and self._write_timer is None:
            self._watch_writes()

    # -- what a request's head must be --------------------------------------------------------------------------

    def _check_request_head(self) -> None:
        """Refuse a version, a Host or a transfer coding the mock does not serve, before the app sees the request."""
        version = self.parser.get_http_version()
        if version not in HTTP_VERSIONS:
            self._stop(505, f"The mock speaks HTTP/1.1 and HTTP/1.0, not HTTP/{version}")
        hosts = [value for name, value in self.headers if name == b"host"]
        if len(hosts) > 1:
            self._stop(400, f"The request names {len(hosts)} Host headers; it must name one (RFC 9112, 3.2)")
        if not hosts and version == "1.1":
            self._stop(400, "The request has no Host header; an HTTP/1.1 request must name one (RFC 9112, 3.2)")
        if hosts and not _HOST.fullmatch(hosts[0]):
            shown = hosts[0][:80].decode("latin-1")
            self._stop(400, f"The request's Host header {shown!r} is not a host name or address with a port")
        codings = [c.strip().lower() for n, v in self.headers if n == b"transfer-encoding" for c in v.split(b",")]
        if codings and codings != [b"chunked"]:
            shown = ", ".join(c.decode("latin-1") for c in codings)[:80]
            self._stop(
                501, f"The request's Transfer-Encoding '{shown}' is not supported: send the body whole or chunked"
            )

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
        self._timer = None
        if self._began:
            self._refuse(408, f"The request's headers did not arrive within {self.header_timeout:g} s")
        else:
            self._close()  # idle, or blank lines only: nothing to answer

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
            oldest._close()
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
            self._close()


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
