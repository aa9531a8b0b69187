"""`python -m benchmarks` (`make bench`): run the benchmark, print the tables, write docs/benchmarks.md.

    python -m benchmarks                          # the whole benchmark (about 10-15 minutes)
    python -m benchmarks --quick                  # 1k and 10k, one short repeat, no conformance run
    python -m benchmarks --sizes 1000 --ops get,create --no-prism --out -
    python -m benchmarks --sizes 1k,10k,100k,1m   # with the million-record set (the documented run)
    python -m benchmarks --report-only            # render the last run again, after editing the prose

Errors are printed as `Type: message` with exit status 1; Ctrl-C stops every server first (exit status 130).
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import signal
import sys
from pathlib import Path

from benchmarks import prerequisites, report, runner
from benchmarks.cases import OPS
from benchmarks.options import Options
from benchmarks.results import Results

LAST_RUN = "last-run.pickle"  # the results of the last run, for --report-only
QUICK = {
    "sizes": (1_000, 10_000),
    "duration": 1.0,
    "warmup": 0.5,
    "repeats": 1,
    "walk_repeats": 1,
    "conformance": False,
}


def _count(part: str) -> int:
    """`1000`, `1_000`, `1k` or `1m`."""
    part = part.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
    return int(part[:-1] if factor > 1 else part) * factor


def _ints(raw: str) -> tuple[int, ...]:
    try:
        values = tuple(_count(part) for part in raw.split(",") if part)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a comma-separated list of integers") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{raw!r}: give at least one positive integer")
    return values


def _ops(raw: str) -> tuple[str, ...]:
    ops = tuple(part for part in raw.split(",") if part)
    unknown = [op for op in ops if op not in OPS]
    if unknown or not ops:
        raise argparse.ArgumentTypeError(f"unknown operation(s) {unknown}; choose from {', '.join(OPS)}")
    return ops


def build_parser() -> argparse.ArgumentParser:
    defaults = Options()
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--sizes",
        type=_ints,
        help=f"record counts, 1k and 1m allowed (default: {','.join(map(str, defaults.sizes))}; "
        "the documented run adds 1m)",
    )
    p.add_argument("--seed", type=int, help=f"generator seed (default: {defaults.seed})")
    p.add_argument("--concurrency", type=_ints, help="wrk connections (default: 1,32)")
    p.add_argument("--ops", type=_ops, help=f"operations (default: all: {','.join(OPS)})")
    p.add_argument("--duration", type=float, help=f"seconds per measurement (default: {defaults.duration:g})")
    p.add_argument("--warmup", type=float, help=f"warm-up seconds per case (default: {defaults.warmup:g})")
    p.add_argument("--repeats", type=int, help=f"repeats per case (default: {defaults.repeats})")
    p.add_argument("--walk-repeats", type=int, help=f"full list walks per size (default: {defaults.walk_repeats})")
    p.add_argument("--no-prism", dest="prism", action="store_false", default=None, help="skip Prism")
    p.add_argument("--no-proxy", dest="proxy", action="store_false", default=None, help="skip the recorder")
    p.add_argument("--no-durability", dest="durability", action="store_false", default=None)
    p.add_argument("--no-conformance", dest="conformance", action="store_false", default=None)
    p.add_argument("--data", type=Path, help=f"cache of data sets, Prism and logs (default: {defaults.data})")
    p.add_argument("--out", help=f"markdown file to write, '-' for none (default: {defaults.out})")
    p.add_argument("--quick", action="store_true", help="a short run to try the harness")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="render the last run's results again (after editing benchmarks/method.md or findings.md)",
    )
    return p


def options_from(args: argparse.Namespace) -> Options:
    options = Options().replace(**QUICK) if args.quick else Options()
    options = options.replace(
        sizes=args.sizes,
        seed=args.seed,
        concurrency=args.concurrency,
        ops=args.ops,
        duration=args.duration,
        warmup=args.warmup,
        repeats=args.repeats,
        walk_repeats=args.walk_repeats,
        prism=args.prism,
        proxy=args.proxy,
        durability=args.durability,
        conformance=args.conformance,
        data=args.data,
    )
    if args.out == "-":
        return dataclasses.replace(options, out=None)
    return options.replace(out=Path(args.out) if args.out else None)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM too unwinds through the finally blocks that stop the servers


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = options_from(args)
    saved = options.data / LAST_RUN
    if args.report_only:
        if not saved.exists():
            print(f"BenchmarkError: no results at {saved}: run the benchmark first", file=sys.stderr)
            return 1
        return _publish(pickle.loads(saved.read_bytes()), options.out)
    ready, lines = prerequisites.report(options.prism)
    for line in lines:
        print(line, file=sys.stderr)
    if not ready:
        return 1
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"benchmark: about {options.wrk_seconds() / 60:.1f} min of wrk, plus data, walks and checks", flush=True)
    try:
        results = runner.run(options, say=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        print("interrupted: every server was stopped", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - report, do not crash; the servers are stopped by now
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    saved.write_bytes(pickle.dumps(results))
    return _publish(results, options.out)


README = Path("README.md")
README_START, README_END = "<!-- benchmark: start -->", "<!-- benchmark: end -->"


def _publish(results: Results, out: Path | None) -> int:
    text = report.render(results)
    print("\n" + text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"written to {out}")
        if _update_readme(README, report.readme_table(results)):
            print(f"and its summary to {README}")
    return 0


def _update_readme(readme: Path, summary: str) -> bool:
    """Replace the summary between README's markers (a README without them is left alone)."""
    if not readme.exists():
        return False
    text = readme.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    readme.write_text(text[: start + len(README_START)] + "\n" + summary + "\n" + text[end:])
    return True
