"""Drift as it accumulates: each observation counted into its group (operation, kind, location, field), the
first one kept whole as the example, the values seen kept as the evidence for a proposed contract change.

Thread-safe and bounded: a proxy under load adds drift from its checker thread while the admin API reads it.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from collect_drift.model import Drift, DriftKind, Location

MAX_VALUES = 5  # distinct values kept per group
MAX_WHERE = 5  # places (steps, requests) named per group
MAX_GROUPS = 2_000  # beyond this, new groups are counted, not kept


@dataclass
class Group:
    """Every observation of one drift: where it sits, how often it was seen, the first one in full."""

    first: Drift
    count: int = 0
    types: Counter[str] = field(default_factory=Counter)  # JSON types of the observed values
    values: list[Any] = field(default_factory=list)  # distinct observed values (the first MAX_VALUES)
    statuses: Counter[int] = field(default_factory=Counter)
    where: list[str] = field(default_factory=list)
    projected: bool = True  # every observation was of a projected answer (fields named)

    @property
    def kind(self) -> DriftKind:
        return self.first.kind

    @property
    def operation_id(self) -> str:
        return self.first.operation_id

    @property
    def operation(self) -> str:
        return self.first.operation

    @property
    def location(self) -> Location:
        return self.first.location

    @property
    def pattern(self) -> str:
        return self.first.pattern

    def add(self, drift: Drift) -> None:
        self.count += 1
        evidence = drift.evidence
        if evidence.json_type:
            self.types[evidence.json_type] += 1
        if evidence.value is not None and evidence.value not in self.values and len(self.values) < MAX_VALUES:
            self.values.append(evidence.value)
        if evidence.status is not None:
            self.statuses[evidence.status] += 1
        if drift.where and len(self.where) < MAX_WHERE:
            self.where.append(drift.where)
        self.projected = self.projected and evidence.projected


class DriftLog:
    def __init__(self, max_groups: int = MAX_GROUPS) -> None:
        self._groups: dict[tuple[str, DriftKind, Location, str], Group] = {}
        self._lock = threading.Lock()
        self.max_groups = max_groups
        self.dropped = 0  # observations of groups beyond `max_groups`

    def add(self, drift: Drift) -> None:
        with self._lock:
            group = self._groups.get(drift.key)
            if group is None:
                if len(self._groups) >= self.max_groups:
                    self.dropped += 1
                    return
                group = self._groups[drift.key] = Group(drift)
            group.add(drift)

    def extend(self, drifts: list[Drift]) -> None:
        for drift in drifts:
            self.add(drift)

    def groups(self) -> list[Group]:
        """Grouped by operation, then kind and field, in a stable order."""
        with self._lock:
            found = list(self._groups.values())
        order = {kind: i for i, kind in enumerate(DriftKind)}
        return sorted(found, key=lambda g: (g.operation, order[g.kind], g.location.value, g.pattern))

    @property
    def total(self) -> int:
        with self._lock:
            return sum(g.count for g in self._groups.values()) + self.dropped

    def counts(self) -> Counter[DriftKind]:
        with self._lock:
            counts: Counter[DriftKind] = Counter()
            for group in self._groups.values():
                counts[group.kind] += group.count
            return counts

    def clear(self) -> None:
        with self._lock:
            self._groups.clear()
            self.dropped = 0
