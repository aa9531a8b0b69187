"""An ASGI wrapper that sends every API request through the active defect before and after the mock."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from collect_contract import Contract, Operation


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def with_json(self, value: Any) -> Request:
        body = json.dumps(value).encode()
        headers = tuple((k, v) for k, v in self.headers if k.lower() != b"content-length")
        return replace(self, body=body, headers=(*headers, (b"content-length", str(len(body)).encode())))

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)

    def with_query(self, query: list[tuple[str, str]]) -> Request:
        return replace(self, query=tuple(query))

    def header(self, name: str) -> str | None:
        return next((v.decode() for k, v in self.headers if k.lower() == name.lower().encode()), None)

    def with_header(self, name: str, value: str) -> Request:
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower().encode())
        return replace(self, headers=(*kept, (name.lower().encode(), value.encode())))


@dataclass
class Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def with_json(self, value: Any, status: int | None = None) -> Response:
        body = json.dumps(value).encode()
        headers = [(k, v) for k, v in self.headers if k.lower() != b"content-length"]
        return Response(status or self.status, [*headers, (b"content-length", str(len(body)).encode())], body)

    def with_status(self, status: int) -> Response:
        return Response(status, self.headers, self.body)

    def header(self, name: str) -> str | None:
        return next((v.decode() for k, v in self.headers if k.lower() == name.lower().encode()), None)

    def with_header(self, name: str, value: str | None) -> Response:
        kept = [(k, v) for k, v in self.headers if k.lower() != name.lower().encode()]
        return Response(
            self.status, kept + ([(name.lower().encode(), value.encode())] if value is not None else []), self.body
        )


@dataclass
class Call:
    """One request through a defect: what it asks, which operation it is, and how to reach the mock."""

    app: DefectiveApp
    request: Request
    operation: Operation | None
    params: dict[str, str]
    scope: dict[str, Any] = field(repr=False)
    memory: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.operation.kind if self.operation else ""

    @property
    def collection(self) -> str:
        return (self.operation.collection or "") if self.operation else ""

    async def forward(self, request: Request | None = None) -> Response:
        return await self.app.forward(self.scope, request or self.request)

    @property
    def state(self) -> Any:
        return self.app.mock.state


class DefectiveApp:
    """The mock, with at most one defect switched on (`app.defect = DEFECTS[name]`)."""

    def __init__(self, mock: Any, contract: Contract, token: str, tenant: str, other_tenant: str):
        self.mock, self.contract = mock, contract
        self.token, self.tenant, self.other_tenant = token, tenant, other_tenant
        self.defect: Any = None
        self.memory: dict[str, Any] = {}

    def switch(self, defect: Any) -> None:
        self.defect, self.memory = defect, {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.defect is None or scope["path"].startswith("/_mock/"):
            await self.mock(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = tuple(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        request = Request(scope["method"], scope["path"], query, tuple(scope["headers"]), body)
        found = self.contract.match(request.method, request.path)
        operation, params = found if found else (None, {})
        response = await self.defect.apply(Call(self, request, operation, params, scope, self.memory))
        await send({"type": "http.response.start", "status": response.status, "headers": response.headers})
        await send({"type": "http.response.body", "body": response.body})

    async def forward(self, original: dict[str, Any], request: Request) -> Response:
        scope = dict(original)
        scope.update(
            method=request.method,
            path=request.path,
            raw_path=request.path.encode(),
            query_string=urlencode(request.query).encode(),
            headers=list(request.headers),
        )
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": request.body, "more_body": False}

        result = Response(500, [], b"")

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                result.status, result.headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                result.body += message.get("body", b"")

        await self.mock(scope, receive, send)
        return result
