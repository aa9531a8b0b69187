"""The Schemathesis drivers: property-based tests of every operation, and stateful sequences through links.

Both use Schemathesis' Python API: `schemathesis.openapi.from_dict` loads the contract (with the run's tenant
written into its paths), each operation's `as_strategy(generation_mode=...)` feeds a Hypothesis test (`@given`,
`@seed`, `max_examples`), and the contract's links drive `schema.as_state_machine()`. Requests go through the
run's guarded `requests.Session`.

Before a generated case is sent, `CaseMapper` pins it to this run: `tenantId` is the run's tenant, an item
write names one of the records created for fuzzing (or an id that names nothing), reference fields name the
run's records. The gate still checks every request; a case it refuses is dropped, not sent.
"""

from __future__ import annotations

import copy
import itertools
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis.errors import HypothesisException
from schemathesis.errors import FailureGroup

from collect_contract import METHODS, Kind, Operation, Resource
from conformance.context import Context
from conformance.errors import BudgetExhausted, SafetyError, SetupError, Skipped
from conformance.failures import Failure, InvalidDataAccepted
from conformance.rules.fuzz import REJECTION_STATUSES, follow_create_links, linked_create, links_reach_created_records
from conformance.safety import harmless_id
from conformance.schemathesis_bridge import register_contract
from conformance.tolerance import date_fields, tolerated

CheckFunction = Callable[[Any, Any, Any], Any]
OnFailure = Callable[[Failure], None]
TENANT_PARAM = "tenantId"
POOL_SIZE = 2
# Hypothesis runs one test at a time per process: two generating in parallel threads trip its consistency
# checks. The drivers therefore take turns; the probes still run in parallel with them.
HYPOTHESIS_LOCK = threading.Lock()
STEPS = 5


def load_schema(ctx: Context) -> Any:
    """The contract as a Schemathesis schema aimed at the target, with the run's tenant written into its paths.

    Pinning the tenant in the paths (rather than replacing a generated `tenantId` afterwards) means Schemathesis
    never generates, negates or reports another tenant, and its judgement of a case's validity stays its own.
    """
    # The suite sends its own Authorization header; generated credentials would make every case "invalid".
    config = schemathesis.Config.from_dict(
        {
            "cache": {"enabled": False},  # nothing written to the working directory
            "generation": {"with-security-parameters": False},
            # Stateful sequences follow the contract's own links only, not links Schemathesis would infer.
            "phases": {"stateful": {"inference": {"algorithms": []}}},
            "checks": {"negative_data_rejection": {"expected-statuses": REJECTION_STATUSES}},
        }
    )
    schema = schemathesis.openapi.from_dict(pin_tenant(ctx.contract.spec, ctx.config.tenant), config=config)
    schema.config.update(base_url=ctx.config.base_url, request_timeout=ctx.config.timeout)
    register_contract(schema, ctx.contract)
    return schema


def pin_tenant(spec: dict[str, Any], tenant: str) -> dict[str, Any]:
    """A copy of the contract whose paths hold `tenant` instead of the `{tenantId}` parameter."""
    pinned = copy.deepcopy(spec)
    paths = {}
    for path, item in pinned["paths"].items():
        for node in [item, *(item[m] for m in METHODS if m in item)]:
            node["parameters"] = [p for p in node.get("parameters", []) if not _is_tenant(spec, p)]
            for response in node.get("responses", {}).values():
                for link in (response.get("links") or {}).values():
                    link.get("parameters", {}).pop(TENANT_PARAM, None)
        paths[path.replace("{" + TENANT_PARAM + "}", tenant)] = item
    pinned["paths"] = paths
    return pinned


def _is_tenant(spec: dict[str, Any], parameter: dict[str, Any]) -> bool:
    target = parameter
    if "$ref" in parameter:
        target = spec
        for part in parameter["$ref"].removeprefix("#/").split("/"):
            target = target[part]
    return bool(target.get("in") == "path" and target.get("name") == TENANT_PARAM)


def settings(max_examples: int, **extra: Any) -> hypothesis.settings:
    # No shrinking and no example database: every failure is reported as found, and a seed replays the run.
    return hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        **extra,
    )


