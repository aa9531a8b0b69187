"""What keeps the suite polite and harmless on a real deployment, in one place that every request passes.

- `Guard`: a request budget, a rate limit, and the back-off for 429 (honouring `Retry-After`);
- `Ledger`: the records this run created (from the create answers themselves, when they are new), the only
  ones it may change;
- `Gate`: refuses, before sending, any write to another tenant or to a record the ledger does not hold, and
  any unsafe request in read-only mode;
- `Redactor`: removes the token from every text the suite shows or writes.

The rules never enforce any of this themselves: a bug in a rule cannot make the suite unsafe.
"""

from __future__ import annotations

import email.utils
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote

from conformance.contract import ID_PATTERN, Contract
from conformance.errors import BudgetExhausted, ForeignRecordError, ReadOnlyViolation

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MISSING_PREFIX = "cfz-missing-"
MAX_RETRY_AFTER = 60.0
REDACTED = "[REDACTED]"
TOKEN_VARIABLE = "${COLLECT_CONFORMANCE_TOKEN}"
# How far the target's clock may lag behind the suite's before a just-created record looks old.
CLOCK_SKEW = timedelta(minutes=15)


class Response(Protocol):
    """What `Guard.send` needs of a response: an httpx or a requests response alike."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Any: ...

    def close(self) -> None: ...


R = TypeVar("R", bound=Response)


class Guard:
    """The request budget and rate limit, shared by every thread of a run."""

    def __init__(
        self,
        budget: int,
        rate_limit: float,
        retries: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.budget, self.retries = budget, retries
        self.interval = 1.0 / rate_limit if rate_limit > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self.sent = 0
        self.throttled = 0  # 429 answers seen
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def admit(self) -> None:
        """Take one request from the budget and wait for its slot under the rate limit."""
        with self._lock:
            if self.sent >= self.budget:
                raise BudgetExhausted(f"the request budget of {self.budget} is spent (raise it with --budget)")
            self.sent += 1
            now = self.clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        if slot > now:
            self.sleep(slot - now)

    def send(self, attempt: Callable[[], R]) -> R:
        """Make one request with `attempt`, within the budget and rate limit, retrying a 429 after its back-off.

        Every try is a request of the budget; the last answer is returned (a 429 when the retries are spent).
        """
        tries = 0
        while True:
            self.admit()
            response = attempt()
            if response.status_code != 429:
                return response
            delay = self.backoff(tries, response.headers.get("retry-after"))
            if delay is None:
                return response
            response.close()
            self.sleep(delay)
            tries += 1

    def backoff(self, attempt: int, retry_after: str | None) -> float | None:
        """Seconds to wait before retrying a 429 (attempt counts from 0), or None to give up."""
        with self._lock:
            self.throttled += 1
        if attempt >= self.retries:
            return None
        delay = parse_retry_after(retry_after)
        return min(delay if delay is not None else 0.5 * 2**attempt, MAX_RETRY_AFTER)


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


class Ownership(Enum):
    """Whether a record a create answered is the run's own (see `Ledger`)."""

    OWNED = "owned"
    PENDING = "pending"  # a workflow create answered a token: new until a read-back says otherwise
    DISOWNED = "disowned"


@dataclass(frozen=True)
class Stray:
    """Something a 2xx create answered that the run cannot call its own, so never writes to or deletes."""

    collection: str
    record_id: str  # "" when the answer named no id
    why: str


