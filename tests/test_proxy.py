"""`collect-mock proxy`, the validating recorder: in front of a service that drifts on purpose it reports each
planted drift and nothing else, in front of the mock nothing; it passes bodies through byte for byte, journals
through the mock's journal API, and its recordings load back with `collect-mock seed`."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from collect_process import ServerProcess, answers, free_port
from mockserver import cli as mock_cli
from mockserver.proxy.app import ProxyApp
from mockserver.proxy.settings import ProxySettings
from mockserver.testing import serve_app
from tests.defects.server import TENANT, TOKEN, defective_mock
from tests.drift.planted import PLANTED, PlantedDrift
from tests.drift.traffic import client_session

ADMIN = {"Authorization": "Bearer proxy-admin"}
# A passive recorder cannot know a 409 was due from the status alone; it knows it from the records it saw alive.
SEEN_AS = {("deleteBatch", "status-differs"): "state-rule-differs"}


@contextmanager
def serving(app, name: str = "server") -> Iterator[str]:
    """An ASGI app on a free loopback port, as the proxy's command line serves it."""

    def config(_: int) -> uvicorn.Config:
        return uvicorn.Config(app, log_level="error", lifespan="on", server_header=False, date_header=False)

    with serve_app(config, lambda base_url: answers(f"{base_url}/_mock/health"), timeout=20, name=name) as base_url:
        yield base_url


@contextmanager
def proxy(upstream: str, **settings) -> Iterator[tuple[str, ProxyApp]]:
    app = ProxyApp(ProxySettings(upstream=upstream, admin_token="proxy-admin", **settings))
    try:
        with serving(app, "collect-proxy") as base_url:
            yield base_url, app
    finally:
        app.close()


@pytest.fixture(scope="module")
def target():
    logger = logging.getLogger("mockserver")
    level, _ = logger.level, logger.setLevel(logging.CRITICAL)
    with defective_mock() as running:
        yield running
    logger.setLevel(level)


