"""What a drift is: one way the service answered differently from what the contract (or the mock, its executable
model) says, classified, located, and kept with the evidence a contract owner needs to act on it.

Both producers fill the same model: the differential run (`conformance.differential`, the target against a
fresh mock) and the validating recorder (`mockserver.proxy`, real traffic against the contract and the
state rules it observed). Texts are redacted by the producer before they get here.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class DriftKind(StrEnum):
    """The classes of drift: a closed set, so that a report can be grouped and a pipeline can count them."""

    STATUS = "status-differs"  # another status code than the contract or the model gives
    UNDOCUMENTED = "field-undocumented"  # a field (or parameter) the contract does not document
    MISSING = "field-missing"  # a field the contract requires, or the model answers, is absent
    TYPE = "type-differs"  # a value of another type, format, enum value or range than documented
    ORDER = "order-differs"  # the same records in another order than the model's
    STATE = "state-rule-differs"  # ids, versions, paging completeness, patch results, hits, 409s, ...

    @property
    def code(self) -> str:
        return _CODES[self]

    @property
    def heading(self) -> str:
        return _TITLES[self]


_CODES = {
    DriftKind.STATUS: "DR1",
    DriftKind.UNDOCUMENTED: "DR2",
    DriftKind.MISSING: "DR3",
    DriftKind.TYPE: "DR4",
    DriftKind.ORDER: "DR5",
    DriftKind.STATE: "DR6",
}
_TITLES = {
    DriftKind.STATUS: "Status differs",
    DriftKind.UNDOCUMENTED: "Field undocumented",
    DriftKind.MISSING: "Field missing",
    DriftKind.TYPE: "Type differs",
    DriftKind.ORDER: "Order differs",
    DriftKind.STATE: "State rule differs",
}


class Location(StrEnum):
    """Where in the exchange the drift sits."""

    STATUS = "status"
    HEADER = "header"
    BODY = "body"  # the response body
    REQUEST_BODY = "request body"
    QUERY = "query"
    PATH = "path"


@dataclass(frozen=True)
class Evidence:
    """The structured facts a proposed contract change is built from (all optional)."""

    status: int | None = None  # the status the service answered
    media_type: str = ""
    documented_match: str | None = None  # a documented status whose schema the answer's body satisfies
    keyword: str | None = None  # the schema keyword the value broke: type, enum, required, format, ...
    value: Any = None  # the offending value (JSON), cut by the producer
    json_type: str | None = None  # its JSON type: string, number, integer, boolean, array, object, null
    projected: bool = False  # the request named fields (`fields`, `fieldsToReturn`)
    response_status: int | None = None  # the status whose schema the field belongs to


@dataclass(frozen=True)
class Seen:
    """One side of an exchange as text: who answered, what was asked, what came back, and how to ask again."""

    side: str  # "target", "model", "service"
    request: str  # "PATCH http://host/invoices/acme/inv-1"
    response: str  # "200 application/json {...}", cut
    request_body: str = ""
    curl: str = ""  # a POSIX shell command that sends the same request


@dataclass
class Finding:
    """What one check saw in one exchange, before its producer places it (operation, where, the exchanges seen):
    a `Drift` to be."""

    kind: DriftKind
    location: Location
    field: str
    observed: str
    expected: str
    message: str
    evidence: Evidence = dataclasses.field(default_factory=Evidence)
    rule: str = ""


@dataclass(frozen=True)
class Drift:
    """One observation of a drift."""

    kind: DriftKind
    operation_id: str  # "" for a request outside the contract
    operation: str  # "PATCH /invoices/{tenantId}/{id}"
    location: Location
    field: str  # a JSON Pointer into the body ("/Items/2/total"), a header or parameter name, "" for the status
    observed: str  # what the service did, shortly: "201", "'12.50' (string)"
    expected: str  # what the contract or the model says: "200 (the model)", "number (the contract)"
    message: str  # one sentence, for people
    evidence: Evidence = dataclasses.field(default_factory=Evidence)
    seen: tuple[Seen, ...] = ()  # the service's exchange and, for a differential, the model's
    where: str = ""  # "step 14: patch invoices#2", "request 37"
    rule: str = ""  # the state rule at stake: versioning, paging, existence, references, patch, ids, values

    @property
    def pattern(self) -> str:
        """The field with array positions generalised (`/Items/*/total`): what observations are grouped by."""
        return generalize(self.field)

    @property
    def key(self) -> tuple[str, DriftKind, Location, str]:
        return (self.operation_id or self.operation, self.kind, self.location, self.pattern)


_INDEX = re.compile(r"(?<=/)\d+(?=/|$)")


def generalize(pointer: str) -> str:
    """`/Items/3/line_items/0/total` -> `/Items/*/line_items/*/total`."""
    return _INDEX.sub("*", pointer) if pointer.startswith("/") else pointer


def escape(token: str) -> str:
    """One JSON Pointer reference token (RFC 6901): `~` as `~0`, `/` as `~1`."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer(parts: list[Any] | tuple[Any, ...]) -> str:
    """A JSON Pointer from path parts: `['Items', 0, 'total']` -> `/Items/0/total`."""
    return "".join(f"/{escape(str(part))}" for part in parts)


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def parts(pointer_text: str) -> list[str]:
    """The reference tokens of a JSON Pointer."""
    return [unescape(t) for t in pointer_text.split("/")[1:]] if pointer_text else []


def json_type(value: Any) -> str:
    """The JSON type of a decoded value; an integral float is a number, as JSON has one number type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
