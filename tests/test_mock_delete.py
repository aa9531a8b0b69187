"""Delete (batches) and the recursive dependents walk."""

from tests.support import factory


def test_a_deleted_batch_is_gone(api):
    batch = api.post("/batches/acme", json=factory.batch()).json()
    response = api.delete(f"/batches/acme/{batch['id']}")
    assert response.status_code == 200 and response.json() == batch["id"]
    assert api.get(f"/batches/acme/{batch['id']}").status_code == 404
    assert api.delete(f"/batches/acme/{batch['id']}").status_code == 404
    assert api.get("/batches/acme").json() == []


def test_a_batch_that_transactions_point_to_is_refused(api, world):
    # A batch that only a write off names: the invoice points to world.batch, so the 409 must come from writeOffs.
    batch = api.create("batches", factory.batch(name="Write offs only"))
    api.create("writeOffs", factory.write_off(world.invoice["id"], batch["id"]))
    response = api.delete(f"/batches/acme/{batch['id']}")
    assert response.status_code == 409
    assert "writeOffs.batch_id" in response.json()["detail"]
    assert api.get(f"/batches/acme/{batch['id']}").status_code == 200


def test_a_batch_another_batch_depends_on_is_refused(api):
    child = api.post("/batches/acme", json=factory.batch()).json()
    api.post("/batches/acme", json=factory.batch(dependents=[child["id"]]))
    assert api.delete(f"/batches/acme/{child['id']}").status_code == 409


def test_dependents_protect_the_batches_they_list_not_the_batch_that_lists_them(api):
    """The decision of NOTES.md (Responses, "Batch dependents and delete"): `dependents` is a reference field."""
    child = api.post("/batches/acme", json=factory.batch()).json()["id"]
    parent = api.post("/batches/acme", json=factory.batch(dependents=[child])).json()["id"]
    refused = api.delete(f"/batches/acme/{child}")
    assert refused.status_code == 409 and "batches.dependents" in refused.json()["detail"]
    api.patch(f"/batches/acme/{parent}", json=[{"op": "replace", "path": "/dependents", "value": []}])
    assert api.delete(f"/batches/acme/{child}").status_code == 200  # once no list names it
    other = api.post("/batches/acme", json=factory.batch()).json()["id"]
    lister = api.post("/batches/acme", json=factory.batch(dependents=[other])).json()["id"]
    assert api.delete(f"/batches/acme/{lister}").status_code == 200  # nothing names the batch that lists others
    assert api.get(f"/batches/acme/{other}").status_code == 200  # and what it listed stays as it was


def chain(api, length):
    ids = []
    for _ in range(length):
        ids.append(api.post("/batches/acme", json=factory.batch()).json()["id"])
    for parent, child in zip(ids, ids[1:], strict=False):
        api.patch(f"/batches/acme/{parent}", json=[{"op": "add", "path": "/dependents", "value": [child]}])
    return ids


def test_dependents_are_followed_recursively(api):
    a, b, c, d = chain(api, 4)
    assert api.get("/batches/acme/dependents", params={"ids": a}).json() == {"children": [b, c, d]}
    assert api.get("/batches/acme/dependents", params={"ids": c}).json() == {"children": [d]}
    assert api.get("/batches/acme/dependents", params={"ids": d}).json() == {"children": []}


def test_dependents_walk_ends_on_cycles(api):
    a, b, c = chain(api, 3)
    api.patch(f"/batches/acme/{c}", json=[{"op": "add", "path": "/dependents", "value": [a]}])
    assert api.get("/batches/acme/dependents", params={"ids": a}).json() == {"children": [b, c]}


def test_dependents_of_several_batches_list_each_once(api):
    a, b, c = chain(api, 3)
    assert api.get("/batches/acme/dependents", params={"ids": f"{a},{b}"}).json() == {"children": [c]}
    assert api.get("/batches/acme/dependents", params={"ids": "bat-unknown"}).json() == {"children": []}


def test_dependents_stay_inside_the_tenant(api):
    a, b = chain(api, 2)
    assert api.get("/batches/globex/dependents", params={"ids": a}).json() == {"children": []}
