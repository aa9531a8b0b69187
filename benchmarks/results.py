"""What a run found, as plain data: the report and the targets read it, the runner fills it."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmarks.options import Options
from benchmarks.probes import Conformance, Durability
from benchmarks.stats import Samples
from benchmarks.walk import Walk


def label(scale: int | None) -> str:
    """1000 -> 1k; the ceiling and Prism have no size."""
    if scale is None:
        return "-"
    if scale % 1_000_000 == 0:
        return f"{scale // 1_000_000}M"
    return f"{scale // 1000}k" if scale % 1000 == 0 else str(scale)


def ratio(value: float | None) -> str:
    """1.234 -> 1.23x; a ratio that could not be measured -> n/a."""
    return "n/a" if value is None else f"{value:.2f}x"


@dataclass
class SizeInfo:
    """What the benchmark saw of the mock serving one data set."""

    scale: int
    records: int
    startup_s: float
    rss_mb: float
    peak_mb: float
    records_end: int = 0
    stop_s: float = 0.0  # a clean stop compacts: the time of one whole-file rewrite, off any request
    items: dict[str, int] = field(default_factory=dict)  # records per answered page, per read op

    def bytes_per_record(self, baseline_mb: float) -> float | None:
        """Resident memory per record beyond the interpreter's baseline (a mock serving no record)."""
        if not self.records or not baseline_mb:
            return None
        return (self.rss_mb - baseline_mb) * 1_048_576 / self.records


@dataclass
class Results:
    options: Options
    machine: dict[str, str]
    started: float
    finished: float = 0.0
    sizes: dict[int, SizeInfo] = field(default_factory=dict)
    samples: Samples = field(default_factory=Samples)
    walks: dict[int, list[Walk]] = field(default_factory=dict)
    prism: str = "not run"
    durability: Durability | None = None  # on the smallest set
    durability_big: Durability | None = None  # on the largest set, when it is another
    baseline_mb: float = 0.0  # RSS of a mock serving an empty database, after start
    conformance: Conformance | None = None
