"""Check a response against the contract: a documented status, the documented content type, a valid body."""

from __future__ import annotations

import re
from typing import Any

import httpx
from openapi_schema_validator import OAS30ReadValidator


class ContractViolation(AssertionError):
    pass


class ContractChecker:
    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.routes: list[tuple[re.Pattern[str], str, dict[str, Any]]] = []
        # Static segments before parameters, as the server routes them.
        for path in sorted(spec["paths"], key=lambda p: [s.startswith("{") for s in p.split("/")]):
            pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$")
            self.routes.append((pattern, path, spec["paths"][path]))
        self._validators: dict[tuple[str, str, str], Any] = {}

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        for pattern, template, item in self.routes:
            if pattern.match(path) and method.lower() in item:
                return template, item[method.lower()]
        return None

    def check(self, response: httpx.Response) -> None:
        request = response.request
        path = request.url.path
        if path.startswith("/_mock/") or path.startswith("/ui") or path.startswith("/openapi"):
            return
        found = self.operation(request.method, path)
        where = f"{request.method} {path} -> {response.status_code}"
        if found is None:
            raise ContractViolation(f"{where}: no such operation in the contract")
        template, op = found
        documented = op["responses"].get(str(response.status_code))
        if documented is None:
            raise ContractViolation(f"{where}: status not documented ({', '.join(op['responses'])})")
        content = documented.get("content")
        if not content:
            if response.content:
                raise ContractViolation(f"{where}: a body where the contract documents none")
            return
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if media_type not in content:
            raise ContractViolation(f"{where}: content type {media_type!r}, documented {list(content)}")
        validator = self._validator(template, request.method, str(response.status_code), media_type, content)
        errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            shown = "; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:3])
            raise ContractViolation(f"{where}: body does not match the contract: {shown}")

    def _validator(self, template: str, method: str, status: str, media_type: str, content: dict[str, Any]) -> Any:
        key = (f"{method} {template}", status, media_type)
        if key not in self._validators:
            root = {"components": self.spec["components"], **content[media_type]["schema"]}
            self._validators[key] = OAS30ReadValidator(root)
        return self._validators[key]
