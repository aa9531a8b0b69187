"""Create: server-generated ids, system fields, execution tokens, references and required-together fields."""

import re

import pytest

from tests.support import factory

ID = re.compile(r"^[\w|-]+$")


def test_batch_create_returns_the_stored_record_with_a_generated_id(api):
    response = api.post("/batches/acme", json=factory.batch())
    assert response.status_code == 200
    batch = response.json()
    assert ID.match(batch["id"])
    assert api.get(f"/batches/acme/{batch['id']}").json() == batch


def test_create_sets_the_system_fields(api, world):
    record = world.write_off()
    assert record["sys_version"] == 1
    assert record["sys_created_at"] == record["sys_last_modified_at"]
    assert record["sys_created_by_id"] == record["sys_last_modified_by_id"] == "dev-user"


def test_generated_ids_are_unique(api):
    ids = {api.post("/batches/acme", json=factory.batch()).json()["id"] for _ in range(20)}
    assert len(ids) == 20


@pytest.mark.parametrize("collection", ["writeOffs", "debitMemos", "creditMemos"])
def test_workflow_create_answers_with_a_token_and_the_record_is_findable_from_it(api, world, collection):
    body = factory.transaction(world.invoice["id"], world.batch["id"])
    if collection == "writeOffs":
        body["method"] = "direct"
    response = api.post(f"/{collection}/acme", json=body)
    assert response.status_code == 200
    token = response.json()
    record_id = token["executionArn"].rsplit(":", 1)[1]
    assert response.headers["X-Record-Id"] == record_id
    record = api.get(f"/{collection}/acme/{record_id}").json()
    assert record["workflow_execution_id"] == token["executionArn"]
    assert record["total"] == body["total"]


def test_invoice_create_is_a_workflow_too(api, world):
    response = api.post("/invoices/acme", json=factory.invoice(world.batch["id"]))
    assert response.status_code == 200 and "executionArn" in response.json()
    assert api.get(f"/invoices/acme/{response.headers['X-Record-Id']}").status_code == 200


def test_a_supplied_id_is_refused_and_nothing_is_stored(api, world):
    response = api.post("/writeOffs/acme", json=factory.write_off(world.invoice["id"], world.batch["id"], id="wo-1"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "id"
    assert api.get("/writeOffs/acme").json() == []


def test_system_fields_sent_on_create_are_ignored(api):
    body = factory.batch(sys_version=42, sys_created_by_id="someone-else", sys_locked=True)
    batch = api.post("/batches/acme", json=body).json()
    assert batch["sys_version"] == 1
    assert batch["sys_created_by_id"] == "dev-user"
    assert "sys_locked" not in batch


@pytest.mark.parametrize("field", ["invoice_id", "batch_id"])
def test_a_reference_to_a_missing_record_is_409_naming_the_field(api, world, field):
    body = {**factory.write_off(world.invoice["id"], world.batch["id"]), field: "does-not-exist"}
    response = api.post("/writeOffs/acme", json=body)
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == field
    assert api.get("/writeOffs/acme").json() == []


def test_references_resolve_only_inside_the_tenant(api, world):
    body = factory.write_off(world.invoice["id"], world.batch["id"])
    assert api.post("/writeOffs/globex", json=body).status_code == 409


def test_parent_invoice_must_exist(api, world):
    body = factory.invoice(world.batch["id"], parent_invoice_id="inv-nope")
    assert api.post("/invoices/acme", json=body).status_code == 409
    body = factory.invoice(world.batch["id"], parent_invoice_id=world.invoice["id"])
    assert api.post("/invoices/acme", json=body).status_code == 200


def test_batch_dependents_must_name_batches(api, world):
    assert api.post("/batches/acme", json=factory.batch(dependents=["bat-nope"])).status_code == 409
    assert api.post("/batches/acme", json=factory.batch(dependents=[world.batch["id"]])).status_code == 200


def test_allowance_write_off_needs_a_bad_debts_account(api, world):
    body = factory.write_off(world.invoice["id"], world.batch["id"], method="allowance")
    response = api.post("/writeOffs/acme", json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "bad_debts_expense_gl_account_id"
    body["bad_debts_expense_gl_account_id"] = "gl-6150"
    assert api.post("/writeOffs/acme", json=body).status_code == 200


def test_missing_required_fields_are_each_named(api):
    response = api.post("/batches/acme", json={"name": "x"})
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"business_unit_id", "date", "fiscal_period", "fiscal_year_id"} <= fields


def test_an_unknown_field_is_refused_by_name(api):
    response = api.post("/batches/acme", json=factory.batch(colour="blue"))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"location": "body", "field": "colour", "message": "'colour' is not a field of this schema"}
    ]


def test_nested_errors_name_the_nested_field(api, world):
    body = factory.invoice(world.batch["id"])
    body["line_items"][0]["quantity"] = "two"
    response = api.post("/invoices/acme", json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "line_items[0].quantity"
