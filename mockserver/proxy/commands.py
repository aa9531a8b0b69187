"""What the forwarding process may ask of the checker process; every answer is plain data (pickled)."""

from __future__ import annotations

import logging
import time
from typing import Any

from collect_drift import as_dict, markdown
from collect_drift import write as write_report
from collect_drift.htmlpage import html_page
from mockserver.proxy.checks import Checks
from mockserver.proxy.exchange import Observation
from mockserver.proxy.settings import ProxySettings

logger = logging.getLogger(__name__)
MAX_SUMMARY_GROUPS = 12


class Commands:
    def __init__(self, settings: ProxySettings):
        self.checks = Checks(settings)
        self.since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())

    def check(self, seen: Observation) -> None:
        try:
            self.checks.check(seen)
        except Exception:  # noqa: BLE001 - one exchange the checks cannot read must not stop them
            self.checks.counts.failures += 1
            logger.exception("could not check %s %s", seen.method, seen.path)

    def run(self, command: str, forwarded: int, unchecked: int, *args: Any) -> Any:
        checks = self.checks
        if command in ("ready", "stop"):
            return True
        if command == "counts":
            counts = checks.counts
            return {"forwarded": forwarded, "checked": counts.checked, "unchecked": unchecked + counts.unchecked,
                    "outside": counts.outside, "drift": checks.drift.total}  # fmt: skip
        if command == "journal":
            return checks.journal.answer_query(args[0])
        if command == "journal-clear":
            checks.journal.clear()
            return True
        if command == "drift-clear":
            checks.drift.clear()
            return True
        if command == "drift":
            report = checks.report(forwarded, unchecked, self.since)
            shape = args[0] if args else "json"
            return (
                markdown(report) if shape == "markdown" else html_page(report) if shape == "html" else as_dict(report)
            )
        if command == "record":
            return checks.recorder.write() if checks.recorder is not None else None
        if command == "finish":
            return self.finish(forwarded, unchecked)
        raise ValueError(f"unknown command {command!r}")

    def finish(self, forwarded: int, unchecked: int) -> list[str]:
        """Write the report and the recording the settings ask for; the summary's lines."""
        checks, settings = self.checks, self.checks.settings
        report = checks.report(forwarded, unchecked, self.since)
        lines = ["", report.headline, *(f"  {name}: {value}" for name, value in report.facts[:2])]
        for group in report.groups[:MAX_SUMMARY_GROUPS]:
            where = f" {group.pattern}" if group.pattern else ""
            lines.append(f"  {group.count:>5} × {group.kind.value} {group.operation}{where}: {group.first.message}")
        if len(report.groups) > MAX_SUMMARY_GROUPS:
            lines.append(f"  … and {len(report.groups) - MAX_SUMMARY_GROUPS} more groups (see the report)")
        if settings.report is not None:
            lines.append(_written("drift report", settings.report, lambda: write_report(settings.report, report)))
        if checks.recorder is not None:
            lines.append(_written("recording", settings.record, lambda: _recorded(checks.recorder.write())))
        return lines


def _recorded(manifest: dict[str, Any]) -> str:
    kept = sum(n for per in manifest["records"].values() for n in per.values())
    rejected = sum(n for per in manifest["rejected"].values() for n in per.values())
    return f"{kept} records" + (f", {rejected} rejected (see _rejected/)" if rejected else "")


def _written(what: str, path: Any, write: Any) -> str:
    try:
        detail = write()
    except OSError as exc:
        return f"  could not write the {what} {path}: {exc.strerror or exc}"
    return f"  {what}: {path}" + (f" ({detail})" if detail else "")
