"""Hostile input, generated: whatever a client sends, the mock answers a 4xx problem or stores something every client
can read back. Hypothesis draws the inputs; each is sent over HTTP to a running mock, through every way of writing
(create, replace, patch, batch operations), and after each the stored state is read back whole."""

import json

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mockserver.patching import PYTHON_STEP, WORK_VALUES
from mockserver.validation import INT64, MAX_DEPTH, MAX_RECORD_BYTES
from tests.support import factory
from tests.support.client import ADMIN_TOKEN

EXAMPLES = settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
JSON = {"Authorization": "Bearer dev-token", "Content-Type": "application/json"}
TABLE = "/custom_field_values/0/table_value/0"  # a free-form object, 5 levels deep in a batch
TABLE_DEPTH = 5


@pytest.fixture(scope="module")
def http(mock_server):
    with httpx.Client(base_url=mock_server, timeout=30) as client:
        yield client


def fresh(http):
    """A clean mock holding one batch whose custom field table row can hold anything (each example starts so)."""
    http.post("/_mock/reset", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).raise_for_status()
    body = factory.batch(custom_field_values=[{"custom_field_id": "cf-1", "table_value": [{}]}])
    return http.post("/batches/acme", json=body, headers=JSON).json()


def stored(http):
    exported = http.get("/_mock/export", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert exported.status_code == 200, exported.text
    return [r for records in exported.json()["tenants"].get("acme", {}).values() for r in records]


def depth(value, level=1):
    if isinstance(value, dict):
        return max([level, *(depth(v, level + 1) for v in value.values())])
    if isinstance(value, list):
        return max([level, *(depth(v, level + 1) for v in value)])
    return 0


def assert_readable(http, records):
    """What is stored is what any client can read: UTF-8 JSON within the limits, every read answering 200."""
    for record in records:
        json.dumps(record, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
        assert depth(record) <= MAX_DEPTH and len(json.dumps(record)) <= MAX_RECORD_BYTES
        ints = [v for v in _leaves(record) if type(v) is int]
        assert all(INT64[0] <= v <= INT64[1] for v in ints)
        assert http.get(f"/batches/acme/{record['id']}", headers=JSON).status_code == 200
    assert http.get("/batches/acme", headers=JSON).status_code == 200


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def refused(response, *fragments):
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert all(f in detail for f in fragments), detail


def writes(batch, body_for):
    """The same hostile content sent through every way of writing a batch: (what, method, path, body)."""
    path = f"/batches/acme/{batch['id']}"
    record = body_for(factory.batch())
    yield "create", "POST", "/batches/acme", record
    yield "replace", "PUT", path, record
    yield "batch create", "POST", "/batches/acme/batch", {"operations": [{"operation": "create", "object": record}]}


SURROGATE = st.integers(0xD800, 0xDFFF).map(chr)
WITH_SURROGATE = st.tuples(st.text(max_size=4), SURROGATE, st.text(max_size=4)).map("".join)


@EXAMPLES
@given(text=WITH_SURROGATE, place=st.sampled_from(["value", "enum", "field name", "nested"]))
def test_no_lone_surrogate_is_ever_stored(http, text, place):
    batch = fresh(http)

    def hostile(body):
        if place == "value":
            return {**body, "description": text}
        if place == "enum":
            return {**body, "status": text}
        if place == "field name":
            return {**body, text: 1}
        return {**body, "custom_field_values": [{"table_value": [{"cell": [text]}]}]}

    for what, method, path, body in writes(batch, hostile):
        response = http.request(method, path, content=json.dumps(body).encode(), headers=JSON)  # \\udXXX escapes
        refused(response, "surrogate")
        if place == "value":
            assert response.json()["errors"][0]["field"].endswith("description"), what
    patch = [{"op": "add", "path": f"{TABLE}/note", "value": text}]
    refused(http.patch(f"/batches/acme/{batch['id']}", content=json.dumps(patch).encode(), headers=JSON), "surrogate")
    records = stored(http)
    assert records == [batch]
    assert_readable(http, records)
    assert http.get("/_mock/journal", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200


@EXAMPLES
@given(heights=st.lists(st.integers(1, 9), min_size=1, max_size=10), via=st.sampled_from(["patch", "batch patch"]))
def test_nesting_built_by_patches_never_passes_the_limit(http, heights, via):
    batch = fresh(http)
    chain = 0  # "n" objects nested under the table row so far
    for height in heights:
        value: dict = {}
        for _ in range(height - 1):
            value = {"n": value}
        directive = [{"op": "add", "path": TABLE + "/n" * (chain + 1), "value": value}]
        if via == "patch":
            response = http.patch(f"/batches/acme/{batch['id']}", json=directive, headers=JSON)
            accepted = response.status_code == 200
            if not accepted:
                refused(response, "deeper than 32")
        else:
            operation = {"operation": "patch", "id": batch["id"], "patch_directives": directive}
            response = http.post("/batches/acme/batch", json={"operations": [operation]}, headers=JSON)
            [result] = response.json()["results"]
            accepted = result["outcome"] == "success"
            assert accepted or "deeper than 32" in result["error_message"], result
        assert accepted == (TABLE_DEPTH + chain + height <= MAX_DEPTH), (chain, height)
        chain += height if accepted else 0
        [record] = stored(http)
        assert depth(record) == TABLE_DEPTH + chain
    assert_readable(http, stored(http))


@EXAMPLES
@given(copies=st.integers(1, 30), seed=st.integers(100, 5_000))
def test_copy_amplification_is_stopped_at_the_size_of_a_record(http, copies, seed):
    """Each `copy` of the table into itself doubles the record: 20 of them once built a record of 15 MB."""
    batch = fresh(http)
    path = f"/batches/acme/{batch['id']}"
    assert http.patch(path, json=[{"op": "add", "path": f"{TABLE}/x", "value": "x" * seed}], headers=JSON).is_success
    doubling = [{"op": "copy", "from": "/custom_field_values/0/table_value", "path": f"{TABLE}/copy"}] * copies
    response = http.patch(path, json=doubling, headers=JSON)
    if response.status_code != 200:
        refused(response, "Invalid patch")
        assert any(f in response.json()["detail"] for f in ("a stored record holds at most", "deeper than 32"))
    [record] = stored(http)
    assert len(json.dumps(record)) <= MAX_RECORD_BYTES
    assert_readable(http, [record])


CHARSETS = st.sampled_from(
    [
        "utf-8",
        "UTF-8",
        "utf8",
        "latin-1",
        "iso-8859-1",
        "utf-16",
        "utf-16le",
        "utf-7",
        "unicode_escape",
        "ascii",
        "cp1252",
    ]
) | st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)


@EXAMPLES
@given(charset=CHARSETS)
def test_a_body_in_any_charset_but_utf8_is_refused_naming_it(http, charset):
    batch = fresh(http)
    headers = {**JSON, "Content-Type": f"application/json; charset={charset}"}
    response = http.post("/batches/acme", json=factory.batch(name="+AGkAZA-"), headers=headers)
    if charset.lower() in ("utf-8", "utf8"):
        assert response.status_code == 200, response.text
    else:
        refused(response, charset)
        assert response.json()["errors"][0]["field"] == "Content-Type"
        assert stored(http) == [batch]


@EXAMPLES
@given(value=st.sampled_from([True, False, 4.0, 1.5, "4", None, [4], {"n": 4}, 2**63]))
def test_a_value_of_the_wrong_type_is_refused_wherever_it_is_written(http, value):
    batch = fresh(http)

    def hostile(body):
        return {**body, "fiscal_period": value}

    named = "64-bit" if value == 2**63 else "fiscal_period"  # too large to parse: refused before any operation
    for what, method, path, body in writes(batch, hostile):
        response = http.request(method, path, content=json.dumps(body).encode(), headers=JSON)
        if what == "batch create" and response.status_code == 200:
            [result] = response.json()["results"]
            assert result["outcome"] == "error" and named in result["error_message"], result
        else:
            refused(response, named)
    for operation in (
        [{"op": "replace", "path": "/fiscal_period", "value": value}],
        [{"op": "test", "path": "/fiscal_period", "value": 4}, {"op": "add", "path": "/fiscal_period", "value": value}],
    ):
        response = http.patch(f"/batches/acme/{batch['id']}", content=json.dumps(operation).encode(), headers=JSON)
        refused(response, named)
    assert stored(http) == [batch]


ATOMS = st.sampled_from([b"NaN", b"-Infinity", b"1e999", b'"\\ud800"', b'"\\u0000"', b"1", b'"x"', b"null", b"1e5"])
KEYS = st.sampled_from([b'"name"', b'"memo"', b'"\\udfff"'])
JSONISH = st.recursive(
    ATOMS,
    lambda children: (
        st.lists(children, max_size=3).map(lambda items: b"[" + b",".join(items) + b"]")
        | st.lists(st.tuples(KEYS, children), max_size=3).map(
            lambda pairs: b"{" + b",".join(k + b":" + v for k, v in pairs) + b"}"  # names repeat: duplicate keys
        )
    ),
    max_leaves=8,
)
BODIES = (
    JSONISH
    | st.binary(max_size=3_000)
    | st.integers(33, 3_000).map(lambda n: b"[" * n + b"]" * n)
    | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))
)


