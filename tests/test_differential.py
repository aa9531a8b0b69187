"""`collect-conformance --differential`: the same seeded sequence against a target and a fresh mock, each pair of
answers compared. Against a service that drifts on purpose in seven known ways it reports each planted drift and
nothing else; against the mock itself, nothing; and on the target it keeps the suite's safety rules."""

from __future__ import annotations

import copy
import json
import logging

import httpx
import jsonpatch
import pytest
from openapi_spec_validator import validate

from conformance import cli
from conformance.differential.normalize import Normalizer
from mockserver import Settings
from mockserver.testing import serve_in_thread
from tests.defects.app import Call, Response
from tests.defects.server import TENANT, TOKEN, defective_mock
from tests.drift.planted import PLANTED, PlantedDrift
from tests.support.junit_schema import junit_xsd

ADMIN = "differential-admin"


@pytest.fixture(scope="module")
def sides():
    """A defective mock (the target; each test chooses its defect) and a fresh mock as the model."""
    logger = logging.getLogger("mockserver")
    level, _ = logger.level, logger.setLevel(logging.CRITICAL)
    with defective_mock() as target, serve_in_thread(Settings(db=":memory:", seed=False)) as (oracle, _):
        yield target, oracle
    logger.setLevel(level)


def differential(target, oracle, *extra, report=None, junit=None):
    args = ["--differential", "--base-url", target.base_url, "--tenant", TENANT, "--oracle", oracle, "--seed", "5"]
    args += ["--rate-limit", "0", "--paging-records", "5", "--quiet", *extra]
    if report:
        args += ["--report", str(report)]
    if junit:
        args += ["--junit-xml", str(junit)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLLECT_CONFORMANCE_TOKEN", TOKEN)
        return cli.main(args)


@pytest.fixture(scope="module")
def planted_run(sides, tmp_path_factory):
    target, oracle = sides
    target.reset()
    target.app.switch(PlantedDrift())
    folder = tmp_path_factory.mktemp("differential")
    code = differential(target, oracle, report=folder / "drift.json", junit=folder / "drift.xml")
    journal, left = target.journal(), target.records()
    target.reset()
    return code, json.loads((folder / "drift.json").read_text()), folder, journal, left


def test_each_planted_drift_is_reported_and_nothing_else(planted_run):
    code, report, _, _, _ = planted_run
    assert code == 1
    found = {(g["operation_id"], g["kind"], g["field"]) for g in report["groups"]}
    assert found == {(p.operation_id, p.kind, p.field) for p in PLANTED}, json.dumps(report["groups"], indent=1)[:3000]


def test_each_drift_carries_both_answers_and_a_reproduction_for_each_side(planted_run):
    _, report, folder, _, _ = planted_run
    for group in report["groups"]:
        target, model = group["first"]
        assert (target["side"], model["side"]) == ("target", "model")
        assert target["response"] and model["response"] and group["where"][0].startswith("step ")
        assert '"${COLLECT_CONFORMANCE_TOKEN}"' in target["curl"]
        assert '"${COLLECT_CONFORMANCE_ORACLE_TOKEN}"' in model["curl"]
    texts = "".join(path.read_text() for path in folder.iterdir())
    assert TOKEN not in texts


def test_the_proposed_patch_applies_to_the_contract_and_accepts_what_the_target_answered(planted_run, spec):
    _, report, _, _, _ = planted_run
    patched = jsonpatch.apply_patch(copy.deepcopy(spec), report["patch"])
    validate(patched)
    assert "201" in patched["paths"]["/batches/{tenantId}"]["post"]["responses"]
    assert "legacy_code" in patched["components"]["schemas"]["Invoice"]["properties"]
    assert "total_in_base_currency" not in patched["components"]["schemas"]["DebitMemo"]["required"]
    proposed = {label.split(" · ")[0] for p in report["proposals"] for label in p["groups"]}
    assert proposed == {"createBatch", "getInvoice", "getDebitMemo", "getCreditMemo"}  # not order, state, 404


def test_the_verdict_is_a_normal_runs_with_a_valid_junit_file(planted_run):
    import xmlschema

    _, _, folder, _, _ = planted_run
    xmlschema.XMLSchema(junit_xsd()).validate(folder / "drift.xml")
    text = (folder / "drift.xml").read_text()
    for unit in ("create[batches]", "get[invoices]", "get[debitMemos]", "get[creditMemos]", "lookup[invoices]",
                 "patch[invoices]", "delete[batches]"):  # fmt: skip
        assert f'name="differential.{unit}"' in text
    assert text.count("<failure") == 7 and "exit_code" in text


def test_the_target_keeps_the_suites_safety_rules(planted_run):
    """One tenant, writes only to records the run created, and nothing left behind."""
    _, _, _, journal, left = planted_run
    writes = [e for e in journal if e["method"] != "GET" and not e["path"].endswith("/warmUpStepFunctions")]
    assert len(writes) > 100 and all(e["path"].split("/")[2] == TENANT for e in writes)
    assert left == {}, f"records left on the target: {left}"


def test_against_the_mock_itself_there_is_no_drift(sides, tmp_path):
    target, oracle = sides
    target.reset()
    assert differential(target, oracle, report=tmp_path / "drift.md") == 0
    text = (tmp_path / "drift.md").read_text()
    assert "No drift" in text and "**PASS: no drift**" in text
    assert target.records() == {}


def test_read_only_sends_only_gets_and_is_partial(sides, tmp_path):
    target, oracle = sides
    target.reset()
    target.app.switch(PlantedDrift())
    assert differential(target, oracle, "--read-only", junit=tmp_path / "r.xml") == 4
    assert {e["method"] for e in target.journal()} == {"GET"}
    assert 'message="not verified (read-only)' in (tmp_path / "r.xml").read_text()
    assert differential(target, oracle, "--read-only", "--accept-partial", "read-only") == 0
    target.reset()


class ForeignIds:
    """Invoice creates answer the id of a record the run did not create (`inv-foreign`)."""

    name = "ForeignIds"

    async def apply(self, call: Call) -> Response:
        response = await call.forward()
        if call.operation and call.operation.operation_id == "createInvoice" and response.status == 200:
            body = response.json()
            body["executionArn"] = body["executionArn"].rsplit(":", 1)[0] + ":inv-foreign"
            return response.with_json(body).with_header("x-record-id", "inv-foreign")
        return response


def test_a_record_a_create_did_not_make_is_never_written_to(sides):
    target, oracle = sides
    target.reset()
    foreign = {
        **json.loads(json.dumps(_invoice_example())),
        "id": "inv-foreign",
        "sys_created_at": "2024-01-01T00:00:00Z",
    }
    target.admin("POST", "fixtures", json={TENANT: {"invoices": [foreign]}})
    before = target.records()["invoices"]
    target.app.switch(ForeignIds())
    assert differential(target, oracle) == 1
    writes = [
        e for e in target.journal() if e["method"] != "GET" and "inv-foreign" in e["path"] + json.dumps(e["body"])
    ]
    assert writes == [], writes
    target.app.switch(None)
    assert [r for r in target.records().get("invoices", []) if r["id"] == "inv-foreign"] == before
    target.reset()


def _invoice_example():
    from collect_contract import SPEC_PATH, Contract

    contract = Contract.from_path(SPEC_PATH)
    return contract.spec["components"]["examples"]["InvoiceRecord"]["value"]


def test_a_spent_budget_stops_the_run_cleanly_and_says_so(sides, capsys):
    target, oracle = sides
    target.reset()
    assert differential(target, oracle, "--budget", "60") == 4
    out = capsys.readouterr().out
    assert "stopped early" in out and "budget-spent" in out
    target.reset()


def test_on_a_tenant_with_records_of_others_only_its_own_are_touched(tmp_path):
    settings = Settings(
        db=":memory:", seed=True, page_size=50, admin_token=ADMIN, tokens={"acme-only-token": frozenset({"acme"})}
    )
    with serve_in_thread(settings) as (target, _), serve_in_thread(Settings(db=":memory:", seed=False)) as (oracle, _):
        before = _everything(target)
        args = ["--differential", "--base-url", target, "--tenant", "acme", "--oracle", oracle, "--seed", "9"]
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("COLLECT_CONFORMANCE_TOKEN", "acme-only-token")
            assert cli.main([*args, "--rate-limit", "0", "--quiet", "--report", str(tmp_path / "d.md")]) == 0
        assert _everything(target) == before


def _everything(base_url):
    answer = httpx.get(f"{base_url}/_mock/export", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60)
    return answer.json()["tenants"]


def test_the_command_line_spawns_both_mocks_when_asked(tmp_path, capsys):
    """`--spawn-mock --differential`: the target and the model are fresh mocks, and agree."""
    code = cli.main(["--spawn-mock", "--differential", "--quiet", "--seed", "3", "--paging-records", "4",
                     "--report", str(tmp_path / "drift.html")])  # fmt: skip
    assert code == 0, capsys.readouterr().out
    page = (tmp_path / "drift.html").read_text()
    assert page.startswith("<!doctype html>") and "No drift" in page


def test_what_may_legitimately_differ_is_made_equal():
    target, model = Normalizer(frozenset({"sys_created_at"})), Normalizer(frozenset({"sys_created_at"}))
    target.learn("inv-aaa", "invoices#1")
    model.learn("inv-bbb", "invoices#1")
    seen = {
        "id": "inv-aaa",
        "workflow_execution_id": "arn:aws:states:eu-west-1:111:execution:x:inv-aaa",
        "channel": "acme.invoices.inv-aaa",
        "sys_created_at": "2026-01-01T00:00:00Z",
        "date_due": "2026-02-01T10:00:00.123+01:00",
        "total": 10,
    }
    other = {**seen, "id": "inv-bbb", "workflow_execution_id": "arn:aws:states:us-east-1:0:execution:y:inv-bbb",
             "channel": "acme.invoices.inv-bbb", "sys_created_at": "yesterday", "date_due": "2026-02-01T09:00:00Z",
             "total": 10.0}  # fmt: skip
    assert target(seen) == model(other)
    assert target({**seen, "total": 11}) != model(other)


def test_a_walk_cut_at_the_page_limit_is_not_judged_on_what_it_lacks(sides):
    """A large tenant's list walk stops at `max_pages`: the run's own records may lie beyond it (they are the
    newest), so which records it returns and in which order is not compared, and the report says so."""
    from conformance import Config
    from conformance.differential import DifferentialRun, Oracle

    target, oracle = sides
    target.reset()
    config = Config(base_url=target.base_url, token=TOKEN, tenant=TENANT, seed=2, rate_limit=0, differential=True,
                    progress=False, paging_records=5, max_pages=1)  # fmt: skip
    run = DifferentialRun(config, Oracle(oracle, "dev-token", spawned=False))
    report = run.run()
    run.close()
    assert report.exit_code == 0, [g.first.message for g in run.log.groups()]
    assert any("stopped after 1 pages" in note for note in report.notes)
    target.reset()
