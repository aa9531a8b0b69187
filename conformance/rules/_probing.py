"""Sending constraint probes (`conformance.probes`) and recording each one in the run's coverage.

`probe_body` checks the filled-out valid body once (the control: if the target refuses it, the probes that need
its optional parts are not sent), then sends one request per constraint of the body's schema; `probe_parameters`
does the same for one parameter at a time. Every probe, sent or not, becomes a `ConstraintProbe` of the coverage
view, so a reader sees what was tested deterministically and why anything was not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from collect_contract import Operation, constraints
from collect_contract.constraints import Constraint
from conformance.context import Context
from conformance.coverage import ConstraintProbe
from conformance.http import Exchange
from conformance.probes import UNKNOWN_PARAMETER, Probe, body_probe, filled, parameter_probe
from conformance.rules._support import succeeded
from conformance.verdicts import Status

MAX_PROBES = 400  # per operation and body: the contract's largest body (an invoice) has about 150 constraints


@dataclass
class Sent:
    """A probe and the answer it got."""

    operation: Operation
    constraint: Constraint
    exchange: Exchange
    expected: int

    @property
    def deviates(self) -> bool:
        return self.exchange.status != self.expected

    def describe(self) -> str:
        return f"{self.constraint.location} ({self.constraint.keyword}): {self.exchange.status}"


def probe_body(
    ctx: Context,
    operation: Operation,
    base: Any,
    send: Callable[[Any], Exchange],
    keywords: Callable[[Constraint], bool] = lambda c: c.keyword != "x-references",
    expected: Callable[[Constraint], int] = lambda c: 400,
) -> tuple[list[Sent], list[Exchange]]:
    """Send one probe per constraint of the operation's body (those `keywords` keeps); return what was sent and
    the accepted controls (the filled-out valid body, when it differs from `base`)."""
    schema = operation.request_schema
    if schema is None:
        return [], []
    body, controls, refused = base, [], ""
    fuller = filled(ctx.contract, schema, base)
    if fuller != base:
        control = send(fuller)
        if succeeded(control):
            body, controls = fuller, [control]
        else:
            refused = f"; the valid body with its optional objects filled in was refused: {control.summary(100)}"
    sent: list[Sent] = []
    stated = [c for c in constraints.of_body(ctx.contract, schema) if keywords(c)]
    for position, constraint in enumerate(stated):
        if position >= MAX_PROBES:
            not_verified(ctx, operation, constraint, f"more than {MAX_PROBES} constraints in one body")
            continue
        probe = body_probe(ctx.contract, schema, body, constraint, ctx.missing_id())
        if isinstance(probe, str):
            not_verified(ctx, operation, constraint, probe + (refused if "container" in probe else ""))
            continue
        sent.append(_record(ctx, operation, probe, send(probe.value), expected(constraint)))
    return sent, controls


def probe_parameters(
    ctx: Context, operation: Operation, path: dict[str, Any], query: dict[str, Any], body: dict[str, Any]
) -> list[Sent]:
    """One request per parameter constraint of `operation` (and one with a query parameter it does not define),
    each the valid request (`path` arguments, `query`, `body` keyword) with that one parameter changed."""
    sent: list[Sent] = []
    unknown = Constraint("query", (UNKNOWN_PARAMETER,), "unknown-parameter", {})
    for constraint in [*constraints.of_parameters(ctx.contract, operation), unknown]:
        probe = Probe(unknown, "1") if constraint is unknown else parameter_probe(ctx.contract, constraint)
        if isinstance(probe, str):
            not_verified(ctx, operation, constraint, probe)
            continue
        name = str(constraint.path[0]) if constraint.path else str(constraint.detail)
        path_args, params = dict(path), dict(query)
        (path_args if constraint.where == "path" else params)[name] = probe.value
        params = {k: v for k, v in params.items() if v is not None}
        exchange = ctx.client.call(operation.operation_id, params=params or None, **body, **path_args)
        sent.append(_record(ctx, operation, probe, exchange, 400))
    return sent


def _record(ctx: Context, operation: Operation, probe: Probe, exchange: Exchange, expected: int) -> Sent:
    return record_probe(ctx, operation, probe.constraint, exchange, expected)


def record_probe(ctx: Context, operation: Operation, constraint: Constraint, exchange: Exchange, expected: int) -> Sent:
    """A probe sent: into the coverage view, with its verdict."""
    verdict = Status.PASSED if exchange.status == expected else Status.FAILED
    ctx.coverage.constraint(
        ConstraintProbe(operation.operation_id, constraint.location, constraint.keyword, exchange.status, verdict)
    )
    return Sent(operation, constraint, exchange, expected)


def not_verified(ctx: Context, operation: Operation, constraint: Constraint, why: str) -> None:
    ctx.coverage.constraint(
        ConstraintProbe(operation.operation_id, constraint.location, constraint.keyword, None, Status.NOT_VERIFIED, why)
    )


def summary(deviations: Iterable[Sent], total: int, limit: int = 6) -> str:
    """`3 of 120 probes: body.method (enum): 200; ...`: the deviating probes, the first few named."""
    found = list(deviations)
    named = "; ".join(f"{d.operation.operation_id} {d.describe()}" for d in found[:limit])
    more = f"; and {len(found) - limit} more" if len(found) > limit else ""
    return f"{len(found)} of {total} probes answered otherwise: {named}{more}"