class CaseMapper:
    """Pins a generated case to the run: its tenant, records of its own, references to the run's records."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        tenant = "{" + TENANT_PARAM + "}"
        self.by_label = {op.label.replace(tenant, ctx.config.tenant): op for op in ctx.contract.operations.values()}
        self._pools: dict[str, Any] = {}
        self._lock = threading.Lock()

    def operation(self, case: Any) -> Operation:
        return self.by_label[case.operation.label]

    def prepare(self, case: Any) -> None:
        operation = self.operation(case)
        params = dict(case.path_parameters or {})
        if not operation.is_safe and "id" in params and not harmless_id(params["id"]):
            params["id"] = self.pick(operation.collection or "")
        if params != (case.path_parameters or {}):
            case.path_parameters = params  # an assignment, not an in-place edit: Schemathesis re-judges the mode
        if isinstance(case.body, (dict, list)) and operation.resource:
            body = self.map_body(operation, copy.deepcopy(case.body))
            if body != case.body:
                case.body = body

    def pick(self, collection: str) -> str:
        """The next of a few records created for fuzzing (writes to them harm nobody); an id that names nothing
        when the target did not let the run make records of its own."""
        with self._lock:
            if collection not in self._pools:
                try:
                    ids = [str(self.ctx.create(collection)["id"]) for _ in range(POOL_SIZE)]
                except (Skipped, SetupError):
                    ids = [self.ctx.missing_id()]
                self._pools[collection] = itertools.cycle(ids)
            return str(next(self._pools[collection]))

    def map_body(self, operation: Operation, body: Any) -> Any:
        resource = self.ctx.resource(operation.collection or "")
        if operation.kind in (Kind.CREATE, Kind.REPLACE) or operation.kind is Kind.CUSTOM and operation.method == "put":
            return self.map_record(resource, body)
        if operation.kind is Kind.BATCH and isinstance(body, dict) and isinstance(body.get("operations"), list):
            for item in body["operations"]:
                if not isinstance(item, dict):
                    continue
                if isinstance(item.get("object"), dict):
                    item["object"] = self.map_record(resource, item["object"])
                if item.get("operation") != "create" and not harmless_id(item.get("id")):
                    item["id"] = self.pick(resource.collection)
        return body

    def map_record(self, resource: Resource, record: Any) -> Any:
        """Reference fields that hold text name the run's records instead (so that creates can succeed)."""
        if not isinstance(record, dict):
            return record
        for name, reference in resource.references.items():
            value = record.get(name)
            if reference.many and isinstance(value, list) and all(isinstance(v, str) for v in value):
                record[name] = []
            elif not reference.many and isinstance(value, str):
                try:
                    target = self.ctx.world(reference.target)
                except (Skipped, SetupError):
                    continue  # no record of the run to name: the generated value stays
                record[name] = str(target["id"])
        return record


