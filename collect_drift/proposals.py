"""Proposed contract changes: where the evidence supports one, a JSON Patch (RFC 6902) against collect.yaml.

    status-differs       the status is not documented: add it to the operation's responses (a copy of the
                         documented response whose schema the bodies satisfy, or a Problem for errors)
    field-undocumented   add the field as a property (typed from the values seen) to the schema that lists
                         the record's fields, and to its projection; an undocumented query parameter is added
                         to the operation's parameters
    field-missing        a field the contract requires was absent: drop it from that schema's `required`
    type-differs         relax the constraint the values broke: a value added to an enum, `nullable`,
                         integer widened to number, another type allowed (`anyOf`), a format, pattern or bound
                         removed or widened
    order-differs,       no change: the contract's schemas allow what was seen; the service departs from the
    state-rule-differs   rule the contract states (or the model's reading of it), and someone has to decide

A status the contract already documents (a 404 where the model gives 409) gets no proposal either. Every
proposal is applied to the contract here, in order, with `jsonpatch`; one that does not apply is reported as
such and left out of the combined patch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonpatch

from collect_drift.contract import Located, SpecMap
from collect_drift.log import Group
from collect_drift.model import DriftKind, Location, escape

PROBLEM_MEDIA = "application/problem+json"
NOTE = "Observed on the service (drift report); not on the reference pages."
Patch = list[dict[str, Any]]


@dataclass
class Proposal:
    reason: str
    operations: Patch
    groups: list[str] = field(default_factory=list)  # the groups (as "operation · kind · field") it answers
    applies: bool = True
    problem: str = ""  # why it does not apply, when it does not


def label(group: Group) -> str:
    where = f" {group.pattern}" if group.pattern else ""
    return f"{group.operation_id or group.operation} · {group.kind.value} · {group.location.value}{where}"


def propose(groups: Iterable[Group], spec: dict[str, Any]) -> list[Proposal]:
    """The proposals the groups support, each checked by applying it (after the ones before it)."""
    contract = SpecMap(spec)
    proposals: list[Proposal] = []
    required: dict[str, tuple[Located, list[str], list[Group]]] = {}
    for group in groups:
        if group.kind == DriftKind.STATUS and group.location == Location.STATUS:
            proposals += _status(contract, group)
        elif group.kind == DriftKind.UNDOCUMENTED:
            proposals += _undocumented(contract, group)
        elif group.kind == DriftKind.MISSING and group.first.evidence.keyword == "required":
            located = _locate(contract, group)
            if located is not None and located.name in (located.container.get("required") or []):
                entry = required.setdefault(located.container_pointer, (located, [], []))
                if located.name not in entry[1]:
                    entry[1].append(located.name)
                entry[2].append(group)
        elif group.kind == DriftKind.TYPE and group.first.evidence.keyword:
            proposals += _type(contract, group)
    for located, names, found in required.values():
        proposals.append(_not_required(located, names, found))
    return check(proposals, spec)


def check(proposals: list[Proposal], spec: dict[str, Any]) -> list[Proposal]:
    """Apply each proposal in turn to a copy of the contract; mark the ones that do not apply."""
    working = copy.deepcopy(spec)
    for proposal in proposals:
        try:
            working = jsonpatch.apply_patch(working, proposal.operations)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            proposal.applies, proposal.problem = False, f"{type(exc).__name__}: {exc}"
    return proposals


def combined(proposals: Iterable[Proposal]) -> Patch:
    """One JSON Patch of every proposal that applies, in order."""
    return [op for proposal in proposals if proposal.applies for op in proposal.operations]


def apply(spec: dict[str, Any], proposals: Iterable[Proposal]) -> dict[str, Any]:
    """The contract with the proposals that apply applied (a copy)."""
    return dict(jsonpatch.apply_patch(copy.deepcopy(spec), combined(proposals)))


# -- per kind ---------------------------------------------------------------------------------------------------


def _status(contract: SpecMap, group: Group) -> list[Proposal]:
    if not contract.has(group.operation_id):
        return []
    documented = contract.statuses(group.operation_id)
    evidence = group.first.evidence
    found = []
    for status, count in sorted(group.statuses.items()):
        if str(status) in documented:
            continue
        target = contract.response_pointer(group.operation_id, status)
        media = evidence.media_type if evidence.status == status else ""
        match = evidence.documented_match if evidence.status == status else None
        if match and match in documented:
            operation: dict[str, Any] = {
                "op": "copy",
                "from": contract.response_pointer(group.operation_id, match),
                "path": target,
            }
            why = f"with the {match} answer's description and content (the bodies seen match its schema)"
        elif media == PROBLEM_MEDIA or status >= 400:
            problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
            value = {"description": NOTE, "content": {PROBLEM_MEDIA: problem}}
            operation, why = {"op": "add", "path": target, "value": value}, "as a Problem answer"
        else:
            value = {"description": f"{NOTE} The shape of its body is still to be written."}
            if media:
                value["content"] = {media: {"schema": {}}}
            operation, why = {"op": "add", "path": target, "value": value}, "(its body's shape is still to be written)"
        reason = f"`{group.operation_id}` answered {status} ({count}×), which it does not document: add {status} {why}."
        found.append(Proposal(reason, [operation], [label(group)]))
    return found


def _locate(contract: SpecMap, group: Group) -> Located | None:
    evidence = group.first.evidence
    if group.location == Location.REQUEST_BODY:
        root = contract.request_schema(group.operation_id)
    elif group.location == Location.BODY:
        status = evidence.response_status or evidence.status or 200
        media = evidence.media_type or "application/json"
        root = contract.response_schema(group.operation_id, status, media)
    else:
        return None
    if root is None:
        return None
    return contract.locate(root, group.pattern, projected=group.projected)


def inferred_schema(types: Iterable[str]) -> dict[str, Any]:
    """A schema for the JSON types seen: one type, `nullable` when null was seen, `anyOf` for several."""
    seen = set(types)
    nullable = "null" in seen
    seen.discard("null")
    if seen == {"integer", "number"}:
        seen = {"number"}
    schema: dict[str, Any]
    if not seen:
        schema = {"nullable": True}
    elif len(seen) == 1:
        schema = {"type": seen.pop()}
    else:
        schema = {"anyOf": [{"type": t} for t in sorted(seen)]}
    if nullable and seen:
        schema["nullable"] = True
    return schema


def _undocumented(contract: SpecMap, group: Group) -> list[Proposal]:
    if group.location == Location.QUERY and contract.has(group.operation_id):
        parameter = {
            "name": group.pattern,
            "in": "query",
            "required": False,
            "description": NOTE,
            "schema": {"type": "string"},
        }
        path = f"{contract.operation_pointer(group.operation_id)}/parameters/-"
        reason = f"`{group.operation_id}` accepts the query parameter `{group.pattern}`: document it."
        return [Proposal(reason, [{"op": "add", "path": path, "value": parameter}], [label(group)])]
    located = _locate(contract, group)
    if located is None or located.name == "*" or located.schema is not None:
        return []
    if located.container.get("additionalProperties") not in (False, None):
        return []
    schema = {**inferred_schema(group.types), "description": NOTE}
    operations: Patch = [{"op": "add", "path": located.slot_pointer, "value": schema}]
    also = _projection_of(contract, located)
    if also:
        operations.append({"op": "add", "path": also, "value": copy.deepcopy(schema)})
    where = located.container_pointer.rsplit("/", 1)[-1]
    typed = ", ".join(sorted(group.types)) or "no value"
    reason = (
        f"`{group.operation_id}` {'accepts' if group.location == Location.REQUEST_BODY else 'answers'} "
        f"`{located.name}` ({group.count}×, {typed}), which `{where}` does not list: add it as a property"
        + (" (and to its projection)." if also else ".")
    )
    return [Proposal(reason, operations, [label(group)])]


def _projection_of(contract: SpecMap, located: Located) -> str | None:
    """The slot of the field in the record's projection schema (`{Name}Projection`), where the contract has one."""
    if not located.container_pointer.startswith("/components/schemas/"):
        return None
    projection = f"{located.container_pointer}Projection"
    slot = f"{projection}/properties/{escape(located.name)}"
    if contract.exists(f"{projection}/properties") and not contract.exists(slot):
        return slot
    return None


