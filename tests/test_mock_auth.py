"""Authentication (401) and tenant authorisation (403), in both documented styles."""

import pytest


@pytest.mark.parametrize("header", ["Bearer dev-token", "dev-token", "bearer dev-token"])
def test_both_documented_styles_are_accepted(api, header):
    response = api.with_token(None).get("/batches/acme", headers={"Authorization": header})
    assert response.status_code == 200


@pytest.mark.parametrize("header", [None, "Bearer wrong", "wrong", "Bearer", ""])
def test_no_or_unknown_credential_is_401(api, header):
    headers = {"Authorization": header} if header is not None else {}
    response = api.with_token(None).get("/batches/acme", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_token_for_another_tenant_is_403(api):
    assert api.with_token("globex-token").get("/batches/acme").status_code == 403
    assert api.with_token("globex-token").get("/batches/globex").status_code == 200


def test_auth_is_checked_before_the_body(api):
    response = api.with_token(None).post("/batches/acme", json={"not": "valid"})
    assert response.status_code == 401


def test_warm_up_needs_a_credential_but_no_tenant(api):
    assert api.with_token(None).post("/writeOffs/warmUpStepFunctions").status_code == 401
    assert api.with_token("globex-token").post("/writeOffs/warmUpStepFunctions").status_code == 200


def test_the_token_is_never_echoed(api):
    response = api.with_token("globex-token").get("/batches/acme")
    assert "globex-token" not in response.text
    record = api.with_token("globex-token").post(
        "/batches/globex",
        json={"business_unit_id": "bu", "date": "2025-01-01", "fiscal_period": 1, "fiscal_year_id": "fy", "name": "n"},
    )
    assert "globex-token" not in record.text