class Fuzzer:
    """Runs the two drivers and hands every failure they find to `on_failure`."""

    def __init__(self, ctx: Context, checks: list[CheckFunction], on_failure: OnFailure):
        self.ctx, self.checks, self.on_failure = ctx, checks, on_failure
        self.schema = load_schema(ctx)
        self.session = ctx.session.requests_session()
        self.headers = {"Authorization": ctx.session.auth_header}
        self.mapper = CaseMapper(ctx)
        self.tolerated: dict[str, int] = {}
        # Per resource: stateful steps that followed a link to a record a create had just reported.
        self.links_followed: Counter[str] = Counter()
        self.links_ran = False
        # The first request the target did not answer: it ends the driver as such, whatever Hypothesis makes of a
        # test that raised (a replay that draws differently is its FlakyStrategyDefinition, not the suite's error).
        self.unanswered: requests.RequestException | None = None
        self._tolerate = frozenset(ctx.config.tolerate)
        self._dates = date_fields(ctx.contract)

    def seed(self, *parts: str) -> int:
        return zlib.crc32(":".join([str(self.ctx.config.seed), *parts]).encode())

    # -- property-based tests of each operation ---------------------------------------------------------------

    def operations(self, resource: Resource) -> None:
        """Valid (positive) and invalid (negative) cases for each operation of the resource."""
        with HYPOTHESIS_LOCK:
            self.unanswered = None
            self._operations(resource)

    def _operations(self, resource: Resource) -> None:
        for operation in resource.all_operations:
            if self.ctx.config.read_only and not operation.is_safe:
                continue
            st_operation = self.schema[operation.path.replace("{" + TENANT_PARAM + "}", self.ctx.config.tenant)][
                operation.method
            ]
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                self._run(st_operation, mode)

    def _run(self, st_operation: Any, mode: Any) -> None:
        @settings(self.ctx.config.max_examples)
        @hypothesis.seed(self.seed(st_operation.label, mode.value))
        @hypothesis.given(case=st_operation.as_strategy(generation_mode=mode))
        def test(case: Any) -> None:
            self.exercise(case)

        try:
            test()
        except HypothesisException:
            if self.unanswered is not None:
                raise self.unanswered from None
            # e.g. nothing to negate in an operation without inputs: no case to send

    def exercise(self, case: Any) -> None:
        self.mapper.prepare(case)
        try:
            response = case.call(session=self.session, headers=self.headers)
        except BudgetExhausted:
            raise
        except SafetyError:
            return  # refused by the gate: dropped, not sent
        except (requests.ConnectionError, requests.Timeout) as exc:
            self.unanswered = self.unanswered or exc
            raise
        self.validate(case, response)

    def validate(self, case: Any, response: Any, **kwargs: Any) -> None:
        try:
            case.validate_response(response, checks=self.checks, headers=self.headers, **kwargs)
        except FailureGroup as group:
            for failure in group.exceptions:
                if not isinstance(failure, Failure):
                    continue
                known = (
                    tolerated(case, self._tolerate, self._dates) if isinstance(failure, InvalidDataAccepted) else None
                )
                if known:
                    self.tolerated[known] = self.tolerated.get(known, 0) + 1
                else:
                    self.on_failure(failure)

    # -- stateful sequences through the contract's links --------------------------------------------------------

    def links(self) -> None:
        """Scenarios of up to STEPS calls that follow the contract's links (create -> get/replace/patch)."""
        machine = hypothesis.seed(self.seed("stateful"))(self.state_machine())
        with HYPOTHESIS_LOCK:
            self.unanswered = None
            try:
                machine.run(settings=settings(self.ctx.config.max_examples, stateful_step_count=STEPS))
            except Exception:
                if self.unanswered is not None:
                    raise self.unanswered from None
                raise
        self.links_ran = True
        if links_reach_created_records in self.checks:
            for resource in self.ctx.contract.resources.values():
                self._follow(resource)

    def _follow(self, resource: Resource) -> None:
        """Follow the create's links once for each resource, whatever the scenarios happened to try."""
        try:
            followed, failures = follow_create_links(self.ctx, resource)
        except (Skipped, SetupError, Failure):
            return  # the create was refused, or not the run's own: nothing followed (see `unexercised`)
        self.links_followed[resource.collection] += followed
        for failure in failures:
            self.on_failure(failure)

    def unexercised(self, resource: str) -> str | None:
        """Why the stateful run proved nothing about `resource`'s links (None when it followed some)."""
        if not self.links_ran or self.links_followed[resource]:
            return None
        return (
            f"no stateful scenario (of {self.ctx.config.max_examples}) followed a link from a successful create of "
            f"{resource}"
        )

    def state_machine(self) -> Any:
        fuzzer = self

        class ConformanceStateMachine(self.schema.as_state_machine()):  # type: ignore[misc]
            def before_call(self, case: Any) -> None:
                fuzzer.mapper.prepare(case)

            def get_call_kwargs(self, case: Any) -> dict[str, Any]:
                return {"session": fuzzer.session, "headers": fuzzer.headers}

            def call(self, case: Any, **kwargs: Any) -> Any:
                try:
                    response = case.call(**kwargs)
                except BudgetExhausted:
                    raise
                except SafetyError:
                    hypothesis.reject()  # refused by the gate: dropped, not sent
                except (requests.ConnectionError, requests.Timeout) as exc:
                    fuzzer.unanswered = fuzzer.unanswered or exc
                    raise
                return response

            def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
                if linked_create(self.recorder, case) is not None:
                    fuzzer.links_followed[fuzzer.mapper.operation(case).collection or ""] += 1
                fuzzer.validate(case, response, transport_kwargs=kwargs, recorder=self.recorder)

        return ConformanceStateMachine
