"""JSON Patch under limits: the work a patch can cause is bounded by construction, whatever it asks for."""

import jsonpatch
import orjson
import pytest

from mockserver import patching
from mockserver.errors import BadRequestProblem
from mockserver.patching import MAX_DIRECTIVES, WORK_BYTES, WORK_VALUES, PatchBudget, apply_patch, identical
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


def _values(value):
    if isinstance(value, dict):
        return 1 + sum(_values(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_values(v) for v in value)
    return 1


@pytest.fixture
def work(monkeypatch):
    """The work a patch does value by value, counted where it is done: values jsonpatch deep-copies or compares
    in Python (each counts PYTHON_STEP), and values of the records copied (each counts one)."""
    done = {"python": 0, "records": 0}
    real_deepcopy, real_equal, real_loads = jsonpatch.copy.deepcopy, jsonpatch._json_equal, patching.orjson.loads

    def deepcopy(value, *args):
        done["python"] += _values(value)
        return real_deepcopy(value, *args)

    def json_equal(first, second):
        done["python"] += 1
        return real_equal(first, second)

    def loads(data):
        value = real_loads(data)
        done["records"] += _values(value)
        return value

    monkeypatch.setattr(jsonpatch, "copy", type("copy", (), {"deepcopy": staticmethod(deepcopy)}))
    monkeypatch.setattr(jsonpatch, "_json_equal", json_equal)
    monkeypatch.setattr(patching.orjson, "loads", loads)
    return lambda: patching.PYTHON_STEP * done["python"] + done["records"]


DENSE = {"id": "bat-1", "a": [{} for _ in range(80_000)], "b": [0]}  # 240 KB, 80,000 values
HOSTILE = {
    "copies of a dense array": [{"op": "copy", "from": "/a", "path": "/b"}] * 100,
    "copies of a dense array, deeper each time": [{"op": "copy", "from": "/a", "path": "/b/0"}] * 100,
    "tests of a dense array": [{"op": "test", "path": "/a", "value": [{}] * 80_000}] * 100,
    "adds of a dense array": [{"op": "add", "path": "/c", "value": [{}] * 80_000}] * 100,
    "replaces of a dense array": [{"op": "replace", "path": "/a", "value": [{}] * 80_000}] * 100,
}


@pytest.mark.parametrize("directives", list(HOSTILE.values()), ids=list(HOSTILE))
def test_the_values_a_patch_copies_or_compares_never_pass_its_budget(work, directives):
    """The work bound, proven by counting the work, not by timing it: whatever the directives, a request copies or
    compares in Python at most WORK_VALUES / PYTHON_STEP values, and is refused at the first directive past that."""
    with pytest.raises(BadRequestProblem, match=r"values a request may copy or compare|a stored record holds at most"):
        apply_patch(DENSE, directives, PatchBudget())
    assert work() <= WORK_VALUES


def test_a_batch_of_patches_on_a_dense_record_shares_the_values_budget(work):
    budget = PatchBudget()
    done = 0
    with pytest.raises(BadRequestProblem, match=r"values a request may copy or compare"):
        for _ in range(100):  # a batch of 100 patches of a record of 80,000 values: 8 MiB would allow 35 of them
            apply_patch(DENSE, [{"op": "replace", "path": "/b/0", "value": done}], budget)
            done += 1
    assert done < 30 and work() <= WORK_VALUES


def test_a_record_as_dense_as_a_body_can_make_it_can_still_be_patched(work):
    """The budget is not so tight that a legitimate record cannot be patched: the densest a create accepts."""
    densest = {"id": "bat-1", "a": [0] * (MAX_RECORD_BYTES // 2 - 20)}
    result = apply_patch(densest, [{"op": "replace", "path": "/a/0", "value": 1}], PatchBudget())
    assert result["a"][0] == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [([], 1), ({}, 1), ([[]], 2), ({"a": [1, {"b": "x,[{"}]}, 5), ("a,b,[{", 1), ([{} for _ in range(5000)], 5001)],
)
def test_values_are_counted_in_the_serialised_form(value, expected):
    counted = patching.values_in(orjson.dumps(value))
    assert counted >= expected and (counted == expected or counted <= 4_096)
