"""Comparing the target's answer to a step with the model's, after normalizing what may legitimately differ.

    status          the two statuses                                     status-differs
    headers         the Content-Type; each header the contract names for the status (presence; X-Record-Id
                    by value, through the id pairing); X-Last-Evaluated-Key is judged with the walk
    body, contract  the target's body against the contract's schema for it (a whole record unless the
                    request named fields): field-undocumented, field-missing, type-differs
    body, model     the two normalized bodies, field by field: a field the model answers and the target does
                    not (field-missing), another JSON type (type-differs), another value (state-rule-differs:
                    versions, references, patch results, counts, outcomes)
    walks           every page of a paging walk, the run's own records only: each once, the same ones as the
                    model (state-rule-differs: paging), in the same order (order-differs), each record as above

Errors (4xx, 5xx) are compared by status, media type and their shape against the contract: their texts are for
people and differ legitimately.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

from collect_contract import Contract
from collect_drift import DriftKind, Evidence, Location, findings, json_type
from collect_drift import Finding as DriftFinding
from collect_drift.classify import short
from collect_drift.contract import SpecMap
from collect_drift.model import escape
from conformance.differential.normalize import Normalizer
from conformance.differential.sequence import Step
from conformance.http import Exchange

PAGING_HEADERS = frozenset({"x-last-evaluated-key", "retry-after"})
PROJECTING = ("fields", "fieldsToReturn")
RECORD = "id"


@dataclass
class Finding(DriftFinding):
    """A finding of the comparison, with the exchanges it was seen in."""

    target: Exchange | None = None  # the target's exchange it was seen in
    model: Exchange | None = None


@dataclass
class Answers:
    """One side's exchanges for a step, and its normal form."""

    exchanges: list[Exchange]
    normal: Normalizer
    complete: bool = True  # a walk that reached its last page (not stopped at the page limit)


