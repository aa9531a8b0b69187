"""Text that leaves a report: what a service answered is hostile text (control characters, megabytes).

The conformance suite's reports show it through the same functions (`conformance.text`)."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL and the C1 controls, lone surrogates, and the two non-characters that
# XML 1.0 forbids: none may reach a terminal or an XML file raw.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """`text` with every character a terminal or XML 1.0 cannot take written as an escape (`\\x00`)."""
    return _UNPRINTABLE.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text
    )


def has_unprintable(text: str) -> bool:
    return _UNPRINTABLE.search(text) is not None


def cut(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters in all)"


def inline(text: str) -> str:
    """Text for one Markdown line or table cell."""
    return text.replace("\n", " ⏎ ").replace("|", "\\|")


def fence(lines: list[str], language: str = "") -> list[str]:
    """A fenced code block that no line of its content can close."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    mark = "`" * max(3, longest + 1)
    return [mark + language, *lines, mark]
