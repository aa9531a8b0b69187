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

from collect_contract import Kind, Resource
from conformance.context import Context, differing
from conformance.errors import Reason, SafetyError, Skipped
from conformance.failures import BrokenLink, InvalidDataAccepted, ServerErrorResponse
from conformance.http import Exchange, created_id
from conformance.ledger import Ownership
from conformance.registry import Driver, Need, fuzz_rule
from conformance.schemathesis_bridge import exchange_of
from conformance.validators import server_set

# Invalid input is a 400 (collect.yaml info, Limits); an id with a slash cannot be routed at all, hence 404.
REJECTION_STATUSES = ["400", "404"]


@fuzz_rule(
    "fuzz.no-server-error",
    "No request, valid or not, is answered with a 5xx.",
    source="000 L242 (500 General server error)",
    failure=ServerErrorResponse,
    drivers=(Driver.FUZZ_OPERATIONS, Driver.FUZZ_LINKS),
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
    drivers=(Driver.FUZZ_OPERATIONS,),
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
    "the contract's links right away: no 404, each answer is that record, and a read holds the values created.",
    source="000 L291-299; NOTES.md Responses (X-Record-Id, links)",
    failure=BrokenLink,
    drivers=(Driver.FUZZ_LINKS,),
    needs=(Need.WRITES,),  # the stateful run creates records
)
def links_reach_created_records(ctx: Any, response: Any, case: Any) -> None:
    linked = linked_create(ctx.internals, case)
    if linked is None:
        return
    created, parent = linked
    exchange = exchange_of(response, case)
    # With `fields`, a read carries the fields named only: the id where it was asked for, nothing to compare.
    body = exchange.json_or_none()
    if (case.query or {}).get("fields"):
        if response.status_code == 404 or (isinstance(body, dict) and "id" in body):
            failure = _judge_link(exchange, created, parent.operation.label, None)
            if failure is not None:
                raise failure
        return
    method = str(case.operation.method).upper()
    compare = method == "GET" and not _written_since(ctx.internals, case, created)
    failure = _judge_link(exchange, created, parent.operation.label, _plain(exchange, parent.body) if compare else None)
    if failure is not None:
        raise failure


def follow_create_links(ctx: Context, resource: Resource) -> tuple[int, list[BrokenLink]]:
    """The deterministic part of `fuzz.stateful-links`: create a record, then follow each link of the create's
    answer to the record itself (get, replace, patch), in the contract's order. Returns the links followed and
    what they found wrong (`Skipped` when the target refuses the create)."""
    create = resource.operations[Kind.CREATE]
    links = (create.raw["responses"].get("200") or {}).get("links") or {}
    sent = ctx.body(resource.collection)
    exchange = ctx.call(resource.collection, Kind.CREATE, json=sent)
    created = created_id(exchange) if 200 <= exchange.status < 300 else None
    if created is None or ctx.session.ledger.state(resource.collection, created) is Ownership.DISOWNED:
        raise Skipped(
            f"setup: a valid create of a {resource.collection} record answered {exchange.summary(120)}",
            Reason.SETUP_REFUSED,
        )
    found: list[BrokenLink] = []
    followed, changed = 0, False
    for link in links.values():
        target = ctx.contract.operations.get(link.get("operationId", ""))
        if target is None or target.resource is not resource or "id" not in (link.get("parameters") or {}):
            continue
        if target.kind not in (Kind.GET, Kind.REPLACE, Kind.PATCH):
            continue
        kwargs: dict[str, Any] = {}
        if target.kind is not Kind.GET:
            kwargs["json"] = ctx.body(resource.collection) if target.kind is Kind.REPLACE else []
        try:
            answer = ctx.client.call(target.operation_id, id=created, **kwargs)
        except SafetyError:
            continue  # the record read back is not the run's own: nothing is written to it
        followed += 1
        failure = _judge_link(answer, created, create.label, sent if target.kind is Kind.GET and not changed else None)
        changed = changed or target.kind is not Kind.GET
        if failure is not None:
            found.append(failure)
    return followed, found


def _judge_link(answer: Exchange, created: str, origin: str, written: Any) -> BrokenLink | None:
    """What is wrong with the answer to a request a link made from a create (None: nothing)."""
    if answer.status == 404:
        return BrokenLink(
            received=f"404 for {created!r}", expected=f"the record that {origin} just created", exchange=answer
        )
    body = answer.json_or_none()
    if not 200 <= answer.status < 300:
        return None  # another rule's finding (status.documented, ...)
    if not isinstance(body, dict) or body.get("id") != created:
        got = body.get("id") if isinstance(body, dict) else None
        return BrokenLink(
            received=f"{answer.method} of {created!r} answered " + (f"the record {got!r}" if got else "no record"),
            expected=f"the record that {origin} just created",
            title="Link reached another record",
            exchange=answer,
        )
    resource = answer.operation.resource if answer.operation else None
    differences = (
        differing(written, body, server_set(resource) if resource else frozenset()) if written is not None else []
    )
    if differences:
        return BrokenLink(
            received="; ".join(differences[:5]),
            expected=f"the values {origin} created",
            title="Linked record does not hold the values created",
            exchange=answer,
        )
    return None


def linked_create(finder: Any, case: Any) -> tuple[str, Any] | None:
    """(the id, the create) when `case` follows a link from a create that succeeded, to the record it reported.

    `finder` is Schemathesis' scenario recorder, or a check context's internals (both find parents and
    responses)."""
    parent = finder.find_parent(case_id=case.id)
    answer = finder.find_response(case_id=parent.id) if parent is not None else None
    if answer is None or parent.operation.method.upper() != "POST" or not 200 <= answer.status_code < 300:
        return None
    created = _created_id(answer)
    same_collection = case.operation.path.split("/")[1:2] == parent.operation.path.split("/")[1:2]
    if created and same_collection and unquote(str((case.path_parameters or {}).get("id", ""))) == created:
        return created, parent
    return None


def _written_since(finder: Any, case: Any, created: str) -> bool:
    """Whether a case of the scenario before `case` wrote to `created` (then the create's values may be gone)."""
    recorder = getattr(finder, "recorder", finder)
    for other in recorder.find_all_cases() if hasattr(recorder, "find_all_cases") else []:
        if other.id == case.id:
            return False
        values = {unquote(str(v)) for v in (other.path_parameters or {}).values()}
        if str(other.operation.method).upper() in ("PUT", "PATCH", "DELETE") and created in values:
            return True
    return True  # the scenario cannot be read: nothing is claimed


def _plain(exchange: Exchange, body: Any) -> dict[str, Any]:
    """The fields of a create body that a server stores as sent: text without a format, whole numbers, booleans
    (a server may write a date-time or a decimal in another notation of the same value)."""
    contract = exchange.contract
    resource = exchange.operation.resource if exchange.operation else None
    if resource is None or not isinstance(body, dict):
        return {}
    kept = {}
    for name, value in body.items():
        prop = contract.deref(resource.schema["properties"].get(name, {})) if contract else {}
        if name in server_set(resource) or prop.get("format") or prop.get("x-references"):
            continue
        if isinstance(value, (str, bool)) or (isinstance(value, int) and prop.get("type") == "integer"):
            kept[name] = value
    return kept


def _json(response: Any) -> Any:
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None


def _created_id(response: Any) -> str | None:
    header = response.headers.get("x-record-id")  # Schemathesis' headers: lower-case names, lists of values
    if header:
        return str(header[0])
    body = _json(response)
    return str(body["id"]) if isinstance(body, dict) and isinstance(body.get("id"), str) else None
