"""Text that leaves the suite: shown safely, kept short, and grouped by what it says.

What a target answers is hostile text: NUL and escape characters, lone surrogates, megabytes of body. Every
message, report and JUnit file shows it through `printable` (control characters written as `\\x1b`, so that
neither a terminal nor an XML parser sees them raw) and `cut` (long text shortened, its length given), the
functions the drift reports use (`collect_drift.text`, a neutral package).
`signature` strips what varies between repeats of one cause (ids, bodies, resource names), so that a hundred
identical errors become one entry with a count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from collect_drift.text import cut, fence, has_unprintable, inline, printable

__all__ = ["cut", "fence", "has_unprintable", "inline", "printable", "signature"]

_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_NUMBER = re.compile(r"\b\d{4,}\b|\b[0-9a-f]{8,}\b")
# A status and media type followed by a body, as `Exchange.summary` writes it: the body is what varies.
_BODY = re.compile(r"(\b[1-5]\d\d (?:[\w.+-]+/[\w.+-]+|\(no content type\))) .*", re.DOTALL)


def signature(text: str, names: Iterable[str] = ()) -> str:
    """What stays the same when one cause repeats: bodies, quoted values, long numbers and `names` masked."""
    text = _BODY.sub(r"\1 …", text)
    text = _QUOTED.sub("'…'", text)
    text = _NUMBER.sub("N", text)
    for name in sorted(set(names), key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", "{resource}", text)
    return text
