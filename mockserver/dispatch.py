"""Serving the contract's operations: route, authenticate, validate, run the view, answer.

Each operation is connexion's `OpenAPIOperation`, its credentials are verified by connexion's security handlers
and its parameters parsed by connexion's URI parser (all through `mockserver/connexion_adapter.py`); parameters
and bodies are checked by `mockserver/validation.py`. What this module replaces is connexion's per-request
middleware chain, whose layers (two routers, security, validation, lifespan and context middlewares, parameter and
response decorators rebuilt per request) capped the mock at about a tenth of a bare Starlette endpoint; here each
operation's checks are prepared once and a request goes through them in one call. docs/benchmarks.md has the
measurements (Method).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Message, Receive, Scope, Send

from collect_contract.paths import Router
from mockserver.connexion_adapter import (
    ConnexionRequest,
    OpenAPIOperation,
    ProblemException,
    RepeatableArrayParser,
    SecurityHandlerFactory,
    verification,
)
from mockserver.errors import NotFoundProblem, ResponseProblem, StorageProblem, problem_parts, server_error_parts
from mockserver.resources import Caller
from mockserver.storage import StoreError
from mockserver.validation import BodyValidator, ClientDisconnected, ParamValidator, ReadValidator, schema_errors

logger = logging.getLogger(__name__)
View = Callable[..., tuple[Any, int, dict[str, str]]]
JSON = "application/json"


class _Bare:
    """What the checks read of a request that needs nothing parsed (no query, no body, plain path parameters)."""

    __slots__ = ("scope",)

    def __init__(self, scope: Scope):
        self.scope = scope


class Endpoint:
    """One operation, its checks prepared once.

    `bearer`: the check behind the operation's bearer scheme (`check(token, request=...)`, token info or None), when
    the operation accepts one alone. A request whose bearer token it accepts skips connexion's request object and
    security handlers (the common case, and most of what a GET by id costs beyond the bare endpoint); any other
    request, a refused token included, goes through connexion's, which answer as they always do.
    """

    def __init__(
        self,
        operation: OpenAPIOperation,
        view: View,
        security: SecurityHandlerFactory,
        validate_responses: bool = False,
        bearer: Callable[..., dict[str, Any] | None] | None = None,
    ):
        self.operation = operation
        self.view = view
        self.bearer = bearer
        self.parser = RepeatableArrayParser(operation.parameters, operation.body_definition())
        self.params = ParamValidator(operation.parameters)
        self.verify = verification(operation, security)
        self.body: BodyValidator | None = None
        if operation.request_body:
            self.body = BodyValidator(operation.body_schema(JSON), operation.request_body.get("required", False))
        self.responses = operation.responses if validate_responses else None

    def _accepted_bearer(self, scope: Scope) -> dict[str, Any] | None:
        """The token info of an accepted bearer token, else None (connexion's handlers then decide)."""
        if self.bearer is None:
            return None
        for name, value in scope["headers"]:
            if name == b"authorization":
                parts = value.decode("latin-1").split(None, 1)
                if len(parts) != 2 or parts[0].lower() != "bearer":
                    return None
                try:
                    return self.bearer(parts[1], request=_Bare(scope))
                except Exception:  # noqa: BLE001 - connexion's handlers raise the answer this deserves
                    return None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            request: Any = None
            info = self._accepted_bearer(scope)
            if info is None:
                request = ConnexionRequest(scope, receive, uri_parser=self.parser)
                if self.verify is not None:
                    await self.verify(request)
                info = request.context.get("token_info") or {}
            query = scope.get("query_string")
            if request is None and (query or self.body is not None or not self.params.plain):
                request = ConnexionRequest(scope, receive, uri_parser=self.parser)
            self.params.validate_request(request or _Bare(scope))
            params = dict(request.path_params if self.params.typed_path else scope["path_params"])
            if query:
                params.update(request.query_params)
            if self.body is not None:
                params["body"] = await self.body.read(request, receive)
            caller = Caller(tenant=str(params.get("tenantId", "")), user=str(info.get("sub", "anonymous")))
            body, status, headers = self.view(caller, **params)
            if self.responses is not None:
                self._check_response(status, body)
        except ProblemException as exc:
            await answer(send, *problem_parts(exc))
            return
        except StoreError as exc:
            await answer(send, *problem_parts(StorageProblem(f"The mock could not store this change: {exc}")))
            return
        except ClientDisconnected:
            return  # nobody to answer; the body never arrived whole, so nothing was done with it
        except Exception as exc:  # noqa: BLE001 - a 500 in the contract's shape, never a traceback
            logger.error("unhandled error in %s", self.operation.operation_id, exc_info=exc)
            await answer(send, *server_error_parts())
            return
        if body is None:
            await answer(send, status, headers, b"")
        else:
            data = orjson.dumps(body)
            await answer(send, status, {"Content-Type": JSON, **headers}, data)

    def _check_response(self, status: int, body: Any) -> None:
        """With --validate-responses: a body that breaks the contract is the mock's bug, answered as a 500."""
        schema = (((self.responses or {}).get(str(status)) or {}).get("content") or {}).get(JSON, {}).get("schema")
        if schema is None or body is None:
            return
        body = orjson.loads(orjson.dumps(body))  # records may be embedded as stored (orjson.Fragment)
        errors = schema_errors(ReadValidator, schema, body)
        if errors:
            raise ResponseProblem(f"The mock's {status} answer breaks the contract: {errors[0]}")


@dataclass(frozen=True)
class Route:
    """Where a request goes: its endpoint and path parameters, or the methods its path allows instead."""

    endpoint: Endpoint | None
    params: dict[str, str]
    allowed: tuple[str, ...] = ()

    @property
    def operation_id(self) -> str | None:
        return self.endpoint.operation.operation_id if self.endpoint else None

    @property
    def tenant(self) -> str | None:
        return self.params.get("tenantId")


class Dispatcher:
    """The ASGI app of the contract's operations."""

    def __init__(self, endpoints: dict[tuple[str, str], Endpoint]):
        self.endpoints = endpoints
        self.router = Router({template for template, _ in endpoints})  # the contract's router, one for all

    def route(self, scope: Scope) -> Route:
        """Route a request once; the result rides in the scope for the layers around the dispatcher."""
        found = scope.get(ROUTE)
        if found is None:
            method = scope["method"].lower()
            method = "get" if method == "head" else method  # HEAD is a GET without the body (RFC 9110 9.3.2)
            allowed: tuple[str, ...] = ()
            for template, params in self.router.match(scope["path"]):
                endpoint = self.endpoints.get((template, method))
                if endpoint is not None:
                    found = Route(endpoint, params)
                    break
                # A less specific path may still take the method (GET /batches/t/batch reads batch "batch"); if
                # none does, the answer names the methods of the most specific path.
                allowed = allowed or _allowed({m for (t, m) in self.endpoints if t == template})
            else:
                found = Route(None, {}, allowed)
            scope[ROUTE] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.route(scope)
        if route.endpoint is not None:
            scope["path_params"] = route.params
            await route.endpoint(scope, receive, _without_body(send) if scope["method"] == "HEAD" else send)
        elif route.allowed:
            allowed = ", ".join(route.allowed)
            detail = f"{scope['method']} is not allowed on {scope['path']}; allowed: {allowed}"
            status, headers, body = problem_parts(
                ProblemException(status=405, title="Method Not Allowed", detail=detail)
            )
            await answer(send, status, {**headers, "Allow": allowed}, body)
        else:
            problem = NotFoundProblem(f"No operation of the contract has the path {scope['path']}")
            await answer(send, *problem_parts(problem))


ROUTE = "mockserver.route"


def _allowed(methods: set[str]) -> tuple[str, ...]:
    return tuple(sorted({m.upper() for m in methods} | ({"HEAD"} if "get" in methods else set())))


def _without_body(send: Send) -> Send:
    """The answer to HEAD: the GET's status and headers (its Content-Length included), no body."""

    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_head


async def answer(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    raw = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


__all__ = ["Dispatcher", "Endpoint", "answer"]
