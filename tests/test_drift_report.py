"""The drift report a contract owner acts on: drift classified from schema errors, grouped with counts and the
first example, and a proposed JSON Patch that applies to the contract and makes it accept what was seen."""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser

import jsonpatch
import pytest
from openapi_schema_validator import OAS30ReadValidator
from openapi_spec_validator import validate

from collect_drift import Drift, DriftKind, DriftLog, Evidence, Location, Seen, build, findings, markdown
from collect_drift.contract import SpecMap
from collect_drift.htmlpage import html_page
from collect_drift.proposals import apply, check, propose
from collect_drift.report import as_dict, change_of, render_for


def drift(kind, operation_id, location, field, evidence=None, message="m", seen=()):
    return Drift(kind, operation_id, f"X /{operation_id}", location, field, "o", "e", message, evidence or Evidence(),
                 tuple(seen), where="step 1")  # fmt: skip


def strict_validator(spec, operation_id, status=200, projected=False):
    contract = SpecMap(spec)
    return OAS30ReadValidator(
        contract.strict(contract.response_schema(operation_id, status, "application/json"), projected)
    )


@pytest.fixture
def record(spec):
    """A whole invoice as the contract's own example gives it."""
    return copy.deepcopy(spec["components"]["examples"]["InvoiceRecord"]["value"])


def test_schema_errors_are_classified_as_missing_undocumented_or_type(spec, record):
    record = {**record, "legacy_code": "L-1", "total": "12.50"}
    del record["balance_due"]
    found = {(f.kind, f.pointer, f.keyword) for f in findings(strict_validator(spec, "getInvoice").iter_errors(record))}
    assert found == {
        (DriftKind.UNDOCUMENTED, "/legacy_code", "additionalProperties"),
        (DriftKind.TYPE, "/total", "type"),
        (DriftKind.MISSING, "/balance_due", "required"),
    }


def test_a_whole_record_is_judged_as_a_record_not_as_the_projection_the_contract_also_allows(spec, record):
    """The contract's `InvoiceView` is `anyOf: [Invoice, InvoiceProjection]`: a record missing a required field
    passes it. Without `fields` the strict schema is the record's, so the missing field is seen."""
    del record["balance_due"]
    contract = SpecMap(spec)
    loose = contract.get("/components/schemas/InvoiceView")
    assert not list(OAS30ReadValidator({"components": spec["components"], **loose}).iter_errors(record))
    assert [f.pointer for f in findings(strict_validator(spec, "getInvoice").iter_errors(record))] == ["/balance_due"]
    assert not list(strict_validator(spec, "getInvoice", projected=True).iter_errors({"id": "inv-1"}))


def test_observations_are_grouped_by_operation_kind_and_field_with_counts_and_the_first_example():
    log = DriftLog()
    for index in range(3):
        evidence = Evidence(value=f"L-{index}", json_type="string", keyword="additionalProperties")
        log.add(drift(DriftKind.UNDOCUMENTED, "listInvoicesByBatch", Location.BODY, f"/Items/{index}/legacy", evidence,
                      message=f"first {index}"))  # fmt: skip
    log.add(drift(DriftKind.STATUS, "createBatch", Location.STATUS, "", Evidence(status=201)))
    groups = log.groups()
    assert [(g.operation_id, g.kind, g.pattern, g.count) for g in groups] == [
        ("createBatch", DriftKind.STATUS, "", 1),
        ("listInvoicesByBatch", DriftKind.UNDOCUMENTED, "/Items/*/legacy", 3),
    ]
    assert groups[1].first.message == "first 0" and groups[1].values == ["L-0", "L-1", "L-2"]
    assert log.total == 4 and log.counts()[DriftKind.UNDOCUMENTED] == 3


def test_the_log_is_bounded_and_counts_what_it_could_not_keep():
    log = DriftLog(max_groups=2)
    for index in range(5):
        log.add(drift(DriftKind.STATE, f"op{index}", Location.BODY, "/x"))
    assert len(log.groups()) == 2 and log.dropped == 3 and log.total == 5


def planted_log() -> DriftLog:
    log = DriftLog()
    log.add(drift(DriftKind.STATUS, "createBatch", Location.STATUS, "",
                  Evidence(status=201, media_type="application/json", documented_match="200")))  # fmt: skip
    log.add(drift(DriftKind.UNDOCUMENTED, "getInvoice", Location.BODY, "/legacy_code",
                  Evidence(keyword="additionalProperties", value="L-1", json_type="string")))  # fmt: skip
    log.add(drift(DriftKind.MISSING, "getDebitMemo", Location.BODY, "/total_in_base_currency",
                  Evidence(keyword="required")))  # fmt: skip
    log.add(drift(DriftKind.TYPE, "getCreditMemo", Location.BODY, "/total",
                  Evidence(keyword="type", value="12.50", json_type="string")))  # fmt: skip
    log.add(drift(DriftKind.TYPE, "getCreditMemo", Location.BODY, "/currency_code",
                  Evidence(keyword="enum", value="XBT", json_type="string")))  # fmt: skip
    log.add(drift(DriftKind.TYPE, "getWriteOff", Location.BODY, "/memo", Evidence(keyword="type", json_type="null")))
    log.add(drift(DriftKind.UNDOCUMENTED, "listInvoices", Location.QUERY, "include_deleted"))
    log.add(drift(DriftKind.ORDER, "listInvoicesByBatch", Location.BODY, "/Items"))
    log.add(drift(DriftKind.STATE, "patchInvoice", Location.BODY, "/sys_version"))
    log.add(drift(DriftKind.STATUS, "deleteBatch", Location.STATUS, "", Evidence(status=404)))
    return log


