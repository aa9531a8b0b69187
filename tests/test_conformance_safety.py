"""What keeps the suite harmless: the gate, the budget and rate limit, 429 back-off, the ledger."""

from __future__ import annotations

import email.utils
import json
import time

import pytest

from collect_contract import SPEC_PATH, Contract
from conformance import BudgetExhausted, ForeignRecordError, ReadOnlyViolation
from conformance.ledger import Ledger, Ownership
from conformance.safety import Gate, Guard, parse_retry_after

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


def test_an_id_a_create_answered_is_the_runs_only_when_the_record_is_new():
    allowed, ledger = gate()
    assert ledger.claim("batches", "bat-new", {"id": "bat-new", "sys_version": 1}) is Ownership.PENDING
    assert ledger.confirm("batches", "bat-new", {"id": "bat-new", "sys_version": 1}) is Ownership.OWNED
    old = {"id": "bat-old", "sys_version": 1, "sys_created_at": "2023-04-01T09:00:00Z"}
    assert ledger.claim("batches", "bat-old", old) is Ownership.DISOWNED
    forged = {"id": "bat-forged", "sys_version": 99}  # the create sent sys_version 99 itself: that proves nothing
    ledger.claim("batches", "bat-forged", forged, sent={"sys_version": 99})
    assert ledger.confirm("batches", "bat-forged", forged) is Ownership.OWNED
    # An answer that looks new, under the id of an old record: the record as stored decides.
    ledger.claim("batches", "bat-2023", {"id": "bat-2023", "sys_version": 1})
    assert ledger.confirm("batches", "bat-2023", {"id": "bat-2023", "sys_version": 5}) is Ownership.DISOWNED
    allowed.check("PATCH", "/batches/acme/bat-new", b"[]")
    with pytest.raises(ForeignRecordError, match="created at 2023-04-01.*before this run"):
        allowed.check("PATCH", "/batches/acme/bat-old", b"[]")


def test_an_id_two_creates_answered_is_nobodys_to_write_to():
    allowed, ledger = gate()
    ledger.claim("batches", "bat-1", {"id": "bat-1", "sys_version": 1})
    ledger.confirm("batches", "bat-1", {"id": "bat-1", "sys_version": 1})
    ledger.claim("batches", "bat-1", {"id": "bat-1", "sys_version": 1})
    with pytest.raises(ForeignRecordError, match="two creates answered this id"):
        allowed.check("DELETE", "/batches/acme/bat-1", None)
    theirs = {"operations": [{"operation": "delete", "id": "bat-1"}]}
    with pytest.raises(ForeignRecordError, match="batch operation on 'bat-1'"):
        allowed.check("POST", "/batches/acme/batch", json.dumps(theirs).encode())
    assert ledger.ids("batches") == [] and [s.record_id for s in ledger.strays()] == ["bat-1"]


def test_a_token_answered_create_is_read_back_before_anything_writes_to_it():
    allowed, ledger = gate()
    reads = []

    def confirm(collection: str, record_id: str) -> None:
        reads.append(record_id)
        stored = {"id": record_id, "sys_version": 1} if record_id == "inv-1" else {"id": "inv-other"}
        ledger.confirm(collection, record_id, stored)

    allowed.confirm = confirm
    assert ledger.claim("invoices", "inv-1") is Ownership.PENDING
    assert ledger.claim("invoices", "inv-2") is Ownership.PENDING
    allowed.check("PUT", "/invoices/acme/inv-1", b"{}")
    with pytest.raises(ForeignRecordError, match="a GET of it answered record 'inv-other'"):
        allowed.check("PUT", "/invoices/acme/inv-2", b"{}")
    assert reads == ["inv-1", "inv-2"] and ledger.ids("invoices") == ["inv-1"]


def test_reads_may_go_to_a_tenant_the_run_made_up():
    allowed, _ = gate()
    allowed.allow_reads("cfz-other-1")
    allowed.check("GET", "/batches/cfz-other-1", None)
    with pytest.raises(ForeignRecordError, match="writes go to tenant 'acme' only"):
        allowed.check("POST", "/batches/cfz-other-1", b"{}")


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