class Comparer:
    def __init__(self, contract: Contract, spec: SpecMap):
        self.contract, self.spec = contract, spec
        self._validators: dict[tuple[str, int, str, bool], Any] = {}

    # -- one call -------------------------------------------------------------------------------------------

    def call(self, step: Step, target: Answers, model: Answers) -> list[Finding]:
        t, m = target.exchanges[-1], model.exchanges[-1]
        if t.status != m.status:
            return [self._status(step, t, m)]
        found = self._headers(t, m, target.normal, model.normal)
        projected = any(name in step.query for name in PROJECTING)
        reported = self._validate(step, t, projected, found)
        if t.status >= 400 or not step.compare_body:
            return self._paired(found, t, m)
        t_body, m_body = t.json_or_none(), m.json_or_none()
        if t_body is not None and m_body is not None:
            for finding in diff(target.normal(t_body), model.normal(m_body), ""):
                if not _under(finding.field, reported):
                    found.append(finding)
        return self._paired(found, t, m)

    def _paired(self, found: list[Finding], t: Exchange, m: Exchange) -> list[Finding]:
        for finding in found:
            finding.target = finding.target or t
            finding.model = finding.model or m
        return found

    def _status(self, step: Step, t: Exchange, m: Exchange) -> Finding:
        operation_id = step.operation_id
        match = None if str(t.status) in self.spec.statuses(operation_id) else self._documented_match(step, t)
        evidence = Evidence(status=t.status, media_type=t.media_type, documented_match=match)
        documented = (
            " (the contract does not document it)" if str(t.status) not in self.spec.statuses(operation_id) else ""
        )
        message = f"The target answered {t.status}{documented}; the model answers {m.status}."
        return Finding(DriftKind.STATUS, Location.STATUS, "", str(t.status), f"{m.status} (the model)", message,
                       evidence, target=t, model=m)  # fmt: skip

    def _documented_match(self, step: Step, t: Exchange) -> str | None:
        """A documented status whose schema the target's body satisfies (the evidence for copying it)."""
        body = t.json_or_none()
        if body is None:
            return None
        for status in self.spec.statuses(step.operation_id):
            if status.isdigit() and int(status) // 100 == t.status // 100:
                validator = self._validator(step.operation_id, int(status), t.media_type, False)
                if validator is not None and validator.is_valid(body):
                    return status
        return None

    def _headers(self, t: Exchange, m: Exchange, t_normal: Normalizer, m_normal: Normalizer) -> list[Finding]:
        found = []
        if t.media_type != m.media_type:
            found.append(Finding(DriftKind.TYPE, Location.HEADER, "Content-Type", t.media_type or "none",
                                 f"{m.media_type} (the model)", f"The target answers {t.media_type or 'no'} "
                                 f"Content-Type; the model answers {m.media_type}."))  # fmt: skip
        operation = t.operation
        response = (operation.raw["responses"].get(str(t.status)) or {}) if operation else {}
        for name in response.get("headers") or {}:
            key = name.lower()
            if key in PAGING_HEADERS or key not in m.headers:
                continue
            if key not in t.headers:
                message = f"The target's answer lacks the {name} header, which the contract names and the model sends."
                found.append(Finding(DriftKind.MISSING, Location.HEADER, name, "absent",
                                     f"{short(m.headers[key])} (the model)", message))  # fmt: skip
            elif key == "x-record-id" and t_normal(t.headers[key]) != m_normal(m.headers[key]):
                message = f"{name} names another record than the one the create made."
                found.append(Finding(DriftKind.STATE, Location.HEADER, name, t.headers[key], "the created record",
                                     message, rule="ids"))  # fmt: skip
        return found

    # -- the contract ---------------------------------------------------------------------------------------

    def _validator(self, operation_id: str, status: int, media_type: str, projected: bool) -> Any:
        key = (operation_id, status, media_type, projected)
        if key not in self._validators:
            schema = self.spec.strict(self.spec.response_schema(operation_id, status, media_type), projected)
            self._validators[key] = (
                None if schema is None else OAS30ReadValidator(schema, format_checker=oas30_format_checker)
            )
        return self._validators[key]

    def _validate(self, step: Step, t: Exchange, projected: bool, found: list[Finding]) -> set[str]:
        """The target's body against the contract; returns the fields reported."""
        validator = self._validator(step.operation_id, t.status, t.media_type, projected)
        body = t.json_or_none()
        if validator is None or body is None:
            return set()
        reported = set()
        for item in findings(validator.iter_errors(body)):
            evidence = Evidence(status=t.status, media_type=t.media_type, keyword=item.keyword, value=item.value,
                                json_type=json_type(item.value) if item.value is not None else None,
                                projected=projected, response_status=t.status)  # fmt: skip
            observed = "absent" if item.kind == DriftKind.MISSING else f"{short(item.value)} ({json_type(item.value)})"
            expected = f"{item.expected} (the contract)"
            found.append(Finding(item.kind, Location.BODY, item.pointer, observed, expected, f"{item.message}.",
                                 evidence, target=t))  # fmt: skip
            reported.add(item.pointer)
        return reported

    # -- walks ----------------------------------------------------------------------------------------------

    def walk(self, step: Step, target: Answers, model: Answers) -> list[Finding]:
        t_bad = next((e for e in target.exchanges if e.status != 200), None)
        m_bad = next((e for e in model.exchanges if e.status != 200), None)
        if t_bad is not None or m_bad is not None:
            t, m = t_bad or target.exchanges[-1], m_bad or model.exchanges[-1]
            return [self._status(step, t, m)] if t.status != m.status else []
        projected = any(name in step.query for name in PROJECTING)
        found: list[Finding] = []
        reported: dict[int, set[str]] = {}
        for page in target.exchanges:
            reported[id(page)] = self._validate(step, page, projected, found)
        if not step.compare_body:
            return found
        t_items, m_items = own_items(target), own_items(model)
        if target.complete and model.complete:  # a walk cut short cannot say which records it lacks
            found += paging(t_items, m_items, target.exchanges[0], model.exchanges[0])
        m_by_id = {record[RECORD]: record for record, _, _ in m_items}
        for record, page, at in t_items:
            other = m_by_id.get(record[RECORD])
            if other is None:
                continue
            for finding in diff(record, other, at):
                if not _under(finding.field, reported.get(id(page), set())):
                    finding.target, finding.model = page, model.exchanges[0]
                    found.append(finding)
        return self._paired(found, target.exchanges[0], model.exchanges[0])


def own_items(side: Answers) -> list[tuple[dict[str, Any], Exchange, str]]:
    """The records of the run in a walk's pages, normalized, with their page and place."""
    found = []
    for page in side.exchanges:
        body = page.json_or_none()
        items, prefix = (body, "") if isinstance(body, list) else ((body or {}).get("Items"), "/Items")
        for index, item in enumerate(items if isinstance(items, list) else []):
            record = side.normal(item)
            if isinstance(record, dict) and str(record.get(RECORD, "")).startswith("«"):
                found.append((record, page, f"{prefix}/{index}"))
    return found


