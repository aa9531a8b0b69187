"""The one reading of the contract's structure (`collect_contract`): how every operation of the packaged contract
is classified, its resources, references, filters and lookups, and routing. The mock, the suite, the benchmark and
the tests all read the contract through it, so a change here shows in each of them."""

from __future__ import annotations

import pytest

from collect_contract import SPEC_PATH, Contract, Kind, Match, Reference
from collect_contract.paths import Shape, shape_of
from collect_contract.structure import check_document, check_model

CONTRACT = Contract.from_path(SPEC_PATH)

# Every operation of openapi/collect.yaml: (method and path, kind, collection[, lookup keys]). A new operation, or
# a path whose shape changes its kind, fails here first, by name.
CLASSIFIED = {
    "warmUpWriteOffs": ("POST /writeOffs/warmUpStepFunctions", Kind.WARM_UP, "writeOffs"),
    "listWriteOffs": ("GET /writeOffs/{tenantId}", Kind.LIST, "writeOffs"),
    "createWriteOff": ("POST /writeOffs/{tenantId}", Kind.CREATE, "writeOffs"),
    "searchWriteOffs": ("POST /writeOffs/{tenantId}/search", Kind.SEARCH, "writeOffs"),
    "executeWriteOffOperations": ("POST /writeOffs/{tenantId}/batch", Kind.BATCH, "writeOffs"),
    "listWriteOffsByBatch": (
        "GET /writeOffs/{tenantId}/batch/{batch_id}",
        Kind.LOOKUP,
        "writeOffs",
        (("batch_id", "batch_id"),),
    ),
    "getWriteOff": ("GET /writeOffs/{tenantId}/{id}", Kind.GET, "writeOffs"),
    "updateWriteOff": ("PUT /writeOffs/{tenantId}/{id}", Kind.REPLACE, "writeOffs"),
    "patchWriteOff": ("PATCH /writeOffs/{tenantId}/{id}", Kind.PATCH, "writeOffs"),
    "warmUpDebitMemos": ("POST /debitMemos/warmUpStepFunctions", Kind.WARM_UP, "debitMemos"),
    "listDebitMemos": ("GET /debitMemos/{tenantId}", Kind.LIST, "debitMemos"),
    "createDebitMemo": ("POST /debitMemos/{tenantId}", Kind.CREATE, "debitMemos"),
    "searchDebitMemos": ("POST /debitMemos/{tenantId}/search", Kind.SEARCH, "debitMemos"),
    "executeDebitMemoOperations": ("POST /debitMemos/{tenantId}/batch", Kind.BATCH, "debitMemos"),
    "listDebitMemosByBatch": (
        "GET /debitMemos/{tenantId}/batch/{batch_id}",
        Kind.LOOKUP,
        "debitMemos",
        (("batch_id", "batch_id"),),
    ),
    "getDebitMemo": ("GET /debitMemos/{tenantId}/{id}", Kind.GET, "debitMemos"),
    "updateDebitMemo": ("PUT /debitMemos/{tenantId}/{id}", Kind.REPLACE, "debitMemos"),
    "patchDebitMemo": ("PATCH /debitMemos/{tenantId}/{id}", Kind.PATCH, "debitMemos"),
    "warmUpCreditMemos": ("POST /creditMemos/warmUpStepFunctions", Kind.WARM_UP, "creditMemos"),
    "listCreditMemos": ("GET /creditMemos/{tenantId}", Kind.LIST, "creditMemos"),
    "createCreditMemo": ("POST /creditMemos/{tenantId}", Kind.CREATE, "creditMemos"),
    "searchCreditMemos": ("POST /creditMemos/{tenantId}/search", Kind.SEARCH, "creditMemos"),
    "executeCreditMemoOperations": ("POST /creditMemos/{tenantId}/batch", Kind.BATCH, "creditMemos"),
    "listCreditMemosByBatch": (
        "GET /creditMemos/{tenantId}/batch/{batch_id}",
        Kind.LOOKUP,
        "creditMemos",
        (("batch_id", "batch_id"),),
    ),
    "getCreditMemo": ("GET /creditMemos/{tenantId}/{id}", Kind.GET, "creditMemos"),
    "updateCreditMemo": ("PUT /creditMemos/{tenantId}/{id}", Kind.REPLACE, "creditMemos"),
    "patchCreditMemo": ("PATCH /creditMemos/{tenantId}/{id}", Kind.PATCH, "creditMemos"),
    "warmUpInvoices": ("POST /invoices/warmUpStepFunctions", Kind.WARM_UP, "invoices"),
    "listInvoices": ("GET /invoices/{tenantId}", Kind.LIST, "invoices"),
    "createInvoice": ("POST /invoices/{tenantId}", Kind.CREATE, "invoices"),
    "searchInvoices": ("POST /invoices/{tenantId}/search", Kind.SEARCH, "invoices"),
    "executeInvoiceOperations": ("POST /invoices/{tenantId}/batch", Kind.BATCH, "invoices"),
    "listInvoicesByBatch": (
        "GET /invoices/{tenantId}/batch/{batch_id}",
        Kind.LOOKUP,
        "invoices",
        (("batch_id", "batch_id"),),
    ),
    "getInvoice": ("GET /invoices/{tenantId}/{id}", Kind.GET, "invoices"),
    "updateInvoice": ("PUT /invoices/{tenantId}/{id}", Kind.REPLACE, "invoices"),
    "patchInvoice": ("PATCH /invoices/{tenantId}/{id}", Kind.PATCH, "invoices"),
    "adjustInvoice": ("PUT /invoices/{tenantId}/adjustment/sync/{id}", Kind.CUSTOM, "invoices"),
    "listBatches": ("GET /batches/{tenantId}", Kind.LIST, "batches"),
    "createBatch": ("POST /batches/{tenantId}", Kind.CREATE, "batches"),
    "searchBatches": ("POST /batches/{tenantId}/search", Kind.SEARCH, "batches"),
    "executeBatchOperations": ("POST /batches/{tenantId}/batch", Kind.BATCH, "batches"),
    "getBatchDependents": ("GET /batches/{tenantId}/dependents", Kind.CUSTOM, "batches"),
    "listBatchesByFiscalPeriod": (
        "GET /batches/{tenantId}/fiscal_period/{fiscal_year_id}/{fiscal_period}",
        Kind.LOOKUP,
        "batches",
        (("fiscal_year_id", "fiscal_year_id"), ("fiscal_period", "fiscal_period")),
    ),
    "listBatchesByStatus": (
        "GET /batches/{tenantId}/status/{status}/{businessUnitId}",
        Kind.LOOKUP,
        "batches",
        (("status", "status"), ("businessUnitId", "business_unit_id")),
    ),
    "getBatch": ("GET /batches/{tenantId}/{id}", Kind.GET, "batches"),
    "updateBatch": ("PUT /batches/{tenantId}/{id}", Kind.REPLACE, "batches"),
    "patchBatch": ("PATCH /batches/{tenantId}/{id}", Kind.PATCH, "batches"),
    "deleteBatch": ("DELETE /batches/{tenantId}/{id}", Kind.DELETE, "batches"),
}


