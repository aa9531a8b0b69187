"""How a client project tests itself against the Collect mock: the `collect_mock` fixture comes with the package."""

import pytest
from collect_client import CollectClient, CollectError


@pytest.fixture
def client(collect_mock):
    with CollectClient(collect_mock.base_url, collect_mock.token, tenant="acme") as client:
        yield client


def test_writing_off_an_invoice_leaves_nothing_due(client, collect_mock):
    batch = client.open_batch("April", "bu-us", "fy-2025", 4, "2025-04-01")
    invoice = client.post_invoice(batch, number=1001, amount=120.0, due="2025-05-01")
    write_off = client.write_off_balance(invoice, gl_account="gl-6150")
    assert client.invoice(invoice)["status"] == "written off"
    sent = collect_mock.journal(method="POST", path="/writeOffs/acme")
    assert [entry["status"] for entry in sent] == [200]
    assert sent[0]["body"]["total"] == 120.0
    assert write_off in {r["id"] for r in collect_mock.export()["acme"]["writeOffs"]}


def test_the_client_reports_what_the_api_refused(client):
    with pytest.raises(CollectError) as refused:
        client.post_invoice("bat-missing", number=1, amount=10.0, due="2025-05-01")
    assert refused.value.status == 409 and "batch_id" in str(refused.value)


def test_the_client_retries_after_a_tenant_limit(client, collect_mock):
    collect_mock.add_fault(operation="createBatch", throttle_rate=0.5, retry_after=0, seed=3)
    for month in range(1, 7):
        client.open_batch(f"Month {month}", "bu-us", "fy-2025", month, f"2025-{month:02d}-01")
    statuses = [entry["status"] for entry in collect_mock.journal(operation="createBatch")]
    assert statuses.count(200) == 6 and 429 in statuses


@pytest.mark.collect_mock(seed="default")
def test_seeded_data_is_there_to_read(client, collect_mock):
    invoices = client._call("GET", "/invoices/acme").json()
    assert invoices and all(invoice["id"].startswith("inv-") for invoice in invoices)
