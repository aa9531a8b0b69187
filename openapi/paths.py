"""Paths by their shape, and routing a request path to the contract's path that serves it.

The contract lays every resource out the same way, so a path's shape says what it is (as connexion's
RestyResolver reads a trailing `{var}` as an item):

    /{c}/warmUpStepFunctions        WARM_UP       /{c}/{tenantId}/search          SEARCH
    /{c}/{tenantId}                 COLLECTION    /{c}/{tenantId}/batch           BATCH
    /{c}/{tenantId}/{id}            ITEM          /{c}/{tenantId}/word/{p}[/...]  WORDS (a lookup, if it pages)
    anything else                   OTHER
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import Enum

from collect_contract.document import TENANT


class Shape(Enum):
    COLLECTION = "collection"
    ITEM = "item"
    SEARCH = "search"
    BATCH = "batch"
    WARM_UP = "warm_up"
    WORDS = "words"
    OTHER = "other"


def segments(path: str) -> list[str]:
    return path.strip("/").split("/")


def is_parameter(segment: str) -> bool:
    return segment.startswith("{")


def shape_of(path: str) -> Shape:
    """What a contract path is, from its segments alone."""
    parts = segments(path)
    if parts[1:] == ["warmUpStepFunctions"]:
        return Shape.WARM_UP
    if parts[1:2] != [TENANT]:
        return Shape.OTHER
    rest = parts[2:]
    if rest == []:
        return Shape.COLLECTION
    if rest == ["{id}"]:
        return Shape.ITEM
    if rest == ["search"]:
        return Shape.SEARCH
    if rest == ["batch"]:
        return Shape.BATCH
    if all(is_parameter(s) for s in rest[1:]):
        return Shape.WORDS
    return Shape.OTHER


class Router:
    """Finds the contract paths a request path names: static segments win over parameters, as in connexion.

    Templates are indexed by their number of segments and their first segment, which the contract's paths always
    start with, so a match looks at a handful of candidates. A parameter matches one non-empty segment, as it is
    sent (still percent-encoded, or decoded by the server: the caller's choice).
    """

    def __init__(self, templates: Iterable[str]):
        index: dict[tuple[int, str], list[tuple[list[str], str]]] = {}
        for template in templates:
            parts = segments(template)
            index.setdefault((len(parts), parts[0]), []).append((parts, template))
        for candidates in index.values():
            candidates.sort(key=lambda c: [is_parameter(s) for s in c[0]])
        self._index = index

    def match(self, path: str) -> Iterator[tuple[str, dict[str, str]]]:
        """(template, path parameters) of every template `path` fits, the most specific first."""
        parts = segments(path)
        for pattern, template in self._index.get((len(parts), parts[0]), ()):
            params: dict[str, str] = {}
            for expected, actual in zip(pattern, parts, strict=True):
                if expected[0] == "{":
                    if not actual:
                        break
                    params[expected[1:-1]] = actual
                elif expected != actual:
                    break
            else:
                yield template, params
