"""The console: progress on stderr (a line per unit as it completes), results on stdout (the verdict, then the
failures, errors and gaps, each group of identical ones once with a count), so that `collect-conformance >
results.txt` keeps the results and a terminal still shows the progress. Every line passes the redactor."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from conformance.config import Config
from conformance.render import MARK, exit_line, units_text
from conformance.report import Outcome, Report
from conformance.text import cut, printable
from conformance.verdicts import ERROR, FAILED, NOT_VERIFIED

MAX_GROUPS_PRINTED = 10  # per kind; the report files list the rest
REASON_LIMIT = 200


class ProgressPrinter:
    """Progress lines to `stream` (stderr), results to `results` (stdout)."""

    def __init__(self, redact: Callable[[str], str], stream: TextIO | None = None, results: TextIO | None = None):
        self.redact = redact
        self.stream = stream or sys.stderr
        self.results = results or sys.stdout
        self._lock = threading.Lock()

    def _print(self, text: str, stream: TextIO | None = None) -> None:
        with self._lock:
            print(printable(self.redact(text)), file=stream or self.stream, flush=True)

    def start(self, config: Config, units: int) -> None:
        mode = "read-only" if config.read_only else "read-write"
        self._print(f"Checking {config.base_url} (tenant {config.tenant}, {mode}, seed {config.seed}): {units} units")

    def __call__(self, outcome: Outcome, done: int, total: int) -> None:
        why = f" ({outcome.why.value})" if outcome.why else ""
        reason = f": {cut(outcome.reason, REASON_LIMIT)}" if outcome.status in (NOT_VERIFIED, ERROR) else ""
        title = f": {outcome.failures[0].title}" if outcome.status == FAILED and outcome.failures else ""
        head = f"[{done:>{len(str(total))}}/{total}] {MARK[outcome.status]} {outcome.rule} · {outcome.resource}"
        self._print(f"{head} ({outcome.duration:.1f}s){why}{title}{reason}")

    def finish(self, report: Report, written: list[Path] | None = None) -> None:
        """The results, on stdout: each group of failures in full (bounded), then errors and gaps, then the
        verdict line last, where a reader of a CI log looks first."""
        lines: list[str] = []
        for group in report.groups(FAILED)[:MAX_GROUPS_PRINTED]:
            assert group.failure is not None
            units = f"{group.count} unit{'s' if group.count > 1 else ''}: {units_text(group.units)}"
            lines += ["", f"FAILED {group.failure.rule} ({units})", group.failure.as_text()]
        for status, label in ((ERROR, "ERROR"), (NOT_VERIFIED, "NOT VERIFIED")):
            groups = report.groups(status)
            if groups:
                lines += ["", f"{label}: {sum(g.count for g in groups)} units"]
            for group in groups[:MAX_GROUPS_PRINTED]:
                kind = f"[{group.why.value}] " if group.why else ""
                reason = cut(group.text, REASON_LIMIT)
                lines.append(f"  {kind}{group.count} × {reason}: {units_text(group.units, 3)}")
            if len(groups) > MAX_GROUPS_PRINTED:
                lines.append(f"  … and {len(groups) - MAX_GROUPS_PRINTED} more groups (see the report)")
        left = len(report.cleanup.left)
        if left:
            lines += ["", f"CLEANUP: {left} records could not be removed (see the report)"]
        lines += [f"note: {note}" for note in report.notes]
        if written:
            lines += ["", "Reports: " + ", ".join(str(path) for path in written)]
        lines += ["", report.summary(), exit_line(report)]
        self._print("\n".join(lines).lstrip("\n"), self.results)
