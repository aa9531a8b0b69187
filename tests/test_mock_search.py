"""Search: every filter kind of the contract, summary items, fieldsToReturn and business unit scoping."""

import pytest

from tests.support import factory


@pytest.fixture
def batches(api):
    made = []
    for i, (unit, status, kind, date, total) in enumerate(
        [
            ("bu-us", "open", "transaction", "2025-04-01", "100"),
            ("bu-us", "closed", "transaction", "2025-04-15", "250.5"),
            ("bu-us", "posted", "deferred revenue", "2025-04-30", "1000"),
            ("bu-uk", "open", "transaction", "2025-05-01", "100"),
        ]
    ):
        body = factory.batch(
            business_unit_id=unit,
            status=status,
            type=kind,
            date=date,
            total=float(total),
            count=i + 1,
            name=f"batch {i}",
            fiscal_period=4 + (i == 3),
        )
        made.append(api.post("/batches/acme", json=body).json())
    return made


def ids(response):
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["Items"]]


def search(api, body, **params):
    return api.post("/batches/acme/search", json=body, params=params)


def test_equality_on_business_unit_scopes_the_search(api, batches):
    assert ids(search(api, {"business_unit_id": "bu-us"})) == [b["id"] for b in batches[:3]]
    assert ids(search(api, {"business_unit_id": "bu-uk"})) == [batches[3]["id"]]


def test_enum_and_id_lists_match_any_value(api, batches):
    assert ids(search(api, {"status": ["open", "posted"]})) == [batches[0]["id"], batches[2]["id"], batches[3]["id"]]
    assert ids(search(api, {"type": ["deferred revenue"]})) == [batches[2]["id"]]
    assert ids(search(api, {"id": [batches[3]["id"], batches[1]["id"], "bat-none"]})) == [
        batches[1]["id"],
        batches[3]["id"],
    ]


def test_ranges_are_inclusive_at_both_ends(api, batches):
    assert ids(search(api, {"date": ["2025-04-15", "2025-04-30"]})) == [batches[1]["id"], batches[2]["id"]]
    assert ids(search(api, {"total": ["100", "250.5"]})) == [batches[0]["id"], batches[1]["id"], batches[3]["id"]]
    assert ids(search(api, {"count": ["2", "2"]})) == [batches[1]["id"]]
    assert ids(search(api, {"total": ["100.01", "250.49"]})) == []


def test_filters_combine_with_and(api, batches):
    body = {"business_unit_id": "bu-us", "status": ["open", "closed"], "total": ["200", "300"]}
    assert ids(search(api, body)) == [batches[1]["id"]]
    assert ids(search(api, {"fiscal_period": 5, "name": "batch 3"})) == [batches[3]["id"]]


def test_an_inverted_range_is_400(api, batches):
    response = search(api, {"date": ["2025-05-01", "2025-04-01"]})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "date"


def test_an_unknown_filter_or_bad_range_size_is_400(api, batches):
    assert search(api, {"colour": ["blue"]}).status_code == 400
    assert search(api, {"date": ["2025-04-01"]}).status_code == 400


def test_items_carry_the_summary_shape_or_the_fields_asked_for(api, batches):
    item = search(api, {"id": [batches[0]["id"]]}).json()["Items"][0]
    # The summary's fields that the record has (it has no currency_symbol or recurring_batch_id); no sys_* field.
    assert item == {
        "id": batches[0]["id"],
        "name": "batch 0",
        "business_unit_id": "bu-us",
        "fiscal_year_id": "fy-2025",
        "fiscal_period": 4,
        "date": "2025-04-01",
        "status": "open",
        "type": "transaction",
        "count": 1,
        "total": 100.0,
    }
    item = search(api, {"id": [batches[0]["id"]]}, fieldsToReturn="id,sys_version").json()["Items"][0]
    assert item == {"id": batches[0]["id"], "sys_version": 1}


def test_transaction_search_requires_a_business_unit(api, world):
    world.write_off()
    assert api.post("/writeOffs/acme/search", json={}).status_code == 400
    found = api.post("/writeOffs/acme/search", json={"business_unit_id": "bu-us", "total": [25, 25]})
    assert len(found.json()["Items"]) == 1


def test_transaction_search_by_batch_number_and_date(api, world):
    first = world.credit_memo(number=10, date="2025-04-01")
    second = world.credit_memo(number=20, date="2025-04-30")
    body = {"business_unit_id": "bu-us", "batch_id": [world.batch["id"]], "number": [10, 15]}
    assert ids(api.post("/creditMemos/acme/search", json=body)) == [first["id"]]
    body = {"business_unit_id": "bu-us", "date": ["2025-04-30", "2025-04-30"]}
    assert ids(api.post("/creditMemos/acme/search", json=body)) == [second["id"]]


def test_invoice_search_by_status(api, world):
    api.create("invoices", factory.invoice(world.batch["id"], status="paid", balance_due=0))
    body = {"business_unit_id": "bu-us", "status": ["open"]}
    assert ids(api.post("/invoices/acme/search", json=body)) == [world.invoice["id"]]


def test_search_never_crosses_tenants(api, batches):
    assert api.post("/batches/globex/search", json={"business_unit_id": "bu-us"}).json() == {"Items": []}
