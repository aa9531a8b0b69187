"""The request journal: client tests can see what their code sent."""

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

    from mockserver.journal import Journal

    bounded = Journal(capacity=1_000, max_bytes=100_000)
    entry = {"at": 0.0, "method": "POST", "path": "/p", "query": "", "tenant": None, "operation_id": None}
    for _ in range(100):
        bounded.record(**entry, status=400, duration_ms=1.0, body=b"b" * 10_000)
    assert bounded.bytes <= 100_000 and len(bounded.find()) == 9 and bounded.find()[-1].seq == 100
