"""Where a drift sits in the contract: the JSON Pointer of an operation, of a response, and of the schema that
documents a field of an answer, so that a proposed change can name the exact place to edit in collect.yaml.

It reads the contract as written (with its `$ref`s), never an inlined copy: a change goes where the field is
defined (`/components/schemas/Invoice/properties/total`), not into a copy of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from collect_drift.model import escape, parts

METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


@dataclass(frozen=True)
class Located:
    """The schema that documents one field of an answer (or request)."""

    container: dict[str, Any]  # the object (or array) schema that holds the field, `$ref`s followed
    container_pointer: str  # its place in the contract, e.g. /components/schemas/Invoice
    name: str  # the field's name, or "*" for an array's items
    slot_pointer: str  # where the field's schema sits in the container (.../properties/total, .../items)
    schema: dict[str, Any] | None  # the field's schema with `$ref`s followed (None: not documented)
    schema_pointer: str  # where that schema is defined (a component, when the slot is a `$ref`)


class SpecMap:
    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self._operations: dict[str, tuple[str, str]] = {}
        for path, item in (spec.get("paths") or {}).items():
            for method in METHODS:
                operation = item.get(method) if isinstance(item, dict) else None
                if isinstance(operation, dict) and operation.get("operationId"):
                    self._operations[operation["operationId"]] = (path, method)

    # -- operations -----------------------------------------------------------------------------------------

    def has(self, operation_id: str) -> bool:
        return operation_id in self._operations

    def operation_pointer(self, operation_id: str) -> str:
        path, method = self._operations[operation_id]
        return f"/paths/{escape(path)}/{method}"

    def operation(self, operation_id: str) -> dict[str, Any]:
        path, method = self._operations[operation_id]
        found: dict[str, Any] = self.spec["paths"][path][method]
        return found

    def statuses(self, operation_id: str) -> list[str]:
        return list(self.operation(operation_id).get("responses", {})) if self.has(operation_id) else []

    def response_pointer(self, operation_id: str, status: int | str) -> str:
        return f"{self.operation_pointer(operation_id)}/responses/{status}"

    # -- schemas --------------------------------------------------------------------------------------------

    def get(self, pointer_text: str) -> Any:
        node: Any = self.spec
        for token in parts(pointer_text):
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node

    def exists(self, pointer_text: str) -> bool:
        try:
            self.get(pointer_text)
        except (KeyError, IndexError, ValueError, TypeError):
            return False
        return True

    def deref(self, node: Any, at: str) -> tuple[Any, str]:
        """`node` with its `$ref`s followed, and the pointer of what it resolved to."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 32:
            at = str(node["$ref"]).removeprefix("#")
            node = self.get(at)
            seen += 1
        return node, at

    def response_schema(self, operation_id: str, status: int | str, media_type: str) -> tuple[Any, str] | None:
        at = f"{self.response_pointer(operation_id, status)}/content/{escape(media_type)}/schema"
        if not self.has(operation_id) or not self.exists(at):
            return None
        return self.deref(self.get(at), at)

    def request_schema(self, operation_id: str) -> tuple[Any, str] | None:
        at = f"{self.operation_pointer(operation_id)}/requestBody/content/application~1json/schema"
        if not self.has(operation_id) or not self.exists(at):
            return None
        return self.deref(self.get(at), at)

    def choose(self, node: Any, at: str, projected: bool) -> tuple[Any, str]:
        """Follow `$ref`s and pick the branch of an `anyOf`/`oneOf` that documents the answer: the whole record
        (the branch that requires fields) unless the request named fields (the projection)."""
        node, at = self.deref(node, at)
        for keyword in ("anyOf", "oneOf"):
            branches = node.get(keyword) if isinstance(node, dict) else None
            if not branches:
                continue
            resolved = [self.deref(b, f"{at}/{keyword}/{i}") for i, b in enumerate(branches)]
            wanted = [r for r in resolved if bool(isinstance(r[0], dict) and r[0].get("required")) != projected]
            return self.choose(*(wanted or resolved)[0], projected)
        return node, at

    def strict(self, root: tuple[Any, str] | None, projected: bool) -> Any:
        """The schema `root` with every `$ref` inlined and every whole-or-projection `anyOf` resolved to the
        branch that documents the answer (`choose`): what a drift check validates against, so that a record
        answered without `fields` must be a whole record (the contract's `anyOf` accepts nearly anything)."""
        if root is None:
            return None
        return self._strict(*root, projected, 0)

    def _strict(self, node: Any, at: str, projected: bool, depth: int) -> Any:
        if depth > 64:
            return {}
        node, at = self.choose(node, at, projected)
        if isinstance(node, dict):
            return {k: self._strict(v, f"{at}/{escape(k)}", projected, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self._strict(v, f"{at}/{i}", projected, depth + 1) for i, v in enumerate(node)]
        return node

    def locate(self, root: tuple[Any, str], field: str, projected: bool = False) -> Located | None:
        """The schema documenting `field` (a JSON Pointer into the body) under the body schema `root`."""
        tokens = parts(field)
        if not tokens:
            return None
        node, at = root
        for token in tokens[:-1]:
            node, at = self.choose(node, at, projected)
            step = _step(node, at, token)
            if step is None:
                return None
            node, at = step
        container, container_at = self.choose(node, at, projected)
        if not isinstance(container, dict):
            return None
        last = tokens[-1]
        if last.isdigit() or last == "*":
            slot_at, slot = f"{container_at}/items", container.get("items")
            name = "*"
        else:
            slot_at, slot = f"{container_at}/properties/{escape(last)}", (container.get("properties") or {}).get(last)
            name = last
        schema, schema_at = self.deref(slot, slot_at) if slot is not None else (None, slot_at)
        return Located(container, container_at, name, slot_at, schema, schema_at)


def _step(node: Any, at: str, token: str) -> tuple[Any, str] | None:
    if not isinstance(node, dict):
        return None
    if token.isdigit() or token == "*":
        return (node["items"], f"{at}/items") if "items" in node else None
    properties = node.get("properties") or {}
    if token in properties:
        return properties[token], f"{at}/properties/{escape(token)}"
    return None
