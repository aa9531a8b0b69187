"""Security: every operation needs a credential, every tenant-scoped operation refuses other tenants' tokens,
tokens never reach logs or answers, and the admin API has its own token."""

import httpx
import pytest

from collect_contract import SPEC_PATH
from mockserver import Settings
from mockserver.contract import Contract
from tests.support.process import ADMIN, MockProcess

VALUES = {
    "tenantId": "acme",
    "id": "rec-1",
    "batch_id": "bat-1",
    "fiscal_year_id": "fy-2025",
    "fiscal_period": "4",
    "status": "open",
    "businessUnitId": "bu-us",
}


def operations(spec):
    for path, item in spec["paths"].items():
        for method in ("get", "put", "post", "patch", "delete"):
            if method in item:
                yield method.upper(), path, item[method]


def request_for(method, path, op):
    url = path.format(**VALUES)
    params = {"ids": "bat-1"} if op["operationId"] == "getBatchDependents" else None
    body = {"operations": []} if "requestBody" in op else None
    return method, url, params, body


SPEC = Contract.from_path(SPEC_PATH).spec
OPERATIONS = pytest.mark.parametrize(
    "operation", list(operations(SPEC)), ids=[o["operationId"] for _, _, o in operations(SPEC)]
)


@OPERATIONS
def test_every_operation_needs_a_credential(api, operation):
    method, url, params, body = request_for(*operation)
    response = api.with_token(None).request(method, url, params=params, json=body)
    assert response.status_code == 401, f"{method} {url}: {response.status_code}"


@OPERATIONS
def test_every_tenant_operation_refuses_another_tenants_token(api, operation):
    method, url, params, body = request_for(*operation)
    response = api.with_token("globex-token").request(method, url, params=params, json=body)
    expected = 403 if "{tenantId}" in operation[1] else 200
    assert response.status_code == expected, f"{method} {url}: {response.status_code} {response.text}"


def test_tokens_never_reach_the_logs_or_the_journal(tmp_path):
    secret, chosen, wrong = "s3cret-scoped-token", "ch0sen-all-tenant-token", "n0t-a-real-token"
    flags = ("--token", chosen, "--tokens", f"{secret}=acme", "--log-level", "debug")
    with MockProcess("--db", ":memory:", "--no-seed", *flags) as mock:
        for token in (secret, wrong, f"Bearer {secret}", f"Bearer {wrong}"):
            for url in ("/batches/acme", "/batches/globex", "/batches/acme/nope"):
                httpx.get(f"{mock.base_url}{url}", headers={"Authorization": token})
        journal = mock.admin("GET", "journal").text
        mock.stop()
        log = mock.log()
    assert "GET /batches/acme" in log  # the debug log does record the requests
    assert "token:      as given (not shown)" in log  # the start banner names no chosen token either
    for text in (log, journal):
        assert secret not in text and chosen not in text and wrong not in text and ADMIN not in text


def test_the_admin_api_needs_its_own_token_and_the_server_listens_on_loopback(api):
    assert api.http.get("/_mock/export", headers={"Authorization": "Bearer dev-token"}).status_code == 401
    assert api.http.get("/_mock/export").status_code == 401
    assert api.admin("GET", "export").status_code == 200
    assert Settings().host == "127.0.0.1"
