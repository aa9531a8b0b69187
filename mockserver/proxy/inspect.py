"""Checking one forwarded exchange against the contract, with the mock's own validators.

    the request     its parameters (connexion's, as the mock extends them) and its body (the mock's strict
                    parser and its readOnly-aware schema validator); what breaks the contract matters only if
                    the deployment accepted it (2xx): then the contract is stricter than the service
    the status      documented for the operation?
    the answer      a documented media type, and a body valid against the contract's schema for it, a whole
                    record unless the request named fields (the mock's validators, on the contract's schema
                    with its `$ref`s inlined and its whole-or-projection `anyOf` resolved)

Findings are classified by `collect_drift.classify`; the state rules are `mockserver.proxy.observed`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from collect_contract import Contract, Operation
from collect_drift import DriftKind, Evidence, Finding, Location, findings, json_type
from collect_drift.classify import short
from collect_drift.contract import SpecMap
from mockserver.connexion_adapter import (
    ConnexionRequest,
    ProblemException,
    RepeatableArrayParser,
    Resolver,
    Specification,
    model_operation,
)
from mockserver.errors import BadRequestProblem
from mockserver.proxy.exchange import Observation
from mockserver.validation import ParamValidator, ReadValidator, WriteValidator, fast_validator, validator_for

JSON = "application/json"
UNKNOWN_PARAMETER = "is not a parameter of this operation"


@dataclass
class Endpoint:
    operation: Operation
    parser: RepeatableArrayParser
    params: ParamValidator


class Inspector:
    """The contract's checks, prepared once per operation."""

    def __init__(self, contract: Contract, specification: Specification):
        self.contract = contract
        self.spec = SpecMap(contract.spec)
        self.endpoints: dict[str, Endpoint] = {}  # by operation id
        resolver = Resolver(function_resolver=lambda _: _unused)
        for operation in contract.operations.values():
            modelled = model_operation(specification, operation.path, operation.method, resolver)
            parser = RepeatableArrayParser(modelled.parameters, modelled.body_definition())
            self.endpoints[operation.operation_id] = Endpoint(operation, parser, ParamValidator(modelled.parameters))
        self._schemas: dict[tuple[str, str, int, str, bool], Any] = {}

    def route(self, method: str, path: str) -> tuple[Endpoint | None, dict[str, str]]:
        """The operation a request names, routed as the mock routes (the contract's router; HEAD is a GET)."""
        found = self.contract.match("get" if method.lower() == "head" else method, path)
        if found is None:
            return None, {}
        operation, params = found
        return self.endpoints[operation.operation_id], params

    # -- the request ----------------------------------------------------------------------------------------

    def request(self, endpoint: Endpoint, params: dict[str, str], seen: Observation) -> list[Finding]:
        """What in the request breaks the contract (judged only when the deployment accepted it)."""
        found = self._parameters(endpoint, params, seen)
        schema = self._schema("request", endpoint.operation.operation_id, 0, JSON, False)
        body = seen.request_json()
        if schema is None or body is None:
            return found
        if fast_validator(schema, write=True).is_valid(body):
            return found
        for item in findings(validator_for(WriteValidator, schema).iter_errors(body)):
            evidence = Evidence(keyword=item.keyword, value=item.value, json_type=_type(item), status=seen.status)
            observed = "absent" if item.kind == DriftKind.MISSING else f"{short(item.value)} ({json_type(item.value)})"
            message = f"The service accepted ({seen.status}) a request the contract refuses: {item.message}."
            found.append(Finding(item.kind, Location.REQUEST_BODY, item.pointer, observed,
                                 f"{item.expected} (the contract)", message, evidence))  # fmt: skip
        return found

    def _parameters(self, endpoint: Endpoint, params: dict[str, str], seen: Observation) -> list[Finding]:
        scope = {
            "type": "http",
            "method": seen.method,
            "path": seen.path,
            "query_string": seen.query.encode("latin-1"),
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in seen.headers],
            "path_params": params,
        }
        try:
            endpoint.params.validate_request(ConnexionRequest(scope, uri_parser=endpoint.parser))
        except BadRequestProblem as problem:
            return [self._parameter(error.location, error.field, error.message, seen) for error in problem.errors]
        except ProblemException:
            return []
        return []

    def _parameter(self, location: str, name: str, message: str, seen: Observation) -> Finding:
        where = Location.QUERY if location == "query" else Location.PATH if location == "path" else Location.HEADER
        accepted = f"The service accepted ({seen.status}) a request the contract refuses: {location} {name} {message}."
        if message == UNKNOWN_PARAMETER:
            return Finding(DriftKind.UNDOCUMENTED, where, name, "accepted", "not a parameter (the contract)", accepted)
        return Finding(DriftKind.TYPE, where, name, "accepted", f"{message} (the contract)", accepted)

    # -- the answer -----------------------------------------------------------------------------------------

    def response(self, endpoint: Endpoint, seen: Observation) -> list[Finding]:
        operation_id = endpoint.operation.operation_id
        documented = self.spec.statuses(operation_id)
        body = seen.response_json()
        if str(seen.status) not in documented:
            match = self._documented_match(operation_id, seen, documented, body)
            evidence = Evidence(status=seen.status, media_type=seen.media_type, documented_match=match)
            message = f"The service answered {seen.status}, which the contract does not document for the operation."
            return [Finding(DriftKind.STATUS, Location.STATUS, "", str(seen.status),
                            f"one of {', '.join(documented)} (the contract)", message, evidence)]  # fmt: skip
        media_types = list(
            ((self.spec.operation(operation_id)["responses"][str(seen.status)]) or {}).get("content") or {}
        )
        if seen.response_body and media_types and seen.media_type not in media_types:
            message = f"The service answered {seen.media_type or 'no Content-Type'} for {seen.status}."
            return [Finding(DriftKind.TYPE, Location.HEADER, "Content-Type", seen.media_type or "none",
                            f"{', '.join(media_types)} (the contract)", message)]  # fmt: skip
        schema = self._schema("response", operation_id, seen.status, seen.media_type, seen.projected)
        if schema is None or body is None or fast_validator(schema, write=False).is_valid(body):
            return []
        found = []
        for item in findings(validator_for(ReadValidator, schema).iter_errors(body)):
            evidence = Evidence(seen.status, seen.media_type, None, item.keyword, item.value, _type(item),
                                seen.projected, seen.status)  # fmt: skip
            observed = "absent" if item.kind == DriftKind.MISSING else f"{short(item.value)} ({json_type(item.value)})"
            found.append(Finding(item.kind, Location.BODY, item.pointer, observed, f"{item.expected} (the contract)",
                                 f"{item.message}.", evidence))  # fmt: skip
        return found

    def _documented_match(self, operation_id: str, seen: Observation, documented: list[str], body: Any) -> str | None:
        for status in documented:
            if status.isdigit() and int(status) // 100 == seen.status // 100 and body is not None:
                schema = self._schema("response", operation_id, int(status), seen.media_type, seen.projected)
                if schema is not None and fast_validator(schema, write=False).is_valid(body):
                    return status
        return None

    def _schema(self, side: str, operation_id: str, status: int, media_type: str, projected: bool) -> Any:
        """The schema to validate against, strict and inlined, made once (the validators are cached by it)."""
        key = (side, operation_id, status, media_type, projected)
        if key not in self._schemas:
            root = (
                self.spec.request_schema(operation_id)
                if side == "request"
                else self.spec.response_schema(operation_id, status, media_type)
            )
            self._schemas[key] = self.spec.strict(root, projected)
        return self._schemas[key]


def _type(item: Any) -> str | None:
    """The JSON type of the offending value (null included); none for a missing field."""
    return None if item.kind == DriftKind.MISSING else json_type(item.value)


def _unused(*_: Any, **__: Any) -> None:
    """The recorder forwards; it never runs an operation itself."""
