"""What a check works with: the client, the contract, valid bodies, and records of its own.

Every check creates the records it needs (`ctx.create`), in the run's tenant, with the run's business unit;
the shared `world` holds one record per referenced resource (a batch, an invoice) for creates to refer to.
Nothing here deletes: the runner removes every record of the ledger at the end.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from conformance.config import Config
from conformance.contract import Contract, Resource
from conformance.coverage import Coverage
from conformance.errors import SetupError
from conformance.factory import Bodies, Record, dependency_order
from conformance.http import Client, Exchange, Session, created_id
from conformance.safety import MISSING_PREFIX

READ_BACK_DELAYS = (0.1, 0.3, 0.9)


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
        self.coverage = Coverage()

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
        """Create a record and return it as stored (read back when the create answers with a token)."""
        exchange = self.client.call(
            self.resource(collection).operations["create"].operation_id, json=self.body(collection, **overrides)
        )
        return self.created(collection, exchange)

    def created(self, collection: str, exchange: Exchange) -> Record:
        record_id = created_id(exchange) if exchange.status == 200 else None
        if record_id is None:
            raise SetupError(f"could not create a {collection} record: {exchange.summary()}")
        body = exchange.json_or_none()
        if isinstance(body, dict) and body.get("id") == record_id and "sys_version" in body:
            return body
        # A workflow-backed create may finish just after its answer on a real deployment: the read that set-up
        # needs waits a little (the contract says the record is stored first; `fuzz.stateful-links` checks that).
        for delay in READ_BACK_DELAYS:
            exchange = self.get(collection, record_id)
            if exchange.status != 404:
                return _existing(collection, record_id, exchange)
            time.sleep(delay)
        return self.read(collection, record_id)

    def read(self, collection: str, record_id: str, **params: Any) -> Record:
        """GET a record that must exist."""
        return _existing(collection, record_id, self.get(collection, record_id, **params))

    def get(self, collection: str, record_id: str, **params: Any) -> Exchange:
        return self.call(collection, "get", id=record_id, params=params or None)

    def call(self, collection: str, kind: str, **kwargs: Any) -> Exchange:
        """Call the `kind` operation (create, get, replace, patch, search, batch, ...) of a resource."""
        return self.client.call(self.resource(collection).operations[kind].operation_id, **kwargs)

    def batch(self, collection: str, operations: list[Record]) -> Exchange:
        return self.call(collection, "batch", json={"operations": operations})

    def delete(self, collection: str, record_id: str) -> Exchange:
        """Delete with the resource's DELETE operation, or else a batch delete operation."""
        if "delete" in self.resource(collection).operations:
            return self.call(collection, "delete", id=record_id)
        return self.batch(collection, [{"operation": "delete", "id": record_id}])

    def deletable(self) -> list[Resource]:
        """Resources in the order their records can be deleted: referrers before what they refer to."""
        return list(reversed(dependency_order(self.contract)))


def _existing(collection: str, record_id: str, exchange: Exchange) -> Record:
    """The record a GET answered; anything but a 200 with an object is a setup error."""
    if exchange.status != 200 or not isinstance(exchange.json_or_none(), dict):
        raise SetupError(f"could not read {collection} {record_id!r}: {exchange.summary()}")
    return dict(exchange.json())
