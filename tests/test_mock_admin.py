"""The admin API: its own token, reset, fixtures and export."""

from tests.support import factory


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
