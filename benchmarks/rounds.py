"""The measured rounds: every case, repeated, interleaved with the comparison points it is judged against.

All read repeats come first, then all write repeats, so that no read sees a record the benchmark created. In each
repeat and at each concurrency, the ceiling and Prism run right before the mock cases they are compared with.
While a write case runs, the mock may fold its log into a new snapshot in a forked child (every N writes); the
case records it, because that child competes with the server and wrk for this machine's two cores.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks import cases, wrk
from benchmarks.options import Options
from benchmarks.probes import SnapshotWatch
from benchmarks.results import Results, label
from benchmarks.servers import Server
from benchmarks.stats import Sample

Scripts = dict[tuple[int | None, str], Path]


def write_scripts(folder: Path, plans: dict[int | None, dict[str, cases.Case]]) -> Scripts:
    """One Lua script per (size, operation); size None is the ceiling's and Prism's."""
    folder.mkdir(parents=True, exist_ok=True)
    scripts: Scripts = {}
    for scale, plan in plans.items():
        for op, case in plan.items():
            path = folder / f"{label(scale)}-{op}.lua"
            path.write_text(wrk.lua_script(case.requests))
            scripts[(scale, op)] = path
    return scripts


def run_rounds(
    options: Options,
    mocks: dict[int, Server],
    watches: dict[int, SnapshotWatch],
    others: dict[str, Server],
    scripts: Scripts,
    results: Results,
    say: Callable[[str], None],
) -> None:
    for reference, kind in (("get", cases.READS), ("create", cases.WRITES)):
        ops = [op for op in options.ops if op in kind]
        for repeat in range(1, options.repeats + 1):
            for concurrency in options.concurrency:
                plan: list[tuple[str, int | None, str, Server]] = [
                    (name, None, reference, server) for name, server in others.items()
                ]
                plan += [
                    ("mock", scale, op, mocks[scale])
                    for op in ops
                    if concurrency in options.levels(op)
                    for scale in mocks
                ]
                for target, scale, op, server in plan:
                    script = scripts[(scale, op)]
                    if repeat == 1 and options.warmup > 0:
                        wrk.run(server.base_url, script, concurrency, options.warmup, options.wrk_threads)
                        drain(server)
                    watch = watches.get(scale) if target == "mock" and scale is not None else None
                    if watch:
                        watch.replaced()  # start from now
                    measured = wrk.run(server.base_url, script, concurrency, options.duration, options.wrk_threads)
                    drain(server)
                    compactions = int(watch.replaced() or watch.compacting) if watch else 0
                    results.samples.add(Sample(target, scale, op, concurrency, repeat, measured, compactions))
                    say(progress(repeat, options.repeats, target, scale, op, concurrency, measured, compactions))


def drain(server: Server) -> None:
    """Wait until the server has worked off what wrk left queued (wrk stops without waiting for answers), so
    that a slow case does not eat into the next one's time."""
    httpx.get(server.base_url + "/", timeout=300)


def progress(
    repeat: int, repeats: int, target: str, scale: int | None, op: str, c: int, m: wrk.Measurement, compactions: int
) -> str:
    flag = "" if m.ok else f"  FAILED: {m.status_errors} error statuses, {m.socket_errors} socket errors"
    flag += "  (compacting)" if compactions else ""
    return (
        f"[{repeat}/{repeats}] c={c:<2} {target:<7} {label(scale):>4} {op:<11} {m.rps:>8.0f} req/s"
        f"  p50 {m.p50_ms:6.2f} ms  p99 {m.p99_ms:7.2f} ms  max {m.max_ms:7.1f} ms{flag}"
    )
