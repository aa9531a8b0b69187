"""A differential run: the same seeded sequence against the target and the model (a fresh mock), each pair of
answers compared, every difference a classified drift; then the verdict, exit code and reports of a normal run.

Units are (operation kind × resource), as far as the sequence exercises them: a unit passes when every step of
it was compared and no drift was found, fails with one finding per drift group, and is not verified when its
steps could not run (read-only, a record its create was refused, the budget). The target is guarded as in any
run (one tenant, its own records, budget, rate limit, read-only, cleanup at the end); the model only ever
receives the same requests.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from collect_contract import Contract, Kind
from collect_drift import Drift, DriftKind, DriftLog, DriftReport, Group, Location, Seen, build, kinds_line
from collect_drift import write as write_drift
from collect_drift.contract import SpecMap
from conformance import output
from conformance.cleanup import clean_up
from conformance.config import Config
from conformance.context import Context
from conformance.differential.compare import Answers, Comparer, Finding
from conformance.differential.normalize import Normalizer, server_made_fields
from conformance.differential.sequence import SequenceBuilder, Step
from conformance.differential.sides import Side, Unresolved, endless, next_key
from conformance.errors import BudgetExhausted, ConformanceError, Reason, SafetyError, TargetError
from conformance.http import Exchange, Session
from conformance.render import exit_line
from conformance.report import Cleanup, FailureRecord, Outcome, Report
from conformance.report import Step as ReportStep
from conformance.runner import CLEANUP_SHARE, settings_of
from conformance.safety import TOKEN_VARIABLE, Redactor
from conformance.text import cut, printable
from conformance.verdicts import ERROR, FAILED, NOT_VERIFIED, PASSED

Unit = tuple[Kind, str]  # (operation kind, collection)
Progress = Callable[[int, int, Step], None]
ORACLE_VARIABLE = "${COLLECT_CONFORMANCE_ORACLE_TOKEN}"
BODY_LIMIT = 600
MODEL_BUDGET = 1_000_000


@dataclass(frozen=True)
class Oracle:
    """The model the target is compared with: a mock at `base_url` (spawned for the run, or given)."""

    base_url: str
    token: str
    spawned: bool


class DifferentialRun:
    def __init__(self, config: Config, oracle: Oracle):
        self.config, self.oracle = config.with_seed(), oracle
        seed = int(self.config.seed or 0)
        self.contract = Contract.from_path(self.config.spec)
        self.spec = SpecMap(self.contract.spec)
        made = server_made_fields(self.contract)
        self.target = Side("target", Session(self.config, self.contract), Normalizer(made), self.config.max_pages)
        model_config = Config(
            base_url=oracle.base_url, token=oracle.token, tenant=self.config.tenant, spec=self.config.spec,
            rate_limit=0.0, budget=MODEL_BUDGET, timeout=self.config.timeout, progress=False,
        )  # fmt: skip
        self.model = Side("model", Session(model_config, self.contract), Normalizer(made), self.config.max_pages)
        self.redact = Redactor([self.config.token, oracle.token])
        self.comparer = Comparer(self.contract, self.spec)
        marker = f"cfz{seed:x}-{int(time.time() * 1000) % 16**6:06x}"
        self.steps = SequenceBuilder(self.contract, self.config.paging_records, marker, seed).build(
            self.config.read_only
        )
        full = SequenceBuilder(self.contract, self.config.paging_records, marker, seed).build(read_only=False)
        self.units = list(dict.fromkeys(self.unit_of(step) for step in full))
        self.log = DriftLog()
        self.ran: Counter[Unit] = Counter()
        self.skipped: dict[Unit, str] = {}
        self.errors: dict[Unit, str] = {}
        self.notes: list[str] = []
        self.stopped = ""
        self.cleanup = Cleanup()
        self.started = time.monotonic()

    def unit_of(self, step: Step) -> Unit:
        operation = self.contract.operations[step.operation_id]
        return operation.kind, operation.collection or step.resource

    # -- the run --------------------------------------------------------------------------------------------

    def preflight(self) -> None:
        """One GET to each side: an unreachable side or a refused token stops the run before anything is sent."""
        first = next(iter(self.contract.resources.values())).operations[Kind.LIST].operation_id
        for side in (self.target, self.model):
            try:
                exchange = side.client.call(first)
            except httpx.HTTPError as exc:
                raise TargetError(f"cannot reach the {side.name} at {side.session.config.base_url}: {exc}") from None
            if exchange.status in (401, 403):
                raise TargetError(f"the {side.name} refused the token for tenant {self.config.tenant!r}: "
                                  f"{exchange.summary()}")  # fmt: skip

    def run(self, progress: Progress | None = None) -> Report:
        guard = self.target.session.guard
        guard.budget = max(1, int(self.config.budget * (1 - CLEANUP_SHARE)))
        try:
            for number, step in enumerate(self.steps, 1):
                try:
                    self.step(step)
                except BudgetExhausted as exc:
                    self.stopped = f"stopped early: {exc}"
                    break
                except ConformanceError as exc:  # a side did not answer (it says which), or the gate refused
                    why = "the suite refused to send a request: " if isinstance(exc, SafetyError) else ""
                    self.errors.setdefault(self.unit_of(step), self.redact(f"{step.where}: {why}{exc}"))
                if progress:
                    progress(number, len(self.steps), step)
        finally:  # whatever stopped the sequence, the run's records go
            guard.budget = self.config.budget
            self.clean_up()
        return self.report()

    def step(self, step: Step) -> None:
        unit = self.unit_of(step)
        try:
            self.target.check(step)
            self.model.check(step)
        except Unresolved as exc:
            self.skipped.setdefault(unit, f"{step.where}: {exc}")
            return
        target, model = self.target.send(step), self.model.send(step)
        self.ran[unit] += 1
        found = self._ownership(step, target[-1], model[-1])
        answers = Answers(target, self.target.normal), Answers(model, self.model.normal)
        if step.walk and endless(target) and not endless(model):
            message = "The target's walk gives a paging key it gave before: following its keys never ends."
            found.append(Finding(DriftKind.STATE, Location.BODY, "", "a key given twice", "an end (the model)",
                                 message, rule="paging", target=target[-1], model=model[-1]))  # fmt: skip
        if step.walk and (next_key(target[-1]) or next_key(model[-1])):
            answers[0].complete = answers[1].complete = False
            if not endless(target):
                self.notes.append(f"{step.where} stopped after {self.config.max_pages} pages: which records it "
                                  "returns, and in which order, was not compared")  # fmt: skip
        found += (self.comparer.walk if step.walk else self.comparer.call)(step, *answers)
        for finding in found:
            self.log.add(self.drift(step, finding))

    def _ownership(self, step: Step, target: Exchange, model: Exchange) -> list[Finding]:
        """Learn the ids a create made on each side; a target record that is not new is a drift of the id rules."""
        if step.creates is not None:
            workflow = self.contract.resources[step.resource].workflow
            why, _ = self.target.learn(step, target, workflow), self.model.learn(step, model, workflow)
        elif step.reads_back is not None:
            why, _ = self.target.confirm(step, target), self.model.confirm(step, model)
        else:
            return []
        if why is None or not 200 <= target.status < 300 or target.status != model.status:
            return []  # a refused create is the status comparison's finding
        message = f"The record is not the run's own, and no later step writes to it: {why}."
        return [Finding(DriftKind.STATE, Location.BODY, "/id", why, "a new record (the model)", message,
                        rule="ids", target=target, model=model)]  # fmt: skip

    def clean_up(self) -> None:
        """Remove the run's records from the target (and from a model that was not spawned for the run)."""
        sides = [(self.target, self.config)]
        if not self.oracle.spawned:
            sides.append((self.model, self.model.session.config))
        for side, config in sides:
            context = Context(config, self.contract, side.session)
            try:
                result = clean_up(context)
            except ConformanceError as exc:
                self.notes.append(self.redact(f"cleanup of the {side.name} stopped: {exc}"))
                continue
            finally:
                context.client.close()
            if side is self.target:
                self.cleanup = result
            elif result.left:
                self.notes.append(f"the model kept {len(result.left)} records of the run")

    def close(self) -> None:
        self.target.client.close()
        self.model.client.close()

    # -- drift ----------------------------------------------------------------------------------------------

    def drift(self, step: Step, finding: Finding) -> Drift:
        operation = self.contract.operations[step.operation_id]
        seen = [self._seen("target", finding.target, TOKEN_VARIABLE)]
        if finding.model is not None:
            seen.append(self._seen("model", finding.model, ORACLE_VARIABLE))
        text = self._text
        return Drift(
            finding.kind, operation.operation_id, operation.label, finding.location, finding.field,
            text(finding.observed), text(finding.expected), text(finding.message), finding.evidence, tuple(seen),
            step.where, finding.rule,
        )  # fmt: skip

    def _seen(self, side: str, exchange: Exchange | None, variable: str) -> Seen:
        if exchange is None:
            return Seen(side, "", "")
        token = self.config.token if side == "target" else self.oracle.token
        curl = exchange.curl(token).replace(TOKEN_VARIABLE, variable)
        body = (exchange.request_body or b"").decode("utf-8", "replace")
        return Seen(
            side,
            self._text(f"{exchange.method} {exchange.url}"),
            self._text(exchange.summary(BODY_LIMIT)),
            self._text(cut(body, BODY_LIMIT)),
            self._text(curl),
        )

    def _text(self, text: str) -> str:
        return printable(self.redact(text))

    # -- the verdict ----------------------------------------------------------------------------------------

    def report(self) -> Report:
        by_unit: dict[Unit, list[FailureRecord]] = {}
        for group in self.log.groups():
            operation = self.contract.operations.get(group.operation_id)
            unit = (operation.kind, operation.collection or "") if operation else (Kind.CUSTOM, "")
            by_unit.setdefault(unit, []).append(self._record(unit, group))
        read_only_units = {self.unit_of(step) for step in self.steps}
        outcomes = []
        for unit in self.units:
            rule, resource = f"differential.{unit[0]}", unit[1]
            if unit in by_unit:
                outcomes.append(Outcome(rule, resource, FAILED, failures=by_unit[unit]))
            elif unit in self.errors:
                outcomes.append(Outcome(rule, resource, ERROR, self.errors[unit]))
            elif self.ran[unit] and unit not in self.skipped:
                outcomes.append(Outcome(rule, resource, PASSED))
            else:
                reason, why = self._gap(unit, read_only_units)
                outcomes.append(Outcome(rule, resource, NOT_VERIFIED, reason, why))
        settings = {
            **settings_of(self.config),
            "oracle": self.oracle.base_url if not self.oracle.spawned else "spawned",
        }
        return Report(
            target=self.config.base_url,
            tenant=self.config.tenant,
            seed=int(self.config.seed or 0),
            settings=settings,
            outcomes=outcomes,
            cleanup=self.cleanup,
            requests=self.target.session.guard.sent,
            throttled=self.target.session.guard.throttled,
            duration=time.monotonic() - self.started,
            notes=[*self.notes, *self._uncovered()],
            accepted=self.config.accepted,
            stopped=self.stopped,
        )

    def _gap(self, unit: Unit, read_only_units: set[Unit]) -> tuple[str, Reason]:
        if self.config.read_only and unit not in read_only_units:
            return "needs writes (--read-only)", Reason.READ_ONLY
        if unit in self.skipped:
            return f"some steps could not run: {self.skipped[unit]}", Reason.SETUP_REFUSED
        if self.stopped:
            return f"not reached: {self.stopped}", Reason.BUDGET_SPENT
        return "no step of the sequence reached it", Reason.NOT_APPLICABLE

    def _uncovered(self) -> list[str]:
        exercised = {step.operation_id for step in self.steps}
        left = [o for o in self.contract.operations if o not in exercised]
        return [f"operations the differential sequence does not exercise: {', '.join(left)}"] if left else []

    def _record(self, unit: Unit, group: Group) -> FailureRecord:
        first = group.first
        target = first.seen[0] if first.seen else Seen("target", "", "")
        model = first.seen[1] if len(first.seen) > 1 else None
        steps = [ReportStep(1, target.request, target.response, cut(target.request_body, BODY_LIMIT), deviated=True)]
        if model is not None:
            steps.append(ReportStep(2, model.request, model.response, cut(model.request_body, BODY_LIMIT)))
        where = f" {group.pattern}" if group.pattern else ""
        note = first.message + (f" Model: {model.curl}" if model is not None and model.curl else "")
        return FailureRecord(
            rule=f"differential.{unit[0]}", resource=unit[1], code=group.kind.code,
            title=f"{group.kind.heading}: {group.location.value}{where}", operation=group.operation,
            received=first.observed, expected=first.expected, note=note, curl=target.curl,
            response=target.response, occurrences=group.count, steps=steps, steps_total=len(steps),
        )  # fmt: skip

    def drift_report(self, report: Report) -> DriftReport:
        counts = report.cleanup
        removed = sum(counts.removed.values())
        facts = [
            ("Verdict", report.summary()),
            ("Result", exit_line(report)),
            ("Target", f"{self.config.base_url} (tenant `{self.config.tenant}`)"),
            ("Model", "a fresh mock spawned for the run" if self.oracle.spawned else self.oracle.base_url),
            ("Sequence", f"{len(self.steps)} steps, seed {report.seed} (`--seed {report.seed}` repeats it)"),
            ("Requests", f"{self.target.session.guard.sent} to the target, {self.model.session.guard.sent} "
                         "to the model"),
            ("Cleanup", f"{removed} records of the run removed from the target, {len(counts.left)} left"),
            ("Reproductions", "the target's read COLLECT_CONFORMANCE_TOKEN, the model's "
                              "COLLECT_CONFORMANCE_ORACLE_TOKEN"),
        ]  # fmt: skip
        notes = [f"{o.name}: not verified ({o.why.value if o.why else ''}): {o.reason}" for o in report.outcomes
                 if o.status == NOT_VERIFIED]  # fmt: skip
        notes += [f"{o.name}: error: {o.reason}" for o in report.outcomes if o.status == ERROR]
        notes += report.notes
        drift = build(self.log, self.contract.spec, title=TITLE, headline="", facts=facts, notes=notes)
        drift.headline = f"{report.verdict.value}: {kinds_line(drift)}"
        return drift


TITLE = "Differential conformance: the target against the model"


def write_reports(
    report: Report, config: Config, drift: DriftReport, redact: Callable[[str], str]
) -> tuple[list[Path], dict[Path, str]]:
    """The drift report (`--report`: .md, .html or .json), the JUnit file and the log, each written whole."""
    written, problems = output.write_all(report, junit_path=config.junit_xml, log_path=config.log_path, redact=redact)
    if config.report is not None:
        try:
            write_drift(config.report, drift, redact)
            written.insert(0, config.report)
        except OSError as exc:
            problems[config.report] = f"{type(exc).__name__}: {exc.strerror or exc}"
    return written, problems
