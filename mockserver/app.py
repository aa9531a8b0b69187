"""`create_app(settings)`: the mock as an ASGI app: the contract's operations, its Swagger UI and the admin API."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from collect_contract import SPEC_PATH, Contract
from mockserver import conventions, seeding
from mockserver.admin import admin_app
from mockserver.asgi import ProblemsOnly, lifespan
from mockserver.auth import Auth
from mockserver.connexion_adapter import SecurityHandlerFactory, load_specification, model_operation
from mockserver.database import Database
from mockserver.dispatch import Dispatcher, Endpoint
from mockserver.docs import docs_app
from mockserver.faults import Faults
from mockserver.journal import Journal
from mockserver.memory import paused_gc, settle
from mockserver.observe import ObservedApi
from mockserver.paging import KeyCodec, derive
from mockserver.records import Clock
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
        self.admin = ProblemsOnly(admin)
        self.docs = ProblemsOnly(docs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, self._close)
            return
        path = scope["path"]
        if path.startswith("/_mock/"):
            await self.admin(scope, receive, send)
        elif path.startswith(DOCS):
            await self.docs(scope, receive, send)
        else:
            await self.api(scope, receive, send)

    async def _close(self) -> None:
        self.state.db.close()


DOCS = ("/ui", "/openapi.json", "/openapi.yaml")


def create_app(settings: Settings | None = None) -> MockApp:
    """Open (and on first start seed) the database, and serve the contract over it."""
    settings = settings or Settings()
    # Any contract but the packaged one (proven by the tests) is checked against the conventions first.
    packaged = settings.spec_path == SPEC_PATH
    contract = Contract.from_path(SPEC_PATH) if packaged else conventions.load(settings.spec_path)
    store = open_store(
        settings.db, fsync=settings.fsync, compact_every=settings.compact_every, compact_bytes=settings.compact_bytes
    )
    db = Database(store, index_specs(contract), range_specs(contract))
    clock = Clock()
    try:
        open_database(db, settings, contract, clock)
    except BaseException:
        db.close()  # the lock and the files go with the failed start
        raise
    # Caller ids and paging keys are keyed with the database's own secret, which lives as long as its records.
    secret = db.secret
    state = MockState(
        settings=settings,
        contract=contract,
        db=db,
        auth=Auth(settings.token, settings.tokens, key=derive(secret, "caller ids")),
        journal=Journal(settings.journal_size, settings.journal_bytes),
        faults=Faults(list(settings.faults)),
        codec=KeyCodec(derive(secret, "paging keys")),
        clock=clock,
    )
    # Connexion loads and validates the contract, and models each operation for the dispatcher.
    specification = load_specification(contract.spec, proven=packaged)
    resolver = MockResolver(state)
    security = SecurityHandlerFactory(state.auth.security_map())
    endpoints = {}
    schemes = contract.spec.get("components", {}).get("securitySchemes", {})
    bearer = {
        name for name, s in schemes.items() if s.get("type") == "http" and s.get("scheme", "").lower() == "bearer"
    }
    for operation in contract.operations.values():
        modelled = model_operation(specification, operation.path, operation.method, resolver)
        takes_bearer = any(len(requirement) == 1 and set(requirement) <= bearer for requirement in modelled.security)
        endpoints[(operation.path, operation.method)] = Endpoint(
            modelled,
            modelled.function,
            security,
            settings.validate_responses,
            bearer=state.auth.check if takes_bearer else None,
        )
    return MockApp(state, Dispatcher(endpoints), admin_app(state), docs_app(specification, settings))


def open_database(db: Database, settings: Settings, contract: Contract, clock: Clock) -> None:
    """Load what is stored; seed an empty database from the fixtures if asked to."""
    with paused_gc():
        loaded = db.load()
        if loaded == 0 and settings.seed:
            data = seeding.read_directory(settings.fixtures, contract)
            seeding.load(db, contract, data, clock, validate=False, durable=False)
            db.save()
    settle()
