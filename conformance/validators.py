"""What the suite adds to the contract's structure (`collect_contract`): validators for its schemas, the id
pattern of the pages, and the fields a server sets whatever a body sends.

The structure is the contract's one reading, shared with the mock; the judgement is the suite's own. Validators
are OpenAPI 3.0 ones (`openapi-schema-validator`, not the mock's jsonschema-rs), built once per schema.
"""

from __future__ import annotations

import re
import weakref
from typing import Any

from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker

from collect_contract import Contract, Resource

# The pages give every id as `string (ID) /^[\w|-]+$/`; the whole id must match (ASCII, as OpenAPI patterns are).
ID_PATTERN = re.compile(r"^[\w|-]+$", re.ASCII)

_CACHE: weakref.WeakKeyDictionary[Contract, dict[Any, Any]] = weakref.WeakKeyDictionary()


def response_validator(contract: Contract, schema: dict[str, Any]) -> Any:
    """A cached OpenAPI 3.0 validator of what a server answers for `schema` (which may hold $refs into the
    contract): readOnly properties are required like any other."""
    return _cached(contract, ("response", repr(schema)), lambda root: OAS30ReadValidator(root), schema)


def request_validator(contract: Contract, schema: dict[str, Any]) -> Any:
    """A cached validator of request values for `schema`: readOnly properties are not needed, formats count."""
    return _cached(
        contract,
        ("request", repr(schema)),
        lambda root: OAS30WriteValidator(root, format_checker=oas30_format_checker),
        schema,
    )


def _cached(contract: Contract, key: Any, build: Any, schema: dict[str, Any]) -> Any:
    validators = _CACHE.setdefault(contract, {})
    if key not in validators:
        validators[key] = build({"components": contract.spec["components"], **schema})
    return validators[key]


def server_set(resource: Resource) -> frozenset[str]:
    """Fields the server sets whatever a body sends: the readOnly ones, and a workflow-backed record's
    `workflow_execution_id` (its create's executionArn, NOTES.md Responses)."""
    extra = {"workflow_execution_id"} if resource.workflow and "workflow_execution_id" in resource.fields else set()
    return resource.read_only | extra
