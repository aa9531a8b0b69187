"""Connexion's security handlers, bound to the mock's credential check.

Connexion's security wrapper inspects the check function's signature on every request to decide which keywords to
pass; `FixedSignatureCheck` calls our check with the keywords it is known to take. These are subclasses handed to
connexion's `SecurityHandlerFactory`, so connexion itself is not patched for anyone else in the process (the pytest
plugin runs the mock inside client test sessions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connexion.exceptions import OAuthResponseProblem
from connexion.security import ApiKeySecurityHandler, BearerSecurityHandler

# One wording for an unknown token, whichever scheme carried it (connexion's say "apikey" or "token").
UNKNOWN_CREDENTIAL = "The token in the Authorization header is not valid"


class FixedSignatureCheck:
    """Mixin for security handlers whose check is `check(credential, request=...)`."""

    def _generic_check(self, func: Callable[..., Any], exception_msg: str) -> Callable[..., Any]:
        async def wrapper(request: Any, *args: Any, required_scopes: Any = None) -> Any:
            info = func(*args, request=request)
            if info is None:
                raise OAuthResponseProblem(detail=UNKNOWN_CREDENTIAL)
            return info

        return wrapper


def security_handlers(check: Callable[..., Any]) -> dict[str, type]:
    """Connexion security handlers (for `security_map`) that call `check(credential, request=...)`."""

    class Bearer(FixedSignatureCheck, BearerSecurityHandler):  # type: ignore[misc]
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Any:
            return check

    class ApiKey(FixedSignatureCheck, ApiKeySecurityHandler):  # type: ignore[misc]
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Any:
            return check

    return {"bearer": Bearer, "apiKey": ApiKey}
