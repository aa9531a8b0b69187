"""`run(config) -> Report`: plan the units of a run, execute them, clean up, and report.

A unit is one rule on one resource. Behaviour rules run their own check. Response and fuzz rules judge the
traffic of drivers (the sweep, the Schemathesis drivers, and every probe); their outcome per resource is read
from what the collector gathered once the drivers have run. `Runner.outcome(unit)` runs a single unit (and the
drivers it needs, once), which is how the pytest plugin makes each unit a test.

Every unit ends in exactly one status (`conformance.verdicts.Status`), decided here from what its check raised:

    nothing                    passed
    a Failure                  failed (with every step of the check, the deviating request marked)
    NotVerified / Skipped      not verified, with its Reason
    SetupError                 not verified: the target refused what the check needed first
    BudgetExhausted            not verified: the budget was spent (the run says it stopped)
    another ConformanceError   error: the suite's own trouble (a request it refused to send, ...)
    a transport error          error: the target did not answer
    any other exception        error: an internal error of the suite, its traceback in the log
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import httpx
import requests
import yaml

from collect_contract import SPEC_PATH, Contract, Kind
from collect_contract.structure import StructureError, load_checked
from conformance import output
from conformance import rules as _rules  # noqa: F401  (registers the catalog)
from conformance.cleanup import clean_up
from conformance.collector import Collector
from conformance.config import Config
from conformance.context import Context
from conformance.errors import (
    BudgetExhausted,
    ConfigError,
    ConformanceError,
    NotVerified,
    Reason,
    SafetyError,
    SetupError,
    TargetError,
)
from conformance.failures import Failure
from conformance.fuzzing import Fuzzer
from conformance.http import Exchange, Session, Trace
from conformance.registry import REGISTRY, Driver, Need, Rule, RuleKind
from conformance.report import Outcome, Report
from conformance.schemathesis_bridge import as_check
from conformance.sweep import sweep
from conformance.text import cut, printable
from conformance.verdicts import ERROR, FAILED, NOT_VERIFIED, PASSED, Status

API = "api"
CLEANUP_SHARE = 0.2  # of the budget, kept back so that the run can always clean up after itself
Progress = Callable[[Outcome, int, int], None]
INTERNAL = "internal error of the suite"


@dataclass(frozen=True)
class Ending:
    """How a unit or a driver ended, when not with a pass or a failure."""

    status: Status
    reason: str
    why: Reason | None = None
    internal: bool = False


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
        self.contract = read_contract(self.config.spec)
        self.session = Session(self.config, self.contract)
        self.ctx = Context(self.config, self.contract, self.session)
        self.rules = REGISTRY.select(self.config.rules, self.config.skip_rules)
        self.response_rules = [r for r in self.rules if r.kind is RuleKind.RESPONSE]
        self.collector = Collector(self.session.redact, self.response_rules, self.session.secret)
        self.session.observers.append(self.collector.observe)
        self.session.taps.append(self.ctx.coverage.observe)
        self.session.guard.budget = max(1, int(self.config.budget * (1 - CLEANUP_SHARE)))
        self._drivers: dict[tuple[str, str], threading.Event] = {}
        self._driver_endings: dict[tuple[str, str], Ending] = {}
        # Tracebacks of the suite's own errors, each once, with the units it ended (written to the log).
        self.tracebacks: dict[str, list[str]] = {}
        self.stopped = ""
        self.written: list[Path] = []  # the report files written
        self.write_problems: dict[Path, str] = {}  # and those that could not be, with why
        self._lock = threading.Lock()
        self._fuzzer: Fuzzer | None = None
        self._outcomes: dict[str, Outcome] = {}
        self.started = time.monotonic()

    # -- planning -----------------------------------------------------------------------------------------------

    def units(self) -> list[Unit]:
        resources = list(self.contract.resources.values())
        return [Unit(rule, r.collection) for rule in self.rules for r in resources if rule.applies_to(r)]

    def drivers(self, rule: Rule, resource: str) -> list[tuple[Driver, str]]:
        """The (driver, resource) runs whose traffic a response or fuzz rule judges."""
        if rule.kind is RuleKind.RESPONSE:
            return [(Driver.SWEEP, resource)]
        found = [(Driver.FUZZ_OPERATIONS, resource)] if Driver.FUZZ_OPERATIONS in rule.drivers else []
        if Driver.FUZZ_LINKS in rule.drivers and not self.config.read_only:
            found.append((Driver.FUZZ_LINKS, API))
        return found

    # -- execution ----------------------------------------------------------------------------------------------

    def preflight(self) -> None:
        """One GET before anything else: an unreachable target or a refused token stops the run early."""
        first = next(iter(self.contract.resources.values()))
        try:
            with self.session.tracing("preflight"):
                exchange = self.ctx.call(first.collection, Kind.LIST, observe=False)
        except httpx.HTTPError as exc:
            raise TargetError(f"cannot reach {self.config.base_url}: {self.session.redact(str(exc))}") from None
        if exchange.status in (401, 403):
            raise TargetError(f"the token was refused for tenant {self.config.tenant!r}: {exchange.summary()}")

    def run(self, progress: Progress | None = None) -> Report:
        """Every unit, in a pool of `workers` threads: sweeps, behaviour checks, fuzzing, then the judgements."""
        units = self.units()
        drivers = list(
            dict.fromkeys(
                d for u in units if u.rule.kind is not RuleKind.BEHAVIOUR for d in self.drivers(u.rule, u.resource)
            )
        )
        behaviour = [u for u in units if u.rule.kind is RuleKind.BEHAVIOUR]
        judged = [u for u in units if u.rule.kind is not RuleKind.BEHAVIOUR]
        with ThreadPoolExecutor(max_workers=self.config.workers) as pool:
            # Tasks start in submission order, so a judgement never waits on a driver that no thread has begun.
            for driver in (d for d in drivers if d[0] is Driver.SWEEP):
                pool.submit(self.ensure_driver, *driver)
            futures = [pool.submit(self.outcome, u) for u in behaviour]
            for driver in (d for d in drivers if d[0] is not Driver.SWEEP):
                pool.submit(self.ensure_driver, *driver)
            futures += [pool.submit(self.outcome, u) for u in judged]
            for done, future in enumerate(as_completed(futures), 1):
                if progress:
                    progress(future.result(), done, len(futures))
        report = self.finish(list(self._outcomes.values()))
        self.write_problems = self.write_reports(report)
        return report

    def outcome(self, unit: Unit) -> Outcome:
        started = time.monotonic()
        if unit.rule.kind is RuleKind.BEHAVIOUR:
            result = self._behaviour(unit)
        else:
            for driver in self.drivers(unit.rule, unit.resource):
                self.ensure_driver(*driver)
            result = self._judged(unit)
        result.duration = time.monotonic() - started
        with self._lock:
            self._outcomes[unit.name] = result
        return result

    def _unmet(self, rule: Rule) -> Ending | None:
        if Need.WRITES in rule.needs and self.config.read_only:
            return Ending(NOT_VERIFIED, "needs writes (--read-only)", Reason.READ_ONLY)
        if Need.OTHER_TENANT in rule.needs and not self.config.other_tenant:
            reason = "needs --other-tenant (a tenant the token must not reach)"
            return Ending(NOT_VERIFIED, reason, Reason.NEEDS_OTHER_TENANT)
        return None

    def _behaviour(self, unit: Unit) -> Outcome:
        unmet = self._unmet(unit.rule)
        if unmet:
            return _outcome(unit, unmet)
        with self.session.tracing(unit.rule.id) as trace:
            try:
                unit.rule.check(self.ctx, self.contract.resources[unit.resource])
            except Failure as failure:
                record = self.collector.record(failure, self.session.last, unit.resource, trace)
                return Outcome(unit.rule.id, unit.resource, FAILED, failures=[record])
            except Exception as exc:  # noqa: BLE001 - a broken check or target ends this unit only
                return _outcome(unit, self.ending(exc, unit.name, trace))
        return Outcome(unit.rule.id, unit.resource, PASSED)

    def _judged(self, unit: Unit) -> Outcome:
        unmet = self._unmet(unit.rule)
        if unmet:
            return _outcome(unit, unmet)
        failures = self.collector.failures(unit.rule.id, unit.resource)
        if failures:
            return Outcome(unit.rule.id, unit.resource, FAILED, failures=failures)
        crash = self.collector.crashes.get((unit.rule.id, unit.resource))
        if crash:
            with self._lock:
                self.tracebacks.setdefault(self.session.redact(crash[1]), []).append(unit.name)
            return _outcome(unit, Ending(ERROR, f"{INTERNAL}: {crash[0]}", internal=True))
        drivers = self.drivers(unit.rule, unit.resource)
        endings = [self._driver_endings[d] for d in drivers if d in self._driver_endings]
        errors = [e for e in endings if e.status == ERROR]
        if errors:  # an error of a driver outweighs what the others judged
            reason = "; ".join(e.reason for e in errors)
            return _outcome(unit, Ending(ERROR, reason, errors[0].why, any(e.internal for e in errors)))
        gaps = [e for e in endings if e.status == NOT_VERIFIED]
        if drivers and len(gaps) == len(drivers):  # no driver produced traffic to judge
            return _outcome(unit, Ending(NOT_VERIFIED, "; ".join(e.reason for e in gaps), gaps[0].why))
        if self._fuzzer is not None and unit.rule.drivers == (Driver.FUZZ_LINKS,):
            unexercised = self._fuzzer.unexercised(unit.resource)
            if unexercised:
                return _outcome(unit, Ending(NOT_VERIFIED, unexercised, Reason.NO_TRAFFIC))
        if unit.rule.kind is RuleKind.RESPONSE and not self.collector.has_judged(unit.rule.id, unit.resource):
            what = "that the rule applies to" if self.collector.saw(unit.resource) else "to judge"
            return _outcome(unit, Ending(NOT_VERIFIED, f"no response of this resource {what}", Reason.NO_TRAFFIC))
        return Outcome(unit.rule.id, unit.resource, PASSED)

    def ending(self, exc: BaseException, unit: str, trace: Trace | None) -> Ending:
        """How an exception that is not a failure ends a unit (or a driver): see the module's table."""
        redact = self.session.redact
        if isinstance(exc, NotVerified):
            return Ending(NOT_VERIFIED, redact(str(exc)), exc.reason)
        if isinstance(exc, BudgetExhausted):
            self.stopped = self.stopped or f"stopped early: {exc}"
            return Ending(NOT_VERIFIED, f"not finished: {exc}", Reason.BUDGET_SPENT)
        if isinstance(exc, SetupError):
            return Ending(NOT_VERIFIED, redact(str(exc)), Reason.SETUP_REFUSED)
        if isinstance(exc, SafetyError):
            return Ending(ERROR, redact(f"the suite refused to send a request: {exc}"))
        if isinstance(exc, ConformanceError):
            return Ending(ERROR, redact(str(exc)))
        if isinstance(exc, (httpx.TransportError, requests.ConnectionError, requests.Timeout)):
            return Ending(ERROR, redact(f"the target did not answer{unanswered(exc)}: {type(exc).__name__}: {exc}"))
        last = trace.exchanges[-1] if trace and trace.exchanges else None
        context = f" (the last request: {self._context(last)})" if last else ""
        text = redact(f"{INTERNAL}: {type(exc).__name__}: {exc}{context}")
        key = redact("".join(traceback.format_exception(exc)))
        with self._lock:
            self.tracebacks.setdefault(key, []).append(unit)
        return Ending(ERROR, text, internal=True)

    def _context(self, exchange: Exchange) -> str:
        step = self.collector.step(1, exchange)
        return f"{step.request} answered {step.response}"

    def ensure_driver(self, driver: Driver, resource: str) -> None:
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
        with self.session.tracing(driver) as trace:
            try:
                self._drive(driver, resource)
            except Exception as exc:  # noqa: BLE001 - the units that judge its traffic say how it ended
                ending = self.ending(exc, f"{driver}[{resource}]", trace)
                reason = f"{driver}: {ending.reason}"
                self._driver_endings[key] = Ending(ending.status, reason, ending.why, ending.internal)
            finally:
                event.set()

    def _drive(self, driver: Driver, resource: str) -> None:
        if driver is Driver.SWEEP:
            sweep(self.ctx, self.contract.resources[resource])
        elif driver is Driver.FUZZ_OPERATIONS:
            self.fuzzer().operations(self.contract.resources[resource])
        else:
            self.fuzzer().links()

    def fuzzer(self) -> Fuzzer:
        with self._lock:
            if self._fuzzer is None:
                checks = [as_check(r.check) for r in self.response_rules]
                checks += [r.check for r in self.rules if r.kind is RuleKind.FUZZ]
                self._fuzzer = Fuzzer(self.ctx, checks, self._record_fuzz_failure)
            return self._fuzzer

    def _record_fuzz_failure(self, failure: Failure) -> None:
        self.collector.record(failure, failure.exchange)

    # -- the end ------------------------------------------------------------------------------------------------

    def finish(self, outcomes: list[Outcome]) -> Report:
        """Clean up (with the budget kept back for it) and assemble the report."""
        self.session.guard.budget = self.config.budget
        try:
            with self.session.tracing("cleanup"):
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
            accepted=self.config.accepted,
            stopped=self.stopped,
            coverage=self.ctx.coverage.view(self.contract.operations.values()),
            tracebacks=[(text, units) for text, units in self.tracebacks.items()],
        )
        if cleanup is not None:
            report.cleanup = cleanup
        self.close()
        return report

    def write_reports(self, report: Report) -> dict[Path, str]:
        """Write the files the config names: `report` (Markdown, or HTML for .html), `junit_xml` and the log.
        Returns the files that could not be written, with why; `written` lists the others."""
        written, problems = output.write_all(
            report,
            report_path=self.config.report,
            junit_path=self.config.junit_xml,
            log_path=self.config.log_path,
            redact=self.session.redact,
        )
        self.written = written
        return problems

    def close(self) -> None:
        """Close the run's HTTP connections (without cleaning up: that is `finish`)."""
        self.ctx.client.close()
        if self._fuzzer is not None:
            self._fuzzer.session.close()


