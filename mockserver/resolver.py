"""Binds each operation of the contract to its view: a handler from `mockserver/handlers/` if one is registered
for the operationId, otherwise the generic behaviour of its kind (`collect_contract.Kind`), in the manner of
connexion's MockResolver falling back when no function is found."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from collect_contract import Kind, Operation
from mockserver import handlers
from mockserver.connexion_adapter import Resolver
from mockserver.paging import PARAM as START_KEY
from mockserver.resources import Caller, Collection, Response
from mockserver.state import MockState

# The generic behaviour of each kind: `view(collection, operation, caller, params)`.
GenericView = Callable[[Collection, Operation, Caller, dict[str, Any]], Response]
GENERIC: dict[Kind, GenericView] = {
    Kind.GET: lambda c, o, caller, p: c.get(caller, p["id"], p.get("fields")),
    Kind.LIST: lambda c, o, caller, p: c.list_all(caller, p.get(START_KEY), p.get("fields")),
    Kind.LOOKUP: lambda c, o, caller, p: c.lookup(caller, o, p, p.get(START_KEY), p.get("fields")),
    Kind.SEARCH: lambda c, o, caller, p: c.search(caller, p["body"], p.get(START_KEY), p.get("fieldsToReturn")),
    Kind.CREATE: lambda c, o, caller, p: c.create(caller, p["body"]),
    Kind.REPLACE: lambda c, o, caller, p: c.replace(caller, p["id"], p["body"]),
    Kind.PATCH: lambda c, o, caller, p: c.patch(caller, p["id"], p["body"]),
    Kind.DELETE: lambda c, o, caller, p: c.delete(caller, p["id"]),
    Kind.BATCH: lambda c, o, caller, p: c.batch(caller, p["body"]),
    Kind.WARM_UP: lambda c, o, caller, p: c.warm_up(),
}


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
        generic = GENERIC.get(operation.kind)
        if generic is None or operation.resource is None:
            raise LookupError(f"operation {operation_id} needs a handler in mockserver/handlers/")
        collection = self.state.collections[operation.resource.collection]
        return lambda caller, **params: generic(collection, operation, caller, params)
