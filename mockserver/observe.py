"""The layer around the API: injected faults, the request journal and CORS headers.

It sits outside connexion so that it sees every API request, including those connexion refuses (401, 400),
and can answer an injected fault before any of the API's work is done.
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import Message, Receive, Scope, Send

from mockserver.dispatch import Dispatcher, answer
from mockserver.faults import Faults
from mockserver.journal import MAX_BODY, Journal

CORS = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    (b"access-control-allow-headers", b"Authorization, Content-Type"),
)


class ObservedApi:
    def __init__(self, api: Dispatcher, journal: Journal, faults: Faults):
        self.api, self.journal, self.faults = api, journal, faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.api(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        route = self.api.route(scope)
        tenant, operation_id = route.tenant, route.operation_id
        status = 500
        body = bytearray()

        async def recording_receive() -> Message:
            message = await receive()
            if self.journal.enabled and message["type"] == "http.request":
                body.extend(message.get("body", b"")[: max(0, MAX_BODY + 1 - len(body))])
            return message

        async def decorated_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", [])
                if any(name.lower().startswith(b"access-control-") for name, _ in headers):
                    present = {name.lower() for name, _ in headers}
                    message["headers"] = [*headers, *(h for h in CORS if h[0] not in present)]
                else:  # the common case: no CORS header of its own
                    message["headers"] = [*headers, *CORS]
            await send(message)

        try:
            if method == "OPTIONS" and _is_preflight(scope):
                # A browser asking whether it may call the API from another origin (Swagger UI elsewhere, a
                # front end in development): yes, with the CORS headers that every answer carries.
                await decorated_send({"type": "http.response.start", "status": 204, "headers": []})
                await decorated_send({"type": "http.response.body", "body": b""})
                return
            outcome = self.faults.decide(method, path, tenant, operation_id) if self.faults.rules else None
            if outcome and outcome.delay:
                await asyncio.sleep(outcome.delay)
            if outcome and outcome.status:
                await answer(decorated_send, outcome.status, outcome.headers, outcome.body)
            else:
                await self.api(scope, recording_receive, decorated_send)
        finally:
            self.journal.record(
                at=time.time(),
                method=method,
                path=path,
                query=scope.get("query_string", b"").decode("latin-1"),
                tenant=tenant,
                operation_id=operation_id,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                body=bytes(body),
            )


def _is_preflight(scope: Scope) -> bool:
    return any(name == b"access-control-request-method" for name, _ in scope.get("headers", []))
