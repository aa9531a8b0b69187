"""What keeps the suite harmless: the gate, the budget and rate limit, 429 back-off, the ledger."""

from __future__ import annotations

import email.utils
import json
import time

import pytest

from collect_contract import SPEC_PATH
from conformance import BudgetExhausted, ForeignRecordError, ReadOnlyViolation
from conformance.contract import Contract
from conformance.safety import Gate, Guard, Ledger, parse_retry_after

CONTRACT = Contract.from_path(SPEC_PATH)


class Clock:
    def __init__(self) -> None:
        self.now, self.slept = 0.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def gate(read_only: bool = False) -> tuple[Gate, Ledger]:
    ledger = Ledger()
    return Gate(CONTRACT, ledger, "acme", ["globex"], read_only), ledger


def test_the_budget_refuses_the_request_after_the_last():
    guard = Guard(budget=2, rate_limit=0, retries=0)
    guard.admit()
    guard.admit()
    with pytest.raises(BudgetExhausted, match="budget of 2"):
        guard.admit()


def test_the_rate_limit_spaces_requests():
    clock = Clock()
    guard = Guard(budget=10, rate_limit=4, retries=0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        guard.admit()
    assert clock.slept == [0.25, 0.25]


def test_a_429_waits_for_retry_after_then_backs_off_then_gives_up():
    guard = Guard(budget=10, rate_limit=0, retries=2)
    assert guard.backoff(0, "3") == 3.0
    assert guard.backoff(1, None) == 1.0  # 0.5 * 2**1
    assert guard.backoff(2, "3") is None
    assert guard.throttled == 3


def test_retry_after_may_be_seconds_or_an_http_date():
    assert parse_retry_after("120") == 120.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (parse_retry_after(later) or 0) <= 31
    assert parse_retry_after("soon") is None


def test_writes_go_to_the_tenant_only():
    allowed, _ = gate()
    allowed.check("POST", "/batches/acme", b"{}")
    with pytest.raises(ForeignRecordError, match="writes go to tenant 'acme' only"):
        allowed.check("POST", "/batches/globex", b"{}")


def test_reads_go_to_the_tenant_and_the_other_tenant_only():
    allowed, _ = gate()
    allowed.check("GET", "/batches/globex", None)
    with pytest.raises(ForeignRecordError, match="not one this run may read"):
        allowed.check("GET", "/batches/initech", None)


def test_item_writes_need_a_record_the_run_created_or_an_id_that_names_nothing():
    allowed, ledger = gate()
    with pytest.raises(ForeignRecordError, match="'bat-123' is not a record this run created"):
        allowed.check("DELETE", "/batches/acme/bat-123", None)
    ledger.add("batches", "bat-123")
    allowed.check("DELETE", "/batches/acme/bat-123", None)
    allowed.check("PUT", "/batches/acme/cfz-missing-0a1b", b"{}")
    allowed.check("PATCH", "/batches/acme/bad.id", b"[]")  # outside the id pattern: names no record
    for trimmed in ("bat-123%0A", "%20bat-456"):  # a server that trims ids would reach a real record
        with pytest.raises(ForeignRecordError):
            allowed.check("DELETE", f"/batches/acme/{trimmed}", None)


def test_a_deleted_record_of_the_run_stays_the_runs_to_probe():
    allowed, ledger = gate()
    ledger.add("invoices", "inv-1")
    ledger.discard("invoices", "inv-1")
    allowed.check("PUT", "/invoices/acme/inv-1", b"{}")
    assert ledger.ids("invoices") == []


def test_batch_patch_and_delete_operations_need_records_of_the_run():
    allowed, ledger = gate()
    ledger.add("writeOffs", "wo-1")
    ours = {"operations": [{"operation": "delete", "id": "wo-1"}, {"operation": "create", "object": {}}]}
    allowed.check("POST", "/writeOffs/acme/batch", json.dumps(ours).encode())
    theirs = {"operations": [{"operation": "patch", "id": "wo-2", "patch_directives": []}]}
    with pytest.raises(ForeignRecordError, match="batch operation on 'wo-2'"):
        allowed.check("POST", "/writeOffs/acme/batch", json.dumps(theirs).encode())


def test_read_only_refuses_everything_but_get():
    allowed, _ = gate(read_only=True)
    allowed.check("GET", "/batches/acme", None)
    with pytest.raises(ReadOnlyViolation):
        allowed.check("POST", "/batches/acme/search", b"{}")
