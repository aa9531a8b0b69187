"""Get: 404 for unknown ids, projection with `fields`, `consistentRead` accepted."""


def test_unknown_id_is_404(api):
    response = api.get("/batches/acme/bat-missing")
    assert response.status_code == 404
    assert "bat-missing" in response.json()["detail"]


def test_fields_projects_the_record(api, world):
    response = api.get(f"/batches/acme/{world.batch['id']}", params={"fields": "id,name,fiscal_period"})
    assert response.json() == {k: world.batch[k] for k in ("id", "name", "fiscal_period")}


def test_fields_leaves_out_fields_the_record_lacks(api, world):
    response = api.get(f"/batches/acme/{world.batch['id']}", params={"fields": "id,closed_at"})
    assert response.json() == {"id": world.batch["id"]}


def test_unknown_field_name_in_fields_is_400_naming_the_parameter(api, world):
    response = api.get(f"/batches/acme/{world.batch['id']}", params={"fields": "id,colour"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "fields"


def test_consistent_read_is_accepted(api, world):
    response = api.get(f"/batches/acme/{world.batch['id']}", params={"consistentRead": "true"})
    assert response.status_code == 200 and response.json() == world.batch


def test_list_returns_every_record_of_the_tenant_with_projection(api, world):
    listed = api.get("/invoices/acme", params={"fields": "id,number"}).json()
    assert listed == [{"id": world.invoice["id"], "number": world.invoice["number"]}]
