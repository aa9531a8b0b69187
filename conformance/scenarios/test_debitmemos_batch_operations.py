"""How to create and delete debit memos in one request, and read what happened to each."""

from conformance.context import Context


def test_create_two_and_delete_one_in_one_batch(collect: Context) -> None:
    old = collect.create("debitMemos")
    operations = [
        {"operation": "create", "object": collect.body("debitMemos", memo="late fee")},
        {"operation": "create", "object": collect.body("debitMemos", memo="admin fee")},
        {"operation": "delete", "id": old["id"]},
    ]

    answer = collect.batch("debitMemos", operations).json()

    assert [r["outcome"] for r in answer["results"]] == ["success"] * 3
    assert (answer["success_count"], answer["error_count"]) == (3, 0)
    assert collect.get("debitMemos", old["id"]).status == 404
