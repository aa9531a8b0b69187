"""Swagger UI at /ui/, and the contract at /openapi.json and /openapi.yaml, as this running mock serves them.

Connexion renders the Swagger UI page; the documents it reads are ours, because connexion's copy names no server
(`servers: [{"url": ""}]`, an empty Servers select). The UI reads `/ui/openapi.json`, a copy made for trying
requests out:

- `servers` holds this mock alone, at the address the browser reached it by;
- the description opens with how to authorize here: the development token when it is the well-known default
  (a token the user chose is never echoed, as in the start banner), in either of the contract's two styles;
- optional parameters carry no `example`: "Try it out" pre-fills a parameter with its example, and a
  pre-filled `fields=id,total` would project every read to two fields. Required parameters keep theirs (a
  value must be typed anyway), and request bodies keep their examples.

`/openapi.json` and `/openapi.yaml` are the contract itself, with this mock listed first among its servers.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp

from mockserver.connexion_adapter import Specification, SwaggerUIMiddleware, SwaggerUIOptions
from mockserver.dispatch import Dispatcher
from mockserver.settings import DEFAULT_TOKEN, Settings

UI = "/ui"
UI_SPEC = f"{UI}/openapi.json"
METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def docs_app(specification: Specification, settings: Settings) -> ASGIApp:
    """The ASGI app for /ui/, /ui/openapi.json, /openapi.json and /openapi.yaml."""
    contract = Documents(specification.raw, for_ui(specification.raw, settings))
    page = SwaggerUIMiddleware(Dispatcher({}))
    page.add_api(
        specification,
        swagger_ui_options=SwaggerUIOptions(
            swagger_ui=settings.swagger_ui,
            swagger_ui_path=UI,
            spec_path=UI_SPEC,
            serve_spec=False,
            swagger_ui_config={"persistAuthorization": True, "displayRequestDuration": True},
        ),
    )
    routes = [
        Route(UI_SPEC, contract.ui_json, methods=["GET"]),
        Route("/openapi.json", contract.json, methods=["GET"]),
        Route("/openapi.yaml", contract.yaml, methods=["GET"]),
    ]
    return Router(routes, default=page) if settings.swagger_ui else Router(routes[1:], default=page)


class Documents:
    """The two documents, rendered once per address the mock is reached by (one, in practice)."""

    def __init__(self, spec: dict[str, Any], ui: dict[str, Any]):
        self.spec = spec
        self.ui = ui
        self._rendered: dict[tuple[str, str], bytes] = {}

    def _render(self, kind: str, base: str) -> bytes:
        key = (kind, base)
        if key not in self._rendered:
            if kind == "ui":
                document = {**self.ui, "servers": [this_mock(base)]}
            else:
                document = {**self.spec, "servers": [this_mock(base), *self.spec.get("servers", [])]}
            if kind == "yaml":
                self._rendered[key] = yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode()
            else:
                self._rendered[key] = json.dumps(document, ensure_ascii=False, default=str).encode()
        return self._rendered[key]

    async def ui_json(self, request: Request) -> Response:
        return Response(self._render("ui", base_url(request)), media_type="application/json")

    async def json(self, request: Request) -> Response:
        return Response(self._render("json", base_url(request)), media_type="application/json")

    async def yaml(self, request: Request) -> Response:
        return Response(self._render("yaml", base_url(request)), media_type="text/yaml")


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def this_mock(base: str) -> dict[str, str]:
    return {"url": base, "description": "this mock (collect-mock serve)"}


def for_ui(spec: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The copy of the contract the Swagger UI reads (see the module docstring)."""
    ui = copy.deepcopy(spec)
    info = ui.setdefault("info", {})
    info["description"] = how_to_authorize(settings) + "\n\n" + info.get("description", "")
    if settings.token == DEFAULT_TOKEN:  # the Authorize dialog shows each scheme's description
        for scheme in ui.get("components", {}).get("securitySchemes", {}).values():
            scheme["description"] = f"{scheme.get('description', '')} On this mock: `{DEFAULT_TOKEN}`.".strip()
    for parameter in _parameters(ui):
        if not parameter.get("required"):
            parameter.pop("example", None)
            parameter.pop("examples", None)
    return ui


def how_to_authorize(settings: Settings) -> str:
    if settings.token == DEFAULT_TOKEN:
        token = f"the development token **`{DEFAULT_TOKEN}`** (valid for every tenant)"
    else:
        token = "the token given at start (`--token`; not shown here)"
    return (
        f"> **This is the Collect mock.** Requests go to the mock (the Servers list). Click **Authorize** and give "
        f"{token} to either scheme: `knox-authorizer` sends `Authorization: Bearer <token>`, `api-key` sends "
        f"`Authorization: <token>`."
    )


def _parameters(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every parameter object: shared ones under components, and those written inline in path items."""
    found = [p for p in spec.get("components", {}).get("parameters", {}).values() if isinstance(p, dict)]
    for item in spec.get("paths", {}).values():
        operations = [item, *(item[m] for m in METHODS if isinstance(item.get(m), dict))]
        for operation in operations:
            found += [p for p in operation.get("parameters", []) if isinstance(p, dict) and "$ref" not in p]
    return found
