"""Endpoints whose behaviour is not the generic one of `mockserver.resources`, by operationId.

A handler is `handler(services, caller, **params) -> (body, status, headers)`, registered with `@handles(...)`:
`services` gives it the collections of the contract's resources and the server's clock (`Services`), never the
database itself; `caller` says who asks, for which tenant; `params` are the operation's parameters by name, and
`body` its parsed request body. It raises problems (`mockserver.errors`) for what it refuses. Add a handler only
for an operation whose path has no shape the generic engine serves (docs/architecture.md, "Where things go").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Concatenate, Protocol

from mockserver.records import Clock
from mockserver.resources import Caller, Collection, Response


class Services(Protocol):
    """What a handler may use of the running mock (`MockState` is one)."""

    @property
    def collections(self) -> Mapping[str, Collection]: ...

    @property
    def clock(self) -> Clock: ...


Handler = Callable[Concatenate[Services, Caller, ...], Response]
HANDLERS: dict[str, Handler] = {}

__all__ = ["HANDLERS", "Caller", "Handler", "Response", "Services", "handles", "load"]


def handles(operation_id: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[operation_id] = function
        return function

    return register


def load() -> dict[str, Handler]:
    """Import the handler modules so that they register, and return the registry."""
    from mockserver.handlers import batches, invoices  # noqa: F401

    return HANDLERS
