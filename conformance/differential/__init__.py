"""Differential conformance: is the target what the model of its contract says?

    collect-conformance --differential --base-url URL --tenant ID [--oracle URL] [--report drift.md|.html|.json]

The same seeded sequence of operations (creates, reads, replaces, patches, searches, lookups, paging walks,
batch operations, deletes, 404s, 409s, bad input) runs against the target and against the model: a fresh mock
spawned for the run, or the mock at `--oracle` (its token from COLLECT_CONFORMANCE_ORACLE_TOKEN, `dev-token`
by default). Each pair of answers is compared after normalizing what may legitimately differ (ids, paired by
the record they name; timestamps; paging keys; execution ARNs; server-made texts), and every difference is a
classified drift (`collect_drift`). The verdict, exit codes, JUnit file and log are those of a normal run; the
report (`--report`) is the drift report, grouped by operation and field, with a proposed JSON Patch against
the contract. See docs/drift.md.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from collect_drift import DriftReport
from conformance import spawn
from conformance.config import Config
from conformance.differential.runner import TITLE, DifferentialRun, Oracle, write_reports
from conformance.differential.sequence import Step
from conformance.errors import ConformanceError
from conformance.progress import ProgressPrinter
from conformance.report import Report
from conformance.runner import INTERNAL, unable
from conformance.safety import Redactor
from conformance.verdicts import Exit

ORACLE_TOKEN_ENV = "COLLECT_CONFORMANCE_ORACLE_TOKEN"
DEFAULT_ORACLE_TOKEN = "dev-token"  # the development token of `collect-mock serve`
ORACLE_PAGE_SIZE = 100
PROGRESS_EVERY = 25

__all__ = ["DifferentialRun", "Oracle", "execute", "oracle_for"]


@contextmanager
def oracle_for(config: Config) -> Iterator[Oracle]:
    """The model: the mock at `config.oracle`, or a fresh one spawned for the run (and stopped after it)."""
    if config.oracle:
        yield Oracle(config.oracle, os.environ.get(ORACLE_TOKEN_ENV) or DEFAULT_ORACLE_TOKEN, spawned=False)
        return
    with spawn.spawned_mock(page_size=ORACLE_PAGE_SIZE, tenant=config.tenant) as mock:
        yield Oracle(mock.base_url, mock.token, spawned=True)


def execute(config: Config) -> int:
    """Run the differential, print the results, write the files; the exit code of a normal run."""
    printer = ProgressPrinter(Redactor([config.token]))
    try:
        with oracle_for(config) as oracle:
            run = DifferentialRun(config, oracle)
            try:
                run.preflight()
            except ConformanceError as exc:
                run.close()
                report = unable(run.config, run.redact(str(exc)))
                report.duration = time.monotonic() - run.started
                return _finish(report, run.config, run.drift_report(report), run.redact, printer)
            if config.progress:
                mode = "read-only" if run.config.read_only else "read-write"
                print(f"Differential: {config.base_url} (tenant {config.tenant}, {mode}, seed {run.config.seed}) "
                      f"against the model: {len(run.steps)} steps", file=sys.stderr, flush=True)  # fmt: skip
            try:
                report = run.run(_progress if config.progress else None)
            except Exception as exc:  # noqa: BLE001 - the run itself broke: still say so in every file
                report = unable(run.config, run.redact(f"{INTERNAL}: {type(exc).__name__}: {exc}"))
                report.tracebacks = [(run.redact("".join(traceback.format_exception(exc))), ["differential"])]
                report.duration = time.monotonic() - run.started
            finally:
                run.close()
            return _finish(report, run.config, run.drift_report(report), run.redact, printer)
    except ConformanceError as exc:  # the model did not start or did not answer
        redact = Redactor([config.token])
        report = unable(config, redact(f"the model: {exc}"))
        drift = DriftReport(TITLE, f"COULD NOT RUN: {report.stopped}", [("Target", config.base_url)])
        return _finish(report, config, drift, redact, printer)


def _progress(number: int, total: int, step: Step) -> None:
    if number % PROGRESS_EVERY == 0 or number == total:
        print(f"[{number:>{len(str(total))}}/{total}] {step.name}", file=sys.stderr, flush=True)


def _finish(report: Report, config: Config, drift: DriftReport, redact: Redactor, printer: ProgressPrinter) -> int:
    written, problems = write_reports(report, config, drift, redact)
    printer.finish(report, written)
    for path, why in problems.items():
        print(f"collect-conformance: could not write {path}: {why}", file=sys.stderr)
    return int(Exit.UNABLE) if problems and report.exit_code == Exit.PASS else report.exit_code
