"""`collect-mock serve --spec PATH`: any contract that follows the conventions is served with no code of its own;
one that does not is refused at start, naming every convention it breaks and where."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import httpx
import pytest
import yaml

from collect_contract import Contract
from mockserver import conventions
from tests.support.process import MockProcess, free_port

H = {"Authorization": "Bearer dev-token"}
BATCH = {
    "name": "May",
    "business_unit_id": "bu-us",
    "fiscal_year_id": "fy-2025",
    "fiscal_period": 5,
    "date": "2025-05-01",
}
INVOICE = {
    "business_unit_id": "bu-us",
    "number": 7001,
    "status": "open",
    "bill_to_type": "organization",
    "bill_to_contact_id": "con-1",
    "bill_to_organization_id": "org-1",
    "date_due": "2025-06-01",
    "total": 90,
    "total_in_base_currency": 90,
    "balance_due": 90,
    "amount_paid": 0,
    "amount_refunded": 0,
    "amount_written_off": 0,
    "line_items": [{"product_id": "p", "product_type": "membership", "quantity": 1, "unit_price": 90, "total": 90}],
}
REFUND = {
    "number": 1,
    "method": "direct",
    "business_unit_id": "bu-us",
    "total": 90,
    "total_in_base_currency": 90,
    "line_items": [{"description": "Refunded: membership", "quantity": 1, "total": 90, "total_in_base_currency": 90}],
}


def with_refunds(spec: dict) -> dict:
    """The contract plus a `refunds` resource: the write offs' paths, schemas, parameters and examples, renamed."""
    words = {"WriteOff": "Refund", "writeOffs": "refunds", "writeOff": "refund", "Write Off": "Refund"}

    def renamed(node: object) -> object:
        text = json.dumps(node)
        for old, new in words.items():
            text = text.replace(old, new)
        return json.loads(text)

    grown = copy.deepcopy(spec)
    for path, item in spec["paths"].items():
        if path.startswith("/writeOffs/"):
            grown["paths"][str(renamed(path))] = renamed(item)
    for section, entries in spec["components"].items():
        for name, entry in entries.items():
            if "WriteOff" in name:
                grown["components"][section][str(renamed(name))] = renamed(entry)
    return grown


def write(tmp_path, spec: dict, name: str = "contract.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_a_contract_with_one_more_resource_is_served_with_no_code_change(tmp_path, spec):
    path = write(tmp_path, with_refunds(spec))
    with MockProcess("--spec", str(path), "--db", ":memory:", "--no-seed") as mock:
        http = httpx.Client(base_url=mock.base_url, headers=H, timeout=30)
        batch = http.post("/batches/acme", json=BATCH).json()["id"]
        invoice = http.post("/invoices/acme", json={**INVOICE, "batch_id": batch}).headers["X-Record-Id"]
        created = http.post("/refunds/acme", json={**REFUND, "invoice_id": invoice, "batch_id": batch})
        assert created.status_code == 200 and created.json()["executionArn"].endswith(created.headers["X-Record-Id"])
        refund = created.headers["X-Record-Id"]
        assert refund.startswith("ref-")
        record = http.get(f"/refunds/acme/{refund}").json()
        assert record["invoice_id"] == invoice and record["sys_version"] == 1
        assert [r["id"] for r in http.get("/refunds/acme").json()] == [refund]
        assert http.get(f"/refunds/acme/batch/{batch}").json()["Count"] == 1  # an index lookup
        search = {"business_unit_id": "bu-us", "batch_id": [batch], "total": [50, 100]}
        found = http.post("/refunds/acme/search", json=search).json()
        assert [r["id"] for r in found["Items"]] == [refund]
        dangling = http.post("/refunds/acme", json={**REFUND, "invoice_id": "inv-nope", "batch_id": batch})
        assert dangling.status_code == 409 and "invoice_id" in dangling.json()["detail"]
        other = http.post("/batches/acme", json=BATCH).json()["id"]  # held by a refund alone
        assert http.post("/refunds/acme", json={**REFUND, "invoice_id": invoice, "batch_id": other}).status_code == 200
        held = http.delete(f"/batches/acme/{other}")
        assert held.status_code == 409 and "refunds.batch_id" in held.json()["detail"]
        assert http.get("/refunds/globex").json() == []  # tenancy, from the same rules
        http.close()


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", str(free_port()), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_contract_that_breaks_the_conventions_is_refused_at_start_naming_each_break(tmp_path, spec):
    broken = with_refunds(spec)
    del broken["components"]["schemas"]["Refund"]["properties"]["id"]["readOnly"]
    broken["components"]["schemas"]["Refund"]["properties"]["invoice_id"]["x-references"] = "Payment"
    db = tmp_path / "data" / "collect.json"
    result = serve("--spec", str(write(tmp_path, broken)), "--db", str(db))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    message = result.stderr
    assert message.startswith(f"ContractError: the contract {tmp_path / 'contract.yaml'} cannot be served")
    assert "Conventions a contract must follow" in message
    assert "schema Refund: needs an 'id' property of type string, readOnly" in message
    assert "schema Refund, property invoice_id: x-references 'Payment' is not the record schema" in message
    assert not db.parent.exists()  # refused before anything was created


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "file: no such file"),
        ("openapi: [unclosed", "not YAML or JSON"),
        ("- a list", "not an OpenAPI description"),
        (
            "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
            "openapi: is 3.1.0; the mock serves OpenAPI 3.0.x",
        ),
        (
            "openapi: 3.0.3\ninfo: {title: t}\npaths: {}\n",
            'info: not valid OpenAPI 3.0: "version" is a required property',
        ),
        ("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n", "no resource"),
    ],
)
def test_a_file_that_is_no_usable_contract_says_why(tmp_path, content, expected):
    path = tmp_path / "contract.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(conventions.ContractError) as raised:
        conventions.load(path)
    assert expected in str(raised.value) and str(path) in str(raised.value)


