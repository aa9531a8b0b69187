"""The admin API under `/_mock/`, outside the contract: health, reset, seed data, export, journal and faults.

Every route but `GET /_mock/health` needs `Authorization: Bearer <admin token>` (`--admin-token`), which is
separate from the API's tokens; the published default token is honoured on loopback addresses only, a request
through a loopback address must name this machine in its `Host` (DNS rebinding), and no route answers a web page
of another origin (see `mockserver.exposure`; the guard, `mockserver.admin_guard`, is the validating recorder's
too). Input is checked against schemas of its own: each route's query parameters (`QUERIES`: an unknown,
repeated or ill-typed one is a 400, digits are ASCII digits), fault rules (`faults.RULE_SCHEMA`), and bodies are
`application/json` in UTF-8 (`validation.request_json`). Every error is a problem in the same shape as the API's.

    GET    /_mock/health        liveness, storage state, tenants and record counts (no token needed)
    POST   /_mock/reset         delete every record; `?seed=true` then loads the default fixtures
    POST   /_mock/fixtures      load seed data: a JSON body {tenant: {collection: [records]}} or what
                                /_mock/export wrote, or none for the default fixtures; records may
                                leave out id and sys_* fields
    GET    /_mock/export        the whole state, {"format": 1, "tenants": {tenant: {collection: [records]}}}
    GET    /_mock/journal       recorded requests, oldest first; filters: method, path (prefix), tenant, status,
                                operation, limit (the newest N)
    DELETE /_mock/journal       forget recorded requests
    GET    /_mock/faults        active fault rules
    POST   /_mock/faults        add a rule (or a list of rules, all or none), see mockserver/faults.py
    DELETE /_mock/faults        remove every rule;  DELETE /_mock/faults/{id}: remove one
"""

from __future__ import annotations

from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, Router

from mockserver import seeding
from mockserver.admin_guard import Endpoint, Failures, guarded, json_response, problem
from mockserver.errors import BadRequestProblem
from mockserver.faults import FaultError
from mockserver.journal import QUERY as JOURNAL_QUERY
from mockserver.state import MockState
from mockserver.storage import StoreError
from mockserver.validation import request_json

# Seed data is the admin's own, not an API request: a saved state of the default fixtures alone is over the
# API's 1 MiB body limit.
MAX_SEED_BYTES = 256 * 1_048_576

RESET_QUERY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"seed": {"type": "boolean", "description": "then load the default fixtures"}},
}
QUERIES = {("/_mock/journal", "GET"): JOURNAL_QUERY, ("/_mock/reset", "POST"): RESET_QUERY}
FAILURES: Failures = {
    seeding.SeedError: lambda exc: problem(400, f"Seed data: {exc}"),
    FaultError: lambda exc: problem(400, str(exc), exc.errors),
    StoreError: lambda exc: problem(507, f"The mock could not store this change: {exc}"),
}


def admin_app(state: MockState) -> Router:
    def checked(endpoint: Endpoint, token: bool = True) -> Endpoint:
        return guarded(endpoint, state.settings, QUERIES, FAILURES, token)

    async def health(_: Request) -> Response:
        db = state.db
        counts = {t: {c: db.count(t, c) for c in state.contract.resources} for t in db.tenants()}
        storage = db.storage_status()
        return json_response(
            {
                "status": "ok" if db.healthy else "degraded",
                "storage": storage,
                "tenants": db.tenants(),
                "records": counts,
            }
        )

    async def reset(request: Request) -> Response:
        state.db.clear()
        loaded = {}
        if request.state.query.get("seed"):
            loaded = _seed_default(state)
        return json_response({"status": "reset", "loaded": loaded})

    async def fixtures(request: Request) -> Response:
        data = request_json(request.headers, await _body(request), limit=MAX_SEED_BYTES)
        if data is None:
            return json_response({"loaded": _seed_default(state)})
        if isinstance(data, dict) and isinstance(data.get("format"), int) and isinstance(data.get("tenants"), dict):
            data = data["tenants"]  # what GET /_mock/export wrote: a saved state loads back as it is
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise seeding.SeedError("expected {tenant: {collection: [records]}}")
        counts = seeding.load(state.db, state.contract, data, state.clock)
        return json_response({"loaded": counts})

    async def export(_: Request) -> Response:
        return json_response(seeding.export(state.db))

    async def journal(request: Request) -> Response:
        if request.method == "DELETE":
            state.journal.clear()
            return json_response({"status": "cleared"})
        return Response(state.journal.answer_query(request.state.query), media_type="application/json")

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            data = request_json(request.headers, await _body(request))
            added = state.faults.add_all(data if isinstance(data, list) else [data])
            return json_response({"added": [rule.as_dict() for rule in added]})
        if request.method == "DELETE":
            state.faults.clear()
        return json_response({"rules": [rule.as_dict() for rule in state.faults.rules]})

    async def fault(request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        if not state.faults.remove(rule_id):
            return problem(404, f"No fault rule {rule_id}")
        return json_response({"rules": [rule.as_dict() for rule in state.faults.rules]})

    routes = [
        Route("/_mock/health", checked(health, token=False), methods=["GET"]),
        Route("/_mock/reset", checked(reset), methods=["POST"]),
        Route("/_mock/fixtures", checked(fixtures), methods=["POST"]),
        Route("/_mock/export", checked(export), methods=["GET"]),
        Route("/_mock/journal", checked(journal), methods=["GET", "DELETE"]),
        Route("/_mock/faults", checked(faults), methods=["GET", "POST", "DELETE"]),
        Route("/_mock/faults/{rule_id:int}", checked(fault), methods=["DELETE"]),
    ]
    return Router(routes=routes)


async def _body(request: Request) -> bytes:
    try:
        return await request.body()
    except ClientDisconnect:
        raise BadRequestProblem("The client went away before its body arrived whole; nothing was done") from None


def _seed_default(state: MockState) -> dict[str, dict[str, int]]:
    data = seeding.read_directory(state.settings.fixtures, state.contract)
    return seeding.load(state.db, state.contract, data, state.clock, validate=False)
