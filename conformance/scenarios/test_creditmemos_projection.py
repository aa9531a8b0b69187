"""How to read only the fields you need from a credit memo."""

from conformance.context import Context


def test_read_the_total_of_a_credit_memo(collect: Context) -> None:
    memo = collect.create("creditMemos")

    answer = collect.get("creditMemos", memo["id"], fields="id,total")

    assert answer.status == 200
    assert answer.json() == {"id": memo["id"], "total": memo["total"]}
