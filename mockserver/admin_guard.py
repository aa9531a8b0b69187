"""What every admin API of the package runs before its routes: the mock's `/_mock/` (`mockserver.admin`) and the
validating recorder's (`mockserver.proxy.app`) take the same guard from here, so that a check added to one is
added to both.

    where from      `exposure.admin_refusal`: a `Host` that is not this machine's through loopback (DNS
                    rebinding), a web page of another origin, the admin token (unless the route is open),
                    the published token through a non-loopback address
    the query       each route's query parameters, typed and checked against its schema (`QUERIES` of the
                    app): an unknown, repeated or ill-typed one is a 400; digits are ASCII digits
    errors          a `MockProblem`, or an exception the app maps to an answer, as a problem in the API's shape
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from jsonschema import Draft4Validator
from starlette.requests import Request
from starlette.responses import Response

from mockserver import exposure
from mockserver.connexion_adapter import ProblemException
from mockserver.errors import BadRequestProblem, FieldError, MockProblem, json_bytes, problem_parts, shown_value
from mockserver.http_titles import title
from mockserver.validation import schema_errors

Endpoint = Callable[[Request], Awaitable[Response]]
Schema = dict[str, Any]
Queries = Mapping[tuple[str, str], Schema]  # (path, method) -> the schema of its query; none: it takes none
Failures = Mapping[type[Exception], Callable[[Any], Response]]  # an exception the app answers, and how

NO_QUERY: Schema = {"type": "object", "additionalProperties": False, "properties": {}}
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
INTEGER = re.compile(r"-?[0-9]{1,18}")  # ASCII digits only: int() would take "１" (full width) for 1


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json_bytes(data), status_code=status, media_type="application/json")


def problem(status: int, detail: str, errors: list[FieldError] | None = None) -> Response:
    """A problem answer, rendered as the API's are (`errors.problem_parts`)."""
    ext = {"errors": [e.as_dict() for e in errors]} if errors else None
    code, headers, body = problem_parts(ProblemException(status=status, title=title(status), detail=detail, ext=ext))
    return Response(body, status_code=code, headers=headers)


def guarded(
    endpoint: Endpoint,
    settings: exposure.Guarded,
    queries: Queries,
    failures: Failures | None = None,
    token: bool = True,
) -> Endpoint:
    """`endpoint` behind the admin API's checks: where the request comes from, its token (unless `token` is
    False), its query (in `request.state.query`); and every error it raises as a problem."""
    answers = dict(failures or {})

    async def check(request: Request) -> Response:
        refused = exposure.admin_refusal(request.scope, settings, token)
        if refused is not None:
            return problem(*refused)
        try:
            method = "GET" if request.method == "HEAD" else request.method  # HEAD is a GET without the body
            request.state.query = query(request, queries.get((request.url.path, method), NO_QUERY))
            return await endpoint(request)
        except MockProblem as exc:
            return problem(exc.status, str(exc.detail), exc.errors)
        except tuple(answers) as exc:
            return next(answer(exc) for kind, answer in answers.items() if isinstance(exc, kind))

    return check


def query(request: Request, schema: Schema) -> dict[str, Any]:
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
