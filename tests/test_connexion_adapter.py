"""What the mock takes from connexion (`mockserver/connexion_adapter.py`), one test per private hook, named after it:
a connexion release that moves a hook fails the test that names it, and says which. The public parts the mock
relies on are pinned at the end."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from connexion.exceptions import InvalidSpecification
from connexion.middleware.security import SecurityOperation
from connexion.security import AbstractSecurityHandler, ApiKeySecurityHandler, BearerSecurityHandler
from connexion.spec import OpenAPISpecification, Specification
from connexion.uri_parsing import OpenAPIURIParser

from mockserver.connexion_adapter import (
    UNKNOWN_CREDENTIAL,
    ConnexionRequest,
    OAuthResponseProblem,
    ProblemException,
    RepeatableArrayParser,
    Resolver,
    SecurityHandlerFactory,
    load_specification,
    model_operation,
    security_handlers,
    verification,
)


class Views(Resolver):  # type: ignore[misc]
    def resolve_function_from_operation_id(self, operation_id: str) -> Any:
        return lambda **params: (operation_id, params)


@pytest.fixture(scope="module")
def specification(spec):
    return load_specification(spec, proven=True)


def operation(specification, path: str, method: str) -> Any:
    return model_operation(specification, path, method, Views())


def request(headers: dict[str, str] | None = None, query: bytes = b"", parser: Any = None) -> ConnexionRequest:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/batches/acme",
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "path_params": {"tenantId": "acme"},
    }
    return ConnexionRequest(scope, uri_parser=parser)


def checked(calls: list[tuple[Any, Any]]) -> Any:
    def check(credential: str | None, request: Any = None) -> dict[str, Any] | None:
        calls.append((credential, request))
        return {"sub": "someone"} if credential in ("good", "Bearer good") else None

    return check


def test_hook_security_handler_generic_check(specification):
    """`AbstractSecurityHandler._generic_check(func, exception_msg)` wraps the check; ours passes `request` always."""
    assert "_generic_check" in vars(AbstractSecurityHandler), "connexion moved AbstractSecurityHandler._generic_check"
    assert list(inspect.signature(AbstractSecurityHandler._generic_check).parameters) == [
        "self",
        "func",
        "exception_msg",
    ]
    calls: list[tuple[Any, Any]] = []
    verify = verification(operation(specification, "/batches/{tenantId}", "get"), factory(checked(calls)))
    good = request({"Authorization": "Bearer good"})
    asyncio.run(verify(good))
    assert calls[-1][1] is good and good.context["token_info"] == {"sub": "someone"}
    with pytest.raises(OAuthResponseProblem) as refused:
        asyncio.run(verify(request({"Authorization": "Bearer bad"})))
    assert refused.value.detail == UNKNOWN_CREDENTIAL  # our wording, not connexion's


def test_hook_security_handler_resolve_func():
    """`AbstractSecurityHandler._resolve_func(security_scheme)` finds the check; ours is the app's, not an import."""
    assert "_resolve_func" in vars(AbstractSecurityHandler), "connexion moved AbstractSecurityHandler._resolve_func"
    check = checked([])
    handlers = security_handlers(check)
    assert issubclass(handlers["bearer"], BearerSecurityHandler) and issubclass(
        handlers["apiKey"], ApiKeySecurityHandler
    )
    for handler in handlers.values():
        assert handler()._resolve_func({"type": "http", "scheme": "bearer"}) is check


def test_hook_uri_parser_resolve_param_duplicates(specification):
    """`OpenAPIURIParser._resolve_param_duplicates(values, param_defn, _in)`: ours joins a repeated array
    parameter where connexion keeps the last value."""
    hook = inspect.getattr_static(OpenAPIURIParser, "_resolve_param_duplicates", None)
    assert isinstance(hook, staticmethod), "connexion moved OpenAPIURIParser._resolve_param_duplicates"
    assert list(inspect.signature(hook.__func__).parameters) == ["values", "param_defn", "_in"]
    listing = operation(specification, "/batches/{tenantId}", "get")
    parser = RepeatableArrayParser(listing.parameters, listing.body_definition())
    assert request(query=b"fields=id&fields=name", parser=parser).query_params["fields"] == ["id", "name"]
    assert request(query=b"fields=id,name", parser=parser).query_params["fields"] == ["id", "name"]


def test_hook_specification_validate_spec(spec):
    """`Specification._validate_spec(spec)`: the packaged contract (proven by tests/test_contract.py) skips it."""
    hook = inspect.getattr_static(OpenAPISpecification, "_validate_spec", None)
    assert isinstance(hook, classmethod), "connexion moved Specification._validate_spec"
    assert "self._validate_spec(" in inspect.getsource(Specification.__init__), "connexion no longer calls it"
    broken = {**spec, "info": {}}  # info needs a title and a version
    with pytest.raises(InvalidSpecification):
        load_specification(broken, proven=False)
    assert load_specification(broken, proven=True).raw["info"] == {}  # not checked again


def test_hook_security_operation_verification_fn(specification):
    """`SecurityOperation.from_operation(operation, next_app=, security_handler_factory=).verification_fn`: the
    security middleware's check of one operation, used without the middleware."""
    assert inspect.signature(SecurityOperation.from_operation).parameters.keys() >= {
        "operation",
        "next_app",
        "security_handler_factory",
    }, "connexion changed SecurityOperation.from_operation"
    calls: list[tuple[Any, Any]] = []
    verify = verification(operation(specification, "/batches/{tenantId}", "get"), factory(checked(calls)))
    asyncio.run(verify(request({"Authorization": "good"})))  # the contract's second scheme: apiKey, the whole header
    assert calls[-1][0] == "good"
    with pytest.raises(ProblemException) as refused:
        asyncio.run(verify(request()))  # no credential at all: every scheme declines
    assert refused.value.status == 401


def test_the_public_parts_the_dispatcher_reads(specification):
    """OpenAPIOperation's model and ConnexionRequest, as mockserver/dispatch.py reads them."""
    creating = operation(specification, "/batches/{tenantId}", "post")
    assert creating.operation_id == "createBatch" and creating.function()[0] == "createBatch"
    assert creating.request_body["required"] is True
    assert creating.body_schema("application/json")["properties"]["name"]
    assert {p["name"] for p in creating.parameters} == {"tenantId"} and creating.security
    assert "200" in creating.responses
    assert request().context == {} and request().path_params == {"tenantId": "acme"}


def factory(check: Any) -> SecurityHandlerFactory:
    return SecurityHandlerFactory(security_handlers(check))
