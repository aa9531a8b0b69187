"""ASGI pieces the mock's app and the validating recorder's share: answering the lifespan, and every error answer of
an inner app (a router's 404 or 405, a missing static file) in the problem shape."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.dispatch import answer
from mockserver.errors import PROBLEM_JSON, problem_body, server_error_parts

logger = logging.getLogger(__name__)


async def lifespan(receive: Receive, send: Send, shutdown: Callable[[], Awaitable[None]]) -> None:
    """Answer an ASGI lifespan: started at once; `shutdown()` runs before the shutdown is reported complete."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


class ProblemsOnly:
    """Every error answer of an inner app in the problem shape: Starlette's routers and static files answer their
    404s and 405s in plain text, and raise on a missing file; here those become problems with the same status."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        replaced: dict[str, Any] = {}

        async def send_problems(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = dict(message.get("headers", []))
                kind = headers.get(b"content-type", b"")
                if message["status"] >= 400 and not kind.startswith((PROBLEM_JSON.encode(), b"application/json")):
                    replaced["status"] = message["status"]
                    replaced["allow"] = headers.get(b"allow")
                    return
            elif message["type"] == "http.response.body" and replaced:
                if not message.get("more_body", False):
                    await _answer_problem(send, replaced["status"], scope, replaced["allow"])
                return
            await send(message)

        try:
            await self.app(scope, receive, send_problems)
        except HTTPException as exc:
            if not started:
                await _answer_problem(send, exc.status_code, scope, None)
        except Exception as exc:  # noqa: BLE001 - the problem shape, never a traceback
            logger.error("unhandled error answering %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
            if not started:
                await answer(send, *server_error_parts())


async def _answer_problem(send: Send, status: int, scope: Scope, allow: bytes | None) -> None:
    where = f"{scope.get('method')} {scope.get('path')}"
    detail = {404: f"Nothing is found at {scope.get('path')}", 405: f"{where} is not allowed"}.get(status, where)
    headers = {"Content-Type": PROBLEM_JSON, **({"Allow": allow.decode("latin-1")} if allow else {})}
    await answer(send, status, headers, problem_body(status, detail))
