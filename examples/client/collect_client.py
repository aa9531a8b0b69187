"""A small client of the Collect API, as a client developer would write one: the example the mock is tested with.

It posts an invoice into an open batch, writes off what a customer will never pay, and retries politely when
the API says a tenant limit was hit (429 with Retry-After).
"""

from __future__ import annotations

import time
from typing import Any

import httpx


class CollectError(Exception):
    def __init__(self, response: httpx.Response):
        problem = response.json() if response.content else {}
        super().__init__(f"{response.status_code}: {problem.get('detail', response.text)}")
        self.status = response.status_code
        self.problem = problem


class CollectClient:
    def __init__(self, base_url: str, token: str, tenant: str, retries: int = 3):
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        self.tenant = tenant
        self.retries = retries

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> CollectClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for _ in range(self.retries):
            response = self.http.request(method, path, **kwargs)
            if response.status_code != 429:
                break
            time.sleep(float(response.headers.get("Retry-After", "1")))
        if response.status_code >= 400:
            raise CollectError(response)
        return response

    def open_batch(self, name: str, business_unit: str, fiscal_year: str, period: int, date: str) -> str:
        body = {
            "name": name,
            "business_unit_id": business_unit,
            "fiscal_year_id": fiscal_year,
            "fiscal_period": period,
            "date": date,
            "status": "open",
            "type": "transaction",
        }
        return self._call("POST", f"/batches/{self.tenant}", json=body).json()["id"]  # type: ignore[no-any-return]

    def post_invoice(self, batch_id: str, number: int, amount: float, due: str) -> str:
        body = {
            "batch_id": batch_id,
            "business_unit_id": "bu-us",
            "number": number,
            "status": "open",
            "bill_to_type": "organization",
            "bill_to_contact_id": "con-1",
            "bill_to_organization_id": "org-1",
            "date_due": due,
            "total": amount,
            "total_in_base_currency": amount,
            "balance_due": amount,
            "amount_paid": 0,
            "amount_refunded": 0,
            "amount_written_off": 0,
            "line_items": [
                {
                    "product_id": "prod-dues",
                    "product_type": "membership",
                    "quantity": 1,
                    "unit_price": amount,
                    "total": amount,
                }
            ],
        }
        response = self._call("POST", f"/invoices/{self.tenant}", json=body)
        return response.json()["executionArn"].rsplit(":", 1)[1]  # type: ignore[no-any-return]

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        return self._call("GET", f"/invoices/{self.tenant}/{invoice_id}").json()  # type: ignore[no-any-return]

    def write_off_balance(self, invoice_id: str, gl_account: str) -> str:
        invoice = self.invoice(invoice_id)
        body = {
            "invoice_id": invoice_id,
            "method": "allowance",
            "bad_debts_expense_gl_account_id": gl_account,
            "batch_id": invoice["batch_id"],
            "business_unit_id": invoice["business_unit_id"],
            "number": invoice["number"],
            "total": invoice["balance_due"],
            "total_in_base_currency": invoice["balance_due"],
            "line_items": [{"description": "Uncollectible balance", "total": invoice["balance_due"]}],
        }
        response = self._call("POST", f"/writeOffs/{self.tenant}", json=body)
        self._call(
            "PATCH",
            f"/invoices/{self.tenant}/{invoice_id}",
            json=[
                {"op": "test", "path": "/sys_version", "value": invoice["sys_version"]},
                {"op": "replace", "path": "/amount_written_off", "value": invoice["balance_due"]},
                {"op": "replace", "path": "/balance_due", "value": 0},
                {"op": "replace", "path": "/status", "value": "written off"},
            ],
        )
        return response.headers["X-Record-Id"]
