"""What the suite builds on the contract's structure: valid create bodies, probes that break one constraint each,
the constraints a body or a URL can break, and the tenant written into the paths for Schemathesis."""

from __future__ import annotations

import pytest
from openapi_schema_validator import OAS30WriteValidator

from collect_contract import SPEC_PATH, Contract, constraints
from conformance import probes
from conformance.factory import Bodies, dependency_order
from conformance.fuzzing import pin_tenant
from conformance.validators import request_validator

CONTRACT = Contract.from_path(SPEC_PATH)


def test_records_are_created_referred_to_first():
    order = [r.collection for r in dependency_order(CONTRACT)]
    assert order.index("batches") < order.index("invoices") < order.index("writeOffs")


@pytest.mark.parametrize("collection", sorted(CONTRACT.resources))
def test_create_bodies_are_valid_and_name_the_runs_records(collection):
    resource = CONTRACT.resources[collection]
    body = Bodies(CONTRACT, "bu-run", "fy-run").create(resource, lambda target: f"{target}-of-the-run")
    validator = OAS30WriteValidator({"components": CONTRACT.spec["components"], **resource.schema_ref})
    assert list(validator.iter_errors(body)) == []
    assert "id" not in body and not set(body) & resource.read_only and body["business_unit_id"] == "bu-run"
    for field, reference in resource.references.items():
        if field in body and not reference.many:
            assert body[field] == f"{reference.target}-of-the-run"


def test_schemathesis_sees_the_tenant_written_into_the_paths():
    pinned = pin_tenant(CONTRACT.spec, "acme")
    assert "/batches/acme/{id}" in pinned["paths"] and not any("{tenantId}" in p for p in pinned["paths"])
    link = pinned["paths"]["/writeOffs/acme"]["post"]["responses"]["200"]["links"]["GetWriteOff"]
    assert link["parameters"] == {"id": "$response.header.X-Record-Id"}
    assert "/batches/{tenantId}/{id}" in CONTRACT.spec["paths"]  # the contract itself is left as it is


def test_the_constraints_of_a_body_come_from_the_contract_alone():
    writeoff = CONTRACT.resources["writeOffs"]
    found = {(c.location, c.keyword) for c in constraints.of_body(CONTRACT, writeoff.schema_ref)}
    assert {
        ("body.method", "enum"),
        ("body.line_items", "minItems"),
        ("body.line_items[0].quantity", "type"),
        ("body.date", "format"),
        ("body.invoice_id", "required"),
        ("body", "additionalProperties"),
        ("body.bad_debts_expense_gl_account_id", "x-conditional-required"),
        ("body.invoice_id", "x-references"),
    } <= found
    assert not {location for location, _ in found if location.startswith("body.sys_")}  # readOnly: not sent
    assert ("body.total", "format") not in found  # `double`: every JSON number meets it


def test_every_body_probe_breaks_exactly_its_constraint():
    for resource in CONTRACT.resources.values():
        schema = resource.schema_ref
        body = Bodies(CONTRACT, "bu-run", "fy-run").create(resource, lambda target: f"{target}-of-the-run")
        full = probes.filled(CONTRACT, schema, body)
        assert list(request_validator(CONTRACT, schema).iter_errors(full)) == [], resource.collection
        unprobed = set()
        for constraint in constraints.of_body(CONTRACT, schema):
            probe = probes.body_probe(CONTRACT, schema, full, constraint, "cfz-missing-1")
            if isinstance(probe, str):
                unprobed.add((constraint.location, constraint.keyword))
                continue
            errors = list(request_validator(CONTRACT, schema).iter_errors(probe.value))
            if constraint.keyword in ("x-conditional-required", "x-references"):
                assert errors == [], constraint  # the contract's own keywords: the schema still holds
            else:
                assert {(e.validator, tuple(e.absolute_path)) for e in errors} == {
                    (constraint.keyword, constraint.path)
                }, constraint
        # Every value of the wrong length is outside the currency enum too: that constraint cannot break alone.
        assert unprobed <= {("body.currency_code", "minLength"), ("body.currency_code", "maxLength")}, unprobed


def test_parameter_constraints_are_those_a_url_can_break():
    by_status = CONTRACT.operations["listBatchesByStatus"]
    found = {(c.location, c.keyword) for c in constraints.of_parameters(CONTRACT, by_status)}
    assert found == {
        ("path.status", "enum"),
        ("query.fields", "minItems"),
        ("query.fields", "uniqueItems"),
        ("query.fields[0]", "enum"),
        ("query.exclusiveStartKey", "minLength"),
    }
    dependents = CONTRACT.operations["getBatchDependents"]
    assert {(c.location, c.keyword) for c in constraints.of_parameters(CONTRACT, dependents)} == {
        ("query.ids", "required"),
        ("query.ids", "pattern"),
    }
