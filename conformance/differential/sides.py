"""One side of a differential run: its session (gate, guard, ledger, redactor), the ids it gave the run's
records, and which of them the run may write to.

A record becomes the run's own on a side only when its create answered 2xx with an id no earlier create
answered, and the record looks new (`sys_version` 1 where the contract has it; a workflow create is read back
first). Any other answer is a drift of the id rules, and no later step writes to that record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.differential.normalize import Normalizer
from conformance.differential.sequence import NO_BODY, Raw, Ref, Step
from conformance.errors import TargetError
from conformance.http import Client, Exchange, Session, created_id
from conformance.ledger import Ledger, Ownership
from conformance.validators import ID_PATTERN

PAGE_KEY_HEADER, PAGE_KEY_FIELD, START_KEY = "x-last-evaluated-key", "LastEvaluatedKey", "exclusiveStartKey"


class ClaimedLedger(Ledger):
    """The run's records on one side: only those the ownership rule above accepted (`claim`), never what an
    answer merely names, so that neither a later step nor the cleanup writes to anyone else's record."""

    def claim(self, collection: str, record_id: str, record: Any = None, sent: Any = None) -> Ownership:
        """Ignored: the session registers every 2xx create here; the run decides ownership itself (`take`)."""
        return Ownership.PENDING

    def take(self, collection: str, record_id: str) -> None:
        """The ownership rule above accepted `record_id`: the run may write to it, and cleanup removes it."""
        self.add(collection, record_id)


class Unresolved(Exception):
    """A step names a record this side does not have (its create was refused), or may not write to."""


@dataclass
class Side:
    name: str  # "target" or "model"
    session: Session
    normal: Normalizer
    max_pages: int
    client: Client = field(init=False)
    ledger: ClaimedLedger = field(init=False)
    ids: dict[str, str] = field(default_factory=dict)  # ref -> id
    own: set[str] = field(default_factory=set)  # refs the run may write to
    pending: dict[str, str] = field(default_factory=dict)  # workflow creates awaiting their read-back

    def __post_init__(self) -> None:
        self.ledger = ClaimedLedger()
        self.session.ledger = self.session.gate.ledger = self.ledger
        self.client = self.session.client()

    # -- requests -------------------------------------------------------------------------------------------

    def check(self, step: Step) -> None:
        """Raise Unresolved when the step names a record this side lacks, or writes to one not its own."""
        for ref in step.refs():
            if ref not in self.ids and ref not in self.pending:
                raise Unresolved(f"{ref} was not created on the {self.name}")
            if step.writes and ref not in self.own:
                raise Unresolved(f"{ref} is not a record the run may write to on the {self.name}")

    def send(self, step: Step) -> list[Exchange]:
        """The step's exchanges: one, or every page of a walk (at most `max_pages`); TargetError naming this side
        when it does not answer."""
        try:
            return self._send(step)
        except httpx.TransportError as exc:
            raise TargetError(f"the {self.name} did not answer: {type(exc).__name__}: {exc}") from None

    def _send(self, step: Step) -> list[Exchange]:
        path = {name: self.resolve(value) for name, value in step.path.items()}
        query = {name: self.resolve(value) for name, value in step.query.items()}
        extra: dict[str, Any] = {}
        if isinstance(step.body, Raw):
            extra = {"content": step.body.data, "headers": {"Content-Type": "application/json"}}
        elif step.body is not NO_BODY:
            extra = {"json": self.resolve(step.body)}
        pages = [self.client.call(step.operation_id, **path, params=query or None, **extra)]
        given: set[str] = set()
        while step.walk and len(pages) < self.max_pages:
            key = next_key(pages[-1])
            if key is None or key in given:  # the end, or a key given before: the walk would never end
                break
            given.add(key)
            pages.append(self.client.call(step.operation_id, **path, params={**query, START_KEY: key}, **extra))
        return pages

    def resolve(self, value: Any) -> Any:
        if isinstance(value, Ref):
            return self.ids.get(value) or self.pending[value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    # -- what creates made ----------------------------------------------------------------------------------

    def learn(self, step: Step, exchange: Exchange, workflow: bool) -> str | None:
        """Learn the id a create answered; returns why the record is not the run's own, or None."""
        ref = step.creates
        assert ref is not None
        if not 200 <= exchange.status < 300:
            return f"the create answered {exchange.status}"
        record_id = created_id(exchange)
        if not record_id or not ID_PATTERN.fullmatch(record_id):
            return f"the create answered no usable id ({record_id!r})"
        if record_id in self.normal.names:
            return f"the create answered {record_id!r}, the id of {self.normal.names[record_id]}"
        self.normal.learn(record_id, ref)
        if workflow:
            self.pending[ref] = record_id
            return None
        self.ids[ref] = record_id
        body = exchange.json_or_none()
        version = body.get("sys_version", 1) if isinstance(body, dict) else 1
        return self._own(ref, record_id, version)

    def confirm(self, step: Step, exchange: Exchange) -> str | None:
        """The read-back of a workflow create: the record exists and looks new."""
        ref = step.reads_back
        assert ref is not None
        record_id = self.pending.pop(ref, None)
        if record_id is None:
            return None
        self.ids[ref] = record_id
        body = exchange.json_or_none()
        if exchange.status != 200 or not isinstance(body, dict) or body.get("id") != record_id:
            return f"the read-back of {record_id!r} answered {exchange.status}"
        return self._own(ref, record_id, body.get("sys_version", 1))

    def _own(self, ref: Ref, record_id: str, version: Any) -> str | None:
        """Make the record the run's own if it looks new; else say why not."""
        if version != 1:
            return f"the created record has sys_version {version}, not 1"
        self.own.add(ref)
        self.ledger.take(ref.collection, record_id)
        return None


def endless(pages: list[Exchange]) -> bool:
    """The walk's last page gives a key that an earlier page gave: following keys would never end."""
    keys = [next_key(page) for page in pages]
    return keys[-1] is not None and keys[-1] in keys[:-1]


def next_key(exchange: Exchange) -> str | None:
    """The paging key of a page: the header of a list, the body field of a lookup or search."""
    if exchange.status != 200:
        return None
    if exchange.headers.get(PAGE_KEY_HEADER):
        return exchange.headers[PAGE_KEY_HEADER]
    body = exchange.json_or_none()
    key = body.get(PAGE_KEY_FIELD) if isinstance(body, dict) else None
    return key if isinstance(key, str) and key else None
