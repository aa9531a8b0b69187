"""The records a run created: the only ones it may change or delete (`safety.Gate` asks, cleanup removes them).

The ledger learns from the create answers themselves (`http.register_changes`) and from the read-backs that
confirm them; it never sends a request.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

# How far the target's clock may lag behind the suite's before a just-created record looks old.
CLOCK_SKEW = timedelta(hours=1)


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

    def retired(self, collection: str) -> list[str]:
        """The run's records of `collection` that a delete answered success for (cleanup reads them: gone?)."""
        with self._lock:
            return sorted(i for c, i in self._retired if c == collection and (c, i) not in self._disowned)

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
