"""The admin API under `/_mock/`, outside the contract: health, reset, seed data, export, journal and faults.

Every route but `GET /_mock/health` needs `Authorization: Bearer <admin token>` (`--admin-token`), which is
separate from the API's tokens; the published default token is honoured on loopback addresses only, a request
through a loopback address must name this machine in its `Host` (DNS rebinding), and no route answers a web page
of another origin (see `mockserver.exposure`). Input is checked against schemas of its own: each route's query
parameters (`QUERIES`: an unknown, repeated or ill-typed one is a 400, digits are ASCII digits), fault rules
(`faults.RULE_SCHEMA`), and bodies are `application/json` in UTF-8 (`validation.request_json`). Every error is a
problem in the same shape as the API's.

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

import re
from collections.abc import Awaitable, Callable
from typing import Any

from jsonschema import Draft4Validator
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, Router

from mockserver import exposure, seeding
from mockserver.connexion_adapter import ProblemException
from mockserver.errors import BadRequestProblem, FieldError, MockProblem, json_bytes, problem_parts, shown_value
from mockserver.faults import METHODS, FaultError
from mockserver.http_titles import title
from mockserver.state import MockState
from mockserver.storage import StoreError
from mockserver.validation import request_json, schema_errors

# Seed data is the admin's own, not an API request: a saved state of the default fixtures alone is over the
# API's 1 MiB body limit.
MAX_SEED_BYTES = 256 * 1_048_576

NO_QUERY: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}
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
RESET_QUERY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"seed": {"type": "boolean", "description": "then load the default fixtures"}},
}
QUERIES = {("/_mock/journal", "GET"): JOURNAL_QUERY, ("/_mock/reset", "POST"): RESET_QUERY}
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
INTEGER = re.compile(r"-?[0-9]{1,18}")  # ASCII digits only: int() would take "１" (full width) for 1

Endpoint = Callable[[Request], Awaitable[Response]]


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json_bytes(data), status_code=status, media_type="application/json")


def problem(status: int, detail: str, errors: list[FieldError] | None = None) -> Response:
    """A problem answer, rendered as the API's are (`errors.problem_parts`)."""
    ext = {"errors": [e.as_dict() for e in errors]} if errors else None
    code, headers, body = problem_parts(ProblemException(status=status, title=title(status), detail=detail, ext=ext))
    return Response(body, status_code=code, headers=headers)


def admin_app(state: MockState) -> Router:
    def checked(endpoint: Endpoint, token: bool = True) -> Endpoint:
        """The route's endpoint behind the admin API's checks: where the request comes from, its token (unless
        `token` is False), its query; and every error it raises as a problem."""

        async def check(request: Request) -> Response:
            refused = _refusal(request, state, token)
            if refused is not None:
                return refused
            try:
                method = "GET" if request.method == "HEAD" else request.method  # HEAD is a GET without the body
                request.state.query = _query(request, QUERIES.get((request.url.path, method), NO_QUERY))
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
        q = request.state.query
        entries = state.journal.find(
            q.get("method"), q.get("path"), q.get("tenant"), q.get("status"), q.get("operation"), q.get("limit")
        )
        return Response(state.journal.answer(entries), media_type="application/json")

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


def _refusal(request: Request, state: MockState, token: bool) -> Response | None:
    """The answer to a request the admin API does not take, from where it comes or for its token; None if it may."""
    settings = state.settings
    foreign = exposure.foreign_host(request.scope, settings.allowed_hosts)
    if foreign is not None:
        return problem(403, _FOREIGN_HOST.format(host=shown_value(foreign)))
    origin = exposure.cross_origin(request.scope)
    if origin is not None:
        return problem(403, f"The admin API does not answer web pages of other origins ({shown_value(origin)})")
    if not token:
        return None
    if not settings.admin_token:
        return problem(403, "The admin API is off: the mock was started with an empty admin token")
    if not state.auth.is_admin(request.headers.get("authorization")):
        return problem(401, "The admin API needs 'Authorization: Bearer <admin token>'")
    if not exposure.is_loopback_scope(request.scope) and exposure.unfit_for_exposure(settings):
        return problem(403, exposure.refused_remotely(settings))
    return None


async def _body(request: Request) -> bytes:
    try:
        return await request.body()
    except ClientDisconnect:
        raise BadRequestProblem("The client went away before its body arrived whole; nothing was done") from None


_FOREIGN_HOST = (
    "The admin API answers requests through a loopback address only when they are addressed to this machine "
    "(localhost, an IP address, or a name given with --allowed-hosts), not to {host}: a web page whose name points "
    "at 127.0.0.1 (DNS rebinding) must not reach it"
)


def _query(request: Request, schema: dict[str, Any]) -> dict[str, Any]:
    """Query parameters typed and checked against `schema`; a parameter it does not name, or given twice, is a 400."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    known = schema["properties"]
    for name in request.query_params:
        given = request.query_params.getlist(name)
        kind = known.get(name, {}).get("type")
        if name not in known:
            takes = f"takes {', '.join(known)}" if known else "takes no parameters"
            errors.append(FieldError("query", name, f"is not a parameter of this route (it {takes})"))
        elif len(given) > 1:
            errors.append(FieldError("query", name, f"is given {len(given)} times; it takes one value"))
        elif kind == "integer":
            if INTEGER.fullmatch(given[0]):
                values[name] = int(given[0])
            else:
                errors.append(FieldError("query", name, f"{shown_value(given[0])} is not an integer (ASCII digits)"))
        elif kind == "boolean":
            if given[0].lower() in BOOLEANS:
                values[name] = BOOLEANS[given[0].lower()]
            else:
                errors.append(FieldError("query", name, f"{shown_value(given[0])} is not true or false"))
        else:
            values[name] = given[0]
    errors += schema_errors(Draft4Validator, schema, values, location="query")
    if errors:
        raise BadRequestProblem.from_errors("Invalid query parameters", errors)
    return values


def _seed_default(state: MockState) -> dict[str, dict[str, int]]:
    data = seeding.read_directory(state.settings.fixtures, state.contract)
    return seeding.load(state.db, state.contract, data, state.clock, validate=False)
