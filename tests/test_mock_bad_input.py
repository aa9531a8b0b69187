"""Bad input: always a clear 4xx in the problem shape, never a 500, and nothing stored."""

import pytest

from mockserver.errors import MAX_FIELD, shortened
from tests.support import factory

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("content", "headers", "fragment"),
    [
        (b'{"name": ', JSON, "not valid JSON"),
        (b'{"name": NaN}', JSON, "NaN"),
        (b'{"total": Infinity}', JSON, "Infinity"),
        (b'{"total": 1e999}', JSON, "too large"),
        (b'{"number": ' + b"9" * 5000 + b"}", JSON, "not valid JSON"),
        (b'{"fiscal_period": 123456789012345678901234567890}', JSON, "64-bit"),
        (b"[" * 40 + b"]" * 40, JSON, "nests deeper"),
        (b'{"name": "\xff\xfe"}', JSON, "utf-8"),
        (b'{"name": "x"}', {"Content-Type": "text/plain"}, "Content-Type"),
        (b'{"name": "x"}', {}, "Content-Type"),
        (b"", JSON, "required"),
        (b"   ", JSON, "required"),
        (b"[]", JSON, "is not of type 'object'"),
        (b"null", JSON, "required"),
        (
            b'{"name": "a", "fiscal_period": 99, "fiscal_period": 5}',
            JSON,
            "body fiscal_period: 'fiscal_period' is given twice",
        ),
        (b'{"name": "x"}', {**JSON, "Content-Encoding": "gzip"}, "Content-Encoding"),
    ],
    ids=[
        "truncated",
        "nan",
        "infinity",
        "huge-float",
        "huge-int",
        "int-over-64-bits",
        "deep",
        "bad-utf8",
        "wrong-type",
        "no-type",
        "empty",
        "blank",
        "array",
        "null",
        "repeated-field",
        "compressed",
    ],
)
def test_malformed_bodies_are_400_and_store_nothing(api, content, headers, fragment):
    response = api.post("/batches/acme", content=content, headers=headers)
    assert response.status_code == 400, response.text
    assert fragment.lower() in response.json()["detail"].lower()
    assert response.json()["errors"]
    assert api.get("/batches/acme").json() == []


def test_a_body_over_one_mebibyte_is_400(api):
    body = factory.batch(description="x" * 60_000)
    big = (
        b'{"operations": ['
        + b",".join([b'{"operation": "create", "object": ' + repr(body).encode() + b"}"] * 20)
        + b"]}"
    )
    response = api.post("/batches/acme/batch", content=big, headers=JSON)
    assert response.status_code == 400 and "1 MiB" in response.json()["detail"]


def test_an_over_long_string_is_400_naming_the_field(api):
    response = api.post("/batches/acme", json=factory.batch(description="x" * 70_000))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "description"


@pytest.mark.parametrize("record_id", ["a.b", "a b", "ünïcode", "..", "%2e%2e", "a|b%2Fc", "x" * 300 + "%00"])
def test_odd_ids_in_the_path_are_a_clear_4xx(api, record_id):
    response = api.get(f"/batches/acme/{record_id}", unchecked=True)
    assert response.status_code in (400, 404), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_path_traversal_does_not_escape(api):
    response = api.get("/batches/acme/../../_mock/export", unchecked=True)
    assert response.status_code in (400, 401, 404)
    assert "tenants" not in response.text


def test_unknown_query_parameters_are_400_naming_them(api):
    response = api.get("/batches/acme", params={"limit": "10", "fields": "id"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"location": "query", "field": "limit", "message": "is not a parameter of this operation"}
    ]


def test_wrong_parameter_types_are_400_naming_the_parameter(api):
    response = api.get("/batches/acme/fiscal_period/fy-2025/13")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "fiscal_period"
    response = api.get("/batches/acme/status/sleeping/bu-us")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "status"


def test_a_patch_into_a_missing_location_is_400(api):
    batch = api.post("/batches/acme", json=factory.batch()).json()
    response = api.patch(f"/batches/acme/{batch['id']}", json=[{"op": "add", "path": "/statistics/x/y", "value": 1}])
    assert response.status_code == 400
    assert api.get(f"/batches/acme/{batch['id']}").json() == batch


def test_a_malformed_patch_directive_is_400(api):
    batch = api.post("/batches/acme", json=factory.batch()).json()
    for patch in (
        [{"op": "jump", "path": "/name"}],
        [{"path": "/name"}],
        {"op": "add"},
        [{"op": "add", "path": "name"}],
    ):
        response = api.patch(f"/batches/acme/{batch['id']}", json=patch)
        assert response.status_code == 400, (patch, response.text)


def test_an_undocumented_method_is_405_naming_the_methods_of_that_path(api):
    response = api.request("OPTIONS", "/batches/acme/batch", unchecked=True)
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    response = api.request("DELETE", "/writeOffs/acme/wo-1", unchecked=True)
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD, PATCH, PUT"
    assert response.headers["content-type"] == "application/problem+json"


def test_head_answers_as_get_does_without_the_body(api, world):
    """HTTP tools (link checkers, caches, `curl -I`) send HEAD; every server should take it where GET works."""
    for path in (f"/batches/acme/{world.batch['id']}", "/invoices/acme", "/batches/acme/nope"):
        got, head = api.get(path), api.request("HEAD", path, unchecked=True)
        assert (head.status_code, head.content) == (got.status_code, b"")
        assert head.headers["content-length"] == got.headers["content-length"]
        assert head.headers["content-type"] == got.headers["content-type"]
    assert api.request("HEAD", "/batches/acme", headers={"Authorization": ""}, unchecked=True).status_code == 401


