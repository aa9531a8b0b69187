"""Gathers failures from every source into records: the rules' own checks, the response rules that judge
each probe's exchange, and the checks Schemathesis runs. Repeats of one finding are counted, not listed.

A record is text, made once here: redacted, printable (no raw control characters) and bounded (long bodies
cut, their length given; a long check's steps thinned to its start and the stretch from the deviating
request on). A behaviour check's record carries every step of its trace in order, the deviating one marked,
and a reproduction of that request for a POSIX shell.
"""

from __future__ import annotations

import threading
import traceback

from conformance.failures import Failure
from conformance.http import Exchange, Trace
from conformance.registry import Rule
from conformance.report import FailureRecord, Step
from conformance.safety import Redactor
from conformance.text import cut, printable

API = "api"
BODY_LIMIT = 500  # characters of a request or response body shown
TEXT_LIMIT = 1500  # characters of a received / expected text shown
MAX_STEPS, HEAD_STEPS = 12, 3  # a long check shows its first HEAD_STEPS steps, then from the deviating one on


class Collector:
    def __init__(self, redact: Redactor, judged: list[Rule], secret: str = ""):
        self.redact, self.judged, self.secret = redact, judged, secret
        self._records: dict[tuple[str, str, str, str], FailureRecord] = {}
        self._seen: set[str] = set()
        self._judged: set[tuple[str, str]] = set()  # (rule, resource) that judged at least one response
        self.notes: list[str] = []
        # A response rule that raised something else than its failure: (rule, resource) -> (reason, traceback).
        self.crashes: dict[tuple[str, str], tuple[str, str]] = {}
        self._lock = threading.Lock()

    def observe(self, exchange: Exchange) -> None:
        """Judge one probe exchange with every selected response rule."""
        resource = _resource(exchange)
        with self._lock:
            self._seen.add(resource)
        for rule in self.judged:
            judged = True
            try:
                judged = rule.check(exchange) is not False  # False: not a response this rule judges
            except Failure as failure:
                self.record(failure, exchange, resource)
            except Exception as exc:  # noqa: BLE001 - a broken rule ends its own unit, not the probe that fed it
                step = self.step(1, exchange)
                reason = f"{type(exc).__name__}: {exc} (judging {step.request}, answered {step.response})"
                with self._lock:
                    self.crashes.setdefault(
                        (rule.id, resource), (self.text(reason), "".join(traceback.format_exception(exc)))
                    )
            if judged:
                with self._lock:
                    self._judged.add((rule.id, resource))

    def record(
        self, failure: Failure, exchange: Exchange | None, resource: str | None = None, trace: Trace | None = None
    ) -> FailureRecord:
        """The record of `failure`; `exchange` is the deviating request, `trace` the check's steps (if any)."""
        exchange = failure.exchange or exchange
        resource = resource or (_resource(exchange) if exchange else API)
        key = (failure.rule, resource, failure.operation or "", failure._unique_key)
        with self._lock:
            self._seen.add(resource)
            if key in self._records:
                self._records[key].occurrences += 1
                return self._records[key]
        steps, total = self.steps(trace, exchange)
        record = FailureRecord(
            rule=failure.rule,
            resource=resource,
            code=failure.code,
            title=self.text(failure.title, 200),
            operation=failure.operation or (exchange.label if exchange else ""),
            received=self.text(failure.received),
            expected=self.text(failure.expected),
            note=self.text(failure.note),
            curl=self.reproduction(exchange) if exchange else "",
            response=self.response(exchange) if exchange else "",
            steps=steps,
            steps_total=total,
        )
        with self._lock:
            existing = self._records.get(key)
            if existing is not None:  # the same finding, recorded by another thread meanwhile
                existing.occurrences += 1
                return existing
            self._records[key] = record
            return record

    # -- text -------------------------------------------------------------------------------------------------

    def text(self, text: str, limit: int = TEXT_LIMIT) -> str:
        return cut(printable(self.redact(text)), limit)

    def response(self, exchange: Exchange) -> str:
        body = self.text(exchange.body.decode("utf-8", "replace"), BODY_LIMIT)
        return f"{exchange.status} {exchange.media_type or '(no content type)'} {body}".rstrip()

    def reproduction(self, exchange: Exchange) -> str:
        """The curl command; a command too long to paste is cut (the steps still show the request)."""
        return self.text(exchange.curl(self.secret), 4 * BODY_LIMIT)

    def step(self, number: int, exchange: Exchange, deviated: bool = False) -> Step:
        body = exchange.request_body.decode("utf-8", "replace") if exchange.request_body else ""
        return Step(
            number,
            self.text(f"{exchange.method} {exchange.url}", BODY_LIMIT),
            self.response(exchange),
            self.text(body, BODY_LIMIT),
            deviated,
        )

    def steps(self, trace: Trace | None, deviating: Exchange | None) -> tuple[list[Step], int]:
        """The steps to show, and how many the check took: all of a short check; of a long one its start and
        the stretch from the deviating request on."""
        if trace is None or not trace.total:
            return ([self.step(1, deviating, True)], 1) if deviating else ([], 0)
        kept = trace.exchanges
        numbers = list(range(1, len(trace.head) + 1))
        numbers += list(range(trace.total - len(trace.tail) + 1, trace.total + 1))
        total = trace.total
        at = _find(kept, deviating)
        if at is None and deviating is not None:
            kept, numbers, total = [*kept, deviating], [*numbers, total + 1], total + 1
            at = len(kept) - 1
        chosen = list(range(len(kept)))
        if len(kept) > MAX_STEPS:
            start = max(HEAD_STEPS, min(at if at is not None else len(kept), len(kept) - (MAX_STEPS - HEAD_STEPS)))
            chosen = [*range(HEAD_STEPS), *range(start, start + MAX_STEPS - HEAD_STEPS)]
        return [self.step(numbers[i], kept[i], i == at) for i in chosen], total

    # -- queries ----------------------------------------------------------------------------------------------

    def failures(self, rule: str, resource: str) -> list[FailureRecord]:
        with self._lock:
            return [r for (rule_id, res, *_), r in self._records.items() if rule_id == rule and res == resource]

    def saw(self, resource: str) -> bool:
        with self._lock:
            return resource in self._seen

    def has_judged(self, rule: str, resource: str) -> bool:
        """Whether `rule` judged a response of `resource` (a response rule passes only on what it judged)."""
        with self._lock:
            return (rule, resource) in self._judged

    def note(self, text: str) -> None:
        with self._lock:
            self.notes.append(self.text(text))


def _find(exchanges: list[Exchange], wanted: Exchange | None) -> int | None:
    """Where `wanted` is among `exchanges`: the same object, or else the latest with the same request and answer
    (Schemathesis hands its checks a copy)."""
    if wanted is None:
        return None
    for index in range(len(exchanges) - 1, -1, -1):
        if exchanges[index] is wanted:
            return index
    for index in range(len(exchanges) - 1, -1, -1):
        candidate = exchanges[index]
        same = (candidate.method, candidate.url, candidate.request_body, candidate.status, candidate.body)
        if same == (wanted.method, wanted.url, wanted.request_body, wanted.status, wanted.body):
            return index
    return None


def _resource(exchange: Exchange) -> str:
    return (exchange.operation.collection or API) if exchange.operation else API
