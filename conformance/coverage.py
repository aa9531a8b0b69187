"""What a run exercised, for the report's coverage view: which constraints of the contract were probed.

Checks record each constraint they break on purpose (`Coverage.constraint`); the report lists them, so a reader
sees what was tested deterministically and what was left to random fuzzing or not tested at all.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class ConstraintProbe:
    """One request that broke exactly one stated constraint, and what the target answered."""

    operation_id: str
    location: str  # where the constraint sits: "body.line_items[0].quantity", "query.fields", "path.status"
    keyword: str  # the constraint: "enum", "maximum", "pattern", "required", "x-conditional-required", ...
    status: int | None  # the status the target answered (None: not sent)
    verdict: str  # "passed", "failed" or "not verified"
    reason: str = ""  # why a probe was not verified (not sent)


class Coverage:
    """Thread-safe record of what the run's checks exercised."""

    def __init__(self) -> None:
        self.constraints: list[ConstraintProbe] = []
        self._lock = threading.Lock()

    def constraint(self, probe: ConstraintProbe) -> None:
        with self._lock:
            self.constraints.append(probe)
