"""What a run exercised, for the report's coverage view: per operation of the contract, which documented status
codes were observed and which never were, which rules and drivers sent requests to it, and which of its stated
constraints were probed.

Two feeds: the session hands every exchange of the run to `Coverage.observe` (probes and Schemathesis alike,
with the unit or driver that sent it), and checks record each constraint they break on purpose
(`Coverage.constraint`). A reader then sees what was tested deterministically, what was only reached by
random fuzzing, and what was not tested at all.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conformance.verdicts import Status

if TYPE_CHECKING:
    from collect_contract import Operation
    from conformance.http import Exchange


@dataclass(frozen=True)
class ConstraintProbe:
    """One request that broke exactly one stated constraint, and what the target answered."""

    operation_id: str
    location: str  # where the constraint sits: "body.line_items[0].quantity", "query.fields", "path.status"
    keyword: str  # the constraint: "enum", "maximum", "pattern", "required", "x-conditional-required", ...
    status: int | None  # the status the target answered (None: not sent)
    verdict: Status  # passed, failed or not verified
    reason: str = ""  # why a probe was not verified (not sent)


@dataclass
class OperationCoverage:
    """One operation of the contract, as the run exercised it."""

    operation_id: str
    label: str  # "GET /batches/{tenantId}"
    documented: tuple[str, ...]  # the status codes the contract documents for it
    observed: dict[int, int] = field(default_factory=dict)  # status -> responses seen
    exercised_by: tuple[str, ...] = ()  # the rules and drivers whose requests reached it
    constraints: list[ConstraintProbe] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.observed.values())

    @property
    def never(self) -> list[str]:
        """Documented status codes that no response of the run had."""
        return [code for code in self.documented if code.isdigit() and int(code) not in self.observed]

    @property
    def undocumented(self) -> list[int]:
        """Status codes the run saw that the contract does not document for the operation."""
        return sorted(status for status in self.observed if str(status) not in self.documented)


class Coverage:
    """Thread-safe record of what the run's checks exercised."""

    def __init__(self) -> None:
        self.constraints: list[ConstraintProbe] = []
        self._statuses: dict[str, Counter[int]] = {}
        self._senders: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def constraint(self, probe: ConstraintProbe) -> None:
        with self._lock:
            self.constraints.append(probe)

    def observe(self, exchange: Exchange, by: str) -> None:
        """Count one response of an operation, sent for the unit or driver `by`."""
        if exchange.operation is None:
            return
        key = exchange.operation.operation_id
        with self._lock:
            self._statuses.setdefault(key, Counter())[exchange.status] += 1
            if by:
                self._senders.setdefault(key, set()).add(by)

    def view(self, operations: Iterable[Operation]) -> list[OperationCoverage]:
        """Every operation of the contract, exercised or not, in the contract's order."""
        with self._lock:
            probes: dict[str, list[ConstraintProbe]] = {}
            for probe in self.constraints:
                probes.setdefault(probe.operation_id, []).append(probe)
            return [
                OperationCoverage(
                    operation.operation_id,
                    operation.label,
                    tuple(operation.statuses),
                    dict(sorted(self._statuses.get(operation.operation_id, Counter()).items())),
                    tuple(sorted(self._senders.get(operation.operation_id, ()))),
                    probes.get(operation.operation_id, []),
                )
                for operation in operations
            ]
