"""`ProxyApp`: the validating recorder as an ASGI app. Every request outside `/_mock/` is forwarded to the
upstream deployment through pooled httpx clients, and its answer streamed back as it arrives, bytes unchanged
(the raw bytes, Content-Encoding and all); a copy then goes to the checker process (`mockserver.proxy.worker`).

    /_mock/health          liveness and counts (no token needed)
    /_mock/journal         what was forwarded, as the mock's journal API (GET with its filters, DELETE)
    /_mock/drift           the drift seen so far: JSON, or ?format=markdown|html; DELETE forgets it
    /_mock/record          POST: write the recording now (with --record)

The admin API is guarded as the mock's is, by the same code (`mockserver.admin_guard`): every route but health
needs `Authorization: Bearer <admin token>`, the published default token is honoured on loopback addresses only,
a request through a loopback address must name this machine in its `Host` (DNS rebinding), no route answers a
web page of another origin, and each route's query is checked against its schema. The journal's answer is
bounded as the mock's is (`Journal.answer`): its journal holds what clients sent to a real deployment.

Upstream requests are spread over a few `httpx.AsyncClient`s ("lanes"), each with a small pool, the least busy
one first: one client's pool looks at every connection it holds on each request (and takes an AnyIO lock),
which made a single client fall to a third of its throughput at 32 concurrent requests on this machine (see
httpx issue #3215 and docs/drift.md). At low concurrency every request takes the first lane, so its
connections stay warm.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.admin_guard import Endpoint, Failures, guarded, json_response, problem
from mockserver.asgi import ProblemsOnly, lifespan
from mockserver.errors import PROBLEM_JSON, problem_body
from mockserver.journal import QUERY as JOURNAL_QUERY
from mockserver.proxy.exchange import Observation
from mockserver.proxy.settings import ProxySettings
from mockserver.proxy.worker import CheckerGone, CheckerProcess

# Headers of one connection, not of the request or answer (RFC 9110 7.6.1), and the host, which is the upstream's.
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
     b"transfer-encoding", b"upgrade", b"host"}
)  # fmt: skip
LANES, LANE_CONNECTIONS = 16, 2
DRIFT_QUERY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"format": {"type": "string", "enum": ["json", "markdown", "html"]}},
}
QUERIES = {("/_mock/journal", "GET"): JOURNAL_QUERY, ("/_mock/drift", "GET"): DRIFT_QUERY}
FAILURES: Failures = {CheckerGone: lambda exc: problem(503, str(exc))}


class ProxyApp:
    def __init__(self, settings: ProxySettings):
        self.settings = settings
        self.checker = CheckerProcess(settings)
        self.upstream = httpx.URL(settings.base)
        self.lanes: list[httpx.AsyncClient] = []
        self.busy: list[int] = []
        self.admin = admin_app(self)
        self._number = 0

    def lane(self) -> int:
        """The least busy lane (the first among equals), made on first use in the serving loop."""
        if not self.lanes:
            for _ in range(LANES):
                client = httpx.AsyncClient(
                    timeout=self.settings.timeout,
                    limits=httpx.Limits(max_connections=LANE_CONNECTIONS, max_keepalive_connections=LANE_CONNECTIONS),
                    follow_redirects=False,  # the client follows them, or not
                )
                for name in ("accept", "accept-encoding", "user-agent"):  # add no header the client did not send
                    client.headers.pop(name, None)
                self.lanes.append(client)
            self.busy = [0] * LANES
        return self.busy.index(min(self.busy))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, self.aclose)
        elif scope["type"] != "http":
            return
        elif scope["path"].startswith("/_mock/"):
            await self.admin(scope, receive, send)
        else:
            await self.forward(scope, receive, send)

    async def aclose(self) -> None:
        for client in self.lanes:
            await client.aclose()
        self.lanes, self.busy = [], []

    def close(self) -> None:
        """Stop the checker process (what it found is gone with it: ask for it first)."""
        self.checker.stop()

    # -- forwarding -----------------------------------------------------------------------------------------

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        self._number += 1
        number = self._number
        body = await _read_body(receive)
        raw_path = scope.get("raw_path") or scope["path"].encode("latin-1")
        query = scope.get("query_string", b"")
        url = self.upstream.copy_with(
            raw_path=self.upstream.raw_path.rstrip(b"/") + raw_path + (b"?" + query if query else b"")
        )
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        lane = self.lane()
        client = self.lanes[lane]
        self.busy[lane] += 1
        try:
            request = client.build_request(scope["method"], url, headers=headers, content=body)
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            self.busy[lane] -= 1
            detail = f"The upstream {self.settings.base} did not answer: {type(exc).__name__}: {exc}"
            data = problem_body(502, detail, "Bad Gateway")
            await _answer(send, 502, [(b"content-type", PROBLEM_JSON.encode())], data)
            self._submit(number, scope, body, 502, [("content-type", PROBLEM_JSON)], data, str(url), started, False)
            return
        captured = bytearray()
        truncated = False
        try:
            start: Message = {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP],
            }
            await send(start)
            held: bytes | None = None
            async for chunk in response.aiter_raw():
                if held is not None:
                    await send({"type": "http.response.body", "body": held, "more_body": True})
                held = chunk
                if not truncated:
                    captured += chunk
                    if len(captured) > self.settings.max_checked_body:
                        truncated, captured = True, bytearray()
            await send({"type": "http.response.body", "body": held or b"", "more_body": False})
        finally:
            await response.aclose()
            self.busy[lane] -= 1
        answer_headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw]
        self._submit(number, scope, body, response.status_code, answer_headers, bytes(captured), str(url), started,
                     truncated)  # fmt: skip

    def _submit(
        self, number: int, scope: Scope, body: bytes, status: int, headers: list[tuple[str, str]], data: bytes,
        url: str, started: float, truncated: bool,
    ) -> None:  # fmt: skip
        request_headers, credential = [], None
        for key, value in scope["headers"]:
            name = key.decode("latin-1")
            if name.lower() == "authorization":
                text = value.decode("latin-1")
                credential = "Bearer" if text.lower().startswith("bearer ") else ""
            else:
                request_headers.append((name, value.decode("latin-1")))
        self.checker.submit(
            Observation(
                number, time.time(), scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"),
                request_headers, credential, body, status, headers, data, url,
                round((time.perf_counter() - started) * 1000, 3), truncated,
            )
        )  # fmt: skip


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def admin_app(proxy: ProxyApp) -> ASGIApp:
    async def ask(command: str, *args: Any) -> Any:
        return await asyncio.to_thread(proxy.checker.ask, command, *args)

    def checked(endpoint: Endpoint, token: bool = True) -> Endpoint:
        return guarded(endpoint, proxy.settings, QUERIES, FAILURES, token)

    async def health(_: Request) -> Response:
        return json_response({"status": "ok", "upstream": proxy.settings.base, "forwarded": proxy.checker.forwarded})

    async def journal(request: Request) -> Response:
        if request.method == "DELETE":
            await ask("journal-clear")
            return json_response({"status": "cleared"})
        return Response(await ask("journal", request.state.query), media_type="application/json")

    async def drift(request: Request) -> Response:
        if request.method == "DELETE":
            await ask("drift-clear")
            return json_response({"status": "cleared"})
        shape = request.state.query.get("format", "json")
        found = await ask("drift", shape)
        if shape == "markdown":
            return Response(found, media_type="text/markdown; charset=utf-8")
        if shape == "html":
            return Response(found, media_type="text/html; charset=utf-8")
        return json_response(found)

    async def counts(_: Request) -> Response:
        return json_response(await ask("counts"))

    async def record(_: Request) -> Response:
        manifest = await ask("record")
        if manifest is None:
            return problem(409, "Nothing is recorded: start the proxy with --record DIR")
        return json_response(manifest)

    routes = [
        Route("/_mock/health", checked(health, token=False), methods=["GET"]),
        Route("/_mock/counts", checked(counts), methods=["GET"]),
        Route("/_mock/journal", checked(journal), methods=["GET", "DELETE"]),
        Route("/_mock/drift", checked(drift), methods=["GET", "DELETE"]),
        Route("/_mock/record", checked(record), methods=["POST"]),
    ]
    return ProblemsOnly(Router(routes=routes))  # a 404 or 405 of the router too is a problem