def test_every_operation_of_the_packaged_contract_is_classified_as_pinned():
    found = {
        op.operation_id: (op.label, op.kind, op.collection, *((op.lookup,) if op.lookup else ()))
        for op in CONTRACT.operations.values()
    }
    assert found == CLASSIFIED


def test_each_resource_has_one_operation_per_kind_and_the_rest_as_lookups_or_customs():
    for resource in CONTRACT.resources.values():
        for operation in resource.all_operations:
            assert operation.resource is resource
        assert all(kind not in (Kind.LOOKUP, Kind.CUSTOM) for kind in resource.operations)
    assert [o.operation_id for o in CONTRACT.resources["batches"].customs] == ["getBatchDependents"]
    assert Kind.DELETE in CONTRACT.resources["batches"].operations
    assert Kind.DELETE not in CONTRACT.resources["invoices"].operations


def test_resources_their_record_schemas_and_whether_a_create_answers_a_token():
    assert {r.collection: (r.schema_name, r.workflow) for r in CONTRACT.resources.values()} == {
        "writeOffs": ("WriteOff", True),
        "debitMemos": ("DebitMemo", True),
        "creditMemos": ("CreditMemo", True),
        "invoices": ("Invoice", True),
        "batches": ("Batch", False),
    }
    write_off = CONTRACT.resources["writeOffs"]
    assert write_off.noun == "write off" and "id" in write_off.read_only and "memo" not in write_off.read_only
    assert "$ref" not in str(write_off.inline_schema) and write_off.create_example


