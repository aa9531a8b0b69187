"""The files a run writes, from one `Report`: the report (Markdown, or HTML for `.html`), JUnit XML, and a log.

Every file is written whatever the outcome, a run that could not start included (its report says why), and
written whole or not at all (a temporary file renamed into place: `collect_drift.write_whole`, as the drift
reports are). Every text passes the run's redactor one last time, whatever its origin, so that the token cannot
reach a file even if a check quoted it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from collect_drift import write_whole
from conformance import htmlpage, junit, render
from conformance.render import MARK
from conformance.report import Report
from conformance.text import printable

Redact = Callable[[str], str]
HTML_SUFFIXES = (".html", ".htm")


def _identity(text: str) -> str:
    return text


def markdown(report: Report, redact: Redact = _identity) -> str:
    return redact(printable(render.markdown(report)))


def html_page(report: Report, redact: Redact = _identity) -> str:
    return redact(printable(htmlpage.html_page(report)))


def junit_xml(report: Report, redact: Redact = _identity) -> str:
    return redact(junit.junit_xml(report))


def log_text(report: Report, redact: Redact = _identity) -> str:
    """The run's log: the verdict, one line per unit, and each traceback of the suite's own errors once."""
    lines = [
        f"collect-conformance: {report.target} (tenant {report.tenant}, seed {report.seed})",
        report.summary(),
        render.exit_line(report),
        "",
    ]
    for outcome in report.outcomes:
        why = f" ({outcome.why.value})" if outcome.why else ""
        reason = f": {outcome.reason}" if outcome.reason else ""
        lines.append(f"{MARK[outcome.status]} {outcome.name} {outcome.status.value}{why}{reason}")
    for text, units in report.tracebacks:
        lines += ["", f"Internal error of the suite in {len(units)} units: {', '.join(units[:10])}", text.rstrip()]
    lines += [f"note: {note}" for note in report.notes]
    return redact(printable("\n".join(lines) + "\n"))


def render_for(path: Path, report: Report, redact: Redact = _identity) -> str:
    """The report in the format its file name asks for: `.html`/`.htm` HTML, `.xml` JUnit, else Markdown."""
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        return html_page(report, redact)
    if suffix == ".xml":
        return junit_xml(report, redact)
    return markdown(report, redact)


def write(report: Report, path: Path, redact: Redact = _identity) -> None:
    """Write the report to `path`, in the format its suffix names."""
    write_whole(path, render_for(path, report, redact))


def write_all(
    report: Report,
    *,
    report_path: Path | None = None,
    junit_path: Path | None = None,
    log_path: Path | None = None,
    redact: Redact = _identity,
) -> tuple[list[Path], dict[Path, str]]:
    """Write each file named: the report (in the format of its suffix), the JUnit XML and the log. Returns
    the files written and, for those that could not be, why (the others are written all the same)."""
    texts: dict[Path, Callable[[], str]] = {}
    if report_path is not None:
        texts[report_path] = lambda: render_for(report_path, report, redact)
    if junit_path is not None:
        texts[junit_path] = lambda: junit_xml(report, redact)
    if log_path is not None:
        texts[log_path] = lambda: log_text(report, redact)
    written: list[Path] = []
    problems: dict[Path, str] = {}
    for path, text in texts.items():
        try:
            write_whole(path, text())
            written.append(path)
        except OSError as exc:
            problems[path] = f"{type(exc).__name__}: {exc.strerror or exc}"
    return written, problems
