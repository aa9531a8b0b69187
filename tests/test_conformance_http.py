"""Exchanges and the session: reproductions without the token, the records a create reports, 429 retries."""

from __future__ import annotations

import json

import pytest

from collect_contract import SPEC_PATH
from conformance import Config
from conformance.contract import Contract
from conformance.http import Exchange, Session, created_id, register_changes
from conformance.ledger import Ledger
from tests.defects.server import TENANT, TOKEN

CONTRACT = Contract.from_path(SPEC_PATH)


def exchange(method: str, path: str, status: int = 200, body: object = None, **headers: str) -> Exchange:
    operation, params = CONTRACT.match(method, path) or (None, {})
    return Exchange(
        method,
        f"http://api{path}",
        {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        b'{"name": "x"}',
        status=status,
        headers={"content-type": "application/json", **headers},
        body=json.dumps(body).encode(),
        operation=operation,
        path_params=params,
    )


def test_a_reproduction_names_the_token_variable_never_the_token():
    curl = exchange("POST", "/batches/acme").curl()
    assert TOKEN not in curl
    assert "'Authorization: Bearer ${COLLECT_CONFORMANCE_TOKEN}'" in curl
    assert curl.startswith("curl -i -X POST http://api/batches/acme") and '--data-raw \'{"name": "x"}\'' in curl


def test_a_create_reports_its_record_by_header_body_or_execution_arn():
    assert created_id(exchange("POST", "/writeOffs/acme", body={}, **{"x-record-id": "wo-1"})) == "wo-1"
    assert created_id(exchange("POST", "/batches/acme", body={"id": "bat-1"})) == "bat-1"
    token = {"executionArn": "arn:aws:states:x:execution:collect-invoices-create:inv-9"}
    assert created_id(exchange("POST", "/invoices/acme", body=token)) == "inv-9"


def test_the_ledger_learns_creates_and_deletes_from_the_answers():
    ledger = Ledger()
    register_changes(ledger, exchange("POST", "/batches/acme", body={"id": "bat-1", "sys_version": 1}))
    register_changes(ledger, exchange("POST", "/batches/acme", status=201, body={"id": "bat-2", "sys_version": 1}))
    results = [{"operation": "create", "id": "wo-2", "outcome": "success"}, {"operation": "create", "outcome": "error"}]
    register_changes(ledger, exchange("POST", "/writeOffs/acme/batch", body={"results": results}))
    register_changes(ledger, exchange("POST", "/batches/acme", status=400, body={"id": "bat-3"}))
    # Any 2xx create counts; each record is read back (confirmed) before anything writes to it.
    assert (ledger.pending("batches"), ledger.pending("writeOffs")) == (["bat-1", "bat-2"], ["wo-2"])
    ledger.confirm("batches", "bat-2", {"id": "bat-2", "sys_version": 1})
    assert ledger.ids("batches") == ["bat-2"]


def test_a_create_that_answers_an_existing_record_is_not_the_runs():
    ledger = Ledger()
    old = {"id": "bat-9", "sys_version": 4, "sys_created_at": "2023-01-01T00:00:00Z"}
    register_changes(ledger, exchange("POST", "/batches/acme", body=old))
    register_changes(ledger, exchange("POST", "/batches/acme", body={"id": "bat-5", "sys_version": 1}))
    register_changes(ledger, exchange("POST", "/batches/acme", body={"id": "bat-5", "sys_version": 1}))
    register_changes(ledger, exchange("POST", "/batches/acme", status=201, body={"status": "created"}))
    assert ledger.pending("batches") == [] and not ledger.owns("batches", "bat-9")
    assert [(s.record_id, s.why.split(":")[0]) for s in ledger.strays()] == [
        ("bat-9", "the record it names has sys_version 4, not 1"),
        ("bat-5", "two creates answered this id (ids.unique)"),
        ("", "POST /batches/{tenantId} answered 201 without naming a record"),
    ]


def session(target) -> Session:
    config = Config(base_url=target.base_url, token=TOKEN, tenant=TENANT, rate_limit=0, retries=5)
    return Session(config, CONTRACT)


@pytest.mark.parametrize("client", ["httpx", "requests"])
def test_429_answers_are_retried_until_they_pass(target, client):
    target.reset()
    target.admin("POST", "faults", json={"operation": "listBatches", "throttle_rate": 0.6, "retry_after": 0, "seed": 3})
    run = session(target)
    probes, fuzzer = run.client(), run.requests_session()
    url, auth = f"{target.base_url}/batches/{TENANT}", {"Authorization": run.auth_header}
    for _ in range(10):
        if client == "httpx":
            assert probes.call("listBatches").status == 200
        else:
            assert fuzzer.get(url, headers=auth).status_code == 200
    probes.close()
    fuzzer.close()
    assert run.guard.throttled > 0
    assert run.guard.sent == 10 + run.guard.throttled  # every retry is a request of the budget
