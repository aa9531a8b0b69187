"""The state rules, checked on the traffic the recorder sees: what the mock (the contract's executable model)
would have answered, as far as what passed through tells.

    ids         a create answers an id no record seen alive has
    existence   a record seen alive (created or read, not deleted through the recorder) is not a 404; a record
                deleted through it is not served again
    versioning  `sys_version` never goes back; a replace raises it by one, and so does a patch that changes the
                record (one that changes nothing keeps it, as NOTES.md says)
    patch       a patch applied to the record as last seen gives the answer (RFC 6902, with `jsonpatch`); a
                patch whose `test` fails on it is not applied
    references  a record that live records seen still name (`x-references`) is not deleted: that is a 409
    paging      a walk (following the keys it was given) returns each record once, and the records created
                through the recorder in the order they were created (the model's order; the contract says only
                that the order is stable)

Only records seen through the recorder are known; what other clients do meanwhile can make a rule look broken,
so a finding names the requests it rests on. Memory is bounded: the oldest records seen are forgotten first.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jsonpatch

from collect_contract import Contract, Kind, Operation, Resource
from collect_drift import DriftKind, Finding, Location
from mockserver.proxy.exchange import Observation

Key = tuple[str, str, str]  # tenant, collection, id
MAX_RECORDS = 100_000
MAX_WALKS = 1_000
PAGES = frozenset({Kind.LIST, Kind.LOOKUP, Kind.SEARCH})
ITEM = frozenset({Kind.GET, Kind.REPLACE, Kind.PATCH})  # whose 200 answer is the record the path names


@dataclass
class Known:
    version: float | None = None
    alive: bool = True
    created: int | None = None  # the creation order of a record created through the recorder
    record: dict[str, Any] | None = None  # the last whole record seen
    seen_at: int = 0  # the request that last showed it
    gone_at: int = 0  # the request that deleted it
    targets: list[Key] = field(default_factory=list)  # the records it names


@dataclass
class Walk:
    seen: set[str] = field(default_factory=set)
    last: tuple[int, str] | None = None  # (creation order, id) of the latest created record returned
    out_of_order: bool = False


class ObservedState:
    def __init__(self, contract: Contract, limit: int = MAX_RECORDS):
        self.contract, self.limit = contract, limit
        self.records: OrderedDict[Key, Known] = OrderedDict()
        self.referrers: dict[Key, set[Key]] = {}
        self.walks: OrderedDict[str, Walk] = OrderedDict()
        self.created = 0

    def observe(self, operation: Operation, params: dict[str, str], seen: Observation) -> list[Finding]:
        resource, tenant = operation.resource, params.get("tenantId")
        if resource is None or tenant is None:
            return []
        key: Key = (tenant, resource.collection, params.get("id", ""))
        body, kind, status = seen.response_json(), operation.kind, seen.status
        if kind in ITEM and status == 200 and isinstance(body, dict) and "id" in body:
            if body["id"] != key[2]:  # the answer is another record: nothing about this one can be learned from it
                message = f"A {kind} of {key[2]!r} answered the record {body['id']!r}."
                return [_state(Location.BODY, "/id", repr(body["id"]), repr(key[2]), message, "ids")]
        if kind is Kind.CREATE and 200 <= status < 300:
            return self._created(resource, tenant, body, seen)
        if kind in ITEM | {Kind.DELETE} and status == 404:
            return self._gone(key, kind, seen)
        if kind is Kind.GET and status == 200 and isinstance(body, dict):
            return self._read(resource, key, body, seen)
        if kind in (Kind.REPLACE, Kind.PATCH) and status == 200 and isinstance(body, dict):
            return self._changed(resource, key, kind, body, seen)
        if kind is Kind.DELETE and 200 <= status < 300:
            return self._deleted(key, seen)
        if kind is Kind.BATCH and status == 200 and isinstance(body, dict):
            return self._batch(resource, tenant, body, seen)
        if kind in PAGES and status == 200:
            return self._page(resource, tenant, body, seen)
        return []

    # -- records --------------------------------------------------------------------------------------------

    def _known(self, key: Key) -> Known | None:
        known = self.records.get(key)
        if known is not None:
            self.records.move_to_end(key)
        return known

    def _remember(self, key: Key, known: Known) -> None:
        self.records[key] = known
        self.records.move_to_end(key)
        while len(self.records) > self.limit:
            self.records.popitem(last=False)

    def _refer(self, resource: Resource, key: Key, known: Known, record: dict[str, Any]) -> None:
        """Index the records `record` names, so that deleting one of them can be judged."""
        for target in known.targets:
            self.referrers.get(target, set()).discard(key)
        known.targets = []
        for reference in resource.references.values():
            values = record.get(reference.field)
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, str) and value:
                    target = (key[0], reference.target, value)
                    known.targets.append(target)
                    self.referrers.setdefault(target, set()).add(key)

    def _named_by(self, key: Key) -> list[Key]:
        return sorted(k for k in self.referrers.get(key, set()) if (r := self.records.get(k)) is not None and r.alive)

    def _created(self, resource: Resource, tenant: str, body: Any, seen: Observation) -> list[Finding]:
        record_id = _created_id(body, seen)
        if record_id is None:
            return []
        key = (tenant, resource.collection, record_id)
        found = []
        known = self._known(key)
        if known is not None and known.alive:
            message = f"A create answered {record_id!r}, the id of a record seen alive (request {known.seen_at})."
            found.append(_state(Location.BODY, "/id", record_id, "a new id", message, "ids"))
        self.created += 1
        record = body if isinstance(body, dict) and body.get("id") == record_id else None
        known = Known(_version(record), True, self.created, record, seen.number)
        self._remember(key, known)
        data = record if record is not None else seen.request_json()
        if isinstance(data, dict):
            self._refer(resource, key, known, data)
        return found

    def _read(self, resource: Resource, key: Key, record: dict[str, Any], seen: Observation) -> list[Finding]:
        found = self._served(key, record, seen)
        known = self._known(key) or Known()
        self._update(resource, key, known, record, seen)
        return found

    def _served(self, key: Key, record: dict[str, Any], seen: Observation) -> list[Finding]:
        known = self._known(key)
        found = []
        if known is not None and not known.alive:
            message = f"{key[2]!r} was deleted through the recorder (request {known.gone_at}) and is served again."
            found.append(_state(Location.STATUS, "", str(seen.status), "404 (deleted)", message, "existence"))
        version = _version(record)
        if known is not None and known.version is not None and version is not None and version < known.version:
            message = f"{key[2]!r} had sys_version {_n(known.version)} (request {known.seen_at}); now {_n(version)}."
            found.append(_state(Location.BODY, "/sys_version", _n(version), f">= {_n(known.version)}", message,
                                "versioning"))  # fmt: skip
        return found

    def _update(self, resource: Resource, key: Key, known: Known, record: dict[str, Any], seen: Observation) -> None:
        version = _version(record)
        if version is not None:
            known.version = version
        known.seen_at = seen.number
        if not seen.projected:
            known.record = record
            self._refer(resource, key, known, record)
        self._remember(key, known)

    def _changed(
        self, resource: Resource, key: Key, kind: Kind, record: dict[str, Any], seen: Observation
    ) -> list[Finding]:
        known = self._known(key)
        found: list[Finding] = []
        version = _version(record)
        if known is not None and known.version is not None and version is not None:
            expected: float | None = known.version + 1
            if kind is Kind.PATCH:
                expected, found = self._patched(known, record, seen)
            if expected is None and version < known.version:
                expected = known.version  # a patch that could not be judged may keep the version, never lower it
            if expected is not None and version != expected:
                message = (
                    f"A {kind} of {key[2]!r}, last seen at sys_version {_n(known.version)} (request "
                    f"{known.seen_at}), answered sys_version {_n(version)}."
                )
                found.append(_state(Location.BODY, "/sys_version", _n(version), _n(expected), message, "versioning"))
        self._update(resource, key, known or Known(), record, seen)
        return found

    def _patched(self, known: Known, answer: dict[str, Any], seen: Observation) -> tuple[float | None, list[Finding]]:
        """The version a patch should answer, and where its answer departs from RFC 6902 on the record as last
        seen (judged only when that record is current: the answer's version is at most one more)."""
        assert known.version is not None
        before, document = known.record, seen.request_json()
        current = before is not None and _version(before) == known.version and _version(answer) in (
            known.version, known.version + 1)  # fmt: skip
        if before is None or not current or not isinstance(document, list):
            return None, []  # the record as it was is not known: only "never lower" can be judged
        try:
            after = jsonpatch.apply_patch(copy.deepcopy(before), document)
        except jsonpatch.JsonPatchTestFailed as exc:
            message = (
                f"The patch's test fails on the record as last seen (request {known.seen_at}): {exc}; it was applied."
            )
            return None, [_state(Location.STATUS, "", "200", "400 or 409 (nothing applied)", message, "patch")]
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
            return None, []
        if _content(after) == _content(before):
            return known.version, []
        found = []
        for name in sorted(set(_content(after)) | set(_content(answer))):
            if _content(after).get(name) != _content(answer).get(name):
                message = f"The patch applied to the record as last seen gives {name}={after.get(name)!r}."
                found.append(_state(Location.BODY, f"/{name}", repr(answer.get(name)), repr(after.get(name)),
                                    message, "patch"))  # fmt: skip
        return known.version + 1, found

    def _deleted(self, key: Key, seen: Observation) -> list[Finding]:
        found = self._referenced(key, str(seen.status))
        known = self._known(key) or Known()
        known.alive, known.gone_at = False, seen.number
        self._remember(key, known)
        for target in known.targets:
            self.referrers.get(target, set()).discard(key)
        return found

    def _referenced(self, key: Key, answered: str) -> list[Finding]:
        names = self._named_by(key)
        if not names:
            return []
        shown = ", ".join(f"{c}/{i}" for _, c, i in names[:3]) + (" …" if len(names) > 3 else "")
        message = f"Deleting {key[2]!r}, which live records seen still name ({shown}), answered {answered}."
        return [_state(Location.STATUS, "", answered, "409 (still referenced)", message, "references")]

    def _gone(self, key: Key, kind: Kind, seen: Observation) -> list[Finding]:
        known = self._known(key)
        if known is None or not known.alive:
            return []
        if kind is Kind.DELETE:
            referenced = self._referenced(key, "404")
            if referenced:
                return referenced
        message = f"{key[2]!r} was seen alive (request {known.seen_at}) and not deleted through the recorder."
        return [_state(Location.STATUS, "", "404", "200 (the record exists)", message, "existence")]

    # -- batches and pages ----------------------------------------------------------------------------------

    def _batch(self, resource: Resource, tenant: str, body: dict[str, Any], seen: Observation) -> list[Finding]:
        found: list[Finding] = []
        for result in body.get("results") or []:
            if not isinstance(result, dict) or result.get("outcome") != "success" or not result.get("id"):
                continue
            key = (tenant, resource.collection, str(result["id"]))
            record = result.get("object")
            if result.get("operation") == "create":
                self.created += 1
                known = Known(None, True, self.created, None, seen.number)
                self._remember(key, known)
                if isinstance(record, dict):
                    self._update(resource, key, known, record, seen)
            elif result.get("operation") == "delete":
                found += self._deleted(key, seen)
            elif isinstance(record, dict):
                found += self._served(key, record, seen)
                self._update(resource, key, self._known(key) or Known(), record, seen)
        return found

    def _page(self, resource: Resource, tenant: str, body: Any, seen: Observation) -> list[Finding]:
        items = body if isinstance(body, list) else body.get("Items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            return []
        start = next(iter(parse_qs(seen.query).get("exclusiveStartKey", [])), None)
        walk = (self.walks.pop(start, None) if start else None) or Walk()
        field_at = "" if isinstance(body, list) else "/Items"
        found: list[Finding] = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            key = (tenant, resource.collection, item["id"])
            if item["id"] in walk.seen:
                message = f"{item['id']!r} was returned twice in one walk."
                found.append(_state(Location.BODY, field_at, item["id"], "each record once", message, "paging"))
            walk.seen.add(item["id"])
            found += self._served(key, item, seen)
            known = self._known(key) or Known()
            if known.created is not None:
                if walk.last and known.created < walk.last[0] and not walk.out_of_order:
                    walk.out_of_order = True
                    message = (
                        f"{item['id']!r} (created as number {known.created}) came after {walk.last[1]!r} (number "
                        f"{walk.last[0]}): the model pages in creation order."
                    )
                    found.append(Finding(DriftKind.ORDER, Location.BODY, field_at, item["id"],
                                         f"after {walk.last[1]}", message, rule="paging"))  # fmt: skip
                walk.last = max(walk.last or (0, ""), (known.created, item["id"]))
            self._update(resource, key, known, item, seen)
        following = seen.header("x-last-evaluated-key") or (
            body.get("LastEvaluatedKey") if isinstance(body, dict) else None
        )
        if isinstance(following, str) and following:
            self.walks[following] = walk
            while len(self.walks) > MAX_WALKS:
                self.walks.popitem(last=False)
        return found


def _created_id(body: Any, seen: Observation) -> str | None:
    if seen.header("x-record-id"):
        return seen.header("x-record-id")
    if isinstance(body, dict):
        if isinstance(body.get("id"), str):
            return str(body["id"])
        if isinstance(body.get("executionArn"), str):
            return str(body["executionArn"]).rsplit(":", 1)[-1] or None
    return None


def _version(record: dict[str, Any] | None) -> float | None:
    value = record.get("sys_version") if isinstance(record, dict) else None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _content(record: dict[str, Any]) -> dict[str, Any]:
    """The record without the fields the server manages."""
    return {k: v for k, v in record.items() if k != "id" and not k.startswith("sys_")}


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _state(location: Location, field_at: str, observed: str, expected: str, message: str, rule: str) -> Finding:
    return Finding(DriftKind.STATE, location, field_at, observed, expected, message, rule=rule)
