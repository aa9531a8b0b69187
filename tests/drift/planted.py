"""A service that drifts from its contract on purpose, in seven known ways: the mock inside the defect wrapper
of the self-test (`tests.defects.app.DefectiveApp`), with every drift switched on at once.

Each drift is narrow (one operation), so that a tool that reports it reports it at one place, and a report
that holds anything else has found something that was not planted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.defects.app import Call, Response

NOT_FOUND = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "No such batch."}


@dataclass(frozen=True)
class Planted:
    """One planted drift: where it is, which kind of drift it is, and which field (or "" for the status)."""

    operation_id: str
    kind: str
    field: str
    what: str


PLANTED = (
    Planted("createBatch", "status-differs", "", "a create answers 201 instead of 200"),
    Planted("getInvoice", "field-undocumented", "/legacy_code", "an invoice carries a field the contract lacks"),
    Planted("getDebitMemo", "field-missing", "/total_in_base_currency", "a required field is left out"),
    Planted("getCreditMemo", "type-differs", "/total", "a number is answered as a string"),
    Planted("listInvoicesByBatch", "order-differs", "/Items", "each page of the lookup comes in reverse order"),
    Planted("patchInvoice", "state-rule-differs", "/sys_version", "a patch answers the version it had before"),
    Planted("deleteBatch", "status-differs", "", "deleting a batch others still name answers 404, not 409"),
)


class PlantedDrift:
    """The `defect` of a `DefectiveApp` that plants every drift of PLANTED."""

    name = "PlantedDrift"

    async def apply(self, call: Call) -> Response:
        response = await call.forward()
        operation = call.operation.operation_id if call.operation else ""
        body = response.json()
        if operation == "createBatch" and response.status == 200:
            return response.with_status(201)
        if operation == "deleteBatch" and response.status == 409:
            return response.with_json(NOT_FOUND, status=404)
        if response.status != 200 or not isinstance(body, (dict, list)):
            return response
        change = CHANGES.get(operation)
        if change is None:
            return response
        change(body)
        return response.with_json(body)


def _legacy_code(record: dict[str, Any]) -> None:
    record["legacy_code"] = f"L-{record.get('id', '')}"


def _without_total_in_base_currency(record: dict[str, Any]) -> None:
    record.pop("total_in_base_currency", None)


def _total_as_text(record: dict[str, Any]) -> None:
    if isinstance(record.get("total"), (int, float)):
        record["total"] = f"{record['total']:.2f}"


def _reversed_page(page: dict[str, Any]) -> None:
    page["Items"] = list(reversed(page.get("Items", [])))


def _version_kept(record: dict[str, Any]) -> None:
    if isinstance(record.get("sys_version"), (int, float)):
        record["sys_version"] -= 1


CHANGES = {
    "getInvoice": _legacy_code,
    "getDebitMemo": _without_total_in_base_currency,
    "getCreditMemo": _total_as_text,
    "listInvoicesByBatch": _reversed_page,
    "patchInvoice": _version_kept,
}