def strict(text):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    text.encode("utf-8")  # a lone surrogate would raise here
    return json.loads(text, parse_constant=refuse)


@EXAMPLES
@given(bodies=st.lists(BODIES, min_size=1, max_size=4))
def test_no_body_breaks_the_journal(http, bodies):
    """Whatever bodies clients sent, the journal answers valid JSON holding them: as JSON when the mock accepts them
    as JSON, as text otherwise (NaN, nesting past 32 levels, lone surrogates, names given twice, binary)."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    http.delete("/_mock/journal", headers=admin).raise_for_status()
    for body in bodies:
        response = http.post("/batches/acme", content=body, headers=JSON)
        assert response.status_code in (200, 400), response.text
    answer = http.get("/_mock/journal", headers=admin)
    assert answer.status_code == 200
    entries = strict(answer.text)["entries"]
    assert len(entries) == len(bodies)
    for body, entry in zip(bodies, entries, strict=True):
        accepted, value = accepted_json(body)
        assert entry["body"] == (value if accepted else body.decode("utf-8", "replace") if body else None), body


def accepted_json(body):
    """(True, value) for a body any strict JSON reader takes the same way, (False, None) otherwise."""

    def once(pairs):
        if len({k for k, _ in pairs}) != len(pairs):
            raise ValueError("a name given twice")
        return dict(pairs)

    try:
        value = strict(body.decode("utf-8"))
        json.loads(body, object_pairs_hook=once)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # no lone surrogate in the value
    except (ValueError, RecursionError):
        return False, None
    stack, deepest, finite = [(value, 1)], 0, True
    while stack:  # iteratively: a value may nest a thousand levels
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            finite = finite and not (isinstance(node, float) and abs(node) == float("inf"))
        else:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return (deepest <= MAX_DEPTH and finite), value


def values(value):
    """How many JSON values `value` holds, itself included."""
    stack, count = [value], 0
    while stack:
        node = stack.pop()
        count += 1
        stack.extend(node.values() if isinstance(node, dict) else node if isinstance(node, list) else ())
    return count


@settings(max_examples=10, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    op=st.sampled_from(["copy", "copy deeper", "test", "replace", "move"]),
    count=st.integers(1, 100),
    width=st.integers(100, 80_000),
)
@example(op="copy", count=50, width=20_000)  # within the 8 MiB of bytes, far past the values
@example(op="test", count=100, width=3_000)
@example(op="replace", count=60, width=5_000)
def test_patch_work_on_dense_values_stays_within_its_budget(http, op, count, width):
    """Values, not bytes, measure what a patch costs: `[{}, {}, ...]` is cheap to send and dear to copy. Whatever the
    shape, a patch whose copying and comparing would pass the budget is refused, and one within it is served."""
    batch = fresh(http)
    path = f"/batches/acme/{batch['id']}"
    dense = [{} for _ in range(width)]
    assert http.patch(path, json=[{"op": "add", "path": f"{TABLE}/a", "value": dense}], headers=JSON).is_success
    [record] = stored(http)
    directive = {
        "copy": {"op": "copy", "from": f"{TABLE}/a", "path": f"{TABLE}/b"},
        "copy deeper": {"op": "copy", "from": f"{TABLE}/a/0", "path": f"{TABLE}/a/0/b"},
        "test": {"op": "test", "path": f"{TABLE}/a", "value": dense},
        "replace": {"op": "replace", "path": f"{TABLE}/a", "value": dense[: width // 2]},
        "move": {"op": "move", "from": f"{TABLE}/a", "path": f"{TABLE}/c"} if count == 1 else None,
    }[op] or {"op": "move", "from": f"{TABLE}/a/0", "path": f"{TABLE}/a/1"}
    copied = values(directive["value"]) if "value" in directive else 0 if op.startswith("move") else width + 1
    work = values(record) + PYTHON_STEP * copied * count
    response = http.patch(path, json=[directive] * count, headers=JSON)
    if response.status_code == 200:
        assert work <= WORK_VALUES
        assert_readable(http, stored(http))
    else:
        refused(response, "Invalid")
        limits = (
            "values a request may copy",
            "MiB of records",
            "stored record holds",
            "deeper than 32",
            "the limit is",
        )
        assert any(limit in response.json()["detail"] for limit in limits), response.json()["detail"]
        assert stored(http) == [record]
