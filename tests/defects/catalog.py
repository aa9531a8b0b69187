"""The defect registry: one defect per rule, each named after the failure class it must trip.

Every defect is a small `async (call) -> Response` that does what a plausibly broken implementation does:
ignore a parameter, mislabel a status, forget a filter, apply half a patch. The defects live by area in
`wire.py`, `walks.py` and `changes.py`; `docs/conformance.md` tabulates them (fault -> caught).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tests.defects.app import Call, Response

Apply = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True)
class Defect:
    name: str
    rule: str
    summary: str
    apply: Apply
    failure: str = ""  # the failure class it trips, when its name is not that class's
    # Other rules of the same area it breaks too, because it breaks what they state as well (a 500 for invalid
    # input is a server error and an invalid request not refused with a 4xx): the self-test checks exactly these.
    also: tuple[str, ...] = ()

    @property
    def trips(self) -> str:
        return self.failure or self.name


DEFECTS: dict[str, Defect] = {}


def defect(name: str, rule: str, summary: str, also: tuple[str, ...] = ()) -> Callable[[Apply], Apply]:
    def register(function: Apply) -> Apply:
        DEFECTS[name] = Defect(name, rule, summary, function, also=also)
        return function

    return register


def records(body: Any) -> Iterator[dict[str, Any]]:
    """Every record in a response body: the body, list items, page Items, batch result objects."""
    if isinstance(body, dict) and "id" in body:
        yield body
    items = body if isinstance(body, list) else body.get("Items", []) if isinstance(body, dict) else []
    yield from (item for item in items if isinstance(item, dict))
    for result in body.get("results", []) if isinstance(body, dict) else []:
        if isinstance(result, dict) and isinstance(result.get("object"), dict):
            yield result["object"]


async def rewrite_records(call: Call, change: Callable[[dict[str, Any]], None]) -> Response:
    response = await call.forward()
    body = response.json()
    if body is None:
        return response
    for record in records(body):
        change(record)
    return response.with_json(body)


def load() -> dict[str, Defect]:
    """Import the defect modules (they register on import) and return the catalog."""
    from tests.defects import changes, walks, wire  # noqa: F401

    return DEFECTS
