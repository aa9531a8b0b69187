"""What one record can do to others, and what the contract says the mock does: server time and versions that no
stored value can poison, batch operations that follow their direct twins, whole records as read accepted by a
strict validator, the adjustment's workflow, a full disk answered with 507, and paging keys that outlive a restart."""

import errno
from datetime import UTC, datetime

import httpx
import pytest
from openapi_schema_validator import OAS30WriteValidator

from mockserver import Settings
from mockserver.storage import StorageWriteError
from mockserver.testing import serve_in_thread
from tests.support import factory
from tests.support.process import MockProcess

AUTH = {"Authorization": "Bearer dev-token"}
THIS_CENTURY = str(datetime.now(UTC).year)[:2]


def seed(api, **fields):
    record = factory.batch(id=f"bat-{fields.get('name', 'seeded')}", **fields)
    assert api.admin("POST", "fixtures", json={"acme": {"batches": [record]}}).status_code == 200
    return record["id"]


@pytest.mark.parametrize("stamp", ["2999-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z"])
def test_a_stored_timestamp_never_moves_the_servers_clock(api, stamp):
    far = seed(api, name="far", sys_last_modified_at=stamp, sys_created_at=stamp)
    changed = api.patch(f"/batches/acme/{far}", json=[{"op": "add", "path": "/description", "value": "x"}])
    assert changed.status_code == 200, changed.text
    assert changed.json()["sys_last_modified_at"].startswith(THIS_CENTURY)  # the server's time, not the record's
    assert changed.json()["sys_created_at"] == stamp  # what the record says of itself stays
    elsewhere = api.post("/batches/globex", json=factory.batch()).json()
    assert elsewhere["sys_last_modified_at"].startswith(THIS_CENTURY)


def test_a_version_at_the_end_of_its_range_is_refused_not_overflowed(api):
    last = seed(api, name="last", sys_version=2**63 - 1)
    response = api.patch(f"/batches/acme/{last}", json=[{"op": "replace", "path": "/name", "value": "more"}])
    assert response.status_code == 409 and response.json()["errors"][0]["field"] == "sys_version"
    assert api.get(f"/batches/acme/{last}").json()["name"] == "last"
    almost = seed(api, name="almost", sys_version=2**63 - 2)
    response = api.put(f"/batches/acme/{almost}", json=factory.batch(name="almost"))
    assert response.status_code == 200 and response.json()["sys_version"] == 2**63 - 1


def test_a_record_as_read_is_a_valid_replace_body_for_a_strict_validator(api, spec):
    """Prism as a validating proxy, like generated clients, refuses readOnly properties in a request body under
    `additionalProperties: false`; the replace body schema therefore has none, and a record read back validates."""
    record = api.post("/batches/acme", json=factory.batch()).json()
    put = spec["paths"]["/batches/{tenantId}/{id}"]["put"]["requestBody"]["content"]["application/json"]["schema"]

    def errors(schema):
        validator = OAS30WriteValidator({"components": spec["components"], **schema})
        return [e.message for e in validator.iter_errors(record)]

    assert errors(put) == []
    assert errors({"$ref": "#/components/schemas/Batch"})  # the record schema itself would refuse it
    response = api.put(f"/batches/acme/{record['id']}", json=dict(record, name="as read"))
    assert response.status_code == 200 and response.json()["sys_version"] == 2


def test_an_adjustment_names_the_invoice_and_marks_it_with_its_execution(api, world):
    invoice = world.invoice
    body = factory.invoice(world.batch["id"], balance_due=150.0)
    response = api.put(f"/invoices/acme/adjustment/sync/{invoice['id']}", json=body)
    assert response.status_code == 200 and response.headers["X-Record-Id"] == invoice["id"]
    arn = response.json()["executionArn"]
    assert arn.endswith(f":{invoice['id']}") and "adjust" in arn
    adjusted = api.get(f"/invoices/acme/{invoice['id']}").json()
    assert adjusted["workflow_execution_id"] == arn and adjusted["balance_due"] == 150.0


def test_a_batch_operation_follows_its_direct_twin(api, world):
    results = api.post(
        "/batches/acme/batch",
        json={
            "operations": [
                {"operation": "create", "id": "bat-mine", "object": factory.batch()},  # a create with an id: refused
                {"operation": "create", "id": None, "object": factory.batch(), "patch_directives": []},  # 004 L794
                {"operation": "create", "object": {**factory.batch(), "id": "bat-inside"}},
            ]
        },
    ).json()["results"]
    assert [r["outcome"] for r in results] == ["error", "success", "error"]
    assert "the server generates the id" in results[0]["error_message"]
    assert api.get("/batches/acme/bat-mine").status_code == 404


