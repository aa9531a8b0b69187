"""Samples and how they are summarised: medians over repeats, and ratios paired within a repeat.

A ratio (mock/ceiling, 100k/1k, mock/Prism) is taken between two measurements of the same repeat, which ran
back to back, and the median of those per-repeat ratios is reported: drift on a shared machine then hits both
sides of each ratio alike.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from benchmarks.wrk import Measurement


@dataclass(frozen=True)
class Sample:
    target: str  # mock, ceiling or prism
    size: int | None  # records in the data set (None for the ceiling and Prism)
    op: str
    concurrency: int
    repeat: int
    measurement: Measurement
    compactions: int = 0  # snapshots the mock replaced (in a forked child) while this case ran, or was replacing


@dataclass(frozen=True)
class Summary:
    """Medians over repeats of one case."""

    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float  # the slowest request over all repeats
    compactions: int  # over all repeats
    repeats: int
    failed: int  # requests answered with an error status or lost on the socket, over all repeats

    @property
    def us_per_request(self) -> float:
        return 1e6 / self.rps if self.rps else 0.0


class Samples:
    def __init__(self, samples: Iterable[Sample] = ()):
        self.items: list[Sample] = list(samples)

    def add(self, sample: Sample) -> None:
        self.items.append(sample)

    def of(self, target: str, size: int | None, op: str, concurrency: int) -> list[Sample]:
        return [
            s
            for s in self.items
            if s.target == target and s.size == size and s.op == op and s.concurrency == concurrency
        ]

    def summary(self, target: str, size: int | None, op: str, concurrency: int) -> Summary | None:
        samples = self.of(target, size, op, concurrency)
        found = [s.measurement for s in samples]
        if not found:
            return None
        return Summary(
            rps=statistics.median(m.rps for m in found),
            p50_ms=statistics.median(m.p50_ms for m in found),
            p99_ms=statistics.median(m.p99_ms for m in found),
            max_ms=max(m.max_ms for m in found),
            compactions=sum(s.compactions for s in samples),
            repeats=len(found),
            failed=sum(m.status_errors + m.socket_errors for m in found),
        )

    def ratio(
        self,
        top: tuple[str, int | None, str],
        bottom: tuple[str, int | None, str],
        concurrency: int,
        metric: Callable[[Measurement], float] = lambda m: m.rps,
    ) -> float | None:
        """Median over repeats of metric(top) / metric(bottom), each pair from the same repeat."""
        tops = {s.repeat: metric(s.measurement) for s in self.of(*top, concurrency)}
        bottoms = {s.repeat: metric(s.measurement) for s in self.of(*bottom, concurrency)}
        pairs = [tops[r] / bottoms[r] for r in tops if r in bottoms and bottoms[r]]
        return statistics.median(pairs) if pairs else None

    def difference(
        self,
        top: tuple[str, int | None, str],
        bottom: tuple[str, int | None, str],
        concurrency: int,
        metric: Callable[[Measurement], float] = lambda m: m.p50_ms,
    ) -> float | None:
        """Median over repeats of metric(top) - metric(bottom), each pair from the same repeat."""
        tops = {s.repeat: metric(s.measurement) for s in self.of(*top, concurrency)}
        bottoms = {s.repeat: metric(s.measurement) for s in self.of(*bottom, concurrency)}
        pairs = [tops[r] - bottoms[r] for r in tops if r in bottoms]
        return statistics.median(pairs) if pairs else None
