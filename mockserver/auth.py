"""Who may call the mock: tokens, the tenants each may use, and the hooks connexion calls to check them.

Both styles the contract declares reach `Auth.check`: `Authorization: Bearer <token>` (scheme
`knox-authorizer`) and `Authorization: <token>` (scheme `api-key`). No credential or an unknown one is a 401
(connexion raises it when every scheme declines); a known token used for a tenant it does not cover is a 403.
Tokens are never logged or echoed: a caller is known by a user id (`sys_created_by_id`, ...) that is a keyed hash
of its token, keyed with the database's own secret, so that a stored record tells nothing that would let anyone
guess the token offline (a plain hash of a weak token can be searched for).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from mockserver.connexion_adapter import security_handlers
from mockserver.errors import ForbiddenProblem
from mockserver.exposure import presented_token

ALL_TENANTS = None  # the development token's scope


def user_id(token: str, key: bytes) -> str:
    """A stable name for a token's caller that does not give the token away (HMAC-SHA256 under a secret key)."""
    return "user-" + hmac.new(key, token.encode(), hashlib.sha256).hexdigest()[:16]


class Auth:
    def __init__(
        self,
        token: str,
        tokens: Mapping[str, frozenset[str]] | None = None,
        key: bytes = b"",
    ):
        self._scopes: dict[str, frozenset[str] | None] = {token: ALL_TENANTS, **(tokens or {})}
        key = key or secrets.token_bytes(32)
        self._users = {t: ("dev-user" if t == token else user_id(t, key)) for t in self._scopes}

    def check(self, credential: str | None, request: Any = None) -> dict[str, Any] | None:
        """Token info for a valid credential, None for an unknown one; ForbiddenProblem for the wrong tenant."""
        token = presented_token(credential or "")
        if token not in self._scopes:
            return None
        scope = self._scopes[token]
        # The raw path parameters: the tenant is a plain string, no need for connexion's parsing.
        tenant = request.scope.get("path_params", {}).get("tenantId") if request is not None else None
        if tenant is not None and scope is not ALL_TENANTS and tenant not in scope:
            raise ForbiddenProblem(f"The credential is not allowed for tenant '{tenant}'")
        return {"sub": self._users[token], "tenants": "*" if scope is ALL_TENANTS else sorted(scope or ())}

    def security_map(self) -> dict[str, type]:
        """Connexion security handlers that call `check` for both schemes of the contract."""
        return security_handlers(self.check)
