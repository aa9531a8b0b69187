"""Batch operations: up to 100 creates, patches and deletes, each reported, none stopping the others."""

from tests.support import factory


def run(api, operations, collection="batches"):
    return api.post(f"/{collection}/acme/batch", json={"operations": operations})


def test_each_operation_is_reported_and_counts_add_up(api):
    keep = api.post("/batches/acme", json=factory.batch()).json()
    gone = api.post("/batches/acme", json=factory.batch()).json()
    response = run(
        api,
        [
            {"operation": "create", "object": factory.batch(name="New")},
            {
                "operation": "patch",
                "id": keep["id"],
                "patch_directives": [{"op": "replace", "path": "/name", "value": "P"}],
            },
            {"operation": "delete", "id": gone["id"]},
            {"operation": "delete", "id": "bat-missing"},
            {"operation": "create", "object": factory.batch(fiscal_period=13)},
            {"operation": "patch", "id": keep["id"]},
        ],
    )
    assert response.status_code == 200
    result = response.json()
    assert [r["outcome"] for r in result["results"]] == ["success", "success", "success", "error", "error", "error"]
    assert result["success_count"] == 3 and result["error_count"] == 3
    created = result["results"][0]
    assert api.get(f"/batches/acme/{created['id']}").json() == created["object"]
    assert api.get(f"/batches/acme/{keep['id']}").json()["name"] == "P"
    assert api.get(f"/batches/acme/{gone['id']}").status_code == 404
    assert "bat-missing" in result["results"][3]["error_message"]
    assert "fiscal_period" in result["results"][4]["error_message"]
    assert "patch_directives" in result["results"][5]["error_message"]


def test_a_create_with_an_id_fails_alone(api):
    result = run(
        api,
        [
            {"operation": "create", "object": dict(factory.batch(), id="bat-x")},
            {"operation": "create", "object": factory.batch()},
        ],
    ).json()
    assert [r["outcome"] for r in result["results"]] == ["error", "success"]


def test_a_create_error_names_the_field_inside_the_object(api):
    incomplete = {k: v for k, v in factory.batch().items() if k != "name"}
    [result] = run(api, [{"operation": "create", "object": {**incomplete, "colour": "red"}}]).json()["results"]
    assert "body object.name: is required" in result["error_message"]
    assert "body object.colour: 'colour' is not a field of this schema" in result["error_message"]


def test_transactions_support_batch_operations(api, world):
    record = world.debit_memo()
    result = run(
        api,
        [
            {"operation": "create", "object": factory.transaction(world.invoice["id"], world.batch["id"], number=2)},
            {"operation": "create", "object": factory.transaction("inv-missing", world.batch["id"])},
            {
                "operation": "patch",
                "id": record["id"],
                "patch_directives": [{"op": "replace", "path": "/total", "value": 30}],
            },
        ],
        "debitMemos",
    ).json()
    assert [r["outcome"] for r in result["results"]] == ["success", "error", "success"]
    assert "invoice_id" in result["results"][1]["error_message"]


def test_one_hundred_operations_are_accepted(api):
    operations = [{"operation": "create", "object": factory.batch(name=f"b{i}")} for i in range(100)]
    result = run(api, operations).json()
    assert result["success_count"] == 100
    stored = api.admin("GET", "export").json()["tenants"]["acme"]["batches"]
    assert sorted(record["name"] for record in stored) == sorted(f"b{i}" for i in range(100))
    assert {record["id"] for record in stored} == {r["id"] for r in result["results"]}


def test_more_than_one_hundred_operations_is_400_and_nothing_happens(api):
    operations = [{"operation": "create", "object": factory.batch()} for _ in range(101)]
    response = run(api, operations)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "operations"
    assert api.get("/batches/acme").json() == []


def test_a_locked_record_fails_its_operation_only(api):
    api.admin("POST", "fixtures", json={"acme": {"batches": [dict(factory.batch(), id="bat-l", sys_locked=True)]}})
    result = run(api, [{"operation": "delete", "id": "bat-l"}, {"operation": "create", "object": factory.batch()}])
    assert [r["outcome"] for r in result.json()["results"]] == ["error", "success"]
