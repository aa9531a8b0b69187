"""The request journal: client tests can see what their code sent."""

import json

import httpx
import pytest

from mockserver import Settings
from mockserver.journal import Journal
from mockserver.testing import serve_in_thread
from tests.support import factory


def journal(api, **params):
    return api.admin("GET", "journal", params=params).json()


def test_each_request_is_recorded_with_its_outcome(api):
    created = api.post("/batches/acme", json=factory.batch(name="Journaled")).json()
    api.get(f"/batches/acme/{created['id']}", params={"fields": "id"})
    api.get("/batches/acme/bat-missing")
    entries = journal(api)["entries"]
    assert [(e["method"], e["operation_id"], e["status"]) for e in entries] == [
        ("POST", "createBatch", 200),
        ("GET", "getBatch", 200),
        ("GET", "getBatch", 404),
    ]
    assert entries[0]["tenant"] == "acme" and entries[0]["body"]["name"] == "Journaled"
    assert entries[1]["query"] == "fields=id"
    assert all(e["duration_ms"] >= 0 for e in entries)


def test_refused_requests_are_recorded_and_tokens_are_not(api):
    api.with_token("globex-token").get("/batches/acme")
    api.with_token(None).get("/batches/acme")
    entries = journal(api)["entries"]
    assert [e["status"] for e in entries] == [403, 401]
    assert "globex-token" not in str(entries) and "dev-token" not in str(entries)


def test_the_journal_filters_and_clears(api):
    api.post("/batches/acme", json=factory.batch())
    api.post("/batches/globex", json=factory.batch())
    api.get("/batches/globex")
    assert journal(api, tenant="globex")["count"] == 2
    assert journal(api, method="post", path="/batches/")["count"] == 2
    assert journal(api, operation="listBatches")["count"] == 1
    assert journal(api, status=200, limit=1)["entries"][0]["method"] == "GET"
    assert api.admin("DELETE", "journal").status_code == 200
    assert journal(api)["count"] == 0


def test_admin_calls_are_not_journaled(api):
    api.admin("GET", "export")
    assert journal(api)["count"] == 0


def test_journal_queries_are_checked(api):
    for query, field in [("limit=-3", "limit"), ("limit=abc", "limit"), ("status=99", "status"), ("lmit=3", "lmit")]:
        response = api.admin("GET", f"journal?{query}")
        assert response.status_code == 400, query
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field


def test_the_journal_is_bounded_in_bytes_and_clips_long_queries(api):
    huge = "q=" + "x" * 60_000
    for _ in range(5):
        api.with_token(None).get(f"/batches/acme?{huge}")  # refused (401), journaled anyway
    entries = journal(api)["entries"]
    assert len(entries) == 5 and all(e["status"] == 401 for e in entries)
    assert all(len(e["query"]) < 2_100 and e["query"].endswith("(60002 characters)") for e in entries)

    bounded = Journal(capacity=1_000, max_bytes=100_000)
    entry = {"at": 0.0, "method": "POST", "path": "/p", "query": "", "tenant": None, "operation_id": None}
    for _ in range(100):
        bounded.record(**entry, status=400, duration_ms=1.0, body=b"b" * 10_000)
    assert bounded.bytes <= 100_000 and len(bounded.find()) == 9 and bounded.find()[-1].seq == 100


def strict_json(text):
    """JSON as strict parsers read it: NaN, Infinity and lone surrogates are not JSON."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    text.encode("utf-8")  # raises on a lone surrogate
    return json.loads(text, parse_constant=refuse)


SENT = {
    b'{"name": "shown as sent", "n": 1e5}': {"name": "shown as sent", "n": 100000.0},
    b"[" * 5_000: "[" * 5_000,
    b'{"name": NaN}': '{"name": NaN}',
    b'{"total": 1e999}': '{"total": 1e999}',
    b'{"name": "a", "name": "b"}': '{"name": "a", "name": "b"}',
    b'{"memo": "\\ud800"}': '{"memo": "\\ud800"}',
    b"\x00\x01\x1f": "\x00\x01\x1f",
    b"\xff\xfe": "\ufffd\ufffd",
}


def test_the_journal_answer_is_valid_json_whatever_was_sent(api):
    """A body too deep, with NaN or a lone surrogate was kept and made GET /_mock/journal a 500, or invalid JSON."""
    for body in SENT:  # the first is created, the others refused (400)
        api.post("/batches/acme", content=body, headers={"Content-Type": "application/json"}, unchecked=True)
    response = api.admin("GET", "journal")
    assert response.status_code == 200
    entries = strict_json(response.text)["entries"]
    assert [e["body"] for e in entries] == list(SENT.values())


@pytest.fixture(scope="module")
def small_journal():
    settings = Settings(db=":memory:", seed=False, journal_bytes=1_048_576)
    with serve_in_thread(settings) as (base_url, _):
        yield base_url


@pytest.mark.parametrize("byte", [b"\x01", b"\xff", b'"'])
def test_the_journal_answer_is_bounded_in_bytes_whatever_the_bodies(small_journal, byte):
    """64 KiB of control characters take 384 KiB in a JSON answer: an entry counts by what it takes in the answer."""
    with httpx.Client(base_url=small_journal, timeout=30) as client:
        admin = {"Authorization": "Bearer dev-admin-token"}
        client.delete("/_mock/journal", headers=admin)
        headers = {"Content-Type": "application/json", "Authorization": "Bearer dev-token"}
        for _ in range(40):  # 2.6 MB sent, refused (400) and journaled: 15 MB once escaped
            client.post("/batches/acme", content=byte * 65_536, headers=headers)
        response = client.get("/_mock/journal", headers=admin)
    assert response.status_code == 200 and len(response.content) <= 1_048_576 + 64
    answer = strict_json(response.text)
    assert answer["count"] >= 2 and answer["omitted"] == 0
    assert answer["entries"][-1]["body"] == (byte * 65_536).decode("utf-8", "replace")


def test_an_answer_over_the_budget_leaves_out_the_oldest_entries_and_says_so():
    bounded = Journal(capacity=100, max_bytes=5_000)
    entry = {"at": 0.0, "method": "POST", "path": "/p", "query": "", "tenant": None, "operation_id": None}
    for _ in range(10):
        bounded.record(**entry, status=400, duration_ms=1.0, body=b"x" * 1_000)
    answer = bounded.answer(bounded.find())
    shown = strict_json(answer.decode())
    assert len(answer) <= 5_000 + 64 and shown["count"] + shown["omitted"] == len(bounded.find())
    assert [e["seq"] for e in shown["entries"]] == [e.seq for e in bounded.find()][-shown["count"] :]
