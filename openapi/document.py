"""The contract as a document: loading it, following its `$ref`s, and the few ways of reaching into it that every
reading shares (its operations, the JSON schema of a body or a response)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

try:  # the C loader reads the 11,000-line contract about ten times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

METHODS = ("get", "put", "post", "patch", "delete")
TENANT = "{tenantId}"
JSON = "application/json"
Node = Any  # a node of the document: a dict, a list or a scalar


def load_spec(path: Path) -> dict[str, Any]:
    """The document at `path`, as YAML (JSON is YAML too); raises OSError and yaml.YAMLError as they come."""
    with Path(path).open(encoding="utf-8") as fh:
        spec: dict[str, Any] = yaml.load(fh, Loader=_Loader)
    return spec


def snake_case(name: str) -> str:
    """`fiscalPeriod` -> `fiscal_period`: a lookup's path parameter names a record field this way."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


class Refs:
    """Follows the document's local `$ref`s; `inline` returns a copy with every reference replaced by its target."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec

    def deref(self, node: Node) -> Node:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for part in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def inline(self, node: Node) -> Node:
        node = self.deref(node)
        if isinstance(node, dict):
            return {k: self.inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.inline(v) for v in node]
        return node

    @staticmethod
    def ref_name(node: Node) -> str | None:
        """The name a `$ref` points at (`Invoice` for `#/components/schemas/Invoice`), None if `node` is inline."""
        if isinstance(node, dict) and "$ref" in node:
            return str(node["$ref"]).rsplit("/", 1)[1]
        return None


def operations_of(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(path, method, operation, path item) for every operation, in the document's order; anything that is not
    an operation object is passed over (the conventions check says what is wrong with it)."""
    paths = spec.get("paths") or {}
    for path, item in paths.items() if isinstance(paths, dict) else ():
        for method in METHODS:
            if isinstance(item, dict) and isinstance(item.get(method), dict):
                yield path, method, item[method], item


def json_schema(refs: Refs, node: Node) -> Node:
    """The `application/json` schema of a request body or a response (`node`), or None."""
    content = refs.deref(node or {}).get("content")
    media = content.get(JSON) if isinstance(content, dict) else None
    return media.get("schema") if isinstance(media, dict) else None


def reference_of(refs: Refs, prop: Node) -> tuple[str, bool] | None:
    """(record schema, many) that a property names with `x-references` (on itself, or on its items for an array of
    references), or None."""
    prop = refs.deref(prop)
    if not isinstance(prop, dict):
        return None
    target = prop.get("x-references")
    if target is not None:
        return str(target), False
    if prop.get("type") == "array":
        items = refs.deref(prop.get("items", {}))
        if isinstance(items, dict) and items.get("x-references") is not None:
            return str(items["x-references"]), True
    return None
