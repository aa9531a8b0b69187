"""Exchanges and the session: reproductions that work in a shell without showing the token, the records a create
reports, the trace of each unit, 429 retries."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from collect_contract import SPEC_PATH, Contract
from conformance import Config
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


def test_a_reproduction_names_the_token_variable_outside_quotes_never_the_token():
    curl = exchange("POST", "/batches/acme").curl(TOKEN)
    assert TOKEN not in curl
    assert "-H 'Authorization: Bearer '\"${COLLECT_CONFORMANCE_TOKEN}\"" in curl
    assert (
        curl.startswith("curl -sS -i --globoff -X POST http://api/batches/acme")
        and '--data-raw \'{"name": "x"}\'' in curl
    )


def test_a_header_that_does_not_carry_the_token_is_reproduced_as_sent():
    sent = exchange("GET", "/batches/acme")
    sent.request_headers = {"Authorization": "Bearer not-the-real-one"}
    assert "-H 'Authorization: Bearer not-the-real-one'" in sent.curl(TOKEN)


def session(target) -> Session:
    config = Config(base_url=target.base_url, token=TOKEN, tenant=TENANT, rate_limit=0, retries=5)
    return Session(config, CONTRACT)


def replay(command: str) -> int:
    """Run a printed reproduction in a POSIX shell, the token in the environment only; the status it got."""
    env = {**os.environ, "COLLECT_CONFORMANCE_TOKEN": TOKEN}
    done = subprocess.run(["sh", "-c", command], env=env, capture_output=True, timeout=30, check=True)
    return int(re.match(rb"HTTP/[\d.]+ (\d{3})", done.stdout).group(1))


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("sh") is None, reason="needs curl and sh")
@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    [
        ("GET", "/batches/{t}", None, None),
        ("GET", "/batches/{t}", None, {"fields": "id,name", "odd": "it's [a] {b} $HOME `x`"}),
        ("POST", "/batches/{t}", {"name": 'it\'s "quoted" $HOME `date` ${X}', "extra": "é ünïcode"}, None),
        ("POST", "/batches/{t}", b'{"name": "\x00\x1b[31m"}', None),
        ("POST", "/batches/{t}", b"\xff\xfe not UTF-8", None),
    ],
    ids=["plain-get", "query-with-shell-characters", "json-with-quotes", "control-characters", "invalid-utf8"],
)
def test_a_printed_reproduction_pasted_into_a_shell_gets_the_same_answer(target, method, path, body, params):
    target.reset()
    run = session(target)
    client = run.client()
    kwargs = {"content": body} if isinstance(body, bytes) else {} if body is None else {"json": body}
    if isinstance(body, bytes):
        kwargs["headers"] = {"Content-Type": "application/json"}
    sent = client.request(method, path.format(t=TENANT), params=params, **kwargs)
    client.close()
    command = sent.curl(run.secret)

    assert TOKEN not in command
    assert sent.status != 401 and replay(command) == sent.status
    original, replayed = ({k: e[k] for k in ("method", "path", "query", "body")} for e in target.journal()[-2:])
    assert replayed == original  # the same request, to the byte as far as the journal shows


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


def test_each_thread_keeps_the_trace_of_its_unit_in_order(target):
    target.reset()
    run = session(target)
    client = run.client()
    seen: list[tuple[str, int]] = []
    run.taps.append(lambda exchange, unit: seen.append((unit, exchange.status)))
    with run.tracing("ids.unique") as outer:
        client.call("listBatches")
        with run.tracing("sweep") as inner:
            client.call("getBatch", id="cfz-missing-1")
        client.call("listBatches", params={"cfz_unknown": "1"})
    client.call("listBatches")
    client.close()
    assert [e.status for e in outer.exchanges] == [200, 400] and [e.status for e in inner.exchanges] == [404]
    assert seen == [("ids.unique", 200), ("sweep", 404), ("ids.unique", 400), ("", 200)]


def test_a_summary_redacts_before_it_cuts_so_no_part_of_the_token_shows():
    answer = exchange("GET", "/batches/acme", body={"echo": "x" * 280 + TOKEN})
    answer.redact = session_redactor()
    assert TOKEN[:6] not in answer.summary(limit=300)


def session_redactor():
    from conformance.safety import Redactor

    return Redactor([TOKEN])
