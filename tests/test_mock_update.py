"""Replace (PUT) and patch (RFC 6902): versions, server-managed fields, atomicity and locks."""

import pytest

from tests.support import factory


@pytest.fixture
def batch(api):
    return api.post("/batches/acme", json=factory.batch(description="first")).json()


def test_put_replaces_the_whole_record_and_keeps_server_fields(api, batch):
    body = factory.batch(name="Renamed")  # no description: it goes away
    updated = api.put(f"/batches/acme/{batch['id']}", json=body).json()
    assert updated["name"] == "Renamed" and "description" not in updated
    assert updated["id"] == batch["id"]
    assert updated["sys_created_at"] == batch["sys_created_at"]
    assert updated["sys_created_by_id"] == batch["sys_created_by_id"]
    assert updated["sys_version"] == batch["sys_version"] + 1
    assert updated["sys_last_modified_at"] > batch["sys_last_modified_at"]
    assert api.get(f"/batches/acme/{batch['id']}").json() == updated


def test_put_accepts_a_record_as_read_and_ignores_its_system_fields(api, batch):
    as_read = dict(batch, name="Round trip", sys_version=999, sys_created_by_id="forged")
    updated = api.put(f"/batches/acme/{batch['id']}", json=as_read).json()
    assert updated["name"] == "Round trip"
    assert updated["sys_version"] == 2 and updated["sys_created_by_id"] == "dev-user"


def test_put_with_another_id_is_400_and_changes_nothing(api, batch):
    response = api.put(f"/batches/acme/{batch['id']}", json=dict(factory.batch(), id="bat-other"))
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "id"
    assert api.get(f"/batches/acme/{batch['id']}").json() == batch


def test_put_of_an_unknown_record_is_404(api):
    assert api.put("/batches/acme/bat-missing", json=factory.batch()).status_code == 404


def test_versions_strictly_increase_across_changes(api, batch):
    versions, stamps = [], []
    for i in range(4):
        if i % 2:
            record = api.put(f"/batches/acme/{batch['id']}", json=factory.batch(name=f"n{i}")).json()
        else:
            record = api.patch(
                f"/batches/acme/{batch['id']}", json=[{"op": "replace", "path": "/name", "value": f"n{i}"}]
            ).json()
        versions.append(record["sys_version"])
        stamps.append(record["sys_last_modified_at"])
    assert versions == [2, 3, 4, 5]
    assert stamps == sorted(set(stamps))


@pytest.mark.parametrize(
    ("directive", "check"),
    [
        (
            {"op": "add", "path": "/closed_at", "value": "2025-04-30T17:00:00Z"},
            lambda r: r["closed_at"].startswith("2025"),
        ),
        ({"op": "remove", "path": "/description"}, lambda r: "description" not in r),
        ({"op": "replace", "path": "/fiscal_period", "value": 5}, lambda r: r["fiscal_period"] == 5),
        (
            {"op": "move", "from": "/description", "path": "/recurring_batch_id"},
            lambda r: r["recurring_batch_id"] == "first" and "description" not in r,
        ),
        ({"op": "copy", "from": "/name", "path": "/description"}, lambda r: r["description"] == r["name"]),
        ({"op": "test", "path": "/description", "value": "first"}, lambda r: r["description"] == "first"),
    ],
    ids=["add", "remove", "replace", "move", "copy", "test"],
)
def test_each_patch_operation(api, batch, directive, check):
    response = api.patch(f"/batches/acme/{batch['id']}", json=[directive])
    assert response.status_code == 200, response.text
    assert check(response.json())
    assert response.json()["sys_version"] == (1 if directive["op"] == "test" else 2)  # a test alone changes nothing


def test_patch_can_append_to_an_array_and_test_the_version(api, batch):
    other = api.post("/batches/acme", json=factory.batch()).json()
    patch = [
        {"op": "test", "path": "/sys_version", "value": 1},
        {"op": "add", "path": "/dependents", "value": []},
        {"op": "add", "path": "/dependents/-", "value": other["id"]},
    ]
    assert api.patch(f"/batches/acme/{batch['id']}", json=patch).json()["dependents"] == [other["id"]]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ([{"op": "replace", "path": "/name", "value": "x"}, {"op": "test", "path": "/name", "value": "y"}], "[1]"),
        ([{"op": "replace", "path": "/colour", "value": "blue"}], "[0]"),
        ([{"op": "remove", "path": "/line_items/7"}], "[0]"),
        ([{"op": "replace", "path": "/fiscal_period", "value": 13}], "fiscal_period"),
        ([{"op": "remove", "path": "/name"}], "name"),
        ([{"op": "add", "path": "/colour", "value": "blue"}], "colour"),
        ([{"op": "replace", "path": "/sys_version", "value": 9}], "[0].path"),
        ([{"op": "remove", "path": "/id"}], "[0].path"),
        ([{"op": "move", "from": "/sys_created_at", "path": "/description"}], "[0].from"),
    ],
    ids=[
        "failed-test",
        "missing-path",
        "missing-index",
        "out-of-range",
        "required-removed",
        "unknown-field",
        "system-field",
        "id",
        "move-from-system-field",
    ],
)
def test_a_failing_patch_is_400_naming_the_cause_and_changes_nothing(api, batch, patch, field):
    response = api.patch(f"/batches/acme/{batch['id']}", json=patch)
    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert api.get(f"/batches/acme/{batch['id']}").json() == batch


def test_a_patch_that_changes_nothing_keeps_the_version(api, batch):
    assert api.patch(f"/batches/acme/{batch['id']}", json=[]).json() == batch
    only_tests = [
        {"op": "test", "path": "/sys_version", "value": 1},
        {"op": "test", "path": "/name", "value": batch["name"]},
    ]
    assert api.patch(f"/batches/acme/{batch['id']}", json=only_tests).json() == batch
    same_value = [{"op": "replace", "path": "/name", "value": batch["name"]}]
    assert api.patch(f"/batches/acme/{batch['id']}", json=same_value).json() == batch


def test_a_replace_is_always_a_write(api, batch):
    replaced = api.put(f"/batches/acme/{batch['id']}", json=factory.batch(description="first")).json()
    assert replaced["sys_version"] == 2 and replaced["sys_last_modified_at"] > batch["sys_last_modified_at"]


def test_a_patch_that_breaks_a_reference_is_409(api, batch):
    patch = [{"op": "add", "path": "/dependents", "value": ["bat-nope"]}]
    assert api.patch(f"/batches/acme/{batch['id']}", json=patch).status_code == 409
    assert api.get(f"/batches/acme/{batch['id']}").json() == batch


def test_a_locked_record_refuses_every_change_with_409(api):
    locked = {"acme": {"batches": [dict(factory.batch(), id="bat-locked", sys_locked=True)]}}
    assert api.admin("POST", "fixtures", json=locked).status_code == 200
    record = api.get("/batches/acme/bat-locked").json()
    assert api.put("/batches/acme/bat-locked", json=factory.batch()).status_code == 409
    assert api.patch("/batches/acme/bat-locked", json=[{"op": "remove", "path": "/status"}]).status_code == 409
    assert api.delete("/batches/acme/bat-locked").status_code == 409
    assert api.get("/batches/acme/bat-locked").json() == record