class Ledger:
    """The records this run created, per collection: the only ones it may change or delete.

    A create's answer (any 2xx) makes its id the run's own only when the record is new: no other create answered
    the same id, and the record, where the answer or a read-back carries them, has `sys_version` 1 and a
    `sys_created_at` no earlier than the run (values the create itself sent prove nothing either way). Anything
    else is a `Stray`: disowned for good (the gate refuses writes to it, cleanup leaves it) and reported. An id is
    `PENDING` until `confirm` sees the record as stored (a GET of it): a create's answer may be a workflow token,
    or carry a new record's values under an old record's id.
    """

    def __init__(self, started: datetime | None = None) -> None:
        self.started = started or datetime.now(UTC)
        self._owned: dict[str, dict[str, None]] = {}  # the run's own, not deleted since (what cleanup removes)
        self._pending: dict[tuple[str, str], Any] = {}  # token-answered creates: the body they sent
        self._retired: set[tuple[str, str]] = set()  # ours once, deleted since: still ours to probe
        self._answered: set[tuple[str, str]] = set()  # every id a create answered
        self._disowned: dict[tuple[str, str], str] = {}
        self._strays: list[Stray] = []
        self.created: Counter[str] = Counter()  # records the run made and owns, per collection
        self._lock = threading.Lock()

    # -- what the answers say -----------------------------------------------------------------------------------

    def claim(self, collection: str, record_id: str, record: Any = None, sent: Any = None) -> Ownership:
        """A create answered `record_id` (and `record`, when its answer is the record); return whose it is."""
        key = (collection, record_id)
        with self._lock:
            if key in self._answered:
                # Two creates named one record: whatever the second made cannot be found, and whose the named
                # record is cannot be told. Neither is touched again.
                self._disown(key, "two creates answered this id (ids.unique)")
                return Ownership.DISOWNED
            self._answered.add(key)
            why = not_new(record, sent, self.started) if isinstance(record, dict) else None
            if why:
                self._disown(key, why)
                return Ownership.DISOWNED
            # What an answer says of the record proves little (a server may answer a new record's values with an
            # old record's id): the record as stored is read back before anything is written to it.
            self._pending[key] = sent
            return Ownership.PENDING

    def confirm(self, collection: str, record_id: str, record: Any) -> Ownership:
        """Judge a PENDING id by the record a read-back answered (None: it answered no record, it stays PENDING)."""
        key = (collection, record_id)
        with self._lock:
            if key not in self._pending:
                return self._state(key) or Ownership.DISOWNED
            if record is None:
                return Ownership.PENDING  # not readable (yet): neither the run's nor someone else's
            sent = self._pending.pop(key)
            if not isinstance(record, dict) or record.get("id") != record_id:
                got = record.get("id") if isinstance(record, dict) else record
                self._disown(key, f"a GET of it answered {'record ' + repr(got) if got else 'no record'}")
                return Ownership.DISOWNED
            return self._judge(key, record, sent)

    def abandon(self, collection: str, record_id: str, why: str) -> None:
        """Give up a PENDING id that never became readable: there is nothing to remove, and it is reported."""
        with self._lock:
            if (collection, record_id) in self._pending:
                self._disown((collection, record_id), why)

    def disown(self, collection: str, record_id: str, why: str) -> None:
        with self._lock:
            self._disown((collection, record_id), why)

    def unidentified(self, collection: str, why: str) -> None:
        """A 2xx create that named no record: whatever it stored cannot be found."""
        with self._lock:
            self._strays.append(Stray(collection, "", why))

    def add(self, collection: str, record_id: str) -> None:
        """Own `record_id` outright (a record known to be the run's)."""
        with self._lock:
            self._answered.add((collection, record_id))
            self._own((collection, record_id))

    def discard(self, collection: str, record_id: str) -> None:
        """A delete of the run's record succeeded: it stays the run's to probe, and is no longer cleaned up."""
        with self._lock:
            if self._owned.get(collection, {}).pop(record_id, 0) is None:
                self._retired.add((collection, record_id))

    def revive(self, collection: str, record_id: str) -> None:
        """A write to a deleted record of the run succeeded: the server has it again, so cleanup removes it."""
        with self._lock:
            if (collection, record_id) in self._retired and (collection, record_id) not in self._disowned:
                self._retired.discard((collection, record_id))
                self._owned.setdefault(collection, {})[record_id] = None

    # -- what the gate and cleanup ask --------------------------------------------------------------------------

    def state(self, collection: str, record_id: str) -> Ownership | None:
        with self._lock:
            return self._state((collection, record_id))

    def owns(self, collection: str, record_id: str) -> bool:
        return self.state(collection, record_id) is Ownership.OWNED

    def why_not(self, collection: str, record_id: str) -> str | None:
        """Why an id a create answered is not the run's own (None when it is, or no create answered it)."""
        with self._lock:
            return self._disowned.get((collection, record_id))

    def ids(self, collection: str) -> list[str]:
        """The run's own records of `collection` that are still there (as far as it knows)."""
        with self._lock:
            return list(self._owned.get(collection, {}))

    def pending(self, collection: str) -> list[str]:
        with self._lock:
            return [record_id for (c, record_id) in self._pending if c == collection]

    def collections(self) -> list[str]:
        with self._lock:
            return [c for c, ids in self._owned.items() if ids]

    def count(self) -> int:
        with self._lock:
            return sum(len(ids) for ids in self._owned.values()) + len(self._pending)

    def strays(self) -> list[Stray]:
        with self._lock:
            return list(self._strays)

    # -- under the lock -----------------------------------------------------------------------------------------

    def _state(self, key: tuple[str, str]) -> Ownership | None:
        if key in self._disowned:
            return Ownership.DISOWNED
        if key in self._pending:
            return Ownership.PENDING
        if key[1] in self._owned.get(key[0], {}) or key in self._retired:
            return Ownership.OWNED
        return None

    def _judge(self, key: tuple[str, str], record: dict[str, Any], sent: Any) -> Ownership:
        why = not_new(record, sent, self.started)
        if why:
            self._disown(key, why)
            return Ownership.DISOWNED
        self._own(key)
        return Ownership.OWNED

    def _own(self, key: tuple[str, str]) -> None:
        if key[1] not in self._owned.get(key[0], {}) and key not in self._retired:
            self.created[key[0]] += 1
        self._owned.setdefault(key[0], {})[key[1]] = None

    def _disown(self, key: tuple[str, str], why: str) -> None:
        if key in self._disowned:
            return
        self._disowned[key] = why
        self._pending.pop(key, None)
        if self._owned.get(key[0], {}).pop(key[1], 0) is None:
            self.created[key[0]] -= 1
        self._retired.discard(key)
        self._strays.append(Stray(key[0], key[1], why))


