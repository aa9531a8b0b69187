"""The suite's reading of the contract: operations by path shape, routing, references, valid create bodies."""

from __future__ import annotations

import pytest
from openapi_schema_validator import OAS30WriteValidator

from collect_contract import SPEC_PATH
from conformance.contract import Contract
from conformance.factory import Bodies, dependency_order
from conformance.fuzzing import pin_tenant

CONTRACT = Contract.from_path(SPEC_PATH)


def test_every_operation_has_a_kind_and_only_two_need_their_own():
    assert len(CONTRACT.operations) == 48
    custom = sorted(op.operation_id for op in CONTRACT.operations.values() if op.kind == "custom")
    assert custom == ["adjustInvoice", "getBatchDependents"]
    assert sorted(CONTRACT.resources) == ["batches", "creditMemos", "debitMemos", "invoices", "writeOffs"]


def test_static_segments_route_before_parameters():
    assert CONTRACT.match("GET", "/batches/acme/dependents")[0].operation_id == "getBatchDependents"
    operation, params = CONTRACT.match("GET", "/batches/acme/bat-1")
    assert (operation.operation_id, params) == ("getBatch", {"tenantId": "acme", "id": "bat-1"})
    assert CONTRACT.match("DELETE", "/writeOffs/acme/wo-1") is None


def test_references_are_known_from_both_ends():
    assert CONTRACT.resources["writeOffs"].references == {
        "invoice_id": ("Invoice", False),
        "batch_id": ("Batch", False),
    }
    assert ("batches", "dependents", True) in CONTRACT.resources["batches"].referenced_by
    order = [r.name for r in dependency_order(CONTRACT)]
    assert order.index("batches") < order.index("invoices") < order.index("writeOffs")


@pytest.mark.parametrize("collection", sorted(CONTRACT.resources))
def test_create_bodies_are_valid_and_name_the_runs_records(collection):
    resource = CONTRACT.resources[collection]
    body = Bodies(CONTRACT, "bu-run", "fy-run").create(resource, lambda target: f"{target}-of-the-run")
    validator = OAS30WriteValidator({"components": CONTRACT.spec["components"], **CONTRACT.record_schema(resource)})
    assert list(validator.iter_errors(body)) == []
    assert "id" not in body and not set(body) & resource.read_only and body["business_unit_id"] == "bu-run"
    for field, (schema, many) in resource.references.items():
        if field in body and not many:
            assert body[field] == f"{CONTRACT.resource_of_schema(schema).name}-of-the-run"


def test_schemathesis_sees_the_tenant_written_into_the_paths():
    pinned = pin_tenant(CONTRACT.spec, "acme")
    assert "/batches/acme/{id}" in pinned["paths"] and not any("{tenantId}" in p for p in pinned["paths"])
    link = pinned["paths"]["/writeOffs/acme"]["post"]["responses"]["200"]["links"]["GetWriteOff"]
    assert link["parameters"] == {"id": "$response.header.X-Record-Id"}
    assert "/batches/{tenantId}/{id}" in CONTRACT.spec["paths"]  # the contract itself is left as it is
