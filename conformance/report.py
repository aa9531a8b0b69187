"""The result of a run: one outcome per unit (rule × resource), the verdict and exit code they add up to.

Every unit ends in exactly one `Status`: passed, failed, error (the suite's own trouble), or not verified (with
the `Reason`). The verdict follows, and so does the exit code a pipeline reads:

    PASS           every selected unit verified and passed                         exit 0
    FAIL           a unit failed, or the suite met an error                        exit 1
    (usage)        bad options or configuration, nothing run                       exit 2
    COULD NOT RUN  target unreachable, token refused, mock did not start           exit 3
    PARTIAL        nothing failed, but some units could not be verified            exit 4 (0 when accepted)

A partial run is never a plain pass: it exits 0 only for the reasons the configuration accepts
(`Config.accept_partial`, `--accept-partial`), and its summary still says PARTIAL.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from conformance.coverage import OperationCoverage
from conformance.errors import Reason
from conformance.text import signature
from conformance.verdicts import ERROR, FAILED, NOT_VERIFIED, Exit, Status, Verdict


@dataclass
class Step:
    """One request of a check and what the target answered, as text (redacted, printable, cut)."""

    number: int  # its place in the unit's sequence of requests, from 1
    request: str  # "POST http://host/batches/acme"
    response: str  # "200 application/json {...}"
    request_body: str = ""
    deviated: bool = False  # the request whose answer broke the rule

    def as_text(self) -> str:
        body = f" {self.request_body}" if self.request_body else ""
        mark = "   <- deviated" if self.deviated else ""
        return f"{self.number}. {self.request}{body}\n   -> {self.response}{mark}"


@dataclass
class FailureRecord:
    """One finding, reduced to text (the token already removed)."""

    rule: str
    resource: str
    code: str
    title: str
    operation: str
    received: str
    expected: str
    note: str = ""
    curl: str = ""  # reproduces the first deviating request in a POSIX shell
    response: str = ""
    occurrences: int = 1
    # The requests of the check in order (a long sequence keeps its start, and the deviating step and what
    # followed it); `steps_total` counts them all.
    steps: list[Step] = field(default_factory=list)
    steps_total: int = 0

    def as_text(self) -> str:
        lines = [
            f"{self.title} [{self.code}] in {self.operation}",
            f"Received: {self.received}",
            f"Expected: {self.expected}",
        ]
        if self.note:
            lines.append(self.note)
        if self.steps_total > 1:
            lines.append(f"Steps ({self.steps_total}):")
            lines += ["  " + line for line in self.numbered_steps()]
        elif self.response:
            lines.append(f"Response: {self.response}")
        if self.curl:
            lines.append(f"Reproduce: {self.curl}")
        if self.occurrences > 1:
            lines.append(f"(seen {self.occurrences} times)")
        return "\n".join(lines)

    def numbered_steps(self) -> list[str]:
        """The steps as numbered lines; a stretch left out is one line saying how many steps it holds."""
        lines: list[str] = []
        expected = 1
        for step in self.steps:
            if step.number > expected:
                lines.append(f"… {step.number - expected} steps left out …")
            lines += step.as_text().splitlines()
            expected = step.number + 1
        if self.steps_total >= expected and self.steps:
            lines.append(f"… {self.steps_total - expected + 1} steps left out …")
        return lines


@dataclass
class Outcome:
    rule: str
    resource: str
    status: Status
    reason: str = ""  # why it is not verified or an error
    why: Reason | None = None  # the kind of gap of a unit not verified
    failures: list[FailureRecord] = field(default_factory=list)
    duration: float = 0.0
    internal: bool = False  # an error is an exception inside the suite itself (traceback in the log)

    @property
    def name(self) -> str:
        return f"{self.rule}[{self.resource}]"


@dataclass
class Cleanup:
    """What the run created, removed and left behind, per collection (each removal confirmed by reading):
    created = deleted (by the checks, during the run) + removed (by the cleanup) + the run's own records left."""

    created: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    left: list[tuple[str, str, str]] = field(default_factory=list)  # (collection, id, why)


@dataclass
class Group:
    """Units that ended the same way for the same cause: shown once, with how many and which."""

    status: Status
    headline: str  # the failure's title, or the reason of an error or gap
    units: list[str]
    failure: FailureRecord | None = None  # the first failure of the group, shown in full
    reason: str = ""  # the first unit's own reason, in full
    why: Reason | None = None
    occurrences: int = 0  # failures: how often the finding was seen in all

    @property
    def count(self) -> int:
        return len(self.units)

    @property
    def example(self) -> str:
        """The first unit's own reason, when the headline (what the units share) leaves details out."""
        return self.reason if self.count > 1 and self.reason != self.headline else ""

    @property
    def text(self) -> str:
        """What the group's units share: the reason itself for one unit, the headline for several."""
        return self.reason if self.count == 1 else self.headline