def unanswered(exc: Exception) -> str:
    """` POST http://host/path (body '\\x00', 1 byte)`: the request a transport error names, as far as it does."""
    try:
        request = getattr(exc, "request", None)  # httpx raises RuntimeError when the error carries none
    except RuntimeError:
        return ""
    if request is None:
        return ""
    try:
        body = request.content if isinstance(request, httpx.Request) else request.body
    except httpx.RequestNotRead:
        body = None
    if isinstance(body, str):
        body = body.encode()
    shown = ""
    if isinstance(body, bytes) and body:
        text = cut(printable(body.decode("utf-8", "replace")), 200)
        shown = f" (body '{text}', {len(body):,} byte{'s' if len(body) > 1 else ''})"
    return f" {request.method} {request.url}{shown}"


def settings_of(config: Config) -> dict[str, object]:
    """The settings worth reporting (never the token)."""
    names = (
        "other_tenant", "rules", "skip_rules", "max_examples", "read_only", "workers", "budget", "rate_limit",
        "paging_records", "tolerate", "accept_partial",
    )  # fmt: skip
    return {name: getattr(config, name) for name in names}


def read_contract(path: Path) -> Contract:
    """The contract to check against; one that is not the packaged one (proven by the tests) is checked first, so
    that a contract the suite cannot read is a ConfigError naming each break, not a traceback."""
    if path == SPEC_PATH:
        return Contract.from_path(path)
    try:
        return load_checked(path)
    except StructureError as exc:
        raise ConfigError.bad_value("spec", path, str(exc)) from None
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else " ".join(str(exc).split())
        raise ConfigError.bad_value("spec", path, f"It cannot be read as YAML: {why}.") from None


def _outcome(unit: Unit, ending: Ending) -> Outcome:
    return Outcome(unit.rule.id, unit.resource, ending.status, ending.reason, ending.why, internal=ending.internal)


def unable(config: Config, why: str) -> Report:
    """The report of a run that could not start: no unit verified, and why."""
    return Report(
        target=config.base_url,
        tenant=config.tenant,
        seed=int(config.seed or 0),
        settings=settings_of(config),
        accepted=config.accepted,
        stopped=why,
        unable=True,
    )


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