def paging(t_items: list[Any], m_items: list[Any], t: Exchange, m: Exchange) -> list[Finding]:
    t_ids = [record[RECORD] for record, _, _ in t_items]
    m_ids = [record[RECORD] for record, _, _ in m_items]
    field = "/Items" if isinstance(t.json_or_none(), dict) else ""
    found = []
    twice = sorted(i for i, n in Counter(t_ids).items() if n > 1)
    if twice:
        found.append(_paging(field, f"{', '.join(twice)} returned more than once", "each record once",
                             "The target's walk returns a record of the run more than once.", t, m))  # fmt: skip
    lacking = [i for i in m_ids if i not in t_ids]
    extra = [i for i in dict.fromkeys(t_ids) if i not in m_ids]
    if lacking or extra:
        observed = "; ".join(p for p in (f"lacks {', '.join(lacking)}" if lacking else "",
                                         f"adds {', '.join(extra)}" if extra else "") if p)  # fmt: skip
        found.append(_paging(field, observed, f"{', '.join(m_ids) or 'none'} (the model)",
                             "The target's walk does not return the records the model returns.", t, m))  # fmt: skip
    common_t = [i for i in dict.fromkeys(t_ids) if i in m_ids]
    common_m = [i for i in m_ids if i in common_t]
    if common_t != common_m:
        message = "The target returns the run's records in another order than the model (creation order)."
        expected = f"{', '.join(common_m)} (the model)"
        found.append(Finding(DriftKind.ORDER, Location.BODY, field, ", ".join(common_t), expected, message,
                             rule="paging", target=t, model=m))  # fmt: skip
    return found


def _paging(field: str, observed: str, expected: str, message: str, t: Exchange, m: Exchange) -> Finding:
    return Finding(DriftKind.STATE, Location.BODY, field, observed, expected, message, rule="paging", target=t, model=m)


def diff(t: Any, m: Any, at: str) -> list[Finding]:
    """Field-by-field differences of two normalized bodies; `at` is the JSON Pointer of `t` in its body."""
    if isinstance(t, dict) and isinstance(m, dict):
        found = []
        for key in m.keys() - t.keys():
            found.append(_field(DriftKind.MISSING, f"{at}/{escape(key)}", "absent", f"{short(m[key])} (the model)",
                                f"The model answers `{key}`; the target does not."))  # fmt: skip
        for key in t.keys() - m.keys():
            found.append(_field(DriftKind.STATE, f"{at}/{escape(key)}", short(t[key]), "absent (the model)",
                                f"The target sets `{key}`; the model does not.", "values"))  # fmt: skip
        for key in sorted(t.keys() & m.keys()):
            found += diff(t[key], m[key], f"{at}/{escape(key)}")
        return found
    if isinstance(t, list) and isinstance(m, list):
        return _lists(t, m, at)
    t_type, m_type = json_type(t), json_type(m)
    numbers = {t_type, m_type} <= {"integer", "number"}
    if t_type != m_type and not numbers:
        return [_field(DriftKind.TYPE, at, f"{short(t)} ({t_type})", f"{short(m)} ({m_type}, the model)",
                       f"The target answers a {t_type} where the model answers a {m_type}.")]  # fmt: skip
    if t != m:
        name = at.rsplit("/", 1)[-1]
        rule = "versioning" if name == "sys_version" else "ids" if name == RECORD else "values"
        return [_field(DriftKind.STATE, at, short(t), f"{short(m)} (the model)",
                       f"`{name}` is {short(t)} on the target, {short(m)} in the model.", rule)]  # fmt: skip
    return []


def _lists(t: list[Any], m: list[Any], at: str) -> list[Finding]:
    t_ids = [str(x[RECORD]) for x in t if isinstance(x, dict) and isinstance(x.get(RECORD), str)]
    m_ids = [str(x[RECORD]) for x in m if isinstance(x, dict) and isinstance(x.get(RECORD), str)]
    if t_ids and m_ids and len(t_ids) == len(t) and len(m_ids) == len(m):
        found = []
        if sorted(t_ids) != sorted(m_ids):
            found.append(_field(DriftKind.STATE, at, ", ".join(t_ids), f"{', '.join(m_ids)} (the model)",
                                "The target answers other items than the model.", "values"))  # fmt: skip
        elif t_ids != m_ids:
            found.append(_field(DriftKind.ORDER, at, ", ".join(t_ids), f"{', '.join(m_ids)} (the model)",
                                "The target answers the items in another order than the model.", "values"))  # fmt: skip
        by_id = {x[RECORD]: x for x in m if isinstance(x, dict)}
        for index, item in enumerate(t):
            if item[RECORD] in by_id:
                found += diff(item, by_id[item[RECORD]], f"{at}/{index}")
        return found
    if len(t) != len(m):
        return [_field(DriftKind.STATE, at, f"{len(t)} items", f"{len(m)} items (the model)",
                       "The target answers another number of items than the model.", "values")]  # fmt: skip
    return [finding for index, (a, b) in enumerate(zip(t, m, strict=True)) for finding in diff(a, b, f"{at}/{index}")]


def _field(kind: DriftKind, at: str, observed: str, expected: str, message: str, rule: str = "") -> Finding:
    return Finding(kind, Location.BODY, at, observed, expected, message, rule=rule)


def _under(pointer_text: str, reported: set[str]) -> bool:
    """True when the field, or a field above it, was already reported against the contract."""
    return any(pointer_text == r or pointer_text.startswith(r + "/") for r in reported)
