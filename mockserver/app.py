"""`create_app(settings)`: the mock as an ASGI app: the contract's operations, its Swagger UI and the admin API."""

from __future__ import annotations

import logging
from typing import Any

from connexion.operations import OpenAPIOperation
from connexion.security import SecurityHandlerFactory
from connexion.spec import OpenAPISpecification, Specification
from starlette.types import ASGIApp, Receive, Scope, Send

from collect_contract import SPEC_PATH
from mockserver import conventions, seeding
from mockserver.admin import admin_app
from mockserver.auth import Auth
from mockserver.contract import Contract
from mockserver.database import Database
from mockserver.dispatch import Dispatcher, Endpoint
from mockserver.docs import docs_app
from mockserver.faults import Faults
from mockserver.journal import Journal
from mockserver.memory import paused_gc, settle
from mockserver.observe import ObservedApi
from mockserver.resolver import MockResolver
from mockserver.resources import index_specs, range_specs
from mockserver.settings import Settings
from mockserver.state import MockState
from mockserver.storage import open_store

logger = logging.getLogger(__name__)


class MockApp:
    """Routes `/_mock/*` to the admin API, `/ui` and `/openapi.*` to the docs (mockserver/docs.py), the rest to the
    contract."""

    def __init__(self, state: MockState, api: Dispatcher, admin: ASGIApp, docs: ASGIApp):
        self.state = state
        self.api = ObservedApi(api, state.journal, state.faults)
        self.admin = admin
        self.docs = docs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope["path"]
        if path.startswith("/_mock/"):
            await self.admin(scope, receive, send)
        elif path.startswith(DOCS):
            await self.docs(scope, receive, send)
        else:
            await self.api(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                close_database(self.state)
                await send({"type": "lifespan.shutdown.complete"})
                return


DOCS = ("/ui", "/openapi.json", "/openapi.yaml")


def create_app(settings: Settings | None = None) -> MockApp:
    """Open (and on first start seed) the database, and serve the contract over it."""
    settings = settings or Settings()
    # Any contract but the packaged one (proven by the tests) is checked against the conventions first.
    packaged = settings.spec_path == SPEC_PATH
    contract = Contract.from_path(SPEC_PATH) if packaged else conventions.load(settings.spec_path)
    state = MockState(
        settings=settings,
        contract=contract,
        db=Database(
            open_store(settings.db, fsync=settings.fsync),
            index_specs(contract),
            settings.compact_every,
            range_specs(contract),
        ),
        auth=Auth(settings.token, settings.tokens, settings.admin_token),
        journal=Journal(settings.journal_size),
        faults=Faults(list(settings.faults)),
    )
    open_database(state)
    # Connexion loads and validates the contract, and models each operation for the dispatcher.
    specification = load_specification(contract.spec, packaged=packaged)
    resolver = MockResolver(state)
    security = SecurityHandlerFactory(state.auth.security_map())
    endpoints = {}
    for operation in contract.operations.values():
        modelled = OpenAPIOperation.from_spec(
            specification, path=operation.path, method=operation.method, resolver=resolver
        )
        endpoints[(operation.path, operation.method)] = Endpoint(
            modelled, modelled.function, security, settings.validate_responses
        )
    return MockApp(state, Dispatcher(endpoints), admin_app(state), docs_app(specification, settings))


class _ProvenSpecification(OpenAPISpecification):  # type: ignore[misc]
    """The packaged contract: tests/test_contract.py proves it valid (connexion's check included), so a start does
    not check it again, which is half a second of the start at 100,000 records."""

    @classmethod
    def _validate_spec(cls, spec: dict[str, Any]) -> None:
        return None


def load_specification(spec: dict[str, Any], packaged: bool) -> Specification:
    """Connexion's model of the contract; any contract other than the packaged one is checked first."""
    return _ProvenSpecification(spec) if packaged else Specification.load(spec)


def open_database(state: MockState) -> None:
    """Load what is stored; seed an empty database from the fixtures if asked to."""
    with paused_gc():
        loaded = state.db.load()
        if loaded == 0 and state.settings.seed:
            data = seeding.read_directory(state.settings.fixtures, state.contract)
            seeding.load(state.db, state.contract, data, state.clock, validate=False, durable=False)
            state.db.compact()
    settle()
    if state.db.store.pending:
        # Fold the log of the last run into the snapshot, in the background: start does not wait for it.
        if not state.db.store.compact_in_background(state.db.snapshot):
            state.db.compact()  # a sealed log left by a crash: fold everything now, once


def close_database(state: MockState) -> None:
    try:
        state.db.compact()
    finally:
        state.db.store.close()
