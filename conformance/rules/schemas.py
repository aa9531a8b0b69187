"""Schema rules, judged on every response: a documented media type, and a body valid against the contract.

The contract types responses that `fields` can shape as `anyOf: [Record, RecordProjection]`, which accepts
almost anything. The check applies the stricter rule that NOTES.md promises: without `fields` each record must
match the whole record schema (required fields included); with `fields`, each named field must match its
property schema, and the fields not asked for are not judged here (that is `projection.*`).
"""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import best_match

from collect_contract import Contract, Kind, Operation
from conformance.failures import ResponseBodyMismatch, ResponseHeaderMismatch, UndocumentedContentType
from conformance.http import Exchange
from conformance.registry import response_rule
from conformance.validators import response_validator

# Headers the contract documents whose presence depends on the answer: X-Last-Evaluated-Key is sent only while
# more records remain (the paging rules check that it is there when they are). They are judged where present.
CONDITIONAL_HEADERS = frozenset({"x-last-evaluated-key"})
# Operations whose 200 body holds records of their resource, and where.
# Where the records sit in a 200 answer: the body itself, a list, or a page's Items.
RECORD_KINDS = {
    Kind.GET: "self",
    Kind.REPLACE: "self",
    Kind.PATCH: "self",
    Kind.CREATE: "self",
    Kind.LIST: "list",
    Kind.LOOKUP: "page",
}


@response_rule(
    "schema.content-type",
    "A response with a body has a media type documented for its status: application/json, or "
    "application/problem+json for errors.",
    source="000 L291-292, L338-339 (application/json); NOTES.md Responses (Error body)",
    failure=UndocumentedContentType,
)
def content_type_is_documented(exchange: Exchange) -> None:
    operation = exchange.operation
    documented = operation.media_types(exchange.status) if operation else None
    if documented is None:
        return  # an undocumented status is `status.documented`'s finding
    if not documented:
        if exchange.body:
            raise UndocumentedContentType(
                received=f"{exchange.status} with a {len(exchange.body)}-byte body",
                expected="no body",
                exchange=exchange,
            )
        return
    if exchange.media_type not in documented:
        raise UndocumentedContentType(
            received=exchange.media_type or "no Content-Type", expected=", ".join(documented), exchange=exchange
        )


@response_rule(
    "schema.headers",
    "A response carries every header its operation documents for its status (the Access-Control-Allow-* headers "
    "the invoice and batch pages show on their answers, X-Record-Id on workflow creates, Retry-After on 429), each "
    "valid against its schema; X-Last-Evaluated-Key, sent only while more records remain, is judged where present.",
    source="003 L240-243, 004 L86-89 (Headers: Access-Control-Allow-*); NOTES.md Responses (X-Record-Id, "
    "X-Last-Evaluated-Key, 429 Retry-After)",
    failure=ResponseHeaderMismatch,
)
def documented_headers_are_sent(exchange: Exchange) -> None:
    operation, contract = exchange.operation, exchange.contract
    response = operation.raw["responses"].get(str(exchange.status)) if operation else None
    if contract is None or not isinstance(response, dict):
        return  # an undocumented status is `status.documented`'s finding
    documented = response.get("headers") or {}
    missing = [n for n in documented if n.lower() not in exchange.headers and n.lower() not in CONDITIONAL_HEADERS]
    if missing:
        raise ResponseHeaderMismatch(
            received=f"{exchange.status} without {', '.join(missing)}",
            expected=f"the headers documented for {exchange.status}: {', '.join(documented)}",
            title="Documented header missing",
            exchange=exchange,
        )
    for name, header in documented.items():
        value = exchange.headers.get(name.lower())
        schema = contract.deref(header).get("schema")
        if value is None or schema is None:
            continue
        error = best_match(response_validator(contract, schema).iter_errors(_typed(contract, schema, value)))
        if error is not None:
            raise ResponseHeaderMismatch(
                received=f"{name}: {value!r} ({error.message[:200]})",
                expected=f"a {name} valid against its schema",
                title="Documented header invalid",
                exchange=exchange,
            )


def _typed(contract: Contract, schema: dict[str, Any], value: str) -> Any:
    """A header's text as the JSON value its schema describes (a number for `integer`, text otherwise)."""
    kind = contract.deref(schema).get("type")
    if kind in ("integer", "number"):
        try:
            return int(value) if kind == "integer" else float(value)
        except ValueError:
            return value
    return value


@response_rule(
    "schema.response-body",
    "Every response body is valid against the contract; a record is valid against its whole schema, or, when "
    "`fields`/`fieldsToReturn` name fields, each named field against its own schema.",
    source="000 L20-232 (the record), L315-318 (fields); NOTES.md Responses (Projection)",
    failure=ResponseBodyMismatch,
)
def response_body_matches_schema(exchange: Exchange) -> None:
    operation, contract = exchange.operation, exchange.contract
    if operation is None or contract is None or not exchange.body:
        return
    schema = operation.response_schema(exchange.status, exchange.media_type)
    if schema is None:
        return
    try:
        body = exchange.json()
    except ValueError:
        raise ResponseBodyMismatch(received="a body that is not JSON", expected="JSON", exchange=exchange) from None
    error = best_match(response_validator(contract, schema).iter_errors(body))
    if error is not None:
        _raise(exchange, error.json_path, error.message, schema)
    if exchange.status == 200:
        _check_records(contract, operation, exchange, body)


def _check_records(contract: Contract, operation: Operation, exchange: Exchange, body: Any) -> None:
    resource = operation.resource
    where = RECORD_KINDS.get(operation.kind)
    if resource is None or where is None or (operation.kind is Kind.CREATE and resource.workflow):
        return
    records = [body] if where == "self" else body if where == "list" else body.get("Items", [])
    fields = requested_fields(exchange)
    for position, record in enumerate(records):
        path = "$" if where == "self" else f"$[{position}]" if where == "list" else f"$.Items[{position}]"
        if not fields:
            error = best_match(response_validator(contract, resource.schema_ref).iter_errors(record))
            if error is not None:
                _raise(exchange, path + error.json_path[1:], error.message, {"$ref": resource.schema_name})
            continue
        for name in fields:
            if isinstance(record, dict) and name in record and name in resource.fields:
                error = best_match(response_validator(contract, resource.property_ref(name)).iter_errors(record[name]))
                if error is not None:
                    _raise(
                        exchange, f"{path}.{name}{error.json_path[1:]}", error.message, {"$ref": resource.schema_name}
                    )


def _raise(exchange: Exchange, where: str, message: str, schema: dict[str, Any]) -> None:
    name = str(schema.get("$ref", "the documented schema")).rsplit("/", 1)[-1]
    raise ResponseBodyMismatch(
        received=f"{where}: {message[:300]}", expected=f"a body valid against {name}", exchange=exchange
    )


def requested_fields(exchange: Exchange) -> list[str]:
    """The field names a request asked for with `fields` (comma-separated)."""
    values = exchange.query.get("fields") or []
    return [part for value in values for part in value.split(",") if part]
