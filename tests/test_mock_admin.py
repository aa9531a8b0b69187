"""The admin API: its own token, reset, fixtures and export, and input checked as strictly as the API's."""

import pytest

from tests.support import factory
from tests.support.client import ADMIN_TOKEN


def test_admin_routes_need_the_admin_token(api):
    assert api.post("/batches/acme", json=factory.batch()).status_code == 200
    for method, path in [("POST", "reset"), ("POST", "fixtures"), ("GET", "export")]:
        response = api.http.request(method, f"/_mock/{path}", headers={"Authorization": "Bearer dev-token"})
        assert response.status_code == 401
    assert len(api.get("/batches/acme").json()) == 1


def test_fixtures_fill_in_ids_and_system_fields(api):
    loaded = api.admin("POST", "fixtures", json={"acme": {"batches": [factory.batch(name="Seeded")]}})
    assert loaded.json() == {"loaded": {"acme": {"batches": 1}}}
    [batch] = api.get("/batches/acme").json()
    assert batch["name"] == "Seeded" and batch["sys_version"] == 1 and batch["id"]


def test_invalid_fixtures_are_refused_and_nothing_is_loaded(api):
    response = api.admin("POST", "fixtures", json={"acme": {"batches": [factory.batch(), {"name": 3}]}})
    assert response.status_code == 400 and "batches[1]" in response.json()["detail"]
    assert api.get("/batches/acme").json() == []
    assert api.admin("POST", "fixtures", json={"acme": {"payments": []}}).status_code == 400


def test_an_id_given_twice_in_one_load_is_one_record_the_later_wins(api):
    twice = [factory.batch(name="first", id="bat-twice"), factory.batch(name="second", id="bat-twice")]
    loaded = api.admin("POST", "fixtures", json={"acme": {"batches": twice}})
    assert loaded.json() == {"loaded": {"acme": {"batches": 1}}}
    assert [b["name"] for b in api.get("/batches/acme").json()] == ["second"]
    assert api.delete("/batches/acme/bat-twice").status_code == 200
    assert api.get("/batches/acme").json() == []


def test_an_export_loads_back_as_it_is_even_over_the_apis_body_limit(api):
    api.admin("POST", "reset?seed=true")
    saved = api.admin("GET", "export").json()
    assert len(api.admin("GET", "export").content) > 1_048_576
    api.admin("POST", "reset")
    assert api.admin("POST", "fixtures", json=saved).status_code == 200
    assert api.admin("GET", "export").json() == saved


def test_export_returns_every_record_by_tenant_and_collection(api, world):
    exported = api.admin("GET", "export").json()
    assert exported["tenants"]["acme"]["batches"] == [world.batch]
    assert exported["tenants"]["acme"]["invoices"] == [world.invoice]


def test_reset_empties_the_mock(api, world):
    assert api.admin("POST", "reset").status_code == 200
    assert api.get("/batches/acme").json() == []
    assert api.admin("GET", "health").json()["tenants"] == []


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("POST", "reset?sed=true", "sed"),
        ("POST", "reset?seed=banana", "seed"),
        ("POST", "reset?seed=true&seed=false", "seed"),
        ("POST", "reset?seed=", "seed"),
        ("GET", "journal?limit=%EF%BC%91", "limit"),
        ("GET", "journal?limit=%201", "limit"),
        ("GET", "journal?status=%D9%A2%D9%A0%D9%A0", "status"),
        ("GET", "health?verbose=1", "verbose"),
        ("GET", "export?tenant=acme", "tenant"),
        ("DELETE", "journal?all=1", "all"),
        ("GET", "faults?x=1", "x"),
    ],
)
def test_an_unknown_repeated_or_ill_typed_query_parameter_is_a_400_and_does_nothing(api, world, method, path, field):
    """`reset?sed=true` (a typo) wiped everything: every route checks its query before it acts."""
    response = api.admin(method, path)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert api.get(f"/batches/acme/{world.batch['id']}").status_code == 200


def test_reset_takes_seed_as_true_or_false(api, world):
    assert api.admin("POST", "reset?seed=false").json() == {"status": "reset", "loaded": {}}
    assert api.admin("POST", "reset?seed=TRUE").json()["loaded"]


@pytest.mark.parametrize(
    ("path", "headers", "content", "fragment"),
    [
        ("fixtures", {"Content-Type": "text/plain"}, b'{"acme": {}}', "Content-Type"),
        ("fixtures", {"Content-Type": "application/json; charset=utf-7"}, b'{"acme": {}}', "utf-7"),
        ("fixtures", {}, b'{"acme": {}}', "Content-Type"),
        ("fixtures", {"Content-Type": "application/json", "Content-Encoding": "gzip"}, b'{"acme": {}}', "Encoding"),
        ("fixtures", {"Content-Type": "application/json"}, b'{"acme": {}, "acme": {"batches": []}}', "twice"),
        ("faults", {"Content-Type": "text/plain; charset=utf-7"}, b'{"path": "+AC8-batches"}', "Content-Type"),
        ("faults", {"Content-Type": "application/json"}, b'{"error_rate": 1, "error_rate": 0}', "twice"),
    ],
)
def test_admin_bodies_are_utf8_json_like_the_apis(api, world, path, headers, content, fragment):
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    response = api.http.post(f"/_mock/{path}", content=content, headers={**headers, **admin})
    assert response.status_code == 400 and fragment in response.json()["detail"], response.text
    assert api.admin("GET", "faults").json()["rules"] == []
    assert api.get(f"/batches/acme/{world.batch['id']}").status_code == 200
