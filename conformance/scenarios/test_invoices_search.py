"""How to find the invoices of a business unit that fall due in a date range."""

from conformance.context import Context


def test_find_invoices_due_in_april(collect: Context) -> None:
    unit = collect.unique("bu")
    due = {
        day: collect.create("invoices", business_unit_id=unit, date_due=day)["id"]
        for day in ("2025-03-31", "2025-04-01", "2025-04-30", "2025-05-01")
    }

    # Ranges are [min, max] with both bounds included.
    found = collect.call(
        "invoices", "search", json={"business_unit_id": unit, "date_due": ["2025-04-01", "2025-04-30"]}
    )

    assert found.status == 200
    assert sorted(hit["id"] for hit in found.json()["Items"]) == sorted([due["2025-04-01"], due["2025-04-30"]])
