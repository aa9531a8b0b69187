"""Fault injection for resilience testing: added latency, errors, and 429 with Retry-After.

A rule matches requests by operationId, method, path glob and tenant (each optional) and applies, in order:
`latency_ms` of delay, then with probability `throttle_rate` a 429 carrying `Retry-After: retry_after`
(the pages document 429 for tenant limits), else with probability `error_rate` an `error_status` answer.
Draws come from one random generator seeded with the rule's `seed`, so the same requests in the same order meet
the same faults. The first matching rule wins.

    {"operation": "getWriteOff", "tenant": "acme", "latency_ms": 200, "throttle_rate": 0.5, "retry_after": 2}
    {"path": "/invoices/*", "error_rate": 1, "error_status": 500}
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import random
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from mockserver.errors import PROBLEM_JSON, problem_body

PROBLEM = {"Content-Type": PROBLEM_JSON}


class FaultError(ValueError):
    """A fault rule that cannot be used; the message names the key and the value."""


def read_rules(path: Path) -> tuple[dict[str, Any], ...]:
    """The rules of a JSON file (one rule or a list), each checked, for `--faults` and `MOCKSERVER_FAULTS`."""
    try:
        rules = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FaultError(f"{path}: {exc}") from None
    rules = rules if isinstance(rules, list) else [rules]
    for rule in rules:
        try:
            Rule.from_dict(rule)
        except (FaultError, AttributeError) as exc:
            raise FaultError(f"{path}: {exc}") from None
    return tuple(rules)


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
        for name in ("error_rate", "throttle_rate"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise FaultError(f"Fault '{name}' has value '{value}'. Not a probability between 0 and 1.")
        if not isinstance(self.latency_ms, int) or not 0 <= self.latency_ms <= 60_000:
            raise FaultError(f"Fault 'latency_ms' has value '{self.latency_ms}'. Not between 0 and 60000.")
        if not isinstance(self.error_status, int) or not 400 <= self.error_status <= 599:
            raise FaultError(f"Fault 'error_status' has value '{self.error_status}'. Not a 4xx or 5xx status.")
        if not isinstance(self.retry_after, int) or self.retry_after < 0:
            raise FaultError(f"Fault 'retry_after' has value '{self.retry_after}'. Not a number of seconds.")
        self._random = random.Random(self.seed)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        if not isinstance(data, dict):
            raise FaultError(f"Fault rule has value '{data}'. Not a JSON object.")
        known = {f.name for f in fields(cls) if not f.name.startswith("_")} - {"id"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultError(f"Fault key '{unknown[0]}' is not one of: {', '.join(sorted(known))}.")
        try:
            return cls(**data)
        except TypeError as exc:
            raise FaultError(f"Fault rule is invalid: {exc}") from None

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
        rule = Rule.from_dict(data)
        rule.id = next(self._ids)
        self.rules.append(rule)
        return rule

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
