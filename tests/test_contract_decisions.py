"""The contract says what the mock does where the pages leave it open or strict tools read it otherwise (issue 12):
replace bodies a record as read satisfies, storage failures, the adjustment's header, the patch and batch rules."""

import pytest

from collect_contract import SPEC_PATH
from mockserver.patching import MAX_DIRECTIVES

NOTES = (SPEC_PATH.parent / "NOTES.md").read_text(encoding="utf-8")
RECORDS = ["WriteOff", "DebitMemo", "CreditMemo", "Invoice", "Batch"]


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "put", "post", "patch", "delete"):
                yield path, method, op


@pytest.mark.parametrize("name", RECORDS)
def test_a_replacement_is_the_record_with_nothing_read_only(spec, name):
    """Strict validators refuse readOnly properties in a request body under additionalProperties: false."""
    schemas = spec["components"]["schemas"]
    record, replacement = schemas[name], schemas[f"{name}Replacement"]
    unmarked = {k: {kk: vv for kk, vv in v.items() if kk != "readOnly"} for k, v in record["properties"].items()}
    assert replacement["properties"] == unmarked
    read_only = {k for k, v in record["properties"].items() if v.get("readOnly")}
    assert replacement["required"] == [k for k in record["required"] if k not in read_only]
    assert replacement["additionalProperties"] is False


def test_every_replace_and_the_adjustment_take_a_replacement(spec):
    bodies = {
        op["operationId"]: op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for _, method, op in operations(spec)
        if method == "put"
    }
    assert len(bodies) == 6 and all(schema.endswith("Replacement") for schema in bodies.values()), bodies


def test_every_write_declares_the_507_of_a_refused_storage(spec):
    for path, method, op in operations(spec):
        writes = method in ("put", "patch", "delete") or (
            method == "post" and not path.endswith(("search", "Functions"))
        )
        assert ("507" in op["responses"]) == writes, op["operationId"]


def test_the_adjustment_declares_the_header_it_sends(spec):
    adjust = spec["paths"]["/invoices/{tenantId}/adjustment/sync/{id}"]["put"]
    assert "X-Record-Id" in adjust["responses"]["200"]["headers"]
    assert "workflow_execution_id" in adjust["description"]


def test_the_patch_and_batch_rules_are_in_the_contract_and_the_notes(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["PatchDocument"]["maxItems"] == MAX_DIRECTIVES
    assert "delete" in schemas["BatchOperation"]["properties"]["operation"]["enum"]
    for topic in (
        "Replacement",
        "507",
        "Batch `delete` deletes",
        "atomic in storage",
        "lone surrogate",
        "UTF-8",
        "2^63",
    ):
        assert topic in NOTES, topic


def test_the_contracts_own_inventions_are_in_the_notes(spec):
    """What the contract states that no page does: how search filters combine and match, the error texts of
    operations that have no twin on the pages, the CORS preflight, and the decided meaning of `dependents`."""
    notes = " ".join(NOTES.split())  # as read, whatever the line breaks
    search = spec["components"]["schemas"]["TransactionSearchRequest"]
    assert search["properties"]["batch_id"]["minItems"] == 1 and "AND" in search["description"]
    batch_texts = spec["paths"]["/batches/{tenantId}/batch"]["post"]["responses"]
    delete_texts = spec["paths"]["/batches/{tenantId}/{id}"]["delete"]["responses"]
    texts = [batch_texts[code]["description"] for code in ("400", "429")]
    texts += [delete_texts[code]["description"] for code in ("404", "409", "429")]
    for text in texts:
        assert " ".join(text.split()) in notes, text
    for topic in (
        "Every filter given must match (AND)",
        "an inclusive `[min, max]` range",
        "`minItems: 1`",
        "CORS preflight",
        "**Batch `dependents` and delete (decided).**",
    ):
        assert topic in notes, topic
