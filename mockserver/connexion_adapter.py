"""Everything the mock takes from connexion, in one place: no other module of the mock imports connexion.

Connexion loads and validates the contract, models each operation (parameters, body schema, security), verifies
credentials with its security handlers, parses parameters with its URI parser, renders the Swagger UI and gives
the problem exception every error answer derives from. What the mock does not use is connexion's per-request
middleware chain, and with it the options that configure it (`validator_map`, `security_map`, `uri_parser_class`
of `connexion.AsyncApp`): measured on this machine, a minimal connexion app answers at 0.14x of a bare Starlette
endpoint, and the mock served through it reached 0.08x-0.11x (docs/benchmarks.md, Method). `mockserver/dispatch.py`
runs each operation's checks, prepared once, with the same parts those options would configure: the handlers a
`security_map` names (through `SecurityHandlerFactory`, as connexion does) and a subclass of the URI parser a
`uri_parser_class` names.

Public API, used as documented: `Specification.load`, `OpenAPIOperation.from_spec` and its properties, the
`Resolver` base class, `SecurityHandlerFactory`, `ConnexionRequest`, `OpenAPIURIParser`, `ProblemException`,
`OAuthResponseProblem`, `SwaggerUIMiddleware` and `SwaggerUIOptions`.

Private hooks, each because no public one does the job, each pinned by a test of its own in
tests/test_connexion_adapter.py, named after it, so that a connexion release that moves one fails that test:

- `AbstractSecurityHandler._generic_check`: connexion's wrapper inspects the check's signature on every request
  to decide which keywords to pass; ours always takes `request`.
- `AbstractSecurityHandler._resolve_func`: connexion finds the check through `x-bearerInfoFunc` in the contract
  or an environment variable, an import path; ours is a method of the app's `Auth`, one per app.
- `OpenAPIURIParser._resolve_param_duplicates`: a repeated array parameter is joined, not cut to its last value.
- `Specification._validate_spec`: the packaged contract, proven valid by the tests, is not validated again at
  every start (half a second of a start at 100,000 records).
- `SecurityOperation(...).verification_fn` (connexion.middleware.security): the security middleware's check of
  one operation, used without the middleware.

They are subclasses handed to connexion, so connexion itself is not patched for anyone else in the process (the
pytest plugin runs the mock inside client test sessions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connexion.exceptions import OAuthResponseProblem, ProblemException
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.security import SecurityOperation
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.operations import OpenAPIOperation
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from connexion.security import ApiKeySecurityHandler, BearerSecurityHandler, SecurityHandlerFactory
from connexion.spec import OpenAPISpecification, Specification
from connexion.uri_parsing import QUERY_STRING_DELIMITERS, OpenAPIURIParser

__all__ = [
    "ConnexionRequest",
    "OAuthResponseProblem",
    "OpenAPIOperation",
    "ProblemException",
    "RepeatableArrayParser",
    "Resolver",
    "SecurityHandlerFactory",
    "Specification",
    "SwaggerUIMiddleware",
    "SwaggerUIOptions",
    "Verification",
    "load_specification",
    "model_operation",
    "security_handlers",
    "verification",
]

# One wording for an unknown token, whichever scheme carried it (connexion's say "apikey" or "token").
UNKNOWN_CREDENTIAL = "The token in the Authorization header is not valid"
Verification = Callable[[ConnexionRequest], Any]  # awaitable; sets request.context["token_info"] or raises


# -- the contract ----------------------------------------------------------------------------------------------


class _ProvenSpecification(OpenAPISpecification):  # type: ignore[misc]
    """The packaged contract: tests/test_contract.py proves it valid (connexion's check included)."""

    @classmethod
    def _validate_spec(cls, spec: dict[str, Any]) -> None:  # private hook: skip the check
        return None


def load_specification(spec: dict[str, Any], proven: bool) -> Specification:
    """Connexion's model of the contract; a contract not `proven` valid by the tests is checked first."""
    return _ProvenSpecification(spec) if proven else Specification.load(spec)


def model_operation(specification: Specification, path: str, method: str, resolver: Resolver) -> OpenAPIOperation:
    """Connexion's model of one operation, its view given by `resolver`."""
    return OpenAPIOperation.from_spec(specification, path=path, method=method, resolver=resolver)


# -- credentials -------------------------------------------------------------------------------------------------


class _FixedSignatureCheck:
    """Mixin for security handlers whose check is `check(credential, request=...)`."""

    def _generic_check(self, func: Callable[..., Any], exception_msg: str) -> Callable[..., Any]:  # private hook
        async def wrapper(request: Any, *args: Any, required_scopes: Any = None) -> Any:
            info = func(*args, request=request)
            if info is None:
                raise OAuthResponseProblem(detail=UNKNOWN_CREDENTIAL)
            return info

        return wrapper


def security_handlers(check: Callable[..., Any]) -> dict[str, type]:
    """A `security_map` for connexion's `SecurityHandlerFactory`: bearer and apiKey both call
    `check(credential, request=...)`."""

    class Bearer(_FixedSignatureCheck, BearerSecurityHandler):  # type: ignore[misc]
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Any:  # private hook: our check, not an import
            return check

    class ApiKey(_FixedSignatureCheck, ApiKeySecurityHandler):  # type: ignore[misc]
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Any:  # private hook: our check, not an import
            return check

    return {"bearer": Bearer, "apiKey": ApiKey}


def verification(operation: OpenAPIOperation, factory: SecurityHandlerFactory) -> Verification | None:
    """Connexion's credential check of one operation (None when it declares no security)."""
    if not operation.security:
        return None
    found: Verification = SecurityOperation.from_operation(
        operation, next_app=None, security_handler_factory=factory
    ).verification_fn
    return found


# -- parameters --------------------------------------------------------------------------------------------------


class RepeatableArrayParser(OpenAPIURIParser):  # type: ignore[misc]
    """Connexion's parser, except that an array parameter may also be repeated: `fields=id,total` (the contract's
    `explode: false`) and `fields=id&fields=total` (what many generated clients send whatever the style) mean the
    same. Connexion would keep only the last of the repeated values, silently."""

    @staticmethod
    def _resolve_param_duplicates(values: list[str], param_defn: dict[str, Any], _in: str) -> str:  # private hook
        style = param_defn.get("style", OpenAPIURIParser.style_defaults[_in])
        return str(QUERY_STRING_DELIMITERS.get(style, ",")).join(values)
