"""What the recorder does with each exchange, in its checker process (`mockserver.proxy.worker`): journal it,
check it against the contract (`inspect`) and the state rules (`observed`), add what it finds to the drift log,
and keep its records for the recording (`recorder`). Nothing here runs on the request's path.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any

from collect_contract import SPEC_PATH, Contract, Kind
from collect_drift import Drift, DriftKind, DriftLog, DriftReport, Evidence, Finding, Location, Seen, build, kinds_line
from collect_drift.shell import curl
from collect_drift.text import cut
from mockserver.connexion_adapter import load_specification
from mockserver.journal import MAX_BODY, Journal
from mockserver.proxy.exchange import Observation
from mockserver.proxy.inspect import Endpoint, Inspector
from mockserver.proxy.observed import ObservedState
from mockserver.proxy.recorder import Recorder
from mockserver.proxy.redact import Redaction
from mockserver.proxy.settings import ProxySettings

logger = logging.getLogger(__name__)
TEXT_LIMIT = 600
TITLE = "Validating recorder: the service against its contract"
TOKEN_VARIABLE = "COLLECT_TOKEN"
RECORD_ANSWERS = frozenset({Kind.GET, Kind.REPLACE, Kind.PATCH, Kind.CREATE})  # whose 200 answer is the record
HTTP_LEVEL = frozenset({"OPTIONS"})  # CORS preflights: HTTP's, not an operation the contract could document


def _shape(path: str) -> str:
    """A path with its values generalised, so that one undocumented operation is one group: `/invoices/*/*`."""
    segments = path.split("/")
    return "/".join(s if i < 2 or (i > 2 and s.isalpha() and s.islower()) else "*" for i, s in enumerate(segments))


@dataclass
class Counts:
    forwarded: int = 0  # counted by the forwarding process
    checked: int = 0
    unchecked: int = 0  # the backlog was full (forwarding process), or the answer too large to check
    outside: int = 0  # requests to paths the contract does not have
    failures: int = 0  # the checker's own errors (logged)


class Checks:
    def __init__(self, settings: ProxySettings):
        self.settings = settings
        self.contract = Contract.from_path(settings.spec_path)
        specification = load_specification(self.contract.spec, proven=settings.spec_path == SPEC_PATH)
        self.inspector = Inspector(self.contract, specification)
        self.journal = Journal(settings.journal_size, settings.journal_bytes)
        self.drift = DriftLog()
        self.redaction = Redaction(settings.redact)
        self.recorder = (
            Recorder(self.contract, settings.record, self.redaction, settings.base) if settings.record else None
        )
        self.state = ObservedState(self.contract)
        self.counts = Counts()

    # -- one exchange ---------------------------------------------------------------------------------------

    def check(self, seen: Observation) -> None:
        endpoint, params = self.inspector.route(seen.method, seen.path)
        self.journal.record(
            at=seen.at, method=seen.method, path=seen.path, query=seen.query, tenant=params.get("tenantId"),
            operation_id=endpoint.operation.operation_id if endpoint else None, status=seen.status,
            duration_ms=seen.duration_ms, body=seen.body[: MAX_BODY + 1],
        )  # fmt: skip
        if endpoint is None:
            self.counts.outside += 1
            if 200 <= seen.status < 300 and seen.method not in HTTP_LEVEL:
                self.drift.add(self._outside(seen))
            return
        if seen.truncated:
            self.counts.unchecked += 1
            return
        found = self.inspector.request(endpoint, params, seen) if 200 <= seen.status < 300 else []
        found += self.inspector.response(endpoint, seen)
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
        if kind in RECORD_ANSWERS and isinstance(body, dict) and "sys_version" in body:
            self.recorder.keep(tenant, collection, body)
        elif kind is Kind.DELETE:
            self.recorder.forget(tenant, collection, params.get("id", ""))
        elif kind in (Kind.LIST, Kind.LOOKUP):  # pages of records (a search answers summaries)
            items = body if isinstance(body, list) else body.get("Items") if isinstance(body, dict) else []
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict):
                    self.recorder.keep(tenant, collection, item)
        elif kind is Kind.BATCH and isinstance(body, dict):
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
        where = f"{seen.method} {_shape(seen.path)}"
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
        return cut(text, TEXT_LIMIT)

    # -- what was seen --------------------------------------------------------------------------------------

    def report(self, forwarded: int, unchecked: int, since: str) -> DriftReport:
        counts = self.counts
        facts = [
            ("Upstream", self.settings.base),
            ("Requests", f"{forwarded} forwarded, {counts.checked} checked, {unchecked + counts.unchecked} not "
                         f"checked (backlog or size), {counts.outside} outside the contract"),
            ("Since", since),
            ("Reproductions", "read the credential from COLLECT_TOKEN"),
        ]  # fmt: skip
        drift = build(self.drift, self.contract.spec, title=TITLE, headline="", facts=facts)
        drift.headline = f"{'DRIFT' if drift.groups else 'NO DRIFT'}: {kinds_line(drift)}"
        return drift
