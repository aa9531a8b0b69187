"""Stand-ins for implementations nobody here wrote: each does what an observed stranger did (issue 11).

Unlike the one-defect-per-rule catalog, a stand-in is not named after a failure class: it is a way of being wrong
that an earlier version of the suite missed or mistook, and `tests/test_conformance_stand_ins.py` says what the
suite must now conclude about it (a failure, an honest "not verified", no harm). Each is an ASGI wrapper around the
mock, like the defects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from tests.defects.app import Call, Response
from tests.defects.catalog import Apply, Defect
from tests.defects.walks import START, _items, _key

STRANGERS: dict[str, Defect] = {}


def stranger(name: str, rule: str, failure: str, summary: str) -> Callable[[Apply], Apply]:
    def register(function: Apply) -> Apply:
        STRANGERS[name] = Defect(name, rule, summary, function, failure)
        return function

    return register


@stranger(
    "EnumFixed", "status.bad-body-400", "InvalidBodyAccepted", "a proxy replaces invalid enum values with valid ones"
)
async def enum_fixed(call: Call) -> Response:
    body = call.request.json()
    if call.kind != "create" or not isinstance(body, dict):
        return await call.forward()
    schema = call.app.contract.resources[call.collection].schema
    for name, prop in schema["properties"].items():
        allowed = call.app.contract.deref(prop).get("enum")
        if allowed and name in body and body[name] not in allowed:
            body[name] = allowed[0]
    return await call.forward(call.request.with_json(body))


@stranger(
    "GlAccountFilled",
    "status.bad-body-400",
    "InvalidBodyAccepted",
    "a proxy fills in the GL account that `method: allowance` requires",
)
async def gl_account_filled(call: Call) -> Response:
    body = call.request.json()
    if call.kind == "create" and isinstance(body, dict) and body.get("method") == "allowance":
        body.setdefault("bad_debts_expense_gl_account_id", "gl-filled-by-proxy")
        return await call.forward(call.request.with_json(body))
    return await call.forward()


@stranger(
    "TenantRewritten",
    "tenancy.isolation",
    "CrossTenantLeak",
    "a proxy rewrites every tenant segment to the first tenant it saw",
)
async def tenant_rewritten(call: Call) -> Response:
    tenant = call.params.get("tenantId")
    if tenant is None:
        return await call.forward()
    first = call.memory.setdefault("first", tenant)
    path = call.request.path.replace(f"/{tenant}", f"/{first}", 1)
    return await call.forward(replace(call.request, path=path))


@stranger(
    "ExistingIdAnswered",
    "ids.unique",
    "DuplicateId",
    "every batch create is answered with the id of a batch the tenant already had (created in 2023)",
)
async def existing_id_answered(call: Call) -> Response:
    response = await call.forward()
    existing = call.memory.get("existing")
    if call.collection != "batches" or existing is None or not 200 <= response.status < 300:
        return response
    body = response.json()
    if call.kind == "create" and isinstance(body, dict):
        return response.with_json({**body, "id": existing})
    if call.kind == "batch" and isinstance(body, dict):
        for result in body.get("results", []):
            if result.get("operation") == "create" and result.get("outcome") == "success":
                result["id"] = existing
                if isinstance(result.get("object"), dict):
                    result["object"]["id"] = existing
        return response.with_json(body)
    return response


@stranger("CreatedAnswers201", "status.documented", "UndocumentedStatus", "creates answer 201 Created, not 200")
async def created_answers_201(call: Call) -> Response:
    response = await call.forward()
    return response.with_status(201) if call.kind == "create" and response.status == 200 else response


@stranger(
    "OnePageNoKey",
    "paging.full-walk",
    "IncompleteWalk",
    "every list, lookup and search answers all its records in one page, without a key",
)
async def one_page_no_key(call: Call) -> Response:
    if call.kind not in ("list", "lookup", "search"):
        return await call.forward()
    response = await call.forward()
    body, pages = response.json(), 1
    items = _items(body)
    while items is not None and _key(response) and pages < 100:
        query = [(k, v) for k, v in call.request.query if k != START] + [(START, str(_key(response)))]
        response = await call.forward(call.request.with_query(query))
        more = _items(response.json())
        items += more or []
        pages += 1
    if isinstance(body, dict):
        body.pop("LastEvaluatedKey", None)
        if "Count" in body:
            body["Count"] = len(items or [])
    answer = response.with_json(body)
    return answer.with_header("x-last-evaluated-key", None)


@stranger(
    "ReadBackOther",
    "versioning.created-stable",
    "CreationFieldsChanged",
    "every GET of a record answers the first record that collection served, whatever the id asked for",
)
async def read_back_other(call: Call) -> Response:
    response = await call.forward()
    if call.kind != "get" or response.status != 200 or not isinstance(response.json(), dict):
        return response
    first = call.memory.setdefault(call.collection, response.json())
    return response.with_json(first)


@stranger(
    "StoresNothing",
    "fuzz.stateful-links",
    "BrokenLink",
    "creates answer as if they stored the record and store nothing; a GET answers an example record (as Prism does)",
)
async def stores_nothing(call: Call) -> Response:
    response = await call.forward()
    if call.kind == "create" and response.status == 200:
        created = response.header("x-record-id") or (response.json() or {}).get("id")
        call.state.db.delete(call.params["tenantId"], call.collection, str(created))
    if call.kind == "get" and response.status == 404:
        example = {**call.app.contract.resources[call.collection].create_example, "id": "example-1"}
        return response.with_json(example, status=200).with_header("content-type", "application/json")
    return response
