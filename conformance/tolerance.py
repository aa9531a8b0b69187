"""Known deviations a run may be told to tolerate (`--tolerate NAME,...`), so that one known bug of a target
does not hide everything else the Schemathesis negative mode finds.

A tolerated finding is counted and named in the report, never silently dropped. Only `fuzz.invalid-rejected`
findings are eligible, and only when every mutation that made the case invalid is of the tolerated kind:

- `date-format`: a value of a field the contract types `format: date` that is not a calendar date (for
  example `2024-13-01`) is accepted: the target does not check `format: date`.
- `unicode-word`: an id or path value with non-ASCII letters (`µ`) is accepted: the target reads `\\w` in the
  id pattern `^[\\w|-]+$` as Unicode, where the contract means ECMA-262's ASCII `[A-Za-z0-9_]` (NOTES.md #4).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from collect_contract import Contract

KNOWN = {
    "date-format": "values of `format: date` fields are not checked",
    "unicode-word": "`\\w` in id patterns matches non-ASCII letters",
}
UNICODE_ID = re.compile(r"^[\w|-]+$")  # Python's Unicode reading of the contract's pattern


def date_fields(contract: Contract) -> frozenset[str]:
    """Names of the properties that the contract types `format: date` anywhere."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if isinstance(prop, dict) and (
                    prop.get("format") == "date" or (prop.get("items") or {}).get("format") == "date"
                ):
                    found.add(name)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(contract.spec.get("components", {}))
    return frozenset(found)


def tolerated(case: Any, names: frozenset[str], dates: frozenset[str]) -> str | None:
    """The tolerance that covers every mutation of a negative case, or None."""
    mutations = getattr(getattr(getattr(case, "meta", None), "phase", None), "data", None)
    mutations = getattr(mutations, "mutations", ())
    if not mutations:
        return None
    for name in names:
        if all(_covered(name, case, m, dates) for m in mutations):
            return name
    return None


def _covered(name: str, case: Any, mutation: Any, dates: frozenset[str]) -> bool:
    if name == "date-format":
        fields = [p for p in mutation.path if isinstance(p, str)]
        formats = {k for k in mutation.keywords if k in ("format", "format:date")}
        return formats == set(mutation.keywords) != set() and bool(fields) and fields[-1] in dates
    if name == "unicode-word" and tuple(mutation.keywords) == ("pattern",) and mutation.parameter:
        container = case.path_parameters if mutation.parameter_location.value == "path" else case.query
        value = (container or {}).get(mutation.parameter)
        return isinstance(value, str) and UNICODE_ID.match(unquote(value)) is not None
    return False
