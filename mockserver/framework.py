"""Connexion, extended where its per-request work does not depend on the request.

Profiling showed two costs that repeat identically on every request (about a third of the mock's time):

- `AsyncOperation.fn` is a property that builds the parameter and response decorators anew per request, which
  inspects the view's signature each time; `DecoratedOnceOperation` builds them once.
- the security wrapper inspects the check function's signature per request to decide which keywords to pass;
  `FixedSignatureCheck` calls our check with the keywords it is known to take.

Both are subclasses wired into one app instance, so connexion itself is not patched for anyone else in the process
(the pytest plugin runs the mock inside client test sessions).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import connexion
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.exceptions import OAuthResponseProblem
from connexion.security import ApiKeySecurityHandler, BearerSecurityHandler


class DecoratedOnceOperation(AsyncOperation):  # type: ignore[misc]
    @cached_property
    def fn(self) -> Callable[..., Any]:
        return AsyncOperation.fn.fget(self)  # type: ignore[no-any-return]


class DecoratedOnceApi(AsyncApi):  # type: ignore[misc]
    def make_operation(self, operation: Any) -> AsyncOperation:
        return DecoratedOnceOperation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


class MockAsyncApp(connexion.AsyncApp):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._middleware_app.api_cls = DecoratedOnceApi


class FixedSignatureCheck:
    """Mixin for security handlers whose check is `check(credential, request=...)`."""

    def _generic_check(self, func: Callable[..., Any], exception_msg: str) -> Callable[..., Any]:
        async def wrapper(request: Any, *args: Any, required_scopes: Any = None) -> Any:
            info = func(*args, request=request)
            if info is None:
                raise OAuthResponseProblem(detail=exception_msg)
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