def drift_of(base_url):
    answer = httpx.get(f"{base_url}/_mock/drift", headers=ADMIN, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_each_planted_drift_is_reported_and_nothing_else(target):
    target.reset()
    target.app.switch(PlantedDrift())
    with proxy(target.base_url) as (base_url, _):
        client_session(base_url, TOKEN, TENANT)
        report = drift_of(base_url)
    found = {(g["operation_id"], g["kind"], g["field"]) for g in report["groups"]}
    expected = {(p.operation_id, SEEN_AS.get((p.operation_id, p.kind), p.kind), p.field) for p in PLANTED}
    assert found == expected, json.dumps(report["groups"], indent=1)[:3000]
    assert report["headline"].startswith("DRIFT")
    for group in report["groups"]:
        (seen,) = group["first"]
        assert group["where"][0].startswith("request ") and seen["response"]
        assert '"${COLLECT_TOKEN}"' in seen["curl"] and TOKEN not in json.dumps(report)
    target.reset()


def test_in_front_of_the_mock_there_is_no_drift_and_every_exchange_is_journaled(target, tmp_path):
    target.reset()
    with proxy(target.base_url, record=tmp_path / "recording", redact=("memo",)) as (base_url, _):
        ids = client_session(base_url, TOKEN, TENANT)
        report = drift_of(base_url)
        journal = httpx.get(f"{base_url}/_mock/journal", params={"method": "POST"}, headers=ADMIN).json()
        manifest = httpx.post(f"{base_url}/_mock/record", headers=ADMIN, timeout=60).json()
        assert httpx.get(f"{base_url}/_mock/drift", timeout=10).status_code == 401
    assert report["groups"] == [] and report["headline"].startswith("NO DRIFT"), report["groups"]
    creates = [e for e in journal["entries"] if e["operation_id"].startswith("create")]
    assert sorted(e["status"] for e in creates) == [200] * 25 + [400]  # and the bad input, refused
    assert all(e["tenant"] == TENANT for e in creates)
    assert "Authorization" not in json.dumps(journal) and TOKEN not in json.dumps(journal)
    recorded = sum(n for per in manifest["records"].values() for n in per.values())
    assert recorded == sum(len(v) for v in ids.values()) - 2 and manifest["rejected"] == {}  # two were deleted
    held = target.records()
    target.reset()
    _recording_loads_back(tmp_path, held)


def _recording_loads_back(tmp_path: Path, held):
    """`collect-mock seed --from DIR` loads the recording: the same records, with the redacted field replaced."""
    db = tmp_path / "seeded.json"
    assert mock_cli.main(["seed", "--db", str(db), "--from", str(tmp_path / "recording")]) == 0
    assert mock_cli.main(["export", "--db", str(db), "--out", str(tmp_path / "export.json")]) == 0
    loaded = json.loads((tmp_path / "export.json").read_text())["tenants"][TENANT]
    assert {c: sorted(r["id"] for r in rs) for c, rs in loaded.items()} == {
        c: sorted(r["id"] for r in rs) for c, rs in held.items()
    }
    for collection, records in loaded.items():
        originals = {r["id"]: r for r in held[collection]}
        for record in records:
            expected = dict(originals[record["id"]])
            for name in ("memo", "sharing_secret"):  # named with --redact, and a credential-like field
                if name in expected:
                    assert record[name] == "redacted" and expected[name] != "redacted"
                    expected[name] = "redacted"
            assert record == expected


def odd_upstream() -> Starlette:
    """An upstream whose answers a careless proxy would change: gzip, invalid UTF-8, chunks, repeated headers."""
    odd = b'{"id": "\xff\xfe"}\x00' + bytes(range(256))
    large = os.urandom(1_048_576 + 17)
    packed = gzip.compress(b'{"Items": []}' * 100)

    async def gzipped(_: Request) -> Response:
        return Response(packed, headers={"content-encoding": "gzip"}, media_type="application/json")

    async def raw(_: Request) -> Response:
        response = Response(odd, media_type="application/octet-stream", headers={"x-odd": "a\tb"})
        response.raw_headers += [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")]
        return response

    async def chunks(_: Request) -> StreamingResponse:
        async def parts():
            for part in (b"[", b'{"id": "a"}', b"]"):
                yield part

        return StreamingResponse(parts(), media_type="application/json")

    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse({"sha256": hashlib.sha256(body).hexdigest(), "headers": dict(request.headers)})

    async def big(_: Request) -> Response:
        return Response(large, media_type="application/octet-stream")

    async def health(_: Request) -> Response:
        return Response(b"ok")

    routes = [Route("/invoices/acme/gz", gzipped), Route("/invoices/acme/raw", raw), Route("/invoices/acme", chunks),
              Route("/echo", echo, methods=["POST"]), Route("/big", big), Route("/_mock/health", health)]  # fmt: skip
    return Starlette(routes=routes)


def raw_answer(url: str, **kwargs) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    with httpx.Client(timeout=30) as client, client.stream("GET", url, **kwargs) as answer:
        return answer.status_code, answer.headers.raw, b"".join(answer.iter_raw())


def test_bodies_and_headers_pass_through_unchanged():
    with serving(odd_upstream(), "odd-upstream") as upstream, proxy(upstream) as (base_url, _):
        for path in ("/invoices/acme/gz", "/invoices/acme/raw", "/invoices/acme", "/big"):
            direct, through = raw_answer(upstream + path), raw_answer(base_url + path)
            assert through[2] == direct[2], path  # byte for byte, gzip and all
            kept = [h for h in direct[1] if h[0].lower() not in (b"transfer-encoding", b"connection")]
            assert [h for h in through[1] if h[0].lower() not in (b"transfer-encoding", b"connection")] == kept
        body = os.urandom(70_000) + b"\x00\xff"
        sent = httpx.post(f"{base_url}/echo", content=body, headers={"Authorization": "Bearer x", "X-Mine": "1"})
        assert sent.json()["sha256"] == hashlib.sha256(body).hexdigest()
        headers = sent.json()["headers"]
        assert headers["authorization"] == "Bearer x" and headers["x-mine"] == "1"
        assert "accept-encoding" not in headers or headers["accept-encoding"] == "gzip, deflate"
        httpx.request("OPTIONS", f"{base_url}/big")  # a CORS preflight is HTTP's, not an operation
        outside = {g["field"] for g in drift_of(base_url)["groups"] if g["location"] == "path"}
        assert outside == {"GET /big", "POST /echo"}  # answered 2xx, and no operation of the contract has them


def test_an_upstream_that_does_not_answer_is_a_502_in_the_problem_shape():
    with proxy(f"http://127.0.0.1:{free_port()}", timeout=2) as (base_url, _):
        answer = httpx.get(f"{base_url}/batches/acme")
        assert answer.status_code == 502 and answer.headers["content-type"] == "application/problem+json"
        assert "did not answer" in answer.json()["detail"]
        journal = httpx.get(f"{base_url}/_mock/journal", headers=ADMIN).json()
        assert [e["status"] for e in journal["entries"]] == [502]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Host": "evil.example:8081"}, "DNS rebinding"),
        ({"Origin": "http://evil.example"}, "other origins"),
        ({"Sec-Fetch-Site": "cross-site"}, "other origins"),
    ],
    ids=["rebound-host", "origin", "sec-fetch-site"],
)
def test_the_admin_api_answers_only_this_machine_as_the_mocks_does(headers, reason):
    """The recorder's journal holds what clients sent a real deployment: a web page must not read it, whatever the
    name it reaches 127.0.0.1 by (DNS rebinding) or the origin it runs in."""
    with serving(odd_upstream(), "odd-upstream") as upstream, proxy(upstream) as (base_url, _):
        for path in ("/_mock/journal", "/_mock/drift", "/_mock/health"):
            refused = httpx.get(base_url + path, headers={**ADMIN, **headers})
            assert refused.status_code == 403, (path, refused.text)
            assert refused.headers["content-type"] == "application/problem+json" and reason in refused.json()["detail"]
            assert "access-control-allow-origin" not in refused.headers
        assert httpx.get(f"{base_url}/_mock/journal", headers={**ADMIN, "Host": "localhost:8081"}).status_code == 200
    with (
        serving(odd_upstream(), "odd-upstream") as upstream,
        proxy(upstream, allowed_hosts=frozenset({"evil.example"})) as (base_url, _),
    ):
        assert httpx.get(f"{base_url}/_mock/journal", headers={**ADMIN, "Host": "evil.example"}).status_code == 200


