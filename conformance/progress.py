"""The progress display: a line per rule and resource as it completes, then the summary."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from conformance.config import Config
from conformance.output import MARK
from conformance.report import ERROR, FAILED, SKIPPED, Outcome, Report
from conformance.safety import Redactor


class ProgressPrinter:
    """Prints to stderr (or `stream`); every line passes the redactor."""

    def __init__(self, redact: Redactor, stream: TextIO | None = None):
        self.redact, self.stream = redact, stream or sys.stderr
        self._lock = threading.Lock()

    def _print(self, text: str) -> None:
        with self._lock:
            print(self.redact(text), file=self.stream, flush=True)

    def start(self, config: Config, units: int) -> None:
        mode = "read-only" if config.read_only else "read-write"
        self._print(f"Checking {config.base_url} (tenant {config.tenant}, {mode}, seed {config.seed}): {units} units")

    def __call__(self, outcome: Outcome, done: int, total: int) -> None:
        reason = f": {outcome.reason}" if outcome.status in (SKIPPED, ERROR) and outcome.reason else ""
        head = f"[{done:>{len(str(total))}}/{total}] {MARK[outcome.status]} {outcome.rule} · {outcome.resource}"
        self._print(f"{head} ({outcome.duration:.1f}s){reason}")
        if outcome.status == FAILED:
            for failure in outcome.failures:
                self._print("    " + failure.as_text().replace("\n", "\n    "))

    def finish(self, report: Report) -> None:
        left = len(report.cleanup.left)
        cleanup = f"; {left} records could not be removed (see the report)" if left else ""
        self._print(f"{'PASS' if report.ok else 'FAIL'}: {report.summary()}{cleanup}")
        for note in report.notes:
            self._print(f"note: {note}")
