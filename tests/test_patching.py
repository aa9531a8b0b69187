"""JSON Patch under limits: the work a patch can cause is bounded by construction, whatever it asks for."""

import jsonpatch
import orjson
import pytest

from mockserver import patching
from mockserver.errors import BadRequestProblem
from mockserver.patching import MAX_DIRECTIVES, WORK_BYTES, PatchBudget, apply_patch, identical
from mockserver.validation import MAX_RECORD_BYTES

RECORD = {"id": "bat-1", "name": "x" * 1_300, "rows": [{}]}
DOUBLING = [{"op": "copy", "from": "/rows", "path": "/rows/0/copy"}, {"op": "copy", "from": "/name", "path": "/n2"}]


@pytest.fixture
def measured(monkeypatch):
    """The size of the document after every directive jsonpatch applies."""
    sizes = []
    real = jsonpatch.JsonPatch.apply

    def apply(self, obj, *args, **kwargs):
        result = real(self, obj, *args, **kwargs)
        sizes.append(len(orjson.dumps(result)))
        return result

    monkeypatch.setattr(patching.jsonpatch.JsonPatch, "apply", apply)
    return sizes


def test_a_doubling_patch_stops_at_the_size_of_a_record_having_done_bounded_work(measured):
    """Twenty copies of a record into itself would make it a million times larger; the patch stops early."""
    grow = [{"op": "add", "path": "/blob", "value": "y" * 60_000}]
    grow += [{"op": "copy", "from": "/blob", "path": f"/b{i}"} for i in range(40)]
    budget = PatchBudget()
    with pytest.raises(BadRequestProblem, match=r"\[\d+\]: would make the record \d+ bytes"):
        apply_patch(RECORD, grow, budget)
    assert max(measured) <= 2 * MAX_RECORD_BYTES  # no intermediate document ever got far past the limit
    assert budget.left >= 0 and WORK_BYTES - budget.left <= 2 * MAX_RECORD_BYTES


def test_nesting_doubling_is_stopped_by_the_depth_limit(measured):
    nest = [{"op": "copy", "from": "/rows", "path": "/rows/0/r"}] * 40
    with pytest.raises(BadRequestProblem, match="deeper than 32"):
        apply_patch(RECORD, nest, PatchBudget())
    assert len(measured) < 40


def test_a_request_shares_one_budget_across_its_patches():
    big = {"id": "b", "blob": "z" * 300_000}
    budget = PatchBudget()
    copy = [{"op": "copy", "from": "/blob", "path": "/other"}]
    done = 0
    with pytest.raises(BadRequestProblem, match="8 MiB"):
        for _ in range(100):  # a batch of 100 patches, each starting from a 300 KB record and copying 300 KB
            apply_patch(big, copy, budget)
            done += 1
    assert 5 <= done < 20


def test_more_directives_than_the_limit_are_refused_before_any_is_applied(measured):
    with pytest.raises(BadRequestProblem, match=f"more than the {MAX_DIRECTIVES}"):
        apply_patch(RECORD, [{"op": "test", "path": "/id", "value": "bat-1"}] * (MAX_DIRECTIVES + 1), PatchBudget())
    assert measured == []


def test_a_value_added_deep_down_is_checked_where_it_lands():
    deep: dict = {}
    for _ in range(30):
        deep = {"d": deep}
    with pytest.raises(BadRequestProblem, match=r"\[0\]\.d.*deeper than 32"):
        apply_patch(RECORD, [{"op": "add", "path": "/rows/0/x", "value": deep}], PatchBudget())


def test_the_original_is_never_changed():
    before = orjson.dumps(RECORD)
    with pytest.raises(BadRequestProblem):
        apply_patch(RECORD, [*DOUBLING, {"op": "test", "path": "/id", "value": "other"}], PatchBudget())
    assert orjson.dumps(RECORD) == before


@pytest.mark.parametrize(("a", "b", "same"), [(1, 1, True), (1, True, False), (1, 1.0, False), ([1], [True], False)])
def test_identical_tells_json_types_apart(a, b, same):
    assert identical({"v": a}, {"v": b}) is same
