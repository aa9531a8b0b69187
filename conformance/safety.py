"""What keeps the suite polite and harmless on a real deployment, in one place that every request passes.

- `Guard`: a request budget, a rate limit, and the back-off for 429 (honouring `Retry-After`);
- `Ledger` (`conformance.ledger`): the records this run created, when they are new: the only ones it may change;
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
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote

from collect_contract import Contract, Kind
from conformance.errors import BudgetExhausted, ForeignRecordError, ReadOnlyViolation
from conformance.ledger import Ledger, Ownership
from conformance.validators import ID_PATTERN

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MISSING_PREFIX = "cfz-missing-"
MAX_RETRY_AFTER = 60.0
REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 8
UNSAFE_IN_SECRET = frozenset("[]<>&\"'\\")
TOKEN_VARIABLE = "${COLLECT_CONFORMANCE_TOKEN}"


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
        if operation.kind is Kind.WARM_UP:
            return  # no tenant, no data: the contract says it changes nothing
        if tenant != self.tenant:
            raise ForeignRecordError(f"{method} {path}: writes go to tenant {self.tenant!r} only")
        collection = operation.collection or ""
        if "id" in params:
            refusal = self._refusal(collection, unquote(params["id"]))
            if refusal:
                raise ForeignRecordError(f"{method} {path}: {params['id']!r} {refusal}")
        if operation.kind is Kind.BATCH:
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
    """Replaces each whole occurrence of a secret (the token) in any text; every output of the suite passes here.

    One regular-expression pass replaces every occurrence at once, so a placeholder is never itself searched,
    and a second pass changes nothing (redaction is idempotent). That holds because a secret that could be
    found inside a placeholder or across its edges is refused (`unsafe_secret`), and so is a secret short
    enough to occur by chance in ordinary text ("T" would turn "POST" into "POS[REDACTED]" and so reveal it).
    """

    def __init__(self, secrets_: Iterable[str]):
        self._secrets = sorted({s for s in secrets_ if s}, key=len, reverse=True)
        for secret in self._secrets:
            why = unsafe_secret(secret)
            if why:
                raise ValueError(why)
        self._pattern = re.compile("|".join(re.escape(s) for s in self._secrets)) if self._secrets else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern else text


def unsafe_secret(secret: str) -> str | None:
    """Why `secret` cannot be redacted safely (never quoting it), or None when it can."""
    if len(secret) < MIN_SECRET_LENGTH:
        return (
            f"it is {len(secret)} characters long; a secret shorter than {MIN_SECRET_LENGTH} occurs by chance "
            "in ordinary text, and removing it there would both garble the reports and reveal it"
        )
    if any(c.isspace() or not c.isprintable() or c in UNSAFE_IN_SECRET for c in secret):
        # Brackets could meet the placeholder's; markup characters are escaped in HTML and XML, out of reach.
        return "it holds spaces, control characters, brackets or markup characters, which no bearer token carries"
    if secret in REDACTED or secret in TOKEN_VARIABLE:
        return "it occurs in the text the suite writes in its place"
    return None
