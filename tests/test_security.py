"""Security: every operation needs a credential, every tenant-scoped operation refuses other tenants' tokens,
tokens never reach logs or answers, and the admin API has its own token."""

import asyncio
import hashlib
import os
import re
import subprocess
import sys

import httpx
import pytest

from collect_contract import SPEC_PATH, Contract
from mockserver import Settings
from mockserver.settings import DEFAULT_ADMIN_TOKEN as ADMIN_DEFAULT
from mockserver.testing import serve_in_thread
from tests.support.client import ADMIN_TOKEN
from tests.support.process import ADMIN, MockProcess

CLI = [sys.executable, "-m", "mockserver"]
BATCH = {"business_unit_id": "bu", "date": "2025-01-01", "fiscal_period": 1, "fiscal_year_id": "fy", "name": "n"}

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


def test_listening_beyond_loopback_with_the_published_admin_token_is_refused():
    """No socket is opened: the refusal comes before the server binds."""
    for how in (["--host", "0.0.0.0"], ["--host", "::"]):
        result = subprocess.run([*CLI, "serve", *how, "--db", ":memory:"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "dev-admin-token" in result.stderr and "--admin-token" in result.stderr
    env = {**os.environ, "MOCKSERVER_HOST": "0.0.0.0"}
    result = subprocess.run([*CLI, "serve", "--db", ":memory:"], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1 and "MOCKSERVER_ADMIN_TOKEN" in result.stderr


def test_the_banner_says_when_the_mock_is_exposed():
    from mockserver import exposure

    own = "s3cret-of-my-own-choosing"
    exposed = exposure.admin_lines(Settings(host="0.0.0.0", admin_token=own), "http://0.0.0.0:8080")
    assert "exposed:" in exposed and "as given (not shown)" in exposed and own not in exposed
    assert "exposed" not in exposure.admin_lines(Settings(), "http://127.0.0.1:8080")
    exposure.check(Settings(host="0.0.0.0", admin_token=own))  # a token of one's own: allowed
    exposure.check(Settings(host="0.0.0.0", admin_token=""))  # the admin API off: allowed


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--admin-token", "dev-token"], "a token of the API"),
        (["--tokens", "shared=acme", "--admin-token", "shared"], "a token of the API"),
        (["--host", "0.0.0.0", "--admin-token", "x"], "has 1 characters, fewer than the 16"),
        (["--host", "0.0.0.0", "--admin-token", "fifteen-chars!!"], "fewer than the 16"),
    ],
    ids=["the-dev-token", "a-scoped-token", "one-character-exposed", "fifteen-characters-exposed"],
)
def test_an_admin_token_anyone_could_guess_or_already_has_is_refused_before_listening(flags, fragment):
    result = subprocess.run([*CLI, "serve", "--db", ":memory:", *flags], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and fragment in result.stderr and "Traceback" not in result.stderr
    assert "--admin-token" in result.stderr or "admin API a token of its own" in result.stderr


def test_an_empty_admin_token_turns_the_admin_api_off_and_the_banner_says_so():
    with MockProcess("--db", ":memory:", "--no-seed", "--admin-token", "") as mock:
        export = httpx.get(f"{mock.base_url}/_mock/export", headers={"Authorization": "Bearer dev-admin-token"})
        health = httpx.get(f"{mock.base_url}/_mock/health")
        log = mock.log()
    assert export.status_code == 403 and "admin API is off" in export.json()["detail"]
    assert health.status_code == 200
    assert "admin API:  off" in log and "as given" not in log.split("admin API:")[1].splitlines()[0]


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("evil.example", 403),
        ("evil.example:8080", 403),
        ("localhost", 200),
        ("LOCALHOST.:8080", 200),
        ("app.localhost:3000", 200),
        ("127.0.0.1:8080", 200),
        ("[::1]:8080", 200),
        ("192.168.1.20", 200),
    ],
)
def test_the_admin_api_answers_only_requests_addressed_to_this_machine(api, host, status):
    """DNS rebinding: a page at evil.example whose name is pointed at 127.0.0.1 is, to the browser, its own origin."""
    headers = {"Host": host, "Authorization": f"Bearer {ADMIN_TOKEN}"}
    for path in ("/_mock/export", "/_mock/health"):
        response = api.http.get(path, headers=headers)
        assert response.status_code == status, (path, response.text)
        if status == 403:
            assert "DNS rebinding" in response.json()["detail"] and "--allowed-hosts" in response.json()["detail"]
    assert api.get("/batches/acme", headers={"Host": host}).status_code == 200  # the API answers any origin anyway


