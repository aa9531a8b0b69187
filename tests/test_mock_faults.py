"""Fault injection: latency, errors and 429 with Retry-After, per route and tenant, deterministic by seed."""

import time

import pytest

from tests.support import factory


@pytest.fixture
def faults(api):
    """Add fault rules; the `api` fixture clears them before the next test."""
    return lambda *rules: api.admin("POST", "faults", json=list(rules)).json()


def test_a_throttle_answers_429_with_retry_after_in_the_problem_shape(api, faults):
    faults({"operation": "listBatches", "tenant": "acme", "throttle_rate": 1, "retry_after": 3})
    response = api.get("/batches/acme")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert "retry after 3 seconds" in response.json()["detail"]
    assert api.get("/batches/globex").status_code == 200
    assert api.get("/invoices/acme").status_code == 200


def test_an_error_rate_of_one_fails_every_matching_request(api, faults):
    faults({"path": "/invoices/*", "method": "GET", "error_rate": 1, "error_status": 500})
    assert api.get("/invoices/acme").status_code == 500
    assert api.get("/batches/acme").status_code == 200


def test_latency_delays_the_answer(api, faults):
    faults({"operation": "listBatches", "latency_ms": 300})
    started = time.perf_counter()
    assert api.get("/batches/acme").status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_faults_are_deterministic_under_a_seed(api):
    def outcomes():
        api.admin("DELETE", "faults")
        api.admin("POST", "faults", json={"operation": "listBatches", "error_rate": 0.5, "seed": 7})
        return [api.get("/batches/acme").status_code for _ in range(20)]

    first, second = outcomes(), outcomes()
    assert first == second
    assert set(first) == {200, 500}


def test_an_injected_fault_stores_nothing(api, faults):
    faults({"operation": "createBatch", "error_rate": 1})
    assert api.post("/batches/acme", json=factory.batch()).status_code == 500
    api.admin("DELETE", "faults")
    assert api.get("/batches/acme").json() == []


def test_rules_are_listed_and_removed_one_by_one(api, faults):
    added = faults({"operation": "listBatches", "throttle_rate": 1}, {"tenant": "globex", "latency_ms": 1})
    ids = [rule["id"] for rule in added["added"]]
    assert [r["id"] for r in api.admin("GET", "faults").json()["rules"]] == ids
    assert api.admin("DELETE", f"faults/{ids[0]}").status_code == 200
    assert [r["id"] for r in api.admin("GET", "faults").json()["rules"]] == ids[1:]
    assert api.get("/batches/acme").status_code == 200
    assert api.admin("DELETE", "faults/999").status_code == 404


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ({"error_rate": 2}, ["'error_rate'", "'2'"]),
        ({"latency_ms": -1}, ["'latency_ms'", "'-1'"]),
        ({"colour": "red"}, ["'colour'"]),
        ({"error_status": 200}, ["'error_status'", "'200'"]),
        ("not a rule", ["'not a rule'", "JSON object"]),
    ],
)
def test_an_invalid_rule_is_400_naming_the_key(api, rule, named):
    response = api.admin("POST", "faults", json=rule)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert all(name in detail for name in named), detail
    assert api.admin("GET", "faults").json()["rules"] == []


def test_start_up_rules_may_come_from_the_environment_as_from_the_flag(tmp_path):
    from mockserver.settings import Settings, SettingsError

    rules = tmp_path / "faults.json"
    rules.write_text('[{"operation": "getBatch", "error_rate": 1}]')
    assert Settings.from_env({"MOCKSERVER_FAULTS": str(rules)}).faults == ({"operation": "getBatch", "error_rate": 1},)
    rules.write_text('{"colour": "red"}')
    with pytest.raises(SettingsError, match="colour"):
        Settings.from_env({"MOCKSERVER_FAULTS": str(rules)})


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ({"method": 1}, "'method'"),
        ({"path": ["x"]}, "'path'"),
        ({"retry_after": True}, "'retry_after'"),
        ({"retry_after": "2"}, "'retry_after'"),
        ({"latency_ms": 1.5}, "'latency_ms'"),
        ({"method": "FETCH"}, "'method'"),
    ],
)
def test_a_rule_of_the_wrong_type_is_refused_and_the_api_keeps_working(api, rule, named):
    response = api.admin("POST", "faults", json=rule)
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
    assert named in response.json()["detail"]
    assert api.admin("GET", "faults").json()["rules"] == []
    assert api.get("/batches/acme").status_code == 200


def test_a_rule_list_is_added_whole_or_not_at_all(api):
    rules = [{"operation": "listBatches", "throttle_rate": 1}, {"retry_after": True}, {"tenant": "acme"}]
    response = api.admin("POST", "faults", json=rules)
    assert response.status_code == 400 and "[1].retry_after" in str(response.json()["errors"])
    assert api.admin("GET", "faults").json()["rules"] == []
    assert api.get("/batches/acme").status_code == 200  # the good rule before the bad one is not active either
