"""What a check works with: the client, the contract, valid bodies, and records of its own.

Every check creates the records it needs (`ctx.create`), in the run's tenant, with the run's business unit;
the shared `world` holds one record per referenced resource (a batch, an invoice) for creates to refer to.
Nothing here deletes: the runner removes every record of the ledger at the end.

Reads check what they read: `ctx.read` fails the running rule when a GET answers another record than the one
asked for, or values other than those just written; `ctx.create` uses only records the ledger calls the run's
own, and says why a check cannot go on otherwise (`Skipped`: not verified).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from collect_contract import Contract, Kind, Resource
from conformance import failures
from conformance.config import Config
from conformance.coverage import Coverage
from conformance.errors import Reason, SetupError, Skipped
from conformance.factory import Bodies, Record, dependency_order
from conformance.http import Client, Exchange, Session, created_id, json_kind, unnamed
from conformance.ledger import Ownership
from conformance.safety import MISSING_PREFIX
from conformance.validators import server_set

READ_BACK_DELAYS = (0.1, 0.3, 0.9)
T = TypeVar("T")


class Context:
    """Shared by every check of a run (thread-safe)."""

    def __init__(self, config: Config, contract: Contract, session: Session):
        self.config, self.contract, self.session = config, contract, session
        self.client: Client = session.client()
        self.rng = random.Random(config.seed)
        # The run marker keeps this run's records apart from earlier runs' (the one value the seed does not fix).
        self.marker = f"cfz{config.seed or 0:x}-{int(time.time() * 1000) % 16**6:06x}"
        self.bodies = Bodies(contract, f"bu-{self.marker}", f"fy-{self.marker}")
        self._counter = 0
        self._lock = threading.RLock()
        self._world: dict[str, Record] = {}
        self._shared: dict[Any, Any] = {}
        self._shared_locks: dict[Any, threading.Lock] = {}
        self.coverage = Coverage()
        # A tenant nobody has (made up per run): the run's records must not be reachable under it. Only GET
        # requests go there.
        self.stranger_tenant = f"cfz-other-{self.marker}"
        session.gate.allow_reads(self.stranger_tenant)
        session.gate.confirm = self.confirm

    # -- names --------------------------------------------------------------------------------------------------

    def unique(self, prefix: str) -> str:
        with self._lock:
            self._counter += 1
            return f"{prefix}-{self.marker}-{self._counter}"

    def missing_id(self) -> str:
        """An id that names no record (invented by the suite, so safe to send in writes)."""
        with self._lock:
            return f"{MISSING_PREFIX}{self.rng.getrandbits(48):012x}"

    def resource(self, name: str) -> Resource:
        return self.contract.resources[name]

    def once(self, key: Any, make: Callable[[], T]) -> T:
        """`make()` run once per run for `key` (other threads asking meanwhile wait for it). A `Skipped` is kept
        too: what could not be prepared once is not tried again (and paid for again) by the next check."""
        with self._lock:
            lock = self._shared_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._shared:
                try:
                    self._shared[key] = make()
                except Skipped as skipped:
                    self._shared[key] = skipped
            if isinstance(self._shared[key], Skipped):
                raise Skipped(str(self._shared[key]), self._shared[key].reason)
            return self._shared[key]  # type: ignore[no-any-return]

    # -- records ------------------------------------------------------------------------------------------------

    def world(self, collection: str) -> Record:
        """The run's shared record of `collection` (created on first use), for other records to refer to."""
        with self._lock:
            if collection not in self._world:
                self._world[collection] = self.create(collection)
            return self._world[collection]

    def body(self, collection: str, **overrides: Any) -> Record:
        """A valid create body whose references name the run's world records."""
        return self.bodies.create(self.resource(collection), self._target, **overrides)

    def _target(self, collection: str) -> str | None:
        return str(self.world(collection)["id"])

    def create(self, collection: str, **overrides: Any) -> Record:
        """Create a record of the run's own and return it as stored (read back when the create answers with a
        token); `Skipped` (not verified) when the target refuses the create or answers a record not the run's."""
        exchange = self.client.call(
            self.resource(collection).operations[Kind.CREATE].operation_id, json=self.body(collection, **overrides)
        )
        return self.created(collection, exchange)

    def created(self, collection: str, exchange: Exchange) -> Record:
        """The record a create answered, once the ledger holds it as the run's own."""
        if not 200 <= exchange.status < 300:
            raise Skipped(
                f"setup refused: a valid create of a {collection} record answered {exchange.summary(120)}",
                Reason.SETUP_REFUSED,
            )
        record_id = created_id(exchange)
        if record_id is None:
            raise Skipped(
                f"setup: a create of a {collection} record answered {exchange.status} {unnamed(exchange)}",
                Reason.SETUP_REFUSED,
            )
        self._require_owned(collection, record_id)
        # The record is read back as stored: the ledger judges it by that, and the create is checked by it.
        exchange = self._read_back(collection, record_id)
        if exchange.status != 200:
            raise Skipped(
                f"setup: GET of the {collection} record {record_id!r} just created answered {exchange.summary(120)}",
                Reason.SETUP_REFUSED,
            )
        record = exchange.json_or_none()
        # A GET that answers another record disowns the id (`ids.server-generated` reports it as a failure);
        # here it only means that the check cannot go on.
        self.session.ledger.confirm(collection, record_id, record if isinstance(record, dict) else None)
        self._require_owned(collection, record_id)
        if not isinstance(record, dict) or record.get("id") != record_id:
            raise Skipped(
                f"setup: GET of the {collection} record {record_id!r} answered {exchange.summary(120)}",
                Reason.SETUP_REFUSED,
            )
        return dict(record)

    def _require_owned(self, collection: str, record_id: str) -> None:
        ledger = self.session.ledger
        if ledger.state(collection, record_id) is Ownership.DISOWNED:
            raise Skipped(
                f"setup: a create of a {collection} record answered {record_id!r}, which is not the run's own "
                f"({ledger.why_not(collection, record_id)}); nothing is written to it",
                Reason.SETUP_REFUSED,
            )

    def confirm(self, collection: str, record_id: str) -> None:
        """Read back a record a create reported, so that the ledger can tell whether it is new (a record not
        readable yet stays pending: a later write or the cleanup asks again)."""
        exchange = self._read_back(collection, record_id)
        record = exchange.json_or_none() if exchange.status == 200 else None
        self.session.ledger.confirm(collection, record_id, record if isinstance(record, dict) else None)

    def _read_back(self, collection: str, record_id: str) -> Exchange:
        """GET a record a create just reported. A workflow-backed create may finish just after its answer on a
        real deployment: the read waits a little (the contract says the record is stored first;
        `fuzz.stateful-links` checks that)."""
        for delay in READ_BACK_DELAYS:
            exchange = self.get(collection, record_id)
            if exchange.status != 404:
                return exchange
            time.sleep(delay)
        return self.get(collection, record_id)

    def read(self, collection: str, record_id: str, written: Record | None = None, **params: Any) -> Record:
        """GET a record that must exist, and check that it is that record (and holds the values `written`).

        Anything else fails the running rule: a rule whose read-back is not its record proves nothing.
        """
        exchange = self.get(collection, record_id, **params)
        if exchange.status != 200 or not isinstance(exchange.json_or_none(), dict):
            _observed(
                received=exchange.summary(),
                expected=f"200 with the {collection} record {record_id!r}",
                title="Record not readable",
                exchange=exchange,
            )
        record = self._identical(collection, record_id, exchange)
        if written is not None:
            differences = differing(written, record, server_set(self.resource(collection)))
            if differences:
                _observed(
                    received="; ".join(differences),
                    expected="the values just written",
                    title="Stored values differ from those written",
                    exchange=exchange,
                )
        return record

    def _identical(self, collection: str, record_id: str, exchange: Exchange) -> Record:
        """The record a 200 answered, which must be the one asked for."""
        record = exchange.json_or_none()
        got = record.get("id") if isinstance(record, dict) else None
        if got is not None and not isinstance(got, str) and str(got) == record_id:
            _observed(
                received=f"GET of {record_id!r} answered the record whose id is '{got}', a JSON {json_kind(got)}",
                expected="the id as a string (the contract's ^[\\w|-]+$)",
                title="Record id is not a string",
                exchange=exchange,
            )
        if not isinstance(record, dict) or got != record_id:
            _observed(
                received=f"GET of {record_id!r} answered " + (f"the record {got!r}" if got else exchange.summary()),
                expected=f"the {collection} record {record_id!r}",
                title="Read-back returned another record",
                exchange=exchange,
            )
        return dict(record)

    def get(self, collection: str, record_id: str, **params: Any) -> Exchange:
        return self.call(collection, Kind.GET, id=record_id, params=params or None)

    def call(self, collection: str, kind: Kind | str, **kwargs: Any) -> Exchange:
        """Call the `kind` operation (create, get, replace, patch, search, batch, ...) of a resource; ValueError
        for a kind that does not exist, KeyError for one the resource does not have."""
        return self.client.call(self.resource(collection).operations[Kind(kind)].operation_id, **kwargs)

    def batch(self, collection: str, operations: list[Record]) -> Exchange:
        return self.call(collection, Kind.BATCH, json={"operations": operations})

    def delete(self, collection: str, record_id: str) -> Exchange:
        """Delete with the resource's DELETE operation, or else a batch delete operation."""
        if Kind.DELETE in self.resource(collection).operations:
            return self.call(collection, Kind.DELETE, id=record_id)
        return self.batch(collection, [{"operation": "delete", "id": record_id}])

    def deletable(self) -> list[Resource]:
        """Resources in the order their records can be deleted: referrers before what they refer to."""
        return list(reversed(dependency_order(self.contract)))


