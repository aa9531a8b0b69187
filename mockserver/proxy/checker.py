"""Everything the recorder does with an exchange once its answer has gone back: off the request's path.

The forwarding side hands each finished exchange to `Checker.submit` (a bounded queue); one thread then
journals it, checks it against the contract and the state rules, adds what it finds to the drift log and
keeps its records for the recording. An exchange that finds the queue full is forwarded but not checked, and
counted as such: the recorder never slows the client down to keep up.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from dataclasses import dataclass, replace
from typing import Any

from collect_drift import Drift, DriftKind, DriftLog, Evidence, Location, Seen
from collect_drift.shell import curl
from mockserver.journal import MAX_BODY, Journal
from mockserver.proxy.exchange import Observation
from mockserver.proxy.inspect import Endpoint, Finding, Inspector
from mockserver.proxy.observed import ObservedState
from mockserver.proxy.recorder import Recorder
from mockserver.proxy.redact import Redaction

logger = logging.getLogger(__name__)
TEXT_LIMIT = 600
TOKEN_VARIABLE = "COLLECT_TOKEN"
PAGES = ("list", "lookup", "search")


@dataclass
class Counts:
    forwarded: int = 0
    checked: int = 0
    unchecked: int = 0  # the queue was full, or the answer too large to check
    outside: int = 0  # requests to paths the contract does not have
    failures: int = 0  # the checker's own errors (logged)


class Checker:
    def __init__(
        self,
        inspector: Inspector,
        journal: Journal,
        drift: DriftLog,
        redaction: Redaction,
        recorder: Recorder | None = None,
        backlog: int = 10_000,
    ):
        self.inspector, self.journal, self.drift = inspector, journal, drift
        self.redaction, self.recorder = redaction, recorder
        self.state = ObservedState(inspector.contract)
        self.counts = Counts()
        self.lock = threading.Lock()  # the journal and the state, between this thread and the admin API
        self._queue: queue.Queue[Observation | None] = queue.Queue(maxsize=backlog)
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._run, name="collect-proxy-checker", daemon=True)
        self._thread.start()

    def submit(self, seen: Observation) -> None:
        with self._idle:
            self.counts.forwarded += 1
            try:
                self._queue.put_nowait(seen)
            except queue.Full:
                self.counts.unchecked += 1
                return
            self._pending += 1

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every exchange submitted so far is checked (or `timeout` passes)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self.drain(timeout)
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            seen = self._queue.get()
            if seen is None:
                return
            try:
                self.check(seen)
            except Exception:  # noqa: BLE001 - one exchange the checker cannot read must not stop it
                self.counts.failures += 1
                logger.exception("could not check %s %s", seen.method, seen.path)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    # -- one exchange ---------------------------------------------------------------------------------------

    def check(self, seen: Observation) -> None:
        endpoint, params = self.inspector.route(seen.method, seen.path)
        with self.lock:
            self.journal.record(
                at=seen.at, method=seen.method, path=seen.path, query=seen.query, tenant=params.get("tenantId"),
                operation_id=endpoint.operation.operation_id if endpoint else None, status=seen.status,
                duration_ms=seen.duration_ms, body=seen.body[: MAX_BODY + 1],
            )  # fmt: skip
        if endpoint is None:
            self.counts.outside += 1
            if 200 <= seen.status < 300:
                self.drift.add(self._outside(seen))
            return
        if seen.truncated:
            self.counts.unchecked += 1
            return
        found = self.inspector.request(endpoint, params, seen) if 200 <= seen.status < 300 else []
        found += self.inspector.response(endpoint, seen)
        with self.lock:
            found += self.state.observe(endpoint.operation, params, seen)
        if self.recorder is not None and 200 <= seen.status < 300:
            self._record(endpoint, params, seen)
        self.counts.checked += 1
        for finding in found:
            self.drift.add(self._drift(endpoint, seen, finding))

    def _record(self, endpoint: Endpoint, params: dict[str, str], seen: Observation) -> None:
        assert self.recorder is not None
        operation, tenant, body = endpoint.operation, params.get("tenantId"), seen.response_json()
        if operation.resource is None or tenant is None or seen.projected:
            return
        collection = operation.resource.collection
        kind = operation.kind
        if kind in ("get", "replace", "patch", "create") and isinstance(body, dict) and "sys_version" in body:
            self.recorder.keep(tenant, collection, body)
        elif kind == "delete":
            self.recorder.forget(tenant, collection, params.get("id", ""))
        elif kind in PAGES and kind != "search":
            items = body if isinstance(body, list) else body.get("Items") if isinstance(body, dict) else []
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict):
                    self.recorder.keep(tenant, collection, item)
        elif kind == "batch" and isinstance(body, dict):
            for result in body.get("results") or []:
                if not isinstance(result, dict) or result.get("outcome") != "success":
                    continue
                if result.get("operation") == "delete":
                    self.recorder.forget(tenant, collection, str(result.get("id")))
                elif isinstance(result.get("object"), dict):
                    self.recorder.keep(tenant, collection, result["object"])

    # -- drift ----------------------------------------------------------------------------------------------

    def _drift(self, endpoint: Endpoint, seen: Observation, finding: Finding) -> Drift:
        operation = endpoint.operation
        label = f"{operation.method.upper()} {operation.path}"
        return Drift(
            finding.kind, operation.operation_id, label, finding.location, finding.field, finding.observed,
            finding.expected, finding.message, self._evidence(finding.evidence), (self.seen(seen),),
            f"request {seen.number}", finding.rule,
        )  # fmt: skip

    def _evidence(self, evidence: Evidence) -> Evidence:
        """The evidence with a redacted value shown as such."""
        if isinstance(evidence.value, (dict, list)):
            return replace(evidence, value=self.redaction.text(evidence.value))
        return evidence

    def _outside(self, seen: Observation) -> Drift:
        where = f"{seen.method} {seen.path}"
        message = f"The service answered {seen.status} to {where}, which no operation of the contract has."
        return Drift(DriftKind.UNDOCUMENTED, "", where, Location.PATH, where, str(seen.status),
                     "no such operation (the contract)", message, Evidence(status=seen.status), (self.seen(seen),),
                     f"request {seen.number}")  # fmt: skip

    def seen(self, seen: Observation) -> Seen:
        request_body = self._text(seen.request_json(), seen.body)
        response = self._text(seen.response_json(), seen.response_body)
        summary = f"{seen.status} {seen.media_type or '(no content type)'} {response}".rstrip()
        headers = [(k, v) for k, v in seen.headers if not self.redaction.applies(k)]
        body = request_body.encode() if seen.request_json() is not None else seen.body
        return Seen("service", f"{seen.method} {seen.url}", summary, request_body,
                    curl(seen.method, seen.url, headers, body, seen.credential, TOKEN_VARIABLE))  # fmt: skip

    def _text(self, value: Any, raw: bytes) -> str:
        text = (
            json.dumps(self.redaction.text(value), ensure_ascii=False)
            if value is not None
            else raw.decode("utf-8", "replace")
        )
        return text if len(text) <= TEXT_LIMIT else f"{text[:TEXT_LIMIT]}… ({len(text):,} characters in all)"
