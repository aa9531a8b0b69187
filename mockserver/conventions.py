"""Whether a contract can be served by the mock, checked before it is: `collect-mock serve --spec PATH`.

The mock serves any OpenAPI 3.0 description that follows the conventions written down in docs/architecture.md
("Conventions a contract must follow"): it has no code per resource, so a contract that strays from them would
fail later, at start with a KeyError or at the first request with a 500. `load` reads a contract and returns it
as a `Contract`, or raises `ContractError` listing every convention it breaks, each with the operation or schema
it concerns.

The conventions of structure (what `collect_contract` reads) are checked by `collect_contract.structure`; this
module adds what serving needs: credentials the mock can check, the paging parameter on every list, and a handler
for every operation whose path has no shape the mock derives behaviour from.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from collect_contract import Contract, Kind, Refs, load_spec, structure
from collect_contract.structure import Violation, check_openapi, item_parameter_hint, where
from mockserver.paging import PARAM as START_KEY

GUIDE = 'docs/architecture.md, "Conventions a contract must follow"'
AUTH = {("http", "bearer"), ("apiKey", "header")}
PAGED = (Kind.LIST, Kind.LOOKUP, Kind.SEARCH)

__all__ = ["ContractError", "Violation", "check_contract", "check_document", "check_openapi", "load"]


class ContractError(ValueError):
    """A contract the mock cannot serve; the message names the file and every convention it breaks."""

    def __init__(self, path: Path, violations: list[Violation] | str):
        self.path = path
        self.violations = [Violation("file", violations)] if isinstance(violations, str) else violations
        lines = "\n".join(f"  - {v}" for v in self.violations)
        super().__init__(f"the contract {path} cannot be served as it is (see {GUIDE}):\n{lines}")


def load(path: Path) -> Contract:
    """The contract at `path`, checked: valid OpenAPI 3.0 and following the mock's conventions."""
    spec = read(path)
    violations = check_openapi(spec) or check_document(spec)
    if violations:
        raise ContractError(path, violations)
    contract = Contract(spec)  # safe now: the document has what the derivation reads
    violations = check_contract(contract)
    if violations:
        raise ContractError(path, violations)
    return contract


def read(path: Path) -> dict[str, Any]:
    try:
        spec = load_spec(path)
    except FileNotFoundError:
        raise ContractError(path, "no such file") from None
    except IsADirectoryError:
        raise ContractError(path, "a folder, not a file") from None
    except OSError as exc:
        raise ContractError(path, f"cannot be read: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ContractError(path, f"not YAML or JSON: {' '.join(str(exc).split())}") from None
    if not isinstance(spec, dict):
        raise ContractError(path, "not an OpenAPI description (the document is not a mapping)")
    return spec


def check_document(spec: dict[str, Any]) -> list[Violation]:
    """The structure the model reads, and security schemes the mock can check, on the raw document."""
    return [*structure.check_document(spec), *_security(spec)]


def check_contract(contract: Contract) -> list[Violation]:
    """What the derived resources and operations need: the model's own checks, then what serving needs."""
    return [*structure.check_model(contract), *check_serving(contract)]


def check_serving(contract: Contract) -> list[Violation]:
    """What the derived operations need to be served by the generic engine or a handler."""
    from mockserver import handlers

    registered = handlers.load()
    violations = []
    for operation in contract.operations.values():
        at = where(operation.path, operation.method, operation.raw)
        if operation.operation_id in registered:
            continue
        if operation.kind is Kind.CUSTOM:
            violations.append(Violation(at, item_parameter_hint(operation.path) or CUSTOM_HINT))
        if operation.kind in PAGED and START_KEY not in operation.query_names():
            violations.append(
                Violation(at, f"no '{START_KEY}' query parameter: the mock pages every list and resumes with it")
            )
    return violations


CUSTOM_HINT = (
    "not a path shape the mock derives behaviour from (create, list, get, replace, patch, delete, search, "
    "batch, lookup, warm-up) and no handler in mockserver/handlers/ for its operationId"
)


def _security(spec: dict[str, Any]) -> Iterator[Violation]:
    """The mock checks tokens for `http` bearer and `apiKey` in a header (both read Authorization)."""
    schemes = spec.get("components", {}).get("securitySchemes", {})
    for name, scheme in schemes.items():
        scheme = Refs(spec).deref(scheme)
        kind = (scheme.get("type"), str(scheme.get("scheme", scheme.get("in", ""))).lower())
        if kind not in AUTH:
            yield Violation(
                f"security scheme {name}",
                f"type {kind[0]} ({kind[1]}) is not one the mock checks: http bearer, or apiKey in a header",
            )