def test_each_proposal_applies_to_the_contract_and_the_patched_contract_is_valid_openapi(spec):
    proposals = propose(planted_log().groups(), spec)
    assert all(p.applies for p in proposals), [p.problem for p in proposals]
    patched = apply(spec, proposals)
    validate(patched)  # openapi-spec-validator: still a valid OpenAPI 3.0 document
    operations = [op for p in proposals for op in p.operations]
    assert jsonpatch.apply_patch(copy.deepcopy(spec), operations) == patched


def test_the_patched_contract_accepts_what_the_service_was_seen_to_do(spec, record):
    """Not only does the patch apply: under it, the drifting answers are valid and the status documented."""
    patched = apply(spec, propose(planted_log().groups(), spec))
    invoice = {**record, "legacy_code": "L-1"}
    assert list(strict_validator(spec, "getInvoice").iter_errors(invoice))
    assert not list(strict_validator(patched, "getInvoice").iter_errors(invoice))
    assert "201" in patched["paths"]["/batches/{tenantId}"]["post"]["responses"]
    debit = patched["components"]["schemas"]["DebitMemo"]
    assert "total_in_base_currency" not in debit["required"] and "number" in debit["required"]
    credit = patched["components"]["schemas"]["CreditMemo"]["properties"]
    assert "XBT" in credit["currency_code"]["enum"] and {"type": "string"} in credit["total"]["anyOf"]
    assert patched["components"]["schemas"]["WriteOff"]["properties"]["memo"]["nullable"] is True
    parameters = patched["paths"]["/invoices/{tenantId}"]["get"]["parameters"]
    assert parameters[-1]["name"] == "include_deleted"


def test_order_state_and_a_documented_status_get_no_contract_change(spec):
    groups = {g.operation_id: g for g in planted_log().groups()}
    proposals = propose(planted_log().groups(), spec)
    answered = {label.split(" · ")[0] for p in proposals for label in p.groups}
    assert {"listInvoicesByBatch", "patchInvoice", "deleteBatch"}.isdisjoint(answered)
    report = build(planted_log(), spec, title="t", headline="h")
    assert "documents" in change_of(report, groups["deleteBatch"])
    assert "stable" in change_of(report, groups["listInvoicesByBatch"])


def test_a_proposal_that_no_longer_applies_is_marked_and_left_out_of_the_patch(spec):
    proposals = propose(planted_log().groups(), spec)
    changed = copy.deepcopy(spec)
    changed["components"]["schemas"]["DebitMemo"]["required"].insert(0, "memo")  # the contract moved on
    checked = check(copy.deepcopy(proposals), changed)
    refused = [p for p in checked if not p.applies]
    assert len(refused) == 1 and "total_in_base_currency" in refused[0].reason and refused[0].problem
    report = build(planted_log(), spec, title="t", headline="h")
    report.proposals = checked
    assert all("DebitMemo/required" not in op["path"] for op in report.patch)
    assert "Does not apply" in markdown(report)
    assert jsonpatch.apply_patch(changed, report.patch)  # what is left still applies to the changed contract


class _Checker(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_the_report_renders_as_markdown_html_and_json_and_shows_hostile_text_safely(spec, tmp_path):
    hostile = "<script>alert(1)</script>\x1b[31m\x00"
    log = planted_log()
    seen = Seen("target", "GET http://x/invoices/a/1", f"200 application/json {hostile}", curl="curl x")
    log.add(drift(DriftKind.STATE, "getInvoice", Location.BODY, "/memo", message=hostile, seen=[seen]))
    report = build(log, spec, title="Drift", headline="DRIFT: 11")
    text = markdown(report)
    for section in ("## Summary", "## Proposed contract change", "## Drift by operation", "```json"):
        assert section in text
    assert "\x1b" not in text and "\x00" not in text and "\\x1b" in text
    page = html_page(report)
    parser = _Checker()
    parser.feed(page)
    assert "script" not in parser.tags and "&lt;script&gt;" in page and "\x00" not in page
    data = json.loads(render_for(tmp_path / "r.json", report))
    assert data == json.loads(json.dumps(as_dict(report)))
    assert data["patch"] == report.patch and len(data["groups"]) == len(report.groups)
    assert {g["kind"] for g in data["groups"]} == {k.value for k in DriftKind}
