"""Check a response against the contract: a documented status, the documented content type, a valid body.

Routing and the operations are the contract's one reading (`collect_contract.Contract`); the judgement is this
module's, so that every response a test receives is held to the contract whatever the test asserts besides.
"""

from __future__ import annotations

from typing import Any

import httpx
from openapi_schema_validator import OAS30ReadValidator

from collect_contract import Contract

OUTSIDE = ("/_mock/", "/ui", "/openapi")  # the admin API and the docs are not operations of the contract


class ContractViolation(AssertionError):
    pass


class ContractChecker:
    def __init__(self, contract: Contract):
        self.contract = contract
        self._validators: dict[tuple[str, str, str], Any] = {}

    def check(self, response: httpx.Response) -> None:
        request = response.request
        path = request.url.path
        if path.startswith(OUTSIDE):
            return
        found = self.contract.match(request.method, path)
        where = f"{request.method} {path} -> {response.status_code}"
        if found is None:
            raise ContractViolation(f"{where}: no such operation in the contract")
        operation, _ = found
        media_types = operation.media_types(response.status_code)
        if media_types is None:
            raise ContractViolation(f"{where}: status not documented ({', '.join(operation.statuses)})")
        if not media_types:
            if response.content:
                raise ContractViolation(f"{where}: a body where the contract documents none")
            return
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if media_type not in media_types:
            raise ContractViolation(f"{where}: content type {media_type!r}, documented {media_types}")
        validator = self._validator(operation.operation_id, response.status_code, media_type)
        errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            shown = "; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:3])
            raise ContractViolation(f"{where}: body does not match the contract: {shown}")

    def _validator(self, operation_id: str, status: int, media_type: str) -> Any:
        key = (operation_id, str(status), media_type)
        if key not in self._validators:
            schema = self.contract.operations[operation_id].response_schema(status, media_type) or {}
            self._validators[key] = OAS30ReadValidator({"components": self.contract.spec["components"], **schema})
        return self._validators[key]
