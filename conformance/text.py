"""Text that leaves the suite: shown safely, kept short, and grouped by what it says.

What a target answers is hostile text: NUL and escape characters, lone surrogates, megabytes of body. Every
message, report and JUnit file shows it through `printable` (control characters written as `\\x1b`, so that
neither a terminal nor an XML parser sees them raw) and `cut` (long text shortened, its length given).
`signature` strips what varies between repeats of one cause (ids, bodies, resource names), so that a hundred
identical errors become one entry with a count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# C0 controls but tab and newline, DEL and the C1 controls, lone surrogates, and the two non-characters that
# XML 1.0 forbids: none may reach a terminal or an XML file raw.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_NUMBER = re.compile(r"\b\d{4,}\b|\b[0-9a-f]{8,}\b")
# A status and media type followed by a body, as `Exchange.summary` writes it: the body is what varies.
_BODY = re.compile(r"(\b[1-5]\d\d (?:[\w.+-]+/[\w.+-]+|\(no content type\))) .*", re.DOTALL)
ELLIPSIS = "…"


def printable(text: str) -> str:
    """`text` with every character that a terminal or XML 1.0 cannot take written as an escape (`\\x00`)."""
    return _UNPRINTABLE.sub(_escape, text)


def has_unprintable(text: str) -> bool:
    return _UNPRINTABLE.search(text) is not None


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def cut(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}{ELLIPSIS} ({len(text):,} characters in all)"


def signature(text: str, names: Iterable[str] = ()) -> str:
    """What stays the same when one cause repeats: bodies, quoted values, long numbers and `names` masked."""
    text = _BODY.sub(r"\1 …", text)
    text = _QUOTED.sub("'…'", text)
    text = _NUMBER.sub("N", text)
    for name in sorted(set(names), key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", "{resource}", text)
    return text