def test_references_are_known_from_both_ends():
    assert CONTRACT.resources["writeOffs"].references == {
        "invoice_id": Reference("writeOffs", "invoice_id", "invoices", "Invoice"),
        "batch_id": Reference("writeOffs", "batch_id", "batches", "Batch"),
    }
    dependents = Reference("batches", "dependents", "batches", "Batch", many=True)
    assert CONTRACT.resources["batches"].references == {"dependents": dependents}
    assert dependents in CONTRACT.resources["batches"].referenced_by
    assert {r.source for r in CONTRACT.resources["invoices"].referenced_by} == {
        "writeOffs",
        "debitMemos",
        "creditMemos",
        "invoices",
    }


def test_search_filters_are_read_from_the_search_body():
    filters = CONTRACT.resources["batches"].filters
    assert (filters["name"].match, filters["name"].numeric) == (Match.EQUALS, False)
    assert (filters["fiscal_period"].match, filters["fiscal_period"].numeric) == (Match.EQUALS, True)
    assert (filters["status"].match, filters["date"].match, filters["total"].match) == (
        Match.ANY_OF,
        Match.RANGE,
        Match.RANGE,
    )
    assert (filters["date"].numeric, filters["total"].numeric) == (False, True)
    assert filters["status"].schema["enum"]  # the schema of one value: the item schema of a list
    assert "id" in CONTRACT.resources["invoices"].summary_fields


def test_a_lookup_names_the_record_fields_of_its_path_parameters():
    by_status = CONTRACT.operations["listBatchesByStatus"]
    assert by_status.lookup_fields == ("status", "business_unit_id")  # businessUnitId in snake_case
    assert [o.lookup_fields for o in CONTRACT.resources["batches"].lookups] == [
        ("fiscal_year_id", "fiscal_period"),
        ("status", "business_unit_id"),
    ]


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/batches/warmUpStepFunctions", Shape.WARM_UP),
        ("/batches/{tenantId}", Shape.COLLECTION),
        ("/batches/{tenantId}/{id}", Shape.ITEM),
        ("/batches/{tenantId}/search", Shape.SEARCH),
        ("/batches/{tenantId}/batch", Shape.BATCH),
        ("/batches/{tenantId}/status/{status}/{businessUnitId}", Shape.WORDS),
        ("/batches/{tenantId}/dependents", Shape.WORDS),  # a lookup only if it answers a page: it does not
        ("/invoices/{tenantId}/adjustment/sync/{id}", Shape.OTHER),
        ("/health", Shape.OTHER),
    ],
)
def test_a_path_s_shape_comes_from_its_segments(path, shape):
    assert shape_of(path) is shape


def test_static_segments_route_before_parameters_and_the_method_decides():
    assert CONTRACT.match("GET", "/batches/acme/dependents")[0].operation_id == "getBatchDependents"
    operation, params = CONTRACT.match("GET", "/batches/acme/bat-1")
    assert (operation.operation_id, params) == ("getBatch", {"tenantId": "acme", "id": "bat-1"})
    assert CONTRACT.match("post", "/batches/acme/batch")[0].operation_id == "executeBatchOperations"
    assert CONTRACT.match("GET", "/batches/acme/batch")[0].operation_id == "getBatch"  # a batch named "batch"
    assert CONTRACT.match("DELETE", "/writeOffs/acme/wo-1") is None
    assert CONTRACT.match("GET", "/batches/acme//x") is None  # a parameter is one non-empty segment
    assert CONTRACT.match("GET", "/nothing/acme") is None


def test_the_packaged_contract_has_the_structure_the_model_reads():
    assert check_document(CONTRACT.spec) == [] and check_model(CONTRACT) == []


def test_kinds_and_filter_matches_are_closed_sets():
    assert [k.value for k in Kind] == [
        "create",
        "list",
        "get",
        "replace",
        "patch",
        "delete",
        "search",
        "batch",
        "lookup",
        "warm_up",
        "custom",
    ]
    assert [m.value for m in Match] == ["equals", "any_of", "range"]
