"""Gathers failures from every source into records: the rules' own checks, the response rules that judge
each probe's exchange, and the checks Schemathesis runs. Repeats of one finding are counted, not listed."""

from __future__ import annotations

import threading

from conformance.failures import Failure
from conformance.http import Exchange
from conformance.registry import Rule
from conformance.report import FailureRecord
from conformance.safety import Redactor

API = "api"
MAX_PER_KEY = 1  # one record per rule, resource, operation and kind of finding; later ones only count


class Collector:
    def __init__(self, redact: Redactor, judged: list[Rule]):
        self.redact, self.judged = redact, judged
        self._records: dict[tuple[str, str, str, str], FailureRecord] = {}
        self._seen: set[str] = set()
        self.notes: list[str] = []
        self._lock = threading.Lock()

    def observe(self, exchange: Exchange) -> None:
        """Judge one probe exchange with every selected response rule."""
        resource = _resource(exchange)
        with self._lock:
            self._seen.add(resource)
        for rule in self.judged:
            try:
                rule.check(exchange)
            except Failure as failure:
                self.record(failure, exchange, resource)

    def record(self, failure: Failure, exchange: Exchange | None, resource: str | None = None) -> FailureRecord:
        exchange = exchange or failure.exchange
        resource = resource or (_resource(exchange) if exchange else API)
        key = (failure.rule, resource, failure.operation or "", failure._unique_key)
        with self._lock:
            self._seen.add(resource)
            if key in self._records:
                self._records[key].occurrences += 1
                return self._records[key]
            record = FailureRecord(
                rule=failure.rule,
                resource=resource,
                code=failure.code,
                title=failure.title,
                operation=failure.operation or (exchange.label if exchange else ""),
                received=self.redact(failure.received),
                expected=self.redact(failure.expected),
                note=self.redact(failure.note),
                curl=self.redact(exchange.curl()) if exchange else "",
                response=self.redact(exchange.summary()) if exchange else "",
            )
            self._records[key] = record
            return record

    def failures(self, rule: str, resource: str) -> list[FailureRecord]:
        with self._lock:
            return [r for (rule_id, res, *_), r in self._records.items() if rule_id == rule and res == resource]

    def saw(self, resource: str) -> bool:
        with self._lock:
            return resource in self._seen

    def note(self, text: str) -> None:
        with self._lock:
            self.notes.append(self.redact(text))


def _resource(exchange: Exchange) -> str:
    return exchange.operation.resource or API if exchange.operation else API
