"""`create_app(settings)`: the mock as an ASGI app, the contract served by connexion beside the admin API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from connexion.exceptions import ProblemException
from connexion.options import SwaggerUIOptions
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver import seeding
from mockserver.admin import admin_app
from mockserver.auth import Auth
from mockserver.contract import Contract
from mockserver.database import Database
from mockserver.errors import problem_response, server_error_response
from mockserver.faults import Faults
from mockserver.framework import MockAsyncApp
from mockserver.journal import Journal
from mockserver.observe import ObservedApi
from mockserver.resolver import MockResolver
from mockserver.resources import index_specs
from mockserver.settings import Settings
from mockserver.state import MockState
from mockserver.storage import open_store
from mockserver.validation import VALIDATOR_MAP

logger = logging.getLogger(__name__)


class MockApp:
    """Routes `/_mock/*` to the admin API and everything else, observed, to the contract."""

    def __init__(self, state: MockState, api: ASGIApp, admin: ASGIApp):
        self.state = state
        self.api = ObservedApi(api, state.contract, state.journal, state.faults)
        self.admin = admin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_mock/"):
            await self.admin(scope, receive, send)
        else:
            await self.api(scope, receive, send)

    @property
    def base_url(self) -> str:
        return f"http://{self.state.settings.host}:{self.state.settings.port}"


def create_app(settings: Settings | None = None) -> MockApp:
    """Open (and on first start seed) the database, and serve the contract over it."""
    settings = settings or Settings()
    contract = Contract.from_path(settings.spec_path)
    state = MockState(
        settings=settings,
        contract=contract,
        db=Database(open_store(settings.db, fsync=settings.fsync), index_specs(contract)),
        auth=Auth(settings.token, settings.tokens, settings.admin_token),
        journal=Journal(settings.journal_size),
        faults=Faults(list(settings.faults)),
    )
    open_database(state)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        yield
        close_database(state)

    api = MockAsyncApp(
        __name__,
        lifespan=lifespan,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=settings.swagger_ui, swagger_ui_path="/ui"),
    )
    api.add_api(
        contract.spec,
        resolver=MockResolver(state),
        strict_validation=True,
        validate_responses=settings.validate_responses,
        validator_map=VALIDATOR_MAP,
        security_map=state.auth.security_map(),
    )
    api.add_error_handler(ProblemException, problem_response)
    api.add_error_handler(Exception, server_error_response)
    return MockApp(state, api, admin_app(state))


def open_database(state: MockState) -> None:
    """Load what is stored; seed an empty database from the fixtures if asked to."""
    loaded = state.db.load()
    if loaded == 0 and state.settings.seed:
        data = seeding.read_directory(state.settings.fixtures, state.contract)
        seeding.load(state.db, state.contract, data, state.clock, validate=False, durable=False)
        state.db.compact()
    elif state.db.store.pending:
        state.db.compact()  # start from a clean snapshot: the log only holds this run's writes


def close_database(state: MockState) -> None:
    try:
        state.db.compact()
    finally:
        state.db.store.close()
