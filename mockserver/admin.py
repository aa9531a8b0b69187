"""The admin API under `/_mock/`, outside the contract: health, reset, seed data and export.

Every route but `GET /_mock/health` needs `Authorization: Bearer <admin token>` (`--admin-token`), which is
separate from the API's tokens. Errors use the same problem shape as the API.

    GET    /_mock/health        liveness, tenants and record counts (no token needed)
    POST   /_mock/reset         delete every record; `?seed=true` then loads the default fixtures
    POST   /_mock/fixtures      load seed data: a JSON body {tenant: {collection: [records]}} or what
                                /_mock/export wrote, or none for the default fixtures; records may
                                leave out id and sys_* fields
    GET    /_mock/export        the whole state, {"format": 1, "tenants": {tenant: {collection: [records]}}}
    GET    /_mock/journal       recorded requests, oldest first; filters: method, path (prefix), tenant, status,
                                operation, limit (the newest N)
    DELETE /_mock/journal       forget recorded requests
    GET    /_mock/faults        active fault rules
    POST   /_mock/faults        add a rule (or a list of rules), see mockserver/faults.py
    DELETE /_mock/faults        remove every rule;  DELETE /_mock/faults/{id}: remove one
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router

from mockserver import seeding
from mockserver.faults import FaultError
from mockserver.state import MockState
from mockserver.validation import parse_json

# Seed data is the admin's own, not an API request: a saved state of the default fixtures alone is over the
# API's 1 MiB body limit.
MAX_SEED_BYTES = 256 * 1_048_576

Endpoint = Callable[[Request], Awaitable[Response]]


def problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def admin_app(state: MockState) -> Router:
    def guarded(endpoint: Endpoint) -> Endpoint:
        async def check(request: Request) -> Response:
            if not state.auth.is_admin(request.headers.get("authorization")):
                return problem(401, "Unauthorized", "The admin API needs 'Authorization: Bearer <admin token>'")
            try:
                return await endpoint(request)
            except seeding.SeedError as exc:
                return problem(400, "Bad Request", f"Seed data: {exc}")
            except Exception as exc:  # noqa: BLE001 - the problem shape, never a traceback
                detail = getattr(exc, "detail", None)
                status = getattr(exc, "status", 500)
                return problem(status, "Bad Request" if status == 400 else "Error", str(detail or exc))

        return check

    async def health(_: Request) -> Response:
        db = state.db
        counts = {t: {c: db.count(t, c) for c in state.contract.resources} for t in db.tenants()}
        return JSONResponse({"status": "ok", "tenants": db.tenants(), "records": counts})

    async def reset(request: Request) -> Response:
        state.db.clear()
        loaded = {}
        if request.query_params.get("seed", "").lower() in ("1", "true", "yes"):
            loaded = _seed_default(state)
        return JSONResponse({"status": "reset", "loaded": loaded})

    async def fixtures(request: Request) -> Response:
        raw = await request.body()
        if not raw.strip():
            return JSONResponse({"loaded": _seed_default(state)})
        data = parse_json(raw, limit=MAX_SEED_BYTES)
        if isinstance(data, dict) and isinstance(data.get("format"), int) and isinstance(data.get("tenants"), dict):
            data = data["tenants"]  # what GET /_mock/export wrote: a saved state loads back as it is
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise seeding.SeedError("expected {tenant: {collection: [records]}}")
        counts = seeding.load(state.db, state.contract, data, state.clock)
        return JSONResponse({"loaded": counts})

    async def export(_: Request) -> Response:
        body = json.dumps(seeding.export(state.db), separators=(",", ":"), ensure_ascii=False)
        return Response(body, media_type="application/json")

    async def journal(request: Request) -> Response:
        if request.method == "DELETE":
            state.journal.clear()
            return JSONResponse({"status": "cleared"})
        q = request.query_params
        try:
            status = int(q["status"]) if "status" in q else None
            limit = int(q["limit"]) if "limit" in q else None
        except ValueError:
            return problem(400, "Bad Request", "Query parameters 'status' and 'limit' must be integers")
        entries = state.journal.find(q.get("method"), q.get("path"), q.get("tenant"), status, q.get("operation"), limit)
        return JSONResponse({"count": len(entries), "entries": [e.as_dict() for e in entries]})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            data = parse_json(await request.body())
            try:
                added = [state.faults.add(rule) for rule in (data if isinstance(data, list) else [data])]
            except (FaultError, TypeError) as exc:
                return problem(400, "Bad Request", str(exc))
            return JSONResponse({"added": [rule.as_dict() for rule in added]})
        if request.method == "DELETE":
            state.faults.clear()
        return JSONResponse({"rules": [rule.as_dict() for rule in state.faults.rules]})

    async def fault(request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        if not state.faults.remove(rule_id):
            return problem(404, "Not Found", f"No fault rule {rule_id}")
        return JSONResponse({"rules": [rule.as_dict() for rule in state.faults.rules]})

    routes = [
        Route("/_mock/health", health, methods=["GET"]),
        Route("/_mock/reset", guarded(reset), methods=["POST"]),
        Route("/_mock/fixtures", guarded(fixtures), methods=["POST"]),
        Route("/_mock/export", guarded(export), methods=["GET"]),
        Route("/_mock/journal", guarded(journal), methods=["GET", "DELETE"]),
        Route("/_mock/faults", guarded(faults), methods=["GET", "POST", "DELETE"]),
        Route("/_mock/faults/{rule_id:int}", guarded(fault), methods=["DELETE"]),
    ]
    return Router(routes=routes)


def _seed_default(state: MockState) -> dict[str, dict[str, int]]:
    data = seeding.read_directory(state.settings.fixtures, state.contract)
    return seeding.load(state.db, state.contract, data, state.clock, validate=False)
