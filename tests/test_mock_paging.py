"""Paging: stable order, every record exactly once, opaque keys that refuse foreign use."""

from tests.conftest import PAGE_SIZE
from tests.support import factory


def walk_list(api, path, key=None):
    """Walk a list from its start, or from `key`: the ids seen and the number of pages asked for."""
    seen, pages = [], 0
    while True:
        response = api.get(path, params={"exclusiveStartKey": key} if key else {})
        assert response.status_code == 200
        seen += [r["id"] for r in response.json()]
        pages += 1
        key = response.headers.get("X-Last-Evaluated-Key")
        if not key:
            return seen, pages


def walk_envelope(api, path, method="GET", body=None):
    seen, key = [], None
    while True:
        params = {"exclusiveStartKey": key} if key else {}
        response = api.request(method, path, params=params, json=body)
        assert response.status_code == 200
        page = response.json()
        if "Count" in page:
            assert page["Count"] == len(page["Items"])
        assert len(page["Items"]) <= PAGE_SIZE
        seen += [item["id"] for item in page["Items"]]
        key = page.get("LastEvaluatedKey")
        if not key:
            return seen


def create_batches(api, count, tenant="acme", **over):
    return [api.post(f"/batches/{tenant}", json=factory.batch(**over)).json()["id"] for _ in range(count)]


def test_a_list_walk_returns_every_record_once_in_creation_order(api):
    created = create_batches(api, 2 * PAGE_SIZE + 3)
    seen, pages = walk_list(api, "/batches/acme")
    assert seen == created
    assert pages == 3


def test_the_last_page_has_no_key(api):
    create_batches(api, PAGE_SIZE)
    response = api.get("/batches/acme")
    assert len(response.json()) == PAGE_SIZE
    assert "X-Last-Evaluated-Key" not in response.headers


def test_records_created_during_a_walk_cause_no_duplicates_and_are_seen(api):
    created = create_batches(api, PAGE_SIZE + 2)
    first = api.get("/batches/acme")
    created += create_batches(api, 3)
    seen = [r["id"] for r in first.json()]
    rest, _ = walk_list(api, "/batches/acme", first.headers["X-Last-Evaluated-Key"])
    seen += rest
    assert seen == created


def test_records_deleted_during_a_walk_are_skipped(api):
    created = create_batches(api, PAGE_SIZE + 3)
    first = api.get("/batches/acme")
    assert api.delete(f"/batches/acme/{created[-1]}").status_code == 200
    rest, _ = walk_list(api, "/batches/acme", first.headers["X-Last-Evaluated-Key"])
    assert [r["id"] for r in first.json()] + rest == created[:-1]


def test_a_lookup_walk_counts_and_pages(api, world):
    created = [world.write_off()["id"] for _ in range(PAGE_SIZE + 2)]
    assert walk_envelope(api, f"/writeOffs/acme/batch/{world.batch['id']}") == created


def test_lookups_by_fiscal_period_and_status_page(api):
    created = create_batches(api, PAGE_SIZE + 1, fiscal_period=7, status="closed")
    create_batches(api, 2, fiscal_period=8, status="open")
    assert walk_envelope(api, "/batches/acme/fiscal_period/fy-2025/7") == created
    assert walk_envelope(api, "/batches/acme/status/closed/bu-us") == created
    assert walk_envelope(api, "/batches/acme/status/closed/bu-other") == []


def test_a_search_walk_pages(api):
    created = create_batches(api, 2 * PAGE_SIZE)
    body = {"business_unit_id": "bu-us"}
    assert walk_envelope(api, "/batches/acme/search", "POST", body) == created


def test_a_lookup_with_no_match_is_an_empty_page(api):
    page = api.get("/writeOffs/acme/batch/bat-none").json()
    assert page == {"Count": 0, "Items": []}


def test_a_malformed_start_key_is_400_naming_the_parameter(api):
    create_batches(api, 1)
    for key in ["garbage", "eyJ3IjoieCIsImsiOjF9.AAAA", "a.b.c"]:
        response = api.get("/batches/acme", params={"exclusiveStartKey": key})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "exclusiveStartKey"


def test_a_start_key_from_another_walk_is_refused(api, world):
    create_batches(api, PAGE_SIZE + 1)
    key = api.get("/batches/acme").headers["X-Last-Evaluated-Key"]
    assert api.get("/batches/globex", params={"exclusiveStartKey": key}).status_code == 400
    assert api.get("/invoices/acme", params={"exclusiveStartKey": key}).status_code == 400
    search = api.post("/batches/acme/search", params={"exclusiveStartKey": key}, json={"business_unit_id": "bu-us"})
    assert search.status_code == 400


def test_a_search_key_is_bound_to_its_filters(api):
    create_batches(api, PAGE_SIZE + 1)
    key = api.post("/batches/acme/search", json={"business_unit_id": "bu-us"}).json()["LastEvaluatedKey"]
    other = api.post("/batches/acme/search", params={"exclusiveStartKey": key}, json={"business_unit_id": "bu-uk"})
    assert other.status_code == 400
