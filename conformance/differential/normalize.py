"""What may legitimately differ between the target's answer and the model's, made equal before they are compared.

A value is rewritten, in this order:

    an id the side gave a record of the run   the record's name on both sides ("«invoices#2»")
    an ARN (`arn:...:<last>`)                  its last segment only (account and region differ)
    a server-made value                        "<server-made>": the `readOnly` strings and objects of the
                                               records (timestamps, actors, security contexts, composite
                                               keys), the strings of workflow answers (channels, keys),
                                               paging keys and texts for people (`detail`, `*message`)
    a date-time                                "<date-time>"
    an id of the run inside a string           replaced in place ("acme.invoices.«invoices#2»")

Everything else is compared as it is: the client's own data, versions (`sys_version`), locks, counts, outcomes,
references. Numbers compare by value (JSON has one number type). All of it is read from the contract.
"""

from __future__ import annotations

import re
from typing import Any

from collect_contract import Contract, Kind

DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$")
SERVER_MADE, DATE = "<server-made>", "<date-time>"
PAGING_KEYS = ("LastEvaluatedKey",)


def server_made_fields(contract: Contract) -> frozenset[str]:
    """The field names whose values the server makes up, and that may therefore differ."""
    names: set[str] = set(PAGING_KEYS)
    for resource in contract.resources.values():
        for name in resource.read_only - {"id"}:
            if contract.deref(resource.schema["properties"][name]).get("type") in ("string", "object", "array"):
                names.add(name)
        create = resource.operations.get(Kind.CREATE)
        if resource.workflow and create is not None:
            answer = contract.deref(create.response_schema(200, "application/json") or {})
            names.update(
                n for n, p in answer.get("properties", {}).items() if contract.deref(p).get("type") == "string"
            )
    problem = contract.deref({"$ref": "#/components/schemas/Problem"})
    names.update(n for n, p in problem.get("properties", {}).items() if p.get("type") == "string")
    for schema in contract.spec["components"]["schemas"].values():
        names.update(n for n in schema.get("properties", {}) if n.endswith("message"))
    return frozenset(names)


class Normalizer:
    """One side's normal form: its ids as the run's record names."""

    def __init__(self, server_made: frozenset[str]):
        self.server_made = server_made
        self.names: dict[str, str] = {}  # id -> "«invoices#2»"
        self._inside: re.Pattern[str] | None = None

    def learn(self, record_id: str, name: str) -> None:
        self.names[record_id] = f"«{name}»"
        self._inside = None

    def name_of(self, record_id: Any) -> str | None:
        return self.names.get(record_id) if isinstance(record_id, str) else None

    def __call__(self, value: Any, field: str = "") -> Any:
        if isinstance(value, dict):
            if field in self.server_made:
                return SERVER_MADE
            return {key: self(item, key) for key, item in value.items()}
        if isinstance(value, list):
            if field in self.server_made:
                return SERVER_MADE
            return [self(item, field) for item in value]
        if isinstance(value, str):
            return self.text(value, field)
        return value

    def text(self, value: str, field: str = "") -> str:
        if value in self.names:
            return self.names[value]
        if value.startswith("arn:"):
            return "arn:…:" + self.text(value.rsplit(":", 1)[-1])
        if field in self.server_made:
            return SERVER_MADE
        if DATE_TIME.match(value):
            return DATE
        return self._replace_inside(value)

    def _replace_inside(self, value: str) -> str:
        if not self.names:
            return value
        if self._inside is None:
            ordered = sorted(self.names, key=len, reverse=True)
            self._inside = re.compile("|".join(re.escape(i) for i in ordered))
        return self._inside.sub(lambda m: self.names[m.group()], value)
