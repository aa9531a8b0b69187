"""How to find every batch that depends on a batch, however indirectly."""

from conformance.context import Context


def test_follow_dependents_down_a_chain(collect: Context) -> None:
    last = collect.create("batches")
    middle = collect.create("batches", dependents=[last["id"]])
    first = collect.create("batches", dependents=[middle["id"]])

    answer = collect.client.call("getBatchDependents", params={"ids": first["id"]})

    assert answer.status == 200
    assert answer.json()["children"] == [middle["id"], last["id"]]
