"""The admin API under `/_mock/`, outside the contract: health, reset, seed data, export, journal and faults.

Every route but `GET /_mock/health` needs `Authorization: Bearer <admin token>` (`--admin-token`), which is
separate from the API's tokens; the published default token is honoured on loopback addresses only (see
`mockserver.exposure`). Input is checked against schemas of its own (fault rules: `faults.RULE_SCHEMA`, journal
queries: `JOURNAL_QUERY`), and every error is a problem in the same shape as the API's.

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

from collections.abc import Awaitable, Callable
from typing import Any

from jsonschema import Draft4Validator
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, Router

from mockserver import exposure, seeding
from mockserver.connexion_adapter import ProblemException
from mockserver.errors import BadRequestProblem, FieldError, MockProblem, json_bytes, problem_parts
from mockserver.faults import METHODS, FaultError
from mockserver.http_titles import title
from mockserver.state import MockState
from mockserver.storage import StoreError
from mockserver.validation import parse_json, schema_errors

# Seed data is the admin's own, not an API request: a saved state of the default fixtures alone is over the
# API's 1 MiB body limit.
MAX_SEED_BYTES = 256 * 1_048_576

JOURNAL_QUERY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "method": {"type": "string", "enum": [*METHODS, *(m.lower() for m in METHODS)]},
        "path": {"type": "string", "maxLength": 2048},
        "tenant": {"type": "string", "maxLength": 2048},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "operation": {"type": "string", "maxLength": 200},
        "limit": {"type": "integer", "minimum": 1},
    },
}

Endpoint = Callable[[Request], Awaitable[Response]]


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json_bytes(data), status_code=status, media_type="application/json")


def problem(status: int, detail: str, errors: list[FieldError] | None = None) -> Response:
    """A problem answer, rendered as the API's are (`errors.problem_parts`)."""
    ext = {"errors": [e.as_dict() for e in errors]} if errors else None
    code, headers, body = problem_parts(ProblemException(status=status, title=title(status), detail=detail, ext=ext))
    return Response(body, status_code=code, headers=headers)


def admin_app(state: MockState) -> Router:
    def guarded(endpoint: Endpoint) -> Endpoint:
        async def check(request: Request) -> Response:
            if not state.auth.is_admin(request.headers.get("authorization")):
                return problem(401, "The admin API needs 'Authorization: Bearer <admin token>'")
            if state.auth.admin_token == exposure.DEFAULT_ADMIN_TOKEN and not exposure.is_loopback_scope(request.scope):
                return problem(403, exposure.REMOTE_DEFAULT_TOKEN)
            try:
                return await endpoint(request)
            except seeding.SeedError as exc:
                return problem(400, f"Seed data: {exc}")
            except FaultError as exc:
                return problem(400, str(exc), exc.errors)
            except MockProblem as exc:
                return problem(exc.status, str(exc.detail), exc.errors)
            except StoreError as exc:
                return problem(507, f"The mock could not store this change: {exc}")

        return check

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
        if request.query_params.get("seed", "").lower() in ("1", "true", "yes"):
            loaded = _seed_default(state)
        return json_response({"status": "reset", "loaded": loaded})

    async def fixtures(request: Request) -> Response:
        raw = await _body(request)
        if not raw.strip():
            return json_response({"loaded": _seed_default(state)})
        data = parse_json(raw, limit=MAX_SEED_BYTES)
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
        q = _query(request, JOURNAL_QUERY)
        entries = state.journal.find(
            q.get("method"), q.get("path"), q.get("tenant"), q.get("status"), q.get("operation"), q.get("limit")
        )
        return json_response({"count": len(entries), "entries": [e.as_dict() for e in entries]})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            data = parse_json(await _body(request))
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
        Route("/_mock/health", health, methods=["GET"]),
        Route("/_mock/reset", guarded(reset), methods=["POST"]),
        Route("/_mock/fixtures", guarded(fixtures), methods=["POST"]),
        Route("/_mock/export", guarded(export), methods=["GET"]),
        Route("/_mock/journal", guarded(journal), methods=["GET", "DELETE"]),
        Route("/_mock/faults", guarded(faults), methods=["GET", "POST", "DELETE"]),
        Route("/_mock/faults/{rule_id:int}", guarded(fault), methods=["DELETE"]),
    ]
    return Router(routes=routes)


async def _body(request: Request) -> bytes:
    try:
        return await request.body()
    except ClientDisconnect:
        raise BadRequestProblem("The client went away before its body arrived whole; nothing was done") from None


def _query(request: Request, schema: dict[str, Any]) -> dict[str, Any]:
    """Query parameters typed and checked against `schema`; a parameter it does not name, or given twice, is a 400."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    known = schema["properties"]
    for name in request.query_params:
        given = request.query_params.getlist(name)
        kind = known.get(name, {}).get("type")
        if name not in known:
            errors.append(FieldError("query", name, f"is not a parameter of this route ({', '.join(known)})"))
        elif len(given) > 1:
            errors.append(FieldError("query", name, f"is given {len(given)} times; it takes one value"))
        elif kind == "integer":
            text = given[0].strip()
            if text.lstrip("-").isdigit() and len(text) < 20:
                values[name] = int(text)
            else:
                errors.append(FieldError("query", name, f"{given[0][:40]!r} is not an integer"))
        else:
            values[name] = given[0]
    errors += schema_errors(Draft4Validator, schema, values, location="query")
    if errors:
        raise BadRequestProblem.from_errors("Invalid query parameters", errors)
    return values


def _seed_default(state: MockState) -> dict[str, dict[str, int]]:
    data = seeding.read_directory(state.settings.fixtures, state.contract)
    return seeding.load(state.db, state.contract, data, state.clock, validate=False)
