"""Rules that Schemathesis decides while it generates requests (see `conformance.fuzzing` for the drivers).

These are Schemathesis checks `(ctx, response, case)`: they need the generated case (its generation mode, the
link it was reached by). The two that rest on Schemathesis' own checks, `negative_data_rejection` and
`ensure_resource_availability`, keep their careful handling of serialisation corner cases and only restate the
finding as this suite's failure.
"""

from __future__ import annotations

from typing import Any

from schemathesis.core.failures import Failure as SchemathesisFailure
from schemathesis.specs.openapi.checks import ensure_resource_availability, negative_data_rejection

from conformance.failures import BrokenLink, InvalidDataAccepted, ServerErrorResponse
from conformance.registry import fuzz_rule
from conformance.schemathesis_bridge import exchange_of

# Invalid input is a 400 (collect.yaml info, Limits); an id with a slash cannot be routed at all, hence 404.
REJECTION_STATUSES = ["400", "404"]


@fuzz_rule(
    "fuzz.no-server-error",
    "No request, valid or not, is answered with a 5xx.",
    source="000 L242 (500 General server error) is for failures of the server, never of the input",
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
    source="collect.yaml info (Limits: anything beyond is a 400); 000 L234",
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
    "A record that a create reports (X-Record-Id) can be read, replaced and patched through the contract's links.",
    source="NOTES.md Responses (X-Record-Id, links); 000 L293-299",
    failure=BrokenLink,
    drivers=("fuzz.links",),
)
def links_reach_created_records(ctx: Any, response: Any, case: Any) -> None:
    try:
        ensure_resource_availability(ctx, response, case)
    except SchemathesisFailure as failure:
        raise BrokenLink(
            received=response.status_code,
            expected=f"the linked record: {failure.message.splitlines()[0]}",
            exchange=exchange_of(response, case),
        ) from None
