"""Fault injection for resilience testing: added latency, errors, and 429 with Retry-After.

A rule matches requests by operationId, method, path glob and tenant (each optional) and applies, in order:
`latency_ms` of delay, then with probability `throttle_rate` a 429 carrying `Retry-After: retry_after`
(the pages document 429 for tenant limits), else with probability `error_rate` an `error_status` answer.
Draws come from one random generator seeded with the rule's `seed`, so the same requests in the same order meet
the same faults. The first matching rule wins.

A rule is checked against `RULE_SCHEMA` (types included: `retry_after: true` is not a number of seconds) before
it is used, and a list of rules is added whole or not at all.

    {"operation": "getWriteOff", "tenant": "acme", "latency_ms": 200, "throttle_rate": 0.5, "retry_after": 2}
    {"path": "/invoices/*", "error_rate": 1, "error_status": 500}
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

from mockserver.errors import PROBLEM_JSON, FieldError, problem_body, shown_value
from mockserver.validation import schema_errors

PROBLEM = {"Content-Type": PROBLEM_JSON}
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_TEXT = {"type": "string", "minLength": 1, "maxLength": 2048}
RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "operation": _TEXT,
        "method": {"type": "string", "enum": [*METHODS, *(m.lower() for m in METHODS)]},
        "path": _TEXT,
        "tenant": _TEXT,
        "latency_ms": {"type": "integer", "minimum": 0, "maximum": 60_000},
        "error_rate": {"type": "number", "minimum": 0, "maximum": 1},
        "error_status": {"type": "integer", "minimum": 400, "maximum": 599},
        "throttle_rate": {"type": "number", "minimum": 0, "maximum": 1},
        "retry_after": {"type": "integer", "minimum": 0, "maximum": 86_400},
        "seed": {"type": "integer"},
    },
}


class FaultError(ValueError):
    """A fault rule that cannot be used; the message names the key and the value."""

    def __init__(self, message: str, errors: list[FieldError] | None = None):
        super().__init__(message)
        self.errors = errors or []


def read_rules(path: Path) -> tuple[dict[str, Any], ...]:
    """The rules of a JSON file (one rule or a list), each checked, for `--faults` and `MOCKSERVER_FAULTS`."""
    try:
        rules = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FaultError(f"{path}: {exc}") from None
    rules = rules if isinstance(rules, list) else [rules]
    try:
        check_rules(rules)
    except FaultError as exc:
        raise FaultError(f"{path}: {exc}") from None
    return tuple(rules)


def check_rules(rules: list[Any]) -> list[Rule]:
    """Every rule of a list as a Rule, or FaultError naming each key at fault (of each rule, by position)."""
    errors: list[FieldError] = []
    for position, data in enumerate(rules):
        prefix = f"[{position}]" if len(rules) > 1 else ""
        if not isinstance(data, dict):
            errors.append(
                FieldError("body", prefix, f"Fault rule has value '{shown_value(data)[1:-1]}'. Not a JSON object.")
            )
            continue
        for error in schema_errors(Draft4Validator, RULE_SCHEMA, data, prefix=prefix):
            key = error.field.rsplit(".", 1)[-1].removeprefix(prefix)
            value = data.get(key, "") if key else ""
            shown = shown_value(value)
            message = f"Fault '{key}' has value '{shown[1:-1] if isinstance(value, str) else shown}'. {error.message}"
            errors.append(FieldError("body", error.field, message))
    if errors:
        raise FaultError("; ".join(e.message for e in errors[:5]), errors)
    return [Rule(**data) for data in rules]


@dataclass
class Rule:
    operation: str | None = None
    method: str | None = None
    path: str | None = None
    tenant: str | None = None
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 500
    throttle_rate: float = 0.0
    retry_after: int = 1
    seed: int = 0
    id: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def matches(self, method: str, path: str, tenant: str | None, operation_id: str | None) -> bool:
        return (
            (self.operation is None or self.operation == operation_id)
            and (self.method is None or self.method.upper() == method)
            and (self.path is None or fnmatch.fnmatchcase(path, self.path))
            and (self.tenant is None or self.tenant == tenant)
        )

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


@dataclass(frozen=True)
class Outcome:
    delay: float
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Faults:
    def __init__(self, rules: list[dict[str, Any]] | None = None):
        self.rules: list[Rule] = []
        self._ids = itertools.count(1)
        for rule in rules or []:
            self.add(rule)

    def add(self, data: dict[str, Any]) -> Rule:
        return self.add_all([data])[0]

    def add_all(self, rules: list[Any]) -> list[Rule]:
        """Add every rule, or (FaultError) none of them."""
        added = check_rules(rules)
        for rule in added:
            rule.id = next(self._ids)
        self.rules.extend(added)
        return added

    def remove(self, rule_id: int) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        return len(self.rules) < before

    def clear(self) -> None:
        self.rules.clear()

    def decide(self, method: str, path: str, tenant: str | None, operation_id: str | None) -> Outcome | None:
        for rule in self.rules:
            if rule.matches(method, path, tenant, operation_id):
                return self._apply(rule, tenant)
        return None

    @staticmethod
    def _apply(rule: Rule, tenant: str | None) -> Outcome:
        delay = rule.latency_ms / 1000
        # Draw both numbers every time, so that one rule's sequence does not depend on its own rates.
        throttle, error = rule._random.random(), rule._random.random()
        if throttle < rule.throttle_rate:
            where = f" for tenant '{tenant}'" if tenant else ""
            detail = f"Request limit exceeded{where} (injected fault): retry after {rule.retry_after} seconds"
            return Outcome(delay, 429, {**PROBLEM, "Retry-After": str(rule.retry_after)}, problem_body(429, detail))
        if error < rule.error_rate:
            return Outcome(delay, rule.error_status, PROBLEM, problem_body(rule.error_status, "Injected fault"))
        return Outcome(delay)