def test_a_cors_preflight_is_answered(api):
    response = api.request(
        "OPTIONS",
        "/batches/acme",
        unchecked=True,
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_a_patch_path_that_is_not_a_json_pointer_is_a_schema_error(api):
    batch = api.post("/batches/acme", json=factory.batch()).json()
    for path in ["name", "", "/a~2b"]:
        response = api.patch(f"/batches/acme/{batch['id']}", json=[{"op": "add", "path": path, "value": 1}])
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == "[0].path"


@pytest.mark.parametrize(
    ("path", "body", "field", "message"),
    [
        (
            "/batches/acme/batch",
            {"operations": [{"operation": "delete", "id": f"b-{n}"} for n in range(101)]},
            "operations",
            "has 101 items, more than the 100 allowed",
        ),
        ("/batches/acme", factory.batch(fiscal_period=[1] * 500), "fiscal_period", "is not of type 'integer'"),
        ("/batches/acme", factory.batch(status="q" * 5000), "status", "is not one of: "),
        ("/batches/acme", {**factory.batch(), "z" * 5000: 1}, "z" * 5000, "is not a field of this schema"),
    ],
    ids=["too-many-items", "long-array", "long-string", "long-field-name"],
)
def test_an_error_quotes_a_large_value_briefly(api, path, body, field, message):
    """A message names what was wrong in a line; it does not echo a 100-item array or a 5,000-character string, and
    a 5,000-character field name is named by its start."""
    response = api.post(path, json=body)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == shortened(field, MAX_FIELD) and message in error["message"] and len(error["message"]) < 300
    assert len(response.content) < 2_000


def test_a_missing_record_with_a_long_id_is_named_briefly(api):
    response = api.get(f"/batches/acme/{'a' * 3000}")
    assert response.status_code == 404 and len(response.json()["detail"]) < 200


def test_a_field_named_twice_is_refused_wherever_it_is_written(api):
    """The mock would keep the last of two values, a validating proxy in front of it perhaps the first: refused."""
    batch = api.post("/batches/acme", json=factory.batch()).json()
    path = f"/batches/acme/{batch['id']}"
    patch = b'[{"op": "test", "path": "/name", "value": "x", "op": "add"}]'
    operations = b'{"operations": [{"operation": "create", "object": {"name": "a", "name": "b"}}]}'
    for method, url, content, field in [
        ("PATCH", path, patch, "[0].op"),
        ("POST", "/batches/acme/batch", operations, "operations[0].object.name"),
        ("PUT", path, b'{"name": "a", "name": "b"}', "name"),
    ]:
        response = api.request(method, url, content=content, headers=JSON)
        assert response.status_code == 400, (method, response.text)
        assert response.json()["errors"][0]["field"] == field and "given twice" in response.json()["detail"]
    assert api.get(path).json() == batch


BIG_ROW = {f"cell{i}": chr(97 + i) * 60_000 for i in range(15)}  # a table row of 900 KB
ROW = "/custom_field_values/0/table_value/0"


@pytest.mark.parametrize(
    ("directive", "fragment"),
    [
        ({"op": "replace", "path": f"{ROW}/nope/x", "value": 1}, "member 'nope' not found"),
        ({"op": "add", "path": f"{ROW}/cell0/x", "value": 1}, "cannot be applied"),
        ({"op": "remove", "path": "/custom_field_values/0/table_value/7"}, "cannot be applied"),
        ({"op": "copy", "from": f"{ROW}/nope", "path": "/x"}, "cannot be applied"),
        ({"op": "test", "path": f"{ROW}/cell1", "value": "z" * 5_000}, "test failed"),
        ({"op": "replace", "path": f"{ROW}/" + "q" * 60_000, "value": 1}, "cannot be applied"),
    ],
    ids=["member-not-found", "index-into-a-string", "out-of-bounds", "copy-from-nowhere", "test", "long-path"],
)
def test_a_patch_that_fails_on_a_large_record_answers_a_line_not_the_record(api, directive, fragment):
    """jsonpointer's messages quote the document they searched: the 400 to a 60-byte patch was 1.8 MB."""
    body = factory.batch(custom_field_values=[{"custom_field_id": "cf-1", "table_value": [BIG_ROW]}])
    batch = api.post("/batches/acme", json=body).json()
    response = api.patch(f"/batches/acme/{batch['id']}", json=[directive])
    assert response.status_code == 400 and len(response.content) < 4_000, len(response.content)
    assert fragment in response.json()["detail"] and response.json()["errors"][0]["field"] == "[0]"
    operations = [{"operation": "patch", "id": batch["id"], "patch_directives": [directive]}] * 12
    answered = api.post("/batches/acme/batch", json={"operations": operations})
    assert answered.status_code == 200 and len(answered.content) < 12 * 4_000, len(answered.content)
    results = answered.json()["results"]
    assert fragment in results[0]["error_message"] and all(len(r["error_message"]) < 1_000 for r in results)


def test_a_patch_that_copies_or_compares_too_many_values_is_refused_and_changes_nothing(api):
    """14 copies of 250 KB of `[{}, {}, ...]` fit the 8 MiB budget, yet held the server 1.2 s: values are counted."""
    body = factory.batch(custom_field_values=[{"custom_field_id": "cf-1", "table_value": [{"a": [{}] * 83_000}]}])
    batch = api.post("/batches/acme", json=body).json()
    copies = [{"op": "copy", "from": f"{ROW}/a", "path": f"{ROW}/b"}] * 14
    response = api.patch(f"/batches/acme/{batch['id']}", json=copies)
    assert response.status_code == 400 and "values a request may copy or compare" in response.json()["detail"]
    assert response.json()["errors"][0]["field"] in {f"[{i}]" for i in range(14)}
    assert api.get(f"/batches/acme/{batch['id']}").json() == batch
