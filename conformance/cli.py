"""`collect-conformance`: check a Collect implementation against the contract, from the command line.

    collect-conformance --base-url URL --token T --tenant ID [--other-tenant ID] [--spec PATH]
                        [--rules IDS] [--skip-rules IDS] [--max-examples N] [--seed N] [--read-only]
                        [--junit-xml FILE] [--report FILE] [--workers N] [--budget N] [--rate-limit R]
    collect-conformance --spawn-mock [...]     start a fresh mock, check it, stop it
    collect-conformance --differential [--oracle URL] [...]   compare with a fresh mock, step by step (drift)
    collect-conformance --list-rules           print the rule catalog

The token may come from COLLECT_CONFORMANCE_TOKEN instead (likewise BASE_URL, TENANT, OTHER_TENANT).
Results go to stdout, progress to stderr. The report files are written whatever the outcome.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from conformance import output, spawn
from conformance.config import Config, log_path
from conformance.errors import ConfigError, ConformanceError, Reason
from conformance.progress import ProgressPrinter
from conformance.registry import REGISTRY
from conformance.report import Report
from conformance.runner import INTERNAL, Runner, unable
from conformance.verdicts import Exit

EXIT_USAGE, EXIT_UNABLE = int(Exit.USAGE), int(Exit.UNABLE)
EPILOG = f"""exit status:
  0  PASS: every selected unit (rule x resource) was verified and passed
     (or PARTIAL, when --accept-partial accepts every reason a unit was not verified)
  1  FAIL: a rule failed, or the suite met an error of its own
  2  bad usage or configuration: nothing was run
  3  COULD NOT RUN: target unreachable, token refused, mock did not start, or a report file
     could not be written (the reports that could be written say why)
  4  PARTIAL: nothing failed, but some units could not be verified

reasons a unit is not verified (for --accept-partial):
  {", ".join(r.value for r in Reason)}
