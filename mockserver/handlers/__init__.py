"""Endpoints whose behaviour is not the generic one of `mockserver.resources`, by operationId.

A handler is `handler(state, caller, **params) -> (body, status, headers)`; register it with `@handles(...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HANDLERS: dict[str, Callable[..., Any]] = {}


def handles(operation_id: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        HANDLERS[operation_id] = function
        return function

    return register


def load() -> dict[str, Callable[..., Any]]:
    """Import the handler modules so that they register, and return the registry."""
    from mockserver.handlers import batches, invoices  # noqa: F401

    return HANDLERS