@pytest.mark.parametrize("collection", ["writeOffs", "debitMemos", "creditMemos", "invoices", "batches"])
def test_batch_delete_removes_a_record_of_every_resource(api, world, spec, collection):
    """002 L565 and 004 L775: the batch endpoint performs patch/delete operations; for transactions, which have no
    DELETE, it is how a record is deleted. The contract says so, and the mock does it."""
    assert "delete" in spec["components"]["schemas"]["BatchOperation"]["properties"]["operation"]["enum"]
    if collection == "batches":
        record = api.create("batches", factory.batch())
    elif collection == "invoices":
        record = api.create("invoices", factory.invoice(world.batch["id"], number=777))
    elif collection == "writeOffs":
        record = world.write_off()
    else:
        record = getattr(world, {"debitMemos": "debit_memo", "creditMemos": "credit_memo"}[collection])()
    response = api.post(f"/{collection}/acme/batch", json={"operations": [{"operation": "delete", "id": record["id"]}]})
    assert response.json()["results"][0]["outcome"] == "success"
    assert api.get(f"/{collection}/acme/{record['id']}").status_code == 404


def test_a_write_the_disk_refuses_is_a_507_and_stores_nothing(monkeypatch):
    with serve_in_thread(Settings(db=":memory:", seed=False)) as (base_url, app):
        http = httpx.Client(base_url=base_url, headers=AUTH, timeout=10)
        kept = http.post("/batches/acme", json=factory.batch(name="kept")).json()

        def refuse(changes):
            raise StorageWriteError(app.state.db._store.path, OSError(errno.ENOSPC, "No space left on device"))

        app.state.db._store.path = "data/collect.json.wal"  # a memory store has no file: name one for the message
        monkeypatch.setattr(app.state.db._store, "write", refuse)
        for method, path, body in [
            ("POST", "/batches/acme", factory.batch(name="refused")),
            ("PATCH", f"/batches/acme/{kept['id']}", [{"op": "replace", "path": "/name", "value": "refused"}]),
            ("POST", "/batches/acme/batch", {"operations": [{"operation": "create", "object": factory.batch()}] * 3}),
            ("DELETE", f"/batches/acme/{kept['id']}", None),
        ]:
            response = http.request(method, path, json=body)
            assert response.status_code == 507, (method, path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert "No space left on device (ENOSPC)" in response.json()["detail"]
        monkeypatch.undo()
        assert [b["name"] for b in http.get("/batches/acme").json()] == ["kept"]  # memory undone with the write
        assert http.post("/batches/acme", json=factory.batch(name="later")).status_code == 200
        http.close()


def test_paging_keys_and_caller_ids_of_a_file_backed_mock_outlive_its_restart(tmp_path):
    flags = ("--db", str(tmp_path / "collect.json"), "--no-seed", "--page-size", "2", "--tokens", "t1=acme")
    with MockProcess(*flags) as mock:
        for n in range(5):
            httpx.post(
                f"{mock.base_url}/batches/acme", json=factory.batch(name=f"b{n}"), headers={"Authorization": "t1"}
            )
        first = httpx.get(f"{mock.base_url}/batches/acme", headers=AUTH)
        key = first.headers["X-Last-Evaluated-Key"]
        caller = first.json()[0]["sys_created_by_id"]
    with MockProcess(*flags) as mock:
        page = httpx.get(f"{mock.base_url}/batches/acme", params={"exclusiveStartKey": key}, headers=AUTH)
        assert page.status_code == 200 and [b["name"] for b in page.json()] == ["b2", "b3"]
        later = httpx.post(f"{mock.base_url}/batches/acme", json=factory.batch(), headers={"Authorization": "t1"})
        assert later.json()["sys_created_by_id"] == caller


def test_a_key_from_another_run_of_an_in_memory_mock_is_refused_saying_why(api):
    response = api.get("/batches/acme", params={"exclusiveStartKey": "eyJ3IjoiYSIsImsiOjF9.c2lnbmF0dXJl"})
    assert response.status_code == 400
    assert "in-memory mock last one run" in response.json()["errors"][0]["message"]