"""


def _ids(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _accepted(raw: str) -> bool | tuple[str, ...]:
    return True if raw == "all" else _ids(raw)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="collect-conformance",
        description=(__doc__ or "").split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    target = parser.add_argument_group("target")
    target.add_argument("--base-url", help="the API to check, e.g. https://collect.api.example.com")
    target.add_argument("--token", help="its token (better: COLLECT_CONFORMANCE_TOKEN)")
    target.add_argument("--tenant", help="the one tenant the suite may write to")
    target.add_argument("--other-tenant", help="a tenant the token must NOT reach (enables the 403/isolation rules)")
    target.add_argument("--spec", type=Path, help="the contract (default: the packaged collect.yaml)")
    target.add_argument("--spawn-mock", action="store_true", help="start a fresh mock server and check it")
    target.add_argument("--differential", action="store_true", default=None, help="drift: compare with a fresh mock")
    target.add_argument("--oracle", help="with --differential: the mock to compare with, instead of a fresh one")
    run = parser.add_argument_group("selection and generation")
    run.add_argument("--rules", type=_ids, help="rule ids or areas to run, comma-separated (default: all)")
    run.add_argument("--skip-rules", type=_ids, help="rule ids or areas to leave out")
    run.add_argument("--max-examples", type=int, help="Schemathesis examples per operation and mode (default: 10)")
    run.add_argument("--seed", type=int, help="fixes every random choice; a failing run prints the one it used")
    run.add_argument("--read-only", action="store_true", default=None, help="send GET requests only")
    run.add_argument("--workers", type=int, help="units run in parallel (default: 2)")
    run.add_argument(
        "--tolerate", type=_ids, help="known deviations to count instead of fail: date-format, unicode-word"
    )
    run.add_argument("--paging-records", type=int, help="records per paging walk (default: 7)")
    polite = parser.add_argument_group("politeness")
    polite.add_argument("--budget", type=int, help="most requests to send (default: 10000)")
    polite.add_argument("--rate-limit", type=float, help="most requests per second, 0 for no limit (default: 20)")
    polite.add_argument("--timeout", type=float, help="seconds per request (default: 30)")
    out = parser.add_argument_group("verdict and output")
    out.add_argument(
        "--accept-partial",
        type=_accepted,
        nargs="?",
        const="all",
        metavar="REASONS",
        help="exit 0 when nothing failed though some units were not verified: for any reason, or only for the "
        "reasons named (comma-separated, listed below); the summary still says PARTIAL",
    )
    out.add_argument("--junit-xml", type=Path, help="write a JUnit XML report")
    out.add_argument("--report", type=Path, help="write a Markdown report (.html for HTML)")
    out.add_argument("--log", type=Path, help="write the log here (default: beside the report, as .log)")
    out.add_argument("--quiet", action="store_true", help="no progress display (the results are still printed)")
    out.add_argument("--list-rules", action="store_true", help="print the rule catalog and exit")
    return parser


def config_from(args: argparse.Namespace, **target: Any) -> Config:
    options = {name: getattr(args, name) for name in (
        "base_url", "token", "tenant", "other_tenant", "spec", "rules", "skip_rules", "max_examples", "seed",
        "read_only", "workers", "tolerate", "paging_records", "budget", "rate_limit", "timeout", "junit_xml", "report",
        "log", "accept_partial", "differential", "oracle",
    )}  # fmt: skip
    options.update({k: v for k, v in target.items() if options.get(k) is None})
    return Config.from_env(**options, progress=not args.quiet)


def list_rules() -> int:
    from conformance import rules  # noqa: F401  (registers the catalog)

    for rule in REGISTRY.all():
        print(f"{rule.id:34} {rule.statement}")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_rules:
        return list_rules()
    with _terminate_unwinds():
        try:
            with spawn.spawned_mock() if args.spawn_mock else nullcontext() as mock:
                spawned = {"rate_limit": 0.0, **vars(mock)} if mock else {}
                return execute(config_from(args, **spawned))
        except ConfigError as exc:
            print(f"collect-conformance: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except ConformanceError as exc:  # the mock did not start: no config to run with, the files still tell
            return _could_not_start(args, str(exc))
        except KeyboardInterrupt:
            return 130


@contextmanager
def _terminate_unwinds() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C while the run lasts, so that a spawned mock (in a process group of its own) is
    stopped; the previous handler is back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def execute(config: Config) -> int:
    """Run, with a progress display unless `config.progress` is off; write the report files whatever happens."""
    if config.differential:
        from conformance.differential import execute as differential

        return differential(config)
    runner = Runner(config)
    printer = ProgressPrinter(runner.session.redact)
    try:
        runner.preflight()
    except ConformanceError as exc:
        runner.close()
        report = unable(runner.config, runner.session.redact(str(exc)))
        report.requests, report.duration = runner.session.guard.sent, time.monotonic() - runner.started
        return _finish(runner, printer, report)
    if config.progress:
        printer.start(runner.config, len(runner.units()))
    try:
        report = runner.run(printer if config.progress else None)
    except Exception as exc:  # noqa: BLE001 - the run itself broke: still say so in every file
        runner.close()
        report = unable(runner.config, runner.session.redact(f"{INTERNAL}: {type(exc).__name__}: {exc}"))
        report.tracebacks = [(runner.session.redact("".join(traceback.format_exception(exc))), ["run"])]
        report.requests, report.duration = runner.session.guard.sent, time.monotonic() - runner.started
        return _finish(runner, printer, report)
    printer.finish(report, runner.written)
    return _exit(report, runner.write_problems)


def _finish(runner: Runner, printer: ProgressPrinter, report: Report) -> int:
    problems = runner.write_reports(report)
    printer.finish(report, runner.written)
    return _exit(report, problems)


def _exit(report: Report, problems: dict[Path, str]) -> int:
    """The report's exit code; a report file that could not be written makes a passing run exit 3."""
    for path, why in problems.items():
        print(f"collect-conformance: could not write {path}: {why}", file=sys.stderr)
    return EXIT_UNABLE if problems and report.exit_code == Exit.PASS else report.exit_code


def _could_not_start(args: argparse.Namespace, why: str) -> int:
    """Before any config exists (the spawned mock did not start): the report files the options name say why."""
    target = "a spawned mock" if args.spawn_mock else str(args.base_url)
    report = Report(target=target, tenant=args.tenant or spawn.TENANT, seed=args.seed or 0, stopped=why, unable=True)
    written, problems = output.write_all(
        report,
        report_path=args.report,
        junit_path=args.junit_xml,
        log_path=log_path(args.log, args.report, args.junit_xml),
    )
    printer = ProgressPrinter(str)
    printer.finish(report, written)
    return _exit(report, problems)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
