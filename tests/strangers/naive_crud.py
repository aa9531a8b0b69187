"""A naive CRUD server in the spirit of json-server, on the contract's paths: a stranger nobody here would write.

What a developer gets who puts json-server (0.17, with a routes file) behind the Collect paths, and nothing more.
Every choice below is json-server's own, so that the suite meets what such a server really does:

- **Routes from the contract's paths only**: list, create, get, replace, patch and delete of a record; a lookup
  (`/batches/{tenantId}/status/{status}/{businessUnitId}`) is a filter on its fields that answers a bare array.
  Search, batch operations, warm-up, dependents and adjustments are not routed: 404 `{}`.
- **No tenancy**: the tenant segment is ignored; one store for every tenant.
- **No authentication**: any credential, or none, is served.
- **No validation**: any JSON object is stored as sent; a body that is not JSON is a 500 with the parser's stack
  as HTML (json-server 0.17.4 does exactly that).
- **Client ids**: a create keeps the id its body carries, and makes one up otherwise as json-server does: 1, 2, 3
  in a collection that starts empty, a random text id where the ids are text (a duplicate is a 500). A create
  answers 200 and the record (`create_status=201` is plain json-server).
- **Replace keeps the path's id** (the body's id is ignored); **PATCH merges** the body into the record as
  lodash's `assign` does (an array's items become fields "0", "1", ...).
- **No paging** (every record in one answer, no key), **no 409s** (references are never checked), no `sys_*`
  fields. Query parameters other than json-server's own (`_page`, `q`, ...) are equality filters.
- Unknown ids are 404 `{}` (application/json); a delete answers 200 `{}`.
- It starts with records of its own (`seed`), as json-server starts from a db.json.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from collect_contract import SPEC_PATH, Contract, Kind, Operation
from mockserver.testing import serve_app

ROUTED = frozenset({Kind.LIST, Kind.CREATE, Kind.GET, Kind.REPLACE, Kind.PATCH, Kind.DELETE, Kind.LOOKUP})


@dataclass
class NaiveCrud:
    """The ASGI app; `records` is the store (collection -> id as text -> record), `requests` what it received."""

    contract: Contract
    create_status: int = 200
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of every request, in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seed(self) -> dict[str, dict[str, Any]]:
        """json-server starts from a db.json: two records per collection (the contract's create example), which
        the suite did not create and must never write to. Returns them by id, as stored."""
        seeded = {}
        for resource in self.contract.resources.values():
            for number in (1, 2):
                record_id = f"{resource.collection}-example-{number}"
                seeded[record_id] = {**resource.create_example, "id": record_id}
                self.records.setdefault(resource.collection, {})[record_id] = dict(seeded[record_id])
        return seeded

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self.answer(request)
        await response(scope, receive, send)

    async def answer(self, request: Request) -> Response:
        with self.lock:
            self.requests.append((request.method, request.url.path))
        found = self.contract.match(request.method, request.url.path)
        if found is None or found[0].kind not in ROUTED:
            return JSONResponse({}, status_code=404)
        operation, params = found
        body: Any = None
        if request.method in ("POST", "PUT", "PATCH"):
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError as exc:  # body-parser's SyntaxError, through json-server's error handler
                return HTMLResponse(f"SyntaxError: {exc}\n    at JSON.parse (<anonymous>)", status_code=500)
        with self.lock:
            return self._serve(operation, params, dict(request.query_params), body)

    def _serve(self, operation: Operation, params: dict[str, str], query: dict[str, str], body: Any) -> Response:
        store = self.records.setdefault(operation.collection or "", {})
        kind, record_id = operation.kind, params.get("id", "")
        if kind is Kind.LIST:
            return JSONResponse(_filtered(store.values(), query))
        if kind is Kind.LOOKUP:
            wanted = {field_name: params[name] for name, field_name in operation.lookup}
            return JSONResponse(_filtered(store.values(), {**query, **wanted}))
        if kind is Kind.CREATE:
            if not isinstance(body, dict):
                return JSONResponse({}, status_code=500)
            new_id = body.get("id") or _new_id(store)
            if str(new_id) in store:
                return HTMLResponse("<pre>Error: Insert failed, duplicate id</pre>", status_code=500)
            store[str(new_id)] = {**body, "id": new_id}
            return JSONResponse(store[str(new_id)], status_code=self.create_status)
        record = store.get(record_id)
        if record is None:
            return JSONResponse({}, status_code=404)
        if kind is Kind.GET:
            return JSONResponse(record)
        if kind is Kind.REPLACE:  # lodash-id keeps the record's id, whatever the body says
            store[record_id] = {**(body if isinstance(body, dict) else {}), "id": record["id"]}
            return JSONResponse(store[record_id])
        if kind is Kind.PATCH:
            changes = body if isinstance(body, dict) else {str(i): v for i, v in enumerate(body or [])}
            record.update({**changes, "id": record["id"]})
            return JSONResponse(record)
        del store[record_id]
        return JSONResponse({})


def _new_id(store: dict[str, dict[str, Any]]) -> int | str:
    """json-server 0.17's id for a create without one: 1 in an empty collection, the largest id + 1 where ids are
    numbers, else a random text id (nanoid there)."""
    ids = [record["id"] for record in store.values()]
    if not ids:
        return 1
    if all(isinstance(i, int) for i in ids):
        return max(ids) + 1
    return secrets.token_hex(4)


def _filtered(records: Any, query: dict[str, str]) -> list[dict[str, Any]]:
    """json-server's filters: every query parameter but its own (`_page`, `_sort`, `q`, ...) is `field == value`,
    compared as text."""
    filters = {k: v for k, v in query.items() if not k.startswith("_") and k != "q"}
    return [r for r in records if all(_text(r.get(k)) == v for k, v in filters.items())]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@contextmanager
def naive_crud(create_status: int = 200) -> Iterator[tuple[str, NaiveCrud]]:
    """The naive server on a free port of 127.0.0.1: (base URL, app)."""
    app = NaiveCrud(Contract.from_path(SPEC_PATH), create_status)

    def config(_: int) -> uvicorn.Config:
        return uvicorn.Config(app, log_level="error", lifespan="off")

    def up(base_url: str) -> bool:
        return httpx.get(base_url, timeout=1).status_code > 0  # any answer: it has no health route

    with serve_app(config, up, timeout=20, name="naive CRUD server") as base_url:
        yield base_url, app
