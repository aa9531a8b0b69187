"""`run(config) -> Report`: plan the units of a run, execute them, clean up, and report.

A unit is one rule on one resource. Behaviour rules run their own check. Response and fuzz rules judge the
traffic of drivers (the sweep, the Schemathesis drivers, and every probe); their outcome per resource is read
from what the collector gathered once the drivers have run. `Runner.outcome(unit)` runs a single unit (and the
drivers it needs, once), which is how the pytest plugin makes each unit a test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import httpx

from conformance import output
from conformance import rules as _rules  # noqa: F401  (registers the catalog)
from conformance.cleanup import clean_up
from conformance.collector import Collector
from conformance.config import Config
from conformance.context import Context
from conformance.contract import Contract
from conformance.errors import BudgetExhausted, ConformanceError, SafetyError, SetupError, Skipped, TargetError
from conformance.failures import Failure
from conformance.fuzzing import Fuzzer
from conformance.http import Session
from conformance.registry import BEHAVIOUR, FUZZ, OTHER_TENANT, REGISTRY, RESPONSE, WRITES, Rule
from conformance.report import ERROR, FAILED, PASSED, SKIPPED, Outcome, Report
from conformance.schemathesis_bridge import as_check
from conformance.sweep import sweep

API = "api"
CLEANUP_SHARE = 0.2  # of the budget, kept back so that the run can always clean up after itself
Progress = Callable[[Outcome, int, int], None]


@dataclass(frozen=True)
class Unit:
    rule: Rule
    resource: str

    @property
    def name(self) -> str:
        return f"{self.rule.id}[{self.resource}]"


class Runner:
    """One run against one target; thread-safe."""

    def __init__(self, config: Config):
        self.config = config.with_seed()
        self.contract = Contract.from_path(self.config.spec)
        self.session = Session(self.config, self.contract)
        self.ctx = Context(self.config, self.contract, self.session)
        self.rules = REGISTRY.select(self.config.rules, self.config.skip_rules)
        self.response_rules = [r for r in self.rules if r.kind == RESPONSE]
        self.collector = Collector(self.session.redact, self.response_rules)
        self.session.observers.append(self.collector.observe)
        self.session.guard.budget = max(1, int(self.config.budget * (1 - CLEANUP_SHARE)))
        self._drivers: dict[tuple[str, str], threading.Event] = {}
        self._driver_errors: dict[tuple[str, str], str] = {}
        self._driver_skips: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._fuzzer: Fuzzer | None = None
        self._outcomes: dict[str, Outcome] = {}
        self.started = time.monotonic()

    # -- planning -----------------------------------------------------------------------------------------------

    def units(self) -> list[Unit]:
        resources = list(self.contract.resources.values())
        return [Unit(rule, r.name) for rule in self.rules for r in resources if rule.applies_to(r)]

    def drivers(self, rule: Rule, resource: str) -> list[tuple[str, str]]:
        """The (driver, resource) runs whose traffic a response or fuzz rule judges."""
        if rule.kind == RESPONSE:
            return [("sweep", resource)]
        found = [("fuzz.operations", resource)] if "fuzz.operations" in rule.drivers else []
        if "fuzz.links" in rule.drivers and not self.config.read_only:
            found.append(("fuzz.links", API))
        return found

    # -- execution ----------------------------------------------------------------------------------------------

    def preflight(self) -> None:
        """One GET before anything else: an unreachable target or a refused token stops the run early."""
        first = next(iter(self.contract.resources.values()))
        try:
            exchange = self.ctx.call(first.name, "list", observe=False)
        except httpx.HTTPError as exc:
            raise TargetError(f"cannot reach {self.config.base_url}: {self.session.redact(str(exc))}") from None
        if exchange.status in (401, 403):
            raise TargetError(f"the token was refused for tenant {self.config.tenant!r}: {exchange.summary()}")

    def run(self, progress: Progress | None = None) -> Report:
        """Every unit, in a pool of `workers` threads: sweeps, behaviour checks, fuzzing, then the judgements."""
        units = self.units()
        drivers = list(
            dict.fromkeys(d for u in units if u.rule.kind != BEHAVIOUR for d in self.drivers(u.rule, u.resource))
        )
        behaviour = [u for u in units if u.rule.kind == BEHAVIOUR]
        judged = [u for u in units if u.rule.kind != BEHAVIOUR]
        with ThreadPoolExecutor(max_workers=self.config.workers) as pool:
            # Tasks start in submission order, so a judgement never waits on a driver that no thread has begun.
            for driver in (d for d in drivers if d[0] == "sweep"):
                pool.submit(self.ensure_driver, *driver)
            futures = [pool.submit(self.outcome, u) for u in behaviour]
            for driver in (d for d in drivers if d[0] != "sweep"):
                pool.submit(self.ensure_driver, *driver)
            futures += [pool.submit(self.outcome, u) for u in judged]
            for done, future in enumerate(as_completed(futures), 1):
                if progress:
                    progress(future.result(), done, len(futures))
        report = self.finish(list(self._outcomes.values()))
        self.write_reports(report)
        return report

    def outcome(self, unit: Unit) -> Outcome:
        started = time.monotonic()
        if unit.rule.kind == BEHAVIOUR:
            result = self._behaviour(unit)
        else:
            for driver in self.drivers(unit.rule, unit.resource):
                self.ensure_driver(*driver)
            result = self._judged(unit)
        result.duration = time.monotonic() - started
        with self._lock:
            self._outcomes[unit.name] = result
        return result

    def _unmet(self, rule: Rule) -> str | None:
        if WRITES in rule.needs and self.config.read_only:
            return "needs writes (--read-only)"
        if OTHER_TENANT in rule.needs and not self.config.other_tenant:
            return "needs --other-tenant (a tenant the token must not reach)"
        return None

    def _behaviour(self, unit: Unit) -> Outcome:
        unmet = self._unmet(unit.rule)
        if unmet:
            return Outcome(unit.rule.id, unit.resource, SKIPPED, unmet)
        try:
            unit.rule.check(self.ctx, self.contract.resources[unit.resource])
        except Failure as failure:
            record = self.collector.record(failure, failure.exchange or self.session.last, unit.resource)
            return Outcome(unit.rule.id, unit.resource, FAILED, failures=[record])
        except Skipped as skipped:
            return Outcome(unit.rule.id, unit.resource, SKIPPED, str(skipped))
        except Exception as exc:  # noqa: BLE001 - a broken check or target is an error of this unit only
            return Outcome(unit.rule.id, unit.resource, ERROR, self._describe(exc))
        return Outcome(unit.rule.id, unit.resource, PASSED)

    def _judged(self, unit: Unit) -> Outcome:
        unmet = self._unmet(unit.rule)
        if unmet:
            return Outcome(unit.rule.id, unit.resource, SKIPPED, unmet)
        failures = self.collector.failures(unit.rule.id, unit.resource)
        if failures:
            return Outcome(unit.rule.id, unit.resource, FAILED, failures=failures)
        errors = [self._driver_errors[d] for d in self.drivers(unit.rule, unit.resource) if d in self._driver_errors]
        if errors:
            return Outcome(unit.rule.id, unit.resource, ERROR, "; ".join(errors))
        drivers = self.drivers(unit.rule, unit.resource)
        skips = [self._driver_skips[d] for d in drivers if d in self._driver_skips]
        if drivers and len(skips) == len(drivers):
            return Outcome(unit.rule.id, unit.resource, SKIPPED, "; ".join(skips))
        if self._fuzzer is not None and unit.rule.drivers == ("fuzz.links",):
            unexercised = self._fuzzer.unexercised(unit.resource)
            if unexercised:
                return Outcome(unit.rule.id, unit.resource, SKIPPED, unexercised)
        if not self.collector.saw(unit.resource) and unit.rule.kind == RESPONSE:
            return Outcome(unit.rule.id, unit.resource, SKIPPED, "no response of this resource to judge")
        return Outcome(unit.rule.id, unit.resource, PASSED)

    def ensure_driver(self, driver: str, resource: str) -> None:
        """Run a driver once; other threads that need it wait for it."""
        key = (driver, resource)
        with self._lock:
            event = self._drivers.get(key)
            owner = event is None
            if owner:
                event = self._drivers[key] = threading.Event()
        assert event is not None
        if not owner:
            event.wait()
            return
        try:
            self._drive(driver, resource)
        except Skipped as skipped:
            self._driver_skips[key] = str(skipped)
            self.collector.note(f"{driver}[{resource}] skipped: {skipped}")
        except Exception as exc:  # noqa: BLE001
            self._driver_errors[key] = f"{driver}: {self._describe(exc)}"
        finally:
            event.set()

    def _drive(self, driver: str, resource: str) -> None:
        if driver == "sweep":
            sweep(self.ctx, self.contract.resources[resource])
        elif driver == "fuzz.operations":
            self.fuzzer().operations(self.contract.resources[resource])
        else:
            self.fuzzer().links()

    def fuzzer(self) -> Fuzzer:
        with self._lock:
            if self._fuzzer is None:
                checks = [as_check(r.check) for r in self.response_rules]
                checks += [r.check for r in self.rules if r.kind == FUZZ]
                self._fuzzer = Fuzzer(self.ctx, checks, self._record_fuzz_failure)
            return self._fuzzer

    def _record_fuzz_failure(self, failure: Failure) -> None:
        self.collector.record(failure, failure.exchange)

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, BudgetExhausted):
            return f"not finished: {exc}"
        kind = "" if isinstance(exc, (SetupError, SafetyError, ConformanceError)) else f"{type(exc).__name__}: "
        return self.session.redact(f"{kind}{exc}")

    # -- the end ------------------------------------------------------------------------------------------------

    def finish(self, outcomes: list[Outcome]) -> Report:
        """Clean up (with the budget kept back for it) and assemble the report."""
        self.session.guard.budget = self.config.budget
        try:
            cleanup = clean_up(self.ctx)
        except ConformanceError as exc:
            cleanup = None
            self.collector.note(f"cleanup stopped: {self.session.redact(str(exc))}")
        if self._fuzzer is not None and self._fuzzer.tolerated:
            counts = ", ".join(f"{n} {name}" for name, n in sorted(self._fuzzer.tolerated.items()))
            self.collector.note(f"tolerated (--tolerate) negative-mode findings: {counts}")
        order = {u.name: i for i, u in enumerate(self.units())}
        outcomes.sort(key=lambda o: order.get(f"{o.rule}[{o.resource}]", len(order)))
        report = Report(
            target=self.config.base_url,
            tenant=self.config.tenant,
            seed=int(self.config.seed or 0),
            settings=settings_of(self.config),
            outcomes=outcomes,
            requests=self.session.guard.sent,
            throttled=self.session.guard.throttled,
            duration=time.monotonic() - self.started,
            notes=self.collector.notes,
        )
        if cleanup is not None:
            report.cleanup = cleanup
        self.close()
        return report

    def write_reports(self, report: Report) -> None:
        """Write the files the config names: `junit_xml` (JUnit XML) and `report` (Markdown, or HTML for .html)."""
        if self.config.junit_xml is not None:
            self.config.junit_xml.parent.mkdir(parents=True, exist_ok=True)
            self.config.junit_xml.write_text(output.junit_xml(report, self.session.redact), encoding="utf-8")
        if self.config.report is not None:
            output.write(report, self.config.report, self.session.redact)

    def close(self) -> None:
        """Close the run's HTTP connections (without cleaning up: that is `finish`)."""
        self.ctx.client.close()
        if self._fuzzer is not None:
            self._fuzzer.session.close()


def settings_of(config: Config) -> dict[str, object]:
    """The settings worth reporting (never the token)."""
    names = ("other_tenant", "rules", "skip_rules", "max_examples", "read_only", "workers", "budget", "rate_limit")
    return {name: getattr(config, name) for name in names}


def run(config: Config, progress: Progress | None = None) -> Report:
    """Check the API at `config.base_url` against the contract and return what was found.

    Args:
        config: target, credentials, selection and limits (see `Config`); the `report` and `junit_xml` files it
            names are written at the end.
        progress: called with each unit's outcome as it completes.

    Example:
        ```python
        report = conformance.run(Config(base_url="http://127.0.0.1:8080", token=token, tenant="acme"))
        assert report.ok, report.summary()
        ```
    """
    return Runner(config).run(progress)
