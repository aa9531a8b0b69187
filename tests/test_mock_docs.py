"""Swagger UI and the served contract: the UI's document names this mock as its server and the token to use, and
pre-fills no optional parameter; /openapi.json is the contract; a wrong token reads the same in both auth styles."""

from __future__ import annotations

import httpx
import pytest

from mockserver import Settings
from mockserver.connexion_adapter import UNKNOWN_CREDENTIAL
from mockserver.testing import serve_in_thread

METHODS = ("get", "put", "post", "patch", "delete")


def parameters(document: dict) -> list[dict]:
    found = list(document["components"]["parameters"].values())
    for item in document["paths"].values():
        for operation in [item, *(item[m] for m in METHODS if m in item)]:
            found += [p for p in operation.get("parameters", []) if "$ref" not in p]
    return found


def test_the_ui_reads_a_document_made_for_it(mock_server):
    page = httpx.get(f"{mock_server}/ui/")
    assert page.status_code == 200 and 'url: "/ui/openapi.json"' in page.text
    config = httpx.get(f"{mock_server}/ui/swagger-ui-config.json").json()
    assert config["persistAuthorization"] is True  # a reload keeps the token


def test_the_ui_document_names_this_mock_as_its_only_server(mock_server):
    document = httpx.get(f"{mock_server}/ui/openapi.json").json()
    assert [s["url"] for s in document["servers"]] == [mock_server]


def test_the_server_entry_follows_the_address_the_browser_used(mock_server):
    document = httpx.get(f"{mock_server}/ui/openapi.json", headers={"Host": "collect.test:9999"}).json()
    assert document["servers"][0]["url"] == "http://collect.test:9999"


def test_the_ui_names_the_development_token_in_the_description_and_the_authorize_dialog(mock_server):
    document = httpx.get(f"{mock_server}/ui/openapi.json").json()
    assert "**`dev-token`**" in document["info"]["description"].split("\n\n")[0]
    for scheme in document["components"]["securitySchemes"].values():
        assert scheme["description"].endswith("On this mock: `dev-token`.")


def test_the_ui_prefills_no_optional_parameter(mock_server, spec):
    document = httpx.get(f"{mock_server}/ui/openapi.json").json()
    assert any("example" in p for p in parameters(spec) if not p.get("required")), "nothing left to test"
    for parameter in parameters(document):
        if not parameter.get("required"):
            assert "example" not in parameter and "examples" not in parameter, parameter["name"]
    assert document["components"]["parameters"]["TenantId"]["example"] == "acme"  # required: a hint, kept
    create = document["paths"]["/batches/{tenantId}"]["post"]["requestBody"]["content"]["application/json"]
    assert create.get("examples") or create.get("example")  # request bodies keep theirs


def test_openapi_json_and_yaml_are_the_contract_with_this_mock_first(mock_server, spec):
    served = httpx.get(f"{mock_server}/openapi.json").json()
    assert served["servers"][0]["url"] == mock_server and served["servers"][1:] == spec["servers"]
    assert {k: v for k, v in served.items() if k != "servers"} == {k: v for k, v in spec.items() if k != "servers"}
    as_yaml = httpx.get(f"{mock_server}/openapi.yaml")
    assert as_yaml.status_code == 200 and as_yaml.text.startswith("openapi: 3.0.3\n")


def test_a_chosen_token_is_never_shown_on_the_page():
    with serve_in_thread(Settings(db=":memory:", seed=False, token="chosen-secret")) as (base_url, _):
        document = httpx.get(f"{base_url}/ui/openapi.json").text
    assert "chosen-secret" not in document and "dev-token" not in document
    assert "the token given at start" in document


def test_without_swagger_ui_only_the_contract_is_served():
    with serve_in_thread(Settings(db=":memory:", seed=False, swagger_ui=False)) as (base_url, _):
        assert httpx.get(f"{base_url}/ui/").status_code == 404
        assert httpx.get(f"{base_url}/ui/openapi.json").status_code == 404
        assert httpx.get(f"{base_url}/openapi.json").status_code == 200


@pytest.mark.parametrize("authorization", ["Bearer not-a-token", "not-a-token", "Basic bm90OmF0b2tlbg=="])
def test_an_unknown_token_reads_the_same_in_both_auth_styles(mock_server, authorization):
    response = httpx.get(f"{mock_server}/batches/acme", headers={"Authorization": authorization})
    assert response.status_code == 401 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == UNKNOWN_CREDENTIAL


def test_no_credential_says_so(mock_server):
    response = httpx.get(f"{mock_server}/batches/acme")
    assert response.status_code == 401 and response.json()["detail"] == "No authorization token provided"
