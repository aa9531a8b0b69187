"""Tenant isolation: no operation reads, lists, counts, searches, references or changes another tenant's records."""

from tests.support import factory


def test_no_operation_reaches_another_tenants_records(api, world):
    wo = world.write_off()
    other = api.with_token("dev-token")
    b, i = world.batch["id"], world.invoice["id"]
    assert other.get(f"/batches/globex/{b}").status_code == 404
    assert other.get(f"/writeOffs/globex/{wo['id']}").status_code == 404
    assert other.get("/writeOffs/globex").json() == []
    assert other.get(f"/writeOffs/globex/batch/{b}").json() == {"Count": 0, "Items": []}
    assert other.get("/batches/globex/fiscal_period/fy-2025/4").json() == {"Count": 0, "Items": []}
    assert other.get("/batches/globex/status/open/bu-us").json() == {"Count": 0, "Items": []}
    assert other.post("/writeOffs/globex/search", json={"business_unit_id": "bu-us", "id": [wo["id"]]}).json() == {
        "Items": []
    }
    assert other.put(f"/batches/globex/{b}", json=factory.batch()).status_code == 404
    assert other.patch(f"/batches/globex/{b}", json=[]).status_code == 404
    assert other.delete(f"/batches/globex/{b}").status_code == 404
    assert other.put(f"/invoices/globex/adjustment/sync/{i}", json=factory.invoice(b)).status_code == 404
    result = other.post("/batches/globex/batch", json={"operations": [{"operation": "delete", "id": b}]}).json()
    assert result["results"][0]["outcome"] == "error"
    assert other.post("/writeOffs/globex", json=factory.write_off(i, b)).status_code == 409
    assert api.get(f"/batches/acme/{b}").json() == world.batch


def test_tenants_can_hold_the_same_shapes_independently(api):
    a = api.post("/batches/acme", json=factory.batch(name="A")).json()
    g = api.post("/batches/globex", json=factory.batch(name="G")).json()
    assert [r["id"] for r in api.get("/batches/acme").json()] == [a["id"]]
    assert [r["id"] for r in api.get("/batches/globex").json()] == [g["id"]]
