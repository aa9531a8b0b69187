"""Issues 6 and 16's targets, each checked against the run's figures: met, missed (by how much), or not measured.

Issue 16 (a million records within a CI runner's memory) raised the bars of issue 6 where they overlap: the GET
at 32 connections and the writes against the ceiling, the start, memory per record, and kill -9 at the largest
size."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from benchmarks.cases import LOOKUPS, WRITES
from benchmarks.probes import Durability
from benchmarks.proxy import ADDED_LIMIT_MS
from benchmarks.results import Results, label, ratio

STARTUP_LIMIT_S = 5.0  # issue 6, at the largest size when no size below is in the run
STARTUP_LIMITS_S = {100_000: 2.0, 1_000_000: 20.0}  # issue 16
MEMORY_LIMIT_BYTES = 2.5 * 1024  # issue 16: resident bytes per record beyond the baseline, at 100k and 1M
MEMORY_SIZES = (100_000, 1_000_000)
CONFORMANCE_LIMIT_S = 300.0


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    figure: str
    met: bool | None  # None: not measured in this run

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**missed**", None: "not measured"}[self.met]


def _all(checks: list[bool]) -> bool | None:
    return all(checks) if checks else None


def evaluate(results: Results) -> list[Target]:
    return list(_evaluate(results))


def _evaluate(results: Results) -> Iterator[Target]:
    o, s = results.options, results.samples
    big, small = (max(o.sizes), min(o.sizes)) if o.sizes else (0, 0)
    conc = o.concurrency

    def versus_ceiling(op: str, reference: str, floors: dict[int, float]) -> Target:
        ratios = {c: s.ratio(("mock", big, op), ("ceiling", None, reference), c) for c in conc}
        figure = ", ".join(f"{ratio(r)} at c={c}" for c, r in ratios.items())
        met = _all([r >= floors.get(c, max(floors.values())) for c, r in ratios.items() if r is not None])
        goal = ", ".join(f">= {floor}x at c={c}" for c, floor in floors.items())
        return Target(f"{op} at {label(big)}: share of the ceiling", goal, figure, met)

    def versus_small(op: str) -> Target:
        ratios = {c: s.ratio(("mock", big, op), ("mock", small, op), c) for c in conc}
        figure = ", ".join(f"{ratio(r)} of {label(small)}'s req/s at c={c}" for c, r in ratios.items())
        met = _all([r >= 1 / 1.2 for r in ratios.values() if r is not None])
        return Target(f"{op}: {label(big)} within 1.2x of {label(small)}", ">= 0.83x the req/s", figure, met)

    for op, reference, floors in (
        ("get", "get", {1: 0.35, 32: 0.8}),
        ("create", "create", {1: 0.3, 32: 0.3}),
        ("put", "create", {1: 0.3, 32: 0.3}),
        ("patch", "create", {1: 0.3, 32: 0.3}),
    ):
        if op in o.ops:
            yield versus_ceiling(op, reference, floors)
            if big != small:
                yield versus_small(op)
    yield _durability(results, results.durability, min(o.sizes) if o.sizes else None)
    if results.durability_big is not None:
        yield _durability(results, results.durability_big, big)
    yield _no_rewrite(results)
    for op in LOOKUPS:
        if op in o.ops:
            yield _page_cost(results, op)
    yield _walk(results)
    yield from _startup(results)
    yield from _memory(results)
    yield from _prism(results)
    yield _proxy(results)
    yield _conformance(results)


def _durability(results: Results, d: Durability | None, size: int | None) -> Target:
    name, goal = f"acknowledged writes survive kill -9 at {label(size)}", "all found after restart"
    if d is None:
        return Target(name, goal, "not run (--no-durability)", None)
    figure = f"{d.found} of {d.acknowledged} found ({d.compactions} compactions during the storm"
    figure += ", one in progress at the kill)" if d.compacting_at_kill else ")"
    return Target(name, goal, figure, d.kept)


def _no_rewrite(results: Results) -> Target:
    """A request that paid for a whole-file rewrite would take at least as long as one: compare the slowest."""
    name, goal = "no request pays for a whole-file rewrite", "slowest write < one rewrite"
    big = max(results.sizes, default=None)
    writes = [s for s in results.samples.items if s.target == "mock" and s.size == big and s.op in WRITES]
    if big is None or not writes or not results.sizes[big].stop_s:
        return Target(name, goal, "", None)
    slowest = max(s.measurement.max_ms for s in writes)
    rewrite = results.sizes[big].stop_s
    compactions = sum(s.compactions for s in writes)
    figure = (
        f"slowest of {sum(s.measurement.requests for s in writes):,} writes at {label(big)}: {slowest:.0f} ms; "
        f"a whole-file rewrite: {rewrite:.1f} s; {compactions} background compactions during the writes"
    )
    return Target(name, goal, figure, slowest < rewrite * 1000)


def _page_cost(results: Results, op: str) -> Target:
    """Per-request time at c=1 may grow with the page (items), not with the tenant: allowed 1.2 x item growth."""
    sizes = sorted(results.options.sizes)
    big = sizes[-1]
    checks, parts = [], []
    for small in sizes[:-1]:
        time_ratio = results.samples.ratio(("mock", small, op), ("mock", big, op), 1)  # rps small / rps big
        items_small = results.sizes[small].items.get(op, 0)
        items_big = results.sizes[big].items.get(op, 0)
        if time_ratio is None or not items_small:
            continue
        allowed = 1.2 * max(1.0, items_big / items_small)
        checks.append(time_ratio <= allowed)
        parts.append(
            f"{label(big)}/{label(small)}: {time_ratio:.2f}x the time for {items_big}/{items_small} items "
            f"(allowed {allowed:.2f}x)"
        )
    return Target(
        f"{op}: cost follows the page, not the tenant",
        "time ratio <= 1.2 x page growth",
        "; ".join(parts),
        _all(checks),
    )


def _walk(results: Results) -> Target:
    walks = {scale: min(w.us_per_record for w in found) for scale, found in results.walks.items() if found}
    if len(walks) < 2:
        return Target("full list walk is linear", "us/record within 1.2x across sizes", "", None)
    big = max(walks)
    ratios = {small: walks[big] / walks[small] for small in walks if small != big}
    figure = ", ".join(f"{label(big)}/{label(small)}: {r:.2f}x per record" for small, r in ratios.items())
    figure += f" ({walks[big]:.1f} us/record at {label(big)})"
    return Target(
        "full list walk is linear", "us/record within 1.2x across sizes", figure, all(r <= 1.2 for r in ratios.values())
    )


def _startup(results: Results) -> Iterator[Target]:
    if not results.sizes:
        yield Target("startup", f"< {STARTUP_LIMIT_S:.0f} s", "", None)
        return
    limits = {size: limit for size, limit in STARTUP_LIMITS_S.items() if size in results.sizes}
    if not limits:
        limits = {max(results.sizes): STARTUP_LIMIT_S}
    for size, limit in limits.items():
        info = results.sizes[size]
        figure = f"{info.startup_s:.1f} s with {info.records} records; RSS {info.rss_mb:.0f} MB after start"
        yield Target(f"startup at {label(size)}", f"< {limit:g} s", figure, info.startup_s < limit)


def _memory(results: Results) -> Iterator[Target]:
    for size in MEMORY_SIZES:
        info = results.sizes.get(size)
        if info is None:
            continue
        per = info.bytes_per_record(results.baseline_mb)
        name, goal = (
            f"memory per record at {label(size)}",
            f"<= {MEMORY_LIMIT_BYTES / 1024:g} KB ({MEMORY_LIMIT_BYTES:.0f} B)",
        )
        if per is None:
            yield Target(name, goal, "no baseline measured", None)
            continue
        figure = (
            f"{per:,.0f} B per record: RSS {info.rss_mb:.0f} MB with {info.records:,} records, "
            f"{results.baseline_mb:.0f} MB with none"
        )
        yield Target(name, goal, figure, per <= MEMORY_LIMIT_BYTES)


def _prism(results: Results) -> Iterator[Target]:
    s, o = results.samples, results.options
    if not s.of("prism", None, "get", o.concurrency[0]):
        yield Target("ahead of Prism", "GET >= 1.5x, POST >= 1x", results.prism, None)
        return
    big = max(o.sizes)
    for op, floor in (("get", 1.5), ("create", 1.0)):
        if op not in o.ops:
            continue
        ratios = {c: s.ratio(("mock", big, op), ("prism", None, op), c) for c in o.concurrency}
        figure = ", ".join(f"{ratio(r)} at c={c}" for c, r in ratios.items())
        met = _all([r >= floor for r in ratios.values() if r is not None])
        yield Target(f"{op} at {label(big)} vs Prism", f">= {floor}x Prism's req/s", figure, met)


def _proxy(results: Results) -> Target:
    """Issue 15: the validating recorder adds under 2 ms at the median to a GET on loopback (c=1), against the
    same GET sent to the mock it fronts, in the same repeat."""
    o, s = results.options, results.samples
    name, goal = "collect-mock proxy: time added to a GET at c=1", f"< {ADDED_LIMIT_MS:g} ms at the median"
    if not o.proxy:
        return Target(name, goal, "not run (--no-proxy)", None)
    small = min(o.sizes) if o.sizes else 0
    added = s.difference(("proxy", None, "get"), ("mock", small, "get"), 1)
    through, direct = s.summary("proxy", None, "get", 1), s.summary("mock", small, "get", 1)
    if added is None or through is None or direct is None:
        return Target(name, goal, "", None)
    share = s.ratio(("proxy", None, "get"), ("mock", small, "get"), 1)
    figure = (
        f"+{added:.2f} ms (p50 {through.p50_ms:.2f} ms through it, {direct.p50_ms:.2f} ms direct); "
        f"{ratio(share)} the req/s of a direct request"
    )
    return Target(name, goal, figure, added < ADDED_LIMIT_MS)


def _conformance(results: Results) -> Target:
    c = results.conformance
    goal = f"< {CONFORMANCE_LIMIT_S / 60:.0f} min"
    if c is None:
        return Target("conformance suite, default run", goal, "not run (--no-conformance)", None)
    if c.state == "absent":
        return Target("conformance suite, default run", goal, "TODO: collect-conformance is not available yet", None)
    figure = f"{c.seconds:.0f} s, {c.state} (exit {c.exit_code})"
    return Target("conformance suite, default run", goal, figure, c.seconds < CONFORMANCE_LIMIT_S)