def test_names_given_as_allowed_hosts_reach_the_admin_api():
    settings = Settings(db=":memory:", seed=False, admin_token=ADMIN_TOKEN, allowed_hosts=frozenset({"mock.test"}))
    with serve_in_thread(settings) as (base_url, _):
        for host, status in (("mock.test:8080", 200), ("other.test", 403)):
            response = httpx.get(
                f"{base_url}/_mock/export", headers={"Host": host, "Authorization": f"Bearer {ADMIN_TOKEN}"}
            )
            assert response.status_code == status
    assert Settings.from_env({"MOCKSERVER_ALLOWED_HOSTS": "Mock.Test, proxy.example."}).allowed_hosts == {
        "mock.test",
        "proxy.example",
    }
    from mockserver import cli

    assert cli.build_parser().parse_args(["serve", "--allowed-hosts", "A.test,b.test"]).allowed_hosts == {
        "a.test",
        "b.test",
    }


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}],
    ids=["origin", "sec-fetch-site", "null-origin"],
)
def test_the_admin_api_does_not_answer_web_pages_of_other_origins(api, headers):
    response = api.http.post("/_mock/reset", headers={**headers, "Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 403 and "other origins" in response.json()["detail"]
    assert "access-control-allow-origin" not in response.headers
    preflight = api.http.options(
        "/_mock/reset", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code >= 400 and "access-control-allow-origin" not in preflight.headers
    same_origin = {"Origin": str(api.http.base_url).rstrip("/"), "Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert api.http.get("/_mock/export", headers=same_origin).status_code == 200
    answered = api.http.options(
        "/batches/acme", headers={"Origin": "http://app.test", "Access-Control-Request-Method": "GET"}
    )
    assert answered.status_code == 204 and answered.headers["access-control-allow-origin"] == "*"  # the pages' CORS


@pytest.mark.parametrize(
    ("host", "admin_token", "status"),
    [
        ("127.0.0.1", ADMIN_DEFAULT, 200),
        ("[::ffff:127.0.0.1]", ADMIN_DEFAULT, 200),  # loopback as a dual-stack listener reports it
        ("mock.example", ADMIN_DEFAULT, 403),
        ("mock.example", "short", 403),
        ("mock.example", "own-token-of-16-characters", 200),
    ],
)
def test_the_admin_api_takes_the_published_token_only_through_loopback(host, admin_token, status):
    """A server started some other way (`uvicorn --factory --host 0.0.0.0`) is guarded too: by the address a request
    came through. In-process (ASGI), no packet leaves this machine."""
    from mockserver import create_app

    app = create_app(Settings(db=":memory:", seed=False, admin_token=admin_token))

    async def export() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}") as client:
            return await client.get("/_mock/export", headers={"Authorization": f"Bearer {admin_token}"})

    response = asyncio.run(export())
    assert response.status_code == status
    if status == 403:
        assert response.headers["content-type"] == "application/problem+json"
        assert "--admin-token" in response.json()["detail"]


def test_caller_ids_are_keyed_hashes_that_give_no_token_away(api, tmp_path):
    token = "acme-token"
    record = api.with_token(token).post("/batches/acme", json={**BATCH}).json()
    caller = record["sys_created_by_id"]
    assert re.fullmatch(r"user-[0-9a-f]{16}", caller)
    for digest in (hashlib.sha256, hashlib.sha1, hashlib.md5, hashlib.sha512):
        assert digest(token.encode()).hexdigest()[: len(caller) - 5] != caller[5:]
    from mockserver import create_app

    first = create_app(Settings(db=str(tmp_path / "a.json"), seed=False, tokens={token: frozenset({"acme"})}))
    again_first = first.state.auth.check(token)["sub"]
    first.state.db.close()
    reopened = create_app(Settings(db=str(tmp_path / "a.json"), seed=False, tokens={token: frozenset({"acme"})}))
    other = create_app(Settings(db=str(tmp_path / "b.json"), seed=False, tokens={token: frozenset({"acme"})}))
    assert reopened.state.auth.check(token)["sub"] == again_first  # stable for a database ...
    assert other.state.auth.check(token)["sub"] != again_first  # ... and its own to it
    reopened.state.db.close()
    other.state.db.close()
