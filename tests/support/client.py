"""An HTTP client for the mock whose every response is checked against the contract."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.contract_check import ContractChecker

DEV_TOKEN = "dev-token"
ADMIN_TOKEN = "test-admin-token"


class Api:
    """`api.get(...)`, `api.post(...)`: httpx calls with a token; `unchecked=True` skips the contract check."""

    def __init__(
        self, base_url: str, checker: ContractChecker, token: str | None = DEV_TOKEN, http: httpx.Client | None = None
    ):
        self.base_url = base_url
        self.checker = checker
        self.token = token
        self.http = http or httpx.Client(base_url=base_url, timeout=30)

    def request(self, method: str, url: str, *, unchecked: bool = False, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.token and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = f"Bearer {self.token}"
        response = self.http.request(method, url, headers=headers, **kwargs)
        if not unchecked:
            self.checker.check(response)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def with_token(self, token: str | None) -> Api:
        """The same client acting with another token (None: no Authorization header)."""
        return Api(self.base_url, self.checker, token, self.http)

    def create(self, collection: str, body: dict[str, Any], tenant: str = "acme") -> dict[str, Any]:
        """Create a record and return it as stored (read back when the create answers with a token)."""
        response = self.post(f"/{collection}/{tenant}", json=body)
        assert response.status_code == 200, response.text
        if "X-Record-Id" not in response.headers:
            return response.json()  # type: ignore[no-any-return]
        record = self.get(f"/{collection}/{tenant}/{response.headers['X-Record-Id']}")
        assert record.status_code == 200, record.text
        return record.json()  # type: ignore[no-any-return]

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.base_url}/_mock/{path}",
            timeout=30,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            **kwargs,
        )

    def close(self) -> None:
        self.http.close()