def test_the_admin_api_checks_its_input_and_bounds_the_journal_answer_as_the_mocks_does():
    with serving(odd_upstream(), "odd-upstream") as upstream, proxy(upstream, journal_bytes=5_000) as (base_url, _):
        for number in range(12):  # each entry ~1.3 kB in the answer: more than 5,000 bytes in all
            body = json.dumps({"n": number, "text": "x" * 1_000})
            assert httpx.post(f"{base_url}/echo", content=body, headers={"Content-Type": "application/json"}).is_success
        answer = httpx.get(f"{base_url}/_mock/journal", headers=ADMIN, timeout=30)
        assert answer.status_code == 200 and len(answer.content) <= 5_000 + 64, len(answer.content)
        shown = answer.json()
        assert 1 <= shown["count"] < 12 and shown["entries"][-1]["body"] == {"n": 11, "text": "x" * 1_000}
        for query, field in (({"status": "２００"}, "status"), ({"limit": "1", "cfz": "1"}, "cfz"),
                             ({"format": "yaml"}, "format")):  # fmt: skip
            path = "/_mock/drift" if "format" in query else "/_mock/journal"
            refused = httpx.get(base_url + path, params=query, headers=ADMIN)
            assert refused.status_code == 400 and refused.headers["content-type"] == "application/problem+json"
            assert [e["field"] for e in refused.json()["errors"]] == [field], refused.text
        unknown = httpx.get(f"{base_url}/_mock/nothing", headers=ADMIN)
        assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"


def test_the_recorder_refuses_to_listen_beyond_this_machine_with_the_published_admin_token(capsys):
    code = mock_cli.main(["proxy", "--upstream", "http://127.0.0.1:9", "--host", "0.0.0.0"])
    assert code == 1 and "read the journal" in capsys.readouterr().err


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_command_line_reports_at_exit_and_writes_the_report_and_the_recording(target, tmp_path, stop):
    target.reset()
    target.app.switch(PlantedDrift())
    recorder = ServerProcess([sys.executable, "-m", "mockserver", "proxy"], name="collect-mock proxy")
    recorder.argv += ["--upstream", target.base_url, "--port", str(recorder.port), "--record", str(tmp_path / "rec"),
                      "--report", str(tmp_path / "drift.md")]  # fmt: skip
    with recorder:
        recorder.wait_ready(timeout=60)
        body = {"name": "b", "business_unit_id": "bu-1", "fiscal_year_id": "fy-1", "fiscal_period": 1,
                "date": "2025-01-01", "type": "transaction", "status": "open"}  # fmt: skip
        created = httpx.post(f"{recorder.base_url}/batches/{TENANT}", json=body,
                             headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        assert created.status_code == 201
        code = recorder.stop(stop, grace=60)  # to its process group, checker included, as a terminal's Ctrl-C
        out = recorder.output_text()
    target.reset()
    assert code == 0, out
    assert "DRIFT: 1 status-differs" in out and "drift report:" in out and "recording:" in out
    assert "`createBatch` answered 201" in (tmp_path / "drift.md").read_text()
    assert json.loads((tmp_path / "rec" / "conformance" / "batches.json").read_text())[0]["name"] == "b"


class ExampleAnswers:
    """What a stateless mock of the contract does (Prism answers its examples): every invoice read is the same."""

    name = "ExampleAnswers"

    async def apply(self, call):
        response = await call.forward()
        if call.operation and call.operation.operation_id == "getInvoice" and response.status == 200:
            return response.with_json({**response.json(), "id": "inv-001179"})
        return response


def test_a_read_that_answers_another_record_is_a_drift_of_the_id_rules(target):
    target.reset()
    target.app.switch(ExampleAnswers())
    with proxy(target.base_url) as (base_url, _):
        client_session(base_url, TOKEN, TENANT, records=3)
        report = drift_of(base_url)
    target.reset()
    found = {(g["operation_id"], g["kind"], g["field"]) for g in report["groups"]}
    assert found == {("getInvoice", "state-rule-differs", "/id")}
    assert report["groups"][0]["count"] == 3 and "answered the record 'inv-001179'" in report["groups"][0]["message"]
