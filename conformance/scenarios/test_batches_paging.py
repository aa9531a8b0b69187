"""How to read every batch of a fiscal period, page by page."""

from conformance.context import Context
from conformance.failures import IncompleteWalk
from conformance.rules._support import walk


def test_walk_the_batches_of_a_fiscal_period(collect: Context) -> None:
    fiscal_year = collect.unique("fy")
    created = {collect.create("batches", fiscal_year_id=fiscal_year, fiscal_period=4)["id"] for _ in range(7)}

    # Pass each page's LastEvaluatedKey back as exclusiveStartKey until a page comes without one.
    lookup = collect.contract.operations["listBatchesByFiscalPeriod"]
    pages = walk(collect, lookup, IncompleteWalk, fiscal_year_id=fiscal_year, fiscal_period="4")

    assert sorted(pages.ids) == sorted(created)