def not_new(record: dict[str, Any], sent: Any, started: datetime) -> str | None:
    """Why `record` is not one a create just made (None when nothing says so).

    Evidence is `sys_version` other than 1 and a `sys_created_at` before the run started (less a clock skew);
    a value equal to the one the create sent proves nothing (a server that stores sent sys_* values is
    `versioning.server-fields-ignored`'s finding, not a sign of an old record).
    """
    sent = sent if isinstance(sent, dict) else {}
    version = record.get("sys_version")
    if "sys_version" in record and version != 1 and sent.get("sys_version", object()) != version:
        return f"the record it names has sys_version {version!r}, not 1: it is not new"
    created = record.get("sys_created_at")
    if isinstance(created, str) and sent.get("sys_created_at") != created:
        moment = _moment(created)
        if moment is not None and moment < started - CLOCK_SKEW:
            return f"the record it names was created at {created}, before this run: it is not new"
    return None


def _moment(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def harmless_id(value: Any) -> bool:
    """An id that cannot name someone else's record: invented by the suite, or outside the id pattern even once
    stripped of surrounding white space (a server that trims `abc\n` would reach `abc`)."""
    if not isinstance(value, str):
        return True
    return value.startswith(MISSING_PREFIX) or not ID_PATTERN.fullmatch(value.strip())


class Gate:
    """Decides, before a request leaves, whether the suite may send it.

    `confirm(collection, id)` (set by the run's `Context`) reads back a record a workflow create reported, so
    that the ledger can tell whether it is new before anything writes to it.
    """

    def __init__(self, contract: Contract, ledger: Ledger, tenant: str, readable: Iterable[str], read_only: bool):
        self.contract, self.ledger, self.tenant = contract, ledger, tenant
        self.readable = {tenant, *readable}
        self.read_only = read_only
        self.confirm: Callable[[str, str], None] | None = None

    def allow_reads(self, tenant: str) -> None:
        """GET requests may go to `tenant` too (a tenant the suite made up, to look for leaks)."""
        self.readable.add(tenant)

    def check(self, method: str, path: str, body: bytes | None) -> None:
        method = method.upper()
        found = self.contract.match(method, path)
        tenant = found[1].get("tenantId") if found else None
        if method in SAFE_METHODS:
            if tenant is not None and tenant not in self.readable:
                raise ForeignRecordError(f"{method} {path}: tenant {tenant!r} is not one this run may read")
            return
        if self.read_only:
            raise ReadOnlyViolation(f"{method} {path}: only GET requests are sent in read-only mode")
        if found is None:
            raise ForeignRecordError(f"{method} {path}: not an operation of the contract")
        operation, params = found
        if operation.kind == "warm_up":
            return  # no tenant, no data: the contract says it changes nothing
        if tenant != self.tenant:
            raise ForeignRecordError(f"{method} {path}: writes go to tenant {self.tenant!r} only")
        collection = operation.resource or ""
        if "id" in params:
            refusal = self._refusal(collection, unquote(params["id"]))
            if refusal:
                raise ForeignRecordError(f"{method} {path}: {params['id']!r} {refusal}")
        if operation.kind == "batch":
            self._check_batch(collection, body)

    def _refusal(self, collection: str, record_id: Any) -> str | None:
        """Why the run may not write to `record_id` (None when it may)."""
        if harmless_id(record_id):
            return None
        state = self.ledger.state(collection, record_id)
        if state is Ownership.PENDING and self.confirm is not None:
            self.confirm(collection, record_id)
            state = self.ledger.state(collection, record_id)
        if state is Ownership.OWNED:
            return None
        why = self.ledger.why_not(collection, record_id)
        return f"is not a record this run created ({why})" if why else "is not a record this run created"

    def _check_batch(self, collection: str, body: bytes | None) -> None:
        try:
            data = json.loads(body or b"null")
        except ValueError:
            return  # not JSON: nothing the server could execute
        operations = data.get("operations") if isinstance(data, dict) else None
        for item in operations if isinstance(operations, list) else []:
            if not isinstance(item, dict) or item.get("operation") == "create":
                continue
            refusal = self._refusal(collection, item.get("id"))
            if refusal:
                raise ForeignRecordError(f"batch operation on {item.get('id')!r}: {refusal}")


class Redactor:
    """Replaces the secrets (the token) in any text; every output of the suite passes through it."""

    def __init__(self, secrets_: Iterable[str]):
        self._secrets = sorted({s for s in secrets_ if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in self._secrets)) if self._secrets else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern else text