def test_the_packaged_contract_follows_the_conventions(spec):
    assert conventions.check_openapi(spec) == [] and conventions.check_document(spec) == []
    assert conventions.check_contract(Contract(spec)) == []


def breaks(spec: dict, change) -> list[str]:
    """The violations of a copy of the contract changed by `change`, as `where: what` lines."""
    changed = copy.deepcopy(spec)
    change(changed)
    found = conventions.check_document(changed)
    return [str(v) for v in (found or conventions.check_contract(Contract(changed)))]


def set_path(spec: dict, path: str, method: str, op: dict) -> None:
    spec["paths"].setdefault(path, {})[method] = op


def renamed_item(spec: dict, path: str) -> dict:
    """The path item with its {id} parameter renamed {batchId}; the old path is removed."""
    text = json.dumps(spec["paths"].pop(path)).replace('"name": "id"', '"name": "batchId"')
    return json.loads(text)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda s: s["paths"]["/batches/{tenantId}"]["get"].pop("operationId"),
            "GET /batches/{tenantId}: no operationId",
        ),
        (
            lambda s: s["paths"]["/batches/{tenantId}"]["post"]["requestBody"]["content"]["application/json"].update(
                schema={"type": "object"}
            ),
            "POST /batches/{tenantId} (createBatch): the request body must be application/json with a $ref",
        ),
        (
            lambda s: s["paths"]["/batches/{tenantId}/{id}"].update(
                post=copy.deepcopy(s["paths"]["/batches/{tenantId}/{id}"]["put"]) | {"operationId": "postBatch"}
            ),
            "POST /batches/{tenantId}/{id} (postBatch): an item path takes GET, PUT, PATCH or DELETE only",
        ),
        (
            lambda s: s["paths"]["/batches/{tenantId}/search"]["post"]["responses"]["200"]["content"].pop(
                "application/json"
            ),
            "POST /batches/{tenantId}/search (searchBatches): a search must answer 200",
        ),
        (
            lambda s: s["paths"]["/batches/{tenantId}/batch"]["post"]["requestBody"]["content"].update(
                {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}
            ),
            "POST /batches/{tenantId}/batch (executeBatchOperations): a batch body must be an application/json object",
        ),
        (
            lambda s: s["components"]["securitySchemes"].update(basic={"type": "http", "scheme": "basic"}),
            "security scheme basic: type http (basic) is not one the mock checks",
        ),
        (
            lambda s: set_path(
                s, "/batches/{tenantId}/archive", "post", {"operationId": "archiveBatches", "responses": {}}
            ),
            "POST /batches/{tenantId}/archive (archiveBatches): not a path shape the mock derives behaviour from",
        ),
        (
            lambda s: s["paths"]["/batches/{tenantId}"]["get"].update(
                parameters=[
                    p for p in s["paths"]["/batches/{tenantId}"]["get"]["parameters"] if "Exclusive" not in str(p)
                ]
            ),
            "GET /batches/{tenantId} (listBatches): no 'exclusiveStartKey' query parameter",
        ),
        (
            lambda s: s["paths"].update({"/batches/{tenantId}/{batchId}": renamed_item(s, "/batches/{tenantId}/{id}")}),
            "GET /batches/{tenantId}/{batchId} (getBatch): an item path's parameter must be named {id}",
        ),
        (
            lambda s: s["components"]["parameters"]["BatchIdPath"].update({"x-record-field": "batch_code"}),
            "path parameter 'batch_id' matches field 'batch_code', which WriteOff lacks",
        ),
    ],
    ids=[
        "operation-id",
        "create-body",
        "item-method",
        "search-answer",
        "batch-body",
        "auth",
        "custom",
        "paging",
        "item-id",
        "lookup",
    ],
)
def test_each_convention_is_checked_and_named(spec, change, expected):
    found = breaks(spec, change)
    assert any(expected in line for line in found), found
