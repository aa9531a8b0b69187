"""The result of a run: an outcome per rule and resource, each failure with a curl reproduction."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"


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
    curl: str = ""
    response: str = ""
    occurrences: int = 1

    def as_text(self) -> str:
        lines = [
            f"{self.title} [{self.code}] in {self.operation}",
            f"Received: {self.received}",
            f"Expected: {self.expected}",
        ]
        if self.note:
            lines.append(self.note)
        if self.response:
            lines.append(f"Response: {self.response}")
        if self.curl:
            lines.append(f"Reproduce: {self.curl}")
        if self.occurrences > 1:
            lines.append(f"(seen {self.occurrences} times)")
        return "\n".join(lines)


@dataclass
class Outcome:
    rule: str
    resource: str
    status: str
    reason: str = ""
    failures: list[FailureRecord] = field(default_factory=list)
    duration: float = 0.0


@dataclass
class Cleanup:
    """What the run created, removed and left behind, per collection (each removal confirmed by reading)."""

    created: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    left: list[tuple[str, str, str]] = field(default_factory=list)  # (collection, id, why)


@dataclass
class Report:
    """What a run found. `ok` is False when any rule failed or could not be checked because of an error."""

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

    @property
    def ok(self) -> bool:
        return not any(o.status in (FAILED, ERROR) for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)

    def failed_rules(self) -> set[str]:
        return {o.rule for o in self.outcomes if o.status == FAILED}

    def failures(self) -> list[FailureRecord]:
        return [f for o in self.outcomes for f in o.failures]

    def summary(self) -> str:
        counts = self.counts()
        parts = ", ".join(f"{counts[s]} {s}" for s in (PASSED, FAILED, ERROR, SKIPPED) if counts[s])
        return f"{parts or 'nothing run'} ({self.requests} requests, {self.duration:.1f}s, seed {self.seed})"
