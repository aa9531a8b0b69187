"""Binds each operation of the contract to its view: a handler from `mockserver/handlers/` if one is registered
for the operationId, otherwise the generic behaviour of its kind (see `mockserver.contract`), in the manner of
connexion's MockResolver falling back when no function is found."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from connexion.resolver import Resolver

from mockserver import handlers
from mockserver.contract import Operation
from mockserver.paging import PARAM as START_KEY
from mockserver.resources import Caller, Collection, Response
from mockserver.state import MockState


def _generic(collection: Collection, operation: Operation, caller: Caller, params: dict[str, Any]) -> Response:
    kind = operation.kind
    if kind == "get":
        return collection.get(caller, params["id"], params.get("fields"))
    if kind == "list":
        return collection.list_all(caller, params.get(START_KEY), params.get("fields"))
    if kind == "lookup":
        return collection.lookup(caller, operation, params, params.get(START_KEY), params.get("fields"))
    if kind == "search":
        return collection.search(caller, params["body"], params.get(START_KEY), params.get("fieldsToReturn"))
    if kind == "create":
        return collection.create(caller, params["body"])
    if kind == "replace":
        return collection.replace(caller, params["id"], params["body"])
    if kind == "patch":
        return collection.patch(caller, params["id"], params["body"])
    if kind == "delete":
        return collection.delete(caller, params["id"])
    if kind == "batch":
        return collection.batch(caller, params["body"])
    return collection.warm_up()


class MockResolver(Resolver):  # type: ignore[misc]
    """Gives each operation its view: `view(caller, **params) -> (body, status, headers)`."""

    def __init__(self, state: MockState):
        super().__init__()
        self.state = state
        self.handlers = handlers.load()

    def resolve_function_from_operation_id(self, operation_id: str) -> Callable[..., Response]:
        operation = self.state.contract.operations[operation_id]
        handler = self.handlers.get(operation_id)
        if handler is not None:
            return partial(handler, self.state)
        if operation.kind == "custom" or operation.resource is None:
            raise LookupError(f"operation {operation_id} needs a handler in mockserver/handlers/")
        collection = self.state.collections[operation.resource.collection]
        return lambda caller, **params: _generic(collection, operation, caller, params)