@dataclass
class Report:
    """What a run found. `verdict` and `exit_code` are what a pipeline reads; `summary()` says both."""

    target: str
    tenant: str
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    cleanup: Cleanup = field(default_factory=Cleanup)
    requests: int = 0
    throttled: int = 0
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)
    # Which not-verified reasons the configuration accepts (`Config.accepted`).
    accepted: frozenset[Reason] = frozenset()
    # Why the run stopped before its end ("" when it ran to the end), or why it could not run at all.
    stopped: str = ""
    unable: bool = False  # the run could not start (target unreachable, token refused, mock did not start)
    coverage: list[OperationCoverage] = field(default_factory=list)
    # The tracebacks of the suite's own errors, each once, with the units it ended (the log file shows them).
    tracebacks: list[tuple[str, list[str]]] = field(default_factory=list)

    # -- the verdict --------------------------------------------------------------------------------------------

    @property
    def verdict(self) -> Verdict:
        statuses = {o.status for o in self.outcomes}
        if self.unable:
            return Verdict.UNABLE
        if statuses & {FAILED, ERROR}:
            return Verdict.FAIL
        if NOT_VERIFIED in statuses or not self.outcomes:
            return Verdict.PARTIAL
        return Verdict.PASS

    @property
    def partial_accepted(self) -> bool:
        """A partial run whose every gap is of a reason the configuration accepts."""
        gaps = {o.why or Reason.NOT_APPLICABLE for o in self.outcomes if o.status == NOT_VERIFIED}
        return self.verdict == Verdict.PARTIAL and bool(self.outcomes) and gaps <= self.accepted

    @property
    def exit_code(self) -> int:
        verdict = self.verdict
        if verdict == Verdict.PARTIAL:
            return int(Exit.PASS if self.partial_accepted else Exit.PARTIAL)
        return int({Verdict.PASS: Exit.PASS, Verdict.FAIL: Exit.FAIL, Verdict.UNABLE: Exit.UNABLE}[verdict])

    @property
    def ok(self) -> bool:
        """True when a pipeline may go on: a pass, or a partial run it accepts."""
        return self.exit_code == Exit.PASS

    # -- counts -------------------------------------------------------------------------------------------------

    def counts(self) -> Counter[Status]:
        return Counter(o.status for o in self.outcomes)

    def gaps(self) -> Counter[Reason]:
        """Units not verified, by reason."""
        return Counter(o.why or Reason.NOT_APPLICABLE for o in self.outcomes if o.status == NOT_VERIFIED)

    def failed_rules(self) -> set[str]:
        return {o.rule for o in self.outcomes if o.status == FAILED}

    def failures(self) -> list[FailureRecord]:
        return [f for o in self.outcomes for f in o.failures]

    def summary(self) -> str:
        """`PASS: 203 passed (2522 requests, 23.8s, seed 42)`: the verdict, the counts, the cost."""
        verdict = self.verdict
        head = verdict.value + (" (accepted)" if self.partial_accepted else "")
        counts = self.counts()
        parts = [f"{counts[s]} {s.value}" for s in Status if counts[s]]
        if counts[NOT_VERIFIED]:
            gaps = ", ".join(f"{n} {reason.value}" for reason, n in self.gaps().most_common())
            parts[-1] += f" ({gaps})"
        text = ", ".join(parts) or "no unit run"
        if self.stopped:
            text = f"{self.stopped}; {text}"
        return f"{head}: {text} ({self.requests} requests, {self.duration:.1f}s, seed {self.seed})"

    # -- grouping -----------------------------------------------------------------------------------------------

    def groups(self, status: Status) -> list[Group]:
        """The units of `status`, grouped by cause (failures by finding, the others by reason), largest first."""
        names = {o.resource for o in self.outcomes}
        groups: dict[tuple[Any, ...], Group] = {}
        for outcome in (o for o in self.outcomes if o.status == status):
            if status == FAILED:
                for failure in outcome.failures:
                    key = (
                        failure.code,
                        failure.title,
                        signature(failure.received, names),
                        signature(failure.expected, names),
                    )
                    group = groups.setdefault(key, Group(status, failure.title, [], failure=failure))
                    if outcome.name not in group.units:
                        group.units.append(outcome.name)
                    group.occurrences += failure.occurrences
            else:
                headline = signature(outcome.reason, names)
                group = groups.setdefault(
                    (outcome.why, headline), Group(status, headline, [], reason=outcome.reason, why=outcome.why)
                )
                group.units.append(outcome.name)
        return sorted(groups.values(), key=lambda g: -g.count)
