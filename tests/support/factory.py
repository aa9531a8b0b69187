"""Valid request bodies for each resource, overridable per test, and a small consistent world to test in."""

from __future__ import annotations

from typing import Any

from tests.support.client import Api


def batch(**over: Any) -> dict[str, Any]:
    return {
        "business_unit_id": "bu-us",
        "date": "2025-04-01",
        "fiscal_period": 4,
        "fiscal_year_id": "fy-2025",
        "name": "April 2025 receivables",
        "status": "open",
        "type": "transaction",
        **over,
    }


def invoice(batch_id: str, **over: Any) -> dict[str, Any]:
    return {
        "amount_paid": 0,
        "amount_refunded": 0,
        "amount_written_off": 0,
        "balance_due": 200.0,
        "bill_to_contact_id": "con-1",
        "bill_to_organization_id": "org-1",
        "bill_to_type": "organization",
        "business_unit_id": "bu-us",
        "batch_id": batch_id,
        "date": "2025-04-03",
        "date_due": "2025-05-03",
        "currency_code": "USD",
        "number": 10001,
        "status": "open",
        "total": 200.0,
        "total_in_base_currency": 200.0,
        "line_items": [
            {"product_id": "prod-1", "product_type": "membership", "quantity": 2, "unit_price": 100.0, "total": 200.0}
        ],
        **over,
    }


def transaction(invoice_id: str, batch_id: str, **over: Any) -> dict[str, Any]:
    """A debit memo or credit memo body; write offs add a method."""
    return {
        "invoice_id": invoice_id,
        "line_items": [{"description": "item", "total": 25.0}],
        "number": 1,
        "total": 25.0,
        "business_unit_id": "bu-us",
        "batch_id": batch_id,
        "total_in_base_currency": 25.0,
        "date": "2025-04-20",
        **over,
    }


def write_off(invoice_id: str, batch_id: str, **over: Any) -> dict[str, Any]:
    return transaction(invoice_id, batch_id, **{"method": "direct", **over})


class World:
    """A batch and an invoice in a tenant, for transactions to refer to."""

    def __init__(self, api: Api, tenant: str = "acme"):
        self.api, self.tenant = api, tenant
        self.batch = api.create("batches", batch(), tenant)
        self.invoice = api.create("invoices", invoice(self.batch["id"]), tenant)

    def write_off(self, **over: Any) -> dict[str, Any]:
        return self.api.create("writeOffs", write_off(self.invoice["id"], self.batch["id"], **over), self.tenant)

    def debit_memo(self, **over: Any) -> dict[str, Any]:
        return self.api.create("debitMemos", transaction(self.invoice["id"], self.batch["id"], **over), self.tenant)

    def credit_memo(self, **over: Any) -> dict[str, Any]:
        return self.api.create("creditMemos", transaction(self.invoice["id"], self.batch["id"], **over), self.tenant)
