"""`ProxyApp`: the validating recorder as an ASGI app. Every request outside `/_mock/` is forwarded to the
upstream deployment with one pooled `httpx.AsyncClient`, and its answer streamed back as it arrives, bytes
unchanged (the raw bytes, Content-Encoding and all); a copy goes to the checker thread once the answer is sent.

    /_mock/health          liveness and counts (no token needed)
    /_mock/journal         what was forwarded, as the mock's journal API (GET with its filters, DELETE)
    /_mock/drift           the drift seen so far: JSON, or ?format=markdown|html; DELETE forgets it
    /_mock/record          POST: write the recording now (with --record)

Every admin route but health needs `Authorization: Bearer <admin token>`.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import Message, Receive, Scope, Send

from collect_contract import SPEC_PATH
from collect_drift import DriftLog, DriftReport, as_dict, build, kinds_line
from collect_drift.report import markdown
from mockserver.app import load_specification
from mockserver.contract import Contract
from mockserver.errors import PROBLEM_JSON, problem_body
from mockserver.journal import Journal
from mockserver.proxy.checker import Checker
from mockserver.proxy.exchange import Observation
from mockserver.proxy.inspect import Inspector
from mockserver.proxy.recorder import Recorder
from mockserver.proxy.redact import Redaction
from mockserver.proxy.settings import ProxySettings

# Headers of one connection, not of the request or answer (RFC 9110 7.6.1), and the host, which is the upstream's.
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
     b"transfer-encoding", b"upgrade", b"host"}
)  # fmt: skip
DRAIN_SECONDS = 10.0
TITLE = "Validating recorder: the service against its contract"


class ProxyApp:
    def __init__(self, settings: ProxySettings):
        self.settings = settings
        contract = Contract.from_path(settings.spec_path)
        self.contract = contract
        self.redaction = Redaction(settings.redact)
        self.journal = Journal(settings.journal_size)
        self.drift = DriftLog()
        self.recorder = (
            Recorder(contract, settings.record, self.redaction, settings.base) if settings.record is not None else None
        )
        specification = load_specification(contract.spec, packaged=settings.spec_path == SPEC_PATH)
        inspector = Inspector(contract, specification)
        self.checker = Checker(inspector, self.journal, self.drift, self.redaction, self.recorder, settings.backlog)
        self.upstream = httpx.URL(settings.base)
        self.client: httpx.AsyncClient | None = None
        self.admin = admin_app(self)
        self.started = time.time()
        self._number = 0

    def http(self) -> httpx.AsyncClient:
        """One pooled client for every forwarded request, made in the serving loop; it adds no header of its
        own (no Accept-Encoding the client did not send), and follows no redirect (the client does)."""
        if self.client is None:
            self.client = httpx.AsyncClient(
                timeout=self.settings.timeout,
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                follow_redirects=False,
            )
            for name in ("accept", "accept-encoding", "user-agent"):
                self.client.headers.pop(name, None)
        return self.client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] != "http":
            return
        elif scope["path"].startswith("/_mock/"):
            await self.admin(scope, receive, send)
        else:
            await self.forward(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

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
        client = self.http()
        try:
            response = await client.send(
                client.build_request(scope["method"], url, headers=headers, content=body), stream=True
            )
        except httpx.HTTPError as exc:
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

    # -- what was seen --------------------------------------------------------------------------------------

    def report(self) -> DriftReport:
        counts = self.checker.counts
        facts = [
            ("Upstream", self.settings.base),
            ("Requests", f"{counts.forwarded} forwarded, {counts.checked} checked, {counts.unchecked} not checked "
                         f"(backlog or size), {counts.outside} outside the contract"),
            ("Since", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.started))),
            ("Reproductions", "read the credential from COLLECT_TOKEN"),
        ]  # fmt: skip
        drift = build(self.drift, self.contract.spec, title=TITLE, headline="", facts=facts)
        drift.headline = f"{'DRIFT' if drift.groups else 'NO DRIFT'}: {kinds_line(drift)}"
        return drift


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


def admin_app(proxy: ProxyApp) -> Router:
    token = proxy.settings.admin_token

    def guarded(endpoint: Any) -> Any:
        async def check(request: Request) -> Response:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.removeprefix("Bearer ").strip(), token):
                return _problem(401, "Unauthorized", "The admin API needs 'Authorization: Bearer <admin token>'")
            # What was forwarded before this call is in what it shows.
            await asyncio.to_thread(proxy.checker.drain, DRAIN_SECONDS)
            result: Response = await endpoint(request)
            return result

        return check

    async def health(_: Request) -> Response:
        counts = proxy.checker.counts
        return JSONResponse({"status": "ok", "upstream": proxy.settings.base, "forwarded": counts.forwarded,
                             "checked": counts.checked, "drift": proxy.drift.total})  # fmt: skip

    async def journal(request: Request) -> Response:
        if request.method == "DELETE":
            with proxy.checker.lock:
                proxy.journal.clear()
            return JSONResponse({"status": "cleared"})
        q = request.query_params
        try:
            status = int(q["status"]) if "status" in q else None
            limit = int(q["limit"]) if "limit" in q else None
        except ValueError:
            return _problem(400, "Bad Request", "Query parameters 'status' and 'limit' must be integers")
        with proxy.checker.lock:
            entries = proxy.journal.find(q.get("method"), q.get("path"), q.get("tenant"), status, q.get("operation"),
                                         limit)  # fmt: skip
        return JSONResponse({"count": len(entries), "entries": [e.as_dict() for e in entries]})

    async def drift(request: Request) -> Response:
        if request.method == "DELETE":
            proxy.drift.clear()
            return JSONResponse({"status": "cleared"})
        report = proxy.report()
        shape = request.query_params.get("format", "json")
        if shape in ("markdown", "md"):
            return Response(markdown(report), media_type="text/markdown; charset=utf-8")
        if shape == "html":
            from collect_drift.htmlpage import html_page

            return Response(html_page(report), media_type="text/html; charset=utf-8")
        if shape != "json":
            return _problem(400, "Bad Request", f"Query parameter 'format' is {shape!r}: one of json, markdown, html")
        return JSONResponse(as_dict(report))

    async def record(_: Request) -> Response:
        if proxy.recorder is None:
            return _problem(409, "Conflict", "Nothing is recorded: start the proxy with --record DIR")
        return JSONResponse(proxy.recorder.write())

    return Router(
        routes=[
            Route("/_mock/health", health, methods=["GET"]),
            Route("/_mock/journal", guarded(journal), methods=["GET", "DELETE"]),
            Route("/_mock/drift", guarded(drift), methods=["GET", "DELETE"]),
            Route("/_mock/record", guarded(record), methods=["POST"]),
        ]
    )


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)
