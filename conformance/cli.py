"""`collect-conformance`: check a Collect implementation against the contract, from the command line.

    collect-conformance --base-url URL --token T --tenant ID [--other-tenant ID] [--spec PATH]
                        [--rules IDS] [--skip-rules IDS] [--max-examples N] [--seed N] [--read-only]
                        [--junit-xml FILE] [--report FILE] [--workers N] [--budget N] [--rate-limit R]
    collect-conformance --spawn-mock [...]     start a fresh mock, check it, stop it
    collect-conformance --list-rules           print the rule catalog

The token may come from COLLECT_CONFORMANCE_TOKEN instead (likewise BASE_URL, TENANT, OTHER_TENANT).
Exit status: 0 every selected rule passed, 1 a rule failed or could not be checked, 2 bad usage,
3 the suite could not run (target unreachable, token refused, mock did not start).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from conformance.config import Config
from conformance.errors import ConfigError, ConformanceError
from conformance.progress import ProgressPrinter
from conformance.registry import REGISTRY
from conformance.runner import Runner
from conformance.spawn import spawned_mock

EXIT_USAGE, EXIT_UNABLE = 2, 3


def _ids(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="collect-conformance", description=__doc__.split("\n\n")[0])
    target = parser.add_argument_group("target")
    target.add_argument("--base-url", help="the API to check, e.g. https://collect.api.example.com")
    target.add_argument("--token", help="its token (better: COLLECT_CONFORMANCE_TOKEN)")
    target.add_argument("--tenant", help="the one tenant the suite may write to")
    target.add_argument("--other-tenant", help="a tenant the token must NOT reach (enables the 403/isolation rules)")
    target.add_argument("--spec", type=Path, help="the contract (default: the packaged collect.yaml)")
    target.add_argument("--spawn-mock", action="store_true", help="start a fresh mock server and check it")
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
    out = parser.add_argument_group("output")
    out.add_argument("--junit-xml", type=Path, help="write a JUnit XML report")
    out.add_argument("--report", type=Path, help="write a Markdown report (.html for HTML)")
    out.add_argument("--quiet", action="store_true", help="no progress display")
    out.add_argument("--list-rules", action="store_true", help="print the rule catalog and exit")
    return parser


def config_from(args: argparse.Namespace, **target: Any) -> Config:
    options = {name: getattr(args, name) for name in (
        "base_url", "token", "tenant", "other_tenant", "spec", "rules", "skip_rules", "max_examples", "seed",
        "read_only", "workers", "tolerate", "paging_records", "budget", "rate_limit", "timeout", "junit_xml", "report",
    )}  # fmt: skip
    options.update({k: v for k, v in target.items() if options.get(k) is None})
    return Config.from_env(**options, progress=not args.quiet)


def list_rules() -> int:
    from conformance import rules  # noqa: F401  (registers the catalog)

    for rule in REGISTRY.all():
        print(f"{rule.id:34} {rule.statement}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_rules:
        return list_rules()
    try:
        with spawned_mock() if args.spawn_mock else nullcontext() as mock:
            spawned = {"rate_limit": 0.0, **vars(mock)} if mock else {}
            return execute(config_from(args, **spawned))
    except ConfigError as exc:
        print(f"collect-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConformanceError as exc:
        print(f"collect-conformance: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_UNABLE
    except KeyboardInterrupt:
        return 130


def execute(config: Config) -> int:
    """Run, with a progress display unless `config.progress` is off; the runner writes the report files."""
    runner = Runner(config)
    printer = ProgressPrinter(runner.session.redact)
    try:
        runner.preflight()
    except ConformanceError:
        runner.close()
        raise
    if config.progress:
        printer.start(runner.config, len(runner.units()))
    report = runner.run(printer if config.progress else None)
    printer.finish(report)
    return report.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
