"""Between Schemathesis and the suite: exchanges from Schemathesis responses, and response rules as checks.

A response rule judges an `Exchange`; `as_check(rule)` wraps it as a Schemathesis check `(ctx, response, case)`
with the rule check's own name, so that `case.validate_response(checks=...)` and `st run` can run it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from collect_contract import Contract
from conformance.http import Exchange

CheckFunction = Callable[[Any, Any, Any], None]

_contracts: dict[int, Contract] = {}
_lock = threading.Lock()


def contract_of(schema: Any) -> Contract:
    """The suite's view of a Schemathesis schema (built once per schema)."""
    raw = schema.raw_schema
    with _lock:
        if id(raw) not in _contracts:
            _contracts[id(raw)] = Contract(raw)
        return _contracts[id(raw)]


def register_contract(schema: Any, contract: Contract) -> None:
    """Judge this schema's exchanges with `contract` (the fuzzers load a tenant-pinned copy of it)."""
    with _lock:
        _contracts[id(schema.raw_schema)] = contract


def exchange_of(response: Any, case: Any) -> Exchange:
    """An Exchange from a Schemathesis `Response` (whose `.request` is the prepared request)."""
    request = response.request
    contract = contract_of(case.operation.schema)
    body = request.body.encode() if isinstance(request.body, str) else request.body
    path = str(request.path_url).split("?", 1)[0]
    found = contract.match(str(request.method), path)
    operation, params = found if found else (None, {})
    headers = {name.lower(): ", ".join(values) for name, values in response.headers.items()}
    return Exchange(
        str(request.method),
        str(request.url),
        dict(request.headers),
        body if isinstance(body, bytes) else None,
        status=response.status_code,
        headers=headers,
        body=response.content or b"",
        operation=operation,
        path_params=params,
        elapsed=response.elapsed,
        contract=contract,
    )


def as_check(check: Callable[[Exchange], object]) -> CheckFunction:
    """A response rule's check as a Schemathesis check."""

    def schemathesis_check(ctx: Any, response: Any, case: Any) -> None:
        check(exchange_of(response, case))

    schemathesis_check.__name__ = check.__name__
    schemathesis_check.__doc__ = check.__doc__
    return schemathesis_check
