"""The rule catalog: every rule registers here once, and a run selects rules by id or area.

A rule is a statement of the contract with an id (`area.name`), the seed pages it comes from, the failure
class that reports it, and the check that decides it. There are three kinds of check:

- `behaviour`: `check(ctx, resource)` drives its own requests (create, patch, walk, ...) and raises the
  rule's failure;
- `response`: `check(exchange)` judges one response, whoever sent the request; it runs on every response of
  the run (probes, the sweep, Schemathesis) and is registered as a Schemathesis check too;
- `fuzz`: a Schemathesis check `(ctx, response, case)` that needs the generated case (its mode, its links).

Selection follows Schemathesis' check registry, which switches checks on and off by name: `--rules ids,paging`
keeps the `ids.*` and `paging.*` rules, `--skip-rules fuzz` drops every Schemathesis rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from collect_contract import Resource
from conformance.errors import ConfigError
from conformance.failures import Failure, observing


class RuleKind(StrEnum):
    """How a rule's check is run (see the module docstring)."""

    BEHAVIOUR = "behaviour"
    RESPONSE = "response"
    FUZZ = "fuzz"


class Area(StrEnum):
    """The first part of a rule's id, in catalog order (the issue's); rules keep their registration order within
    an area."""

    IDS = "ids"
    STATUS = "status"
    SCHEMA = "schema"
    PAGING = "paging"
    PROJECTION = "projection"
    PATCH = "patch"
    VERSIONING = "versioning"
    SEARCH = "search"
    TENANCY = "tenancy"
    BATCH = "batch"
    DELETE = "delete"
    DEPENDENTS = "dependents"
    FUZZ = "fuzz"


class Need(StrEnum):
    """What a rule needs beyond the one tenant: writes (not in --read-only) or a second tenant (--other-tenant)."""

    WRITES = "writes"
    OTHER_TENANT = "other_tenant"


class Driver(StrEnum):
    """What sends the requests whose answers response and fuzz rules judge."""

    SWEEP = "sweep"  # one ordinary call of every operation, and a few bad ones (conformance/sweep.py)
    FUZZ_OPERATIONS = "fuzz.operations"  # Schemathesis on every operation, valid and invalid data
    FUZZ_LINKS = "fuzz.links"  # Schemathesis' stateful sequences along the contract's links
    PROBES = "every probe"  # the requests of the behaviour checks


@dataclass(frozen=True, kw_only=True)
class Rule:
    id: str  # `area.name`, its area one of `Area`
    statement: str
    source: str  # seed pages and lines, e.g. "000 L7; 004 L283"
    failure: type[Failure]
    check: Callable[..., Any]
    kind: RuleKind = RuleKind.BEHAVIOUR
    needs: frozenset[Need] = frozenset()
    # Which resources the rule applies to (None: all).
    applies: Callable[[Resource], bool] | None = None
    # For response and fuzz rules: the drivers whose traffic they judge.
    drivers: tuple[Driver, ...] = ()
    tests: tuple[str, ...] = ()  # the checks, as `module.function`

    @property
    def area(self) -> Area:
        return Area(self.id.split(".", 1)[0])

    def applies_to(self, resource: Resource) -> bool:
        return self.applies is None or bool(self.applies(resource))


class Registry:
    """Rules by id, in registration (catalog) order."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def register(self, rule: Rule) -> Rule:
        if rule.id.split(".", 1)[0] not in set(Area):
            raise ValueError(f"rule {rule.id!r} is in no known area ({', '.join(Area)})")
        if rule.id in self._rules and _unwrapped(self._rules[rule.id].check) is not _unwrapped(rule.check):
            raise ValueError(f"rule {rule.id!r} is registered twice")
        if rule.failure.rule != rule.id:
            raise ValueError(
                f"rule {rule.id!r} reports {rule.failure.__name__}, which belongs to {rule.failure.rule!r}"
            )
        self._rules[rule.id] = rule
        return rule

    def get(self, rule_id: str) -> Rule:
        return self._rules[rule_id]

    def all(self) -> list[Rule]:
        position = {area: i for i, area in enumerate(Area)}
        return sorted(self._rules.values(), key=lambda rule: position[rule.area])

    def select(self, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[Rule]:
        """The rules named (by id or area) in `include` (all when empty), minus those named in `exclude`."""
        chosen = self._matching(include, "rules") if include else set(self._rules)
        dropped = self._matching(exclude, "skip-rules") if exclude else set()
        return [rule for rule in self.all() if rule.id in chosen - dropped]

    def _matching(self, names: Iterable[str], option: str) -> set[str]:
        found: set[str] = set()
        for name in names:
            hits = {r for r in self._rules if r == name or r.startswith(name + ".")}
            if not hits:
                known = ", ".join(sorted({r.split(".")[0] for r in self._rules}))
                raise ConfigError.bad_value(option, name, f"Not a rule id or area (areas: {known}).")
            found |= hits
        return found


REGISTRY = Registry()


def rule(
    rule_id: str,
    statement: str,
    *,
    source: str,
    failure: type[Failure],
    needs: Iterable[Need] = (Need.WRITES,),
    applies: Callable[[Resource], bool] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a behaviour check `check(ctx, resource)` as the rule `rule_id`.

    The check runs `observing` its failure class: what the shared steps see go wrong on the way (a read-back that
    answers another record than the one asked for) is reported as this rule's failure.
    """

    def register(check: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(check)
        def observed(ctx: Any, resource: Any) -> Any:
            with observing(failure):
                return check(ctx, resource)

        declared = _declared(rule_id, statement, source, failure, check)
        REGISTRY.register(replace(declared, check=observed, needs=frozenset(needs), applies=applies))
        return check

    return register


def response_rule(
    rule_id: str, statement: str, *, source: str, failure: type[Failure]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a response check `check(exchange)`, judged on every response of the run. A check that returns
    False did not judge that response (not one it applies to); a unit whose check judged none is not verified."""

    def register(check: Callable[..., Any]) -> Callable[..., Any]:
        declared = _declared(rule_id, statement, source, failure, check)
        REGISTRY.register(replace(declared, kind=RuleKind.RESPONSE, drivers=tuple(Driver)))
        return check

    return register


def fuzz_rule(
    rule_id: str,
    statement: str,
    *,
    source: str,
    failure: type[Failure],
    drivers: tuple[Driver, ...],
    needs: Iterable[Need] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a Schemathesis check `(ctx, response, case)` that the fuzz drivers run."""

    def register(check: Callable[..., Any]) -> Callable[..., Any]:
        declared = _declared(rule_id, statement, source, failure, check)
        REGISTRY.register(replace(declared, kind=RuleKind.FUZZ, needs=frozenset(needs), drivers=drivers))
        return check

    return register


def _declared(rule_id: str, statement: str, source: str, failure: type[Failure], check: Callable[..., Any]) -> Rule:
    """A behaviour rule as its decorator declares it; the decorators of the other kinds replace what differs."""
    return Rule(id=rule_id, statement=statement, source=source, failure=failure, check=check, tests=(_name(check),))


def _unwrapped(check: Callable[..., Any]) -> Callable[..., Any]:
    return getattr(check, "__wrapped__", check)


def _name(check: Callable[..., Any]) -> str:
    return f"{check.__module__.removeprefix('conformance.')}.{check.__name__}"
