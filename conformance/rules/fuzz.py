"""Rules that Schemathesis decides while it generates requests (see `conformance.fuzzing` for the drivers).

These are Schemathesis checks `(ctx, response, case)`: they need the generated case (its generation mode, the
link it was reached by). `fuzz.invalid-rejected` rests on Schemathesis' own `negative_data_rejection`, keeping
its careful handling of serialisation corner cases, and restates the finding as this suite's failure.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from schemathesis.core.failures import Failure as SchemathesisFailure
from schemathesis.specs.openapi.checks import negative_data_rejection

from conformance.failures import BrokenLink, InvalidDataAccepted, ServerErrorResponse
from conformance.registry import WRITES, fuzz_rule
from conformance.schemathesis_bridge import exchange_of

# Invalid input is a 400 (collect.yaml info, Limits); an id with a slash cannot be routed at all, hence 404.
REJECTION_STATUSES = ["400", "404"]


@fuzz_rule(
    "fuzz.no-server-error",
    "No request, valid or not, is answered with a 5xx.",
    source="000 L242 (500 General server error)",
    failure=ServerErrorResponse,
    drivers=("fuzz.operations", "fuzz.links"),
)
def no_server_error(ctx: Any, response: Any, case: Any) -> None:
    if response.status_code >= 500:
        raise ServerErrorResponse(
            received=response.status_code, expected="a status below 500", exchange=exchange_of(response, case)
        )


@fuzz_rule(
    "fuzz.invalid-rejected",
    "A request that breaks the contract's schema (Schemathesis' negative mode) is rejected with a 400 (404 for a "
    "path it cannot route), never accepted.",
    source="000 L236; collect.yaml info (Limits: anything beyond is a 400)",
    failure=InvalidDataAccepted,
    drivers=("fuzz.operations",),
)
def invalid_data_rejected(ctx: Any, response: Any, case: Any) -> None:
    try:
        negative_data_rejection(ctx, response, case)
    except SchemathesisFailure as failure:
        raise InvalidDataAccepted(
            received=response.status_code,
            expected=f"{' or '.join(REJECTION_STATUSES)}: {failure.message.splitlines()[-1]}",
            exchange=exchange_of(response, case),
        ) from None


@fuzz_rule(
    "fuzz.stateful-links",
    "A record that a create reports (X-Record-Id, or the record's id) can be read, replaced and patched through "
    "the contract's links right away: no 404.",
    source="000 L291-299; NOTES.md Responses (X-Record-Id, links)",
    failure=BrokenLink,
    drivers=("fuzz.links",),
    needs=(WRITES,),  # the stateful run creates records
)
def links_reach_created_records(ctx: Any, response: Any, case: Any) -> None:
    if response.status_code != 404:
        return
    parent = ctx.internals.find_parent(case_id=case.id)
    answer = ctx.internals.find_response(case_id=parent.id) if parent is not None else None
    if answer is None or parent.operation.method.upper() != "POST" or not 200 <= answer.status_code < 300:
        return
    created = _created_id(answer)
    if created and created in {unquote(str(v)) for v in (case.path_parameters or {}).values()}:
        raise BrokenLink(
            received=f"404 for {created!r}",
            expected=f"the record that {parent.operation.label} just created",
            exchange=exchange_of(response, case),
        )


def _created_id(response: Any) -> str | None:
    header = response.headers.get("x-record-id")  # Schemathesis' headers: lower-case names, lists of values
    if header:
        return str(header[0])
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None
    return str(body["id"]) if isinstance(body, dict) and isinstance(body.get("id"), str) else None
