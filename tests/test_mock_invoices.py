"""Invoice adjustment and warm-up."""

import pytest

from tests.support import factory


def test_adjustment_updates_the_invoice_and_returns_a_token(api, world):
    body = factory.invoice(world.batch["id"], balance_due=150.0, amount_paid=50.0)
    response = api.put(f"/invoices/acme/adjustment/sync/{world.invoice['id']}", json=body)
    assert response.status_code == 200
    assert response.json()["executionArn"].endswith(world.invoice["id"])
    invoice = api.get(f"/invoices/acme/{world.invoice['id']}").json()
    assert invoice["balance_due"] == 150.0 and invoice["sys_version"] == world.invoice["sys_version"] + 1


def test_adjusting_an_unknown_invoice_is_404(api, world):
    assert (
        api.put("/invoices/acme/adjustment/sync/inv-none", json=factory.invoice(world.batch["id"])).status_code == 404
    )


@pytest.mark.parametrize("collection", ["writeOffs", "debitMemos", "creditMemos", "invoices"])
def test_warm_up_answers_200_without_a_body(api, collection):
    response = api.post(f"/{collection}/warmUpStepFunctions")
    assert response.status_code == 200 and response.content == b""