def _observed(*, received: str, expected: str, title: str, exchange: Exchange) -> None:
    """Fail the running rule with what a shared step observed (a setup error outside a rule's check)."""
    failure = failures.current()
    if failure is None:
        raise SetupError(f"{title}: {received} (expected {expected})")
    raise failure(received=received, expected=expected, title=title, exchange=exchange)


def differing(written: Any, stored: Any, ignored: frozenset[str] = frozenset(), path: str = "") -> list[str]:
    """Where `stored` does not hold the values `written` (fields the server adds are not differences)."""
    if isinstance(written, dict) and isinstance(stored, dict):
        found: list[str] = []
        for name, value in written.items():
            if name in ignored:
                continue
            where = f"{path}.{name}" if path else name
            if name not in stored:
                found.append(f"{where}: sent {shorten(value)}, not stored")
            else:
                found += differing(value, stored[name], frozenset(), where)
        return found
    if isinstance(written, list) and isinstance(stored, list) and len(written) == len(stored):
        pairs = enumerate(zip(written, stored, strict=True))
        return [found for i, (w, s) in pairs for found in differing(w, s, path=f"{path}[{i}]")]
    if written == stored and isinstance(written, bool) == isinstance(stored, bool):
        return []
    if isinstance(written, str) and isinstance(stored, str) and _same_moment(written, stored):
        return []  # one date-time in another notation (`...59Z` stored as `...59.000Z`)
    return [f"{path}: sent {shorten(written)}, stored {shorten(stored)}"]


def _same_moment(one: str, other: str) -> bool:
    if "T" not in one or "T" not in other:
        return False
    try:
        first = datetime.fromisoformat(one.replace("Z", "+00:00"))
        second = datetime.fromisoformat(other.replace("Z", "+00:00"))
        return first.utcoffset() is not None and second.utcoffset() is not None and first == second
    except ValueError:
        return False


def shorten(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