def _not_required(located: Located, names: list[str], groups: list[Group]) -> Proposal:
    required = list(located.container.get("required") or [])
    at = f"{located.container_pointer}/required"
    operations: Patch = []
    # Last position first, so that each removal leaves the positions before it as they were; each is guarded by a
    # `test` of the name at that position, so the patch refuses to apply to a contract changed since.
    for index in sorted((required.index(name) for name in names), reverse=True):
        operations += [
            {"op": "test", "path": f"{at}/{index}", "value": required[index]},
            {"op": "remove", "path": f"{at}/{index}"},
        ]
    where = located.container_pointer.rsplit("/", 1)[-1]
    shown = ", ".join(f"`{n}`" for n in names)
    counts = ", ".join(f"{g.operation_id} {g.count}×" for g in groups)
    reason = f"{shown} {'was' if len(names) == 1 else 'were'} absent ({counts}) though `{where}` requires it: "
    reason += "no longer require it."
    return Proposal(reason, operations, [label(g) for g in groups])


def _type(contract: SpecMap, group: Group) -> list[Proposal]:
    located = _locate(contract, group)
    if located is None or located.schema is None:
        return []
    keyword = str(group.first.evidence.keyword)
    schema, at = located.schema, located.schema_pointer
    values = group.values
    operations: Patch = []
    if keyword == "enum":
        known = list(schema.get("enum") or [])
        operations = [{"op": "add", "path": f"{at}/enum/-", "value": v} for v in values if v not in known]
        change = "add the values seen to its enum"
    elif keyword == "type":
        types = set(group.types)
        documented = schema.get("type")
        if types == {"null"}:
            operations, change = [{"op": "add", "path": f"{at}/nullable", "value": True}], "make it nullable"
        elif documented == "integer" and types <= {"integer", "number"}:
            operations, change = [{"op": "replace", "path": f"{at}/type", "value": "number"}], "widen it to number"
        else:
            original = contract.get(located.slot_pointer)
            other = inferred_schema(types)
            value: dict[str, Any] = {"anyOf": [original, *other.get("anyOf", [other] if "type" in other else [])]}
            if "null" in types:
                value["nullable"] = True
            operations = [{"op": "replace", "path": located.slot_pointer, "value": value}]
            change = f"also allow {', '.join(sorted(types))}"
    elif keyword in ("format", "pattern"):
        operations, change = [{"op": "remove", "path": f"{at}/{keyword}"}], f"drop its {keyword}"
    elif keyword in _BOUNDS:
        bound = _observed_bound(keyword, values)
        if bound is None:
            return []
        operations, change = [{"op": "replace", "path": f"{at}/{keyword}", "value": bound}], f"set {keyword} to {bound}"
    if not operations:
        return []
    seen = ", ".join(_shown(v) for v in values[:3])
    reason = f"`{group.operation_id}`: `{group.pattern}` held {seen} ({group.count}×), outside its {keyword}: {change}."
    return [Proposal(reason, operations, [label(group)])]


_BOUNDS: dict[str, tuple[Callable[[Any], float], Callable[..., Any]]] = {
    "maxLength": (len, max),
    "minLength": (len, min),
    "maxItems": (len, max),
    "minItems": (len, min),
    "maximum": (float, max),
    "minimum": (float, min),
}


def _observed_bound(keyword: str, values: list[Any]) -> int | float | None:
    measure, pick = _BOUNDS[keyword]
    measured = []
    for value in values:
        try:
            measured.append(measure(value))
        except (TypeError, ValueError):
            continue
    if not measured:
        return None
    found = pick(measured)
    return int(found) if float(found).is_integer() else found


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
