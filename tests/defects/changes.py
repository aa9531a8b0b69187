"""Defects in writing: patches, versions, tenants, batches, deletes, dependents, and what fuzzing finds."""

from __future__ import annotations

import json
from typing import Any

from tests.defects.app import Call, Response
from tests.defects.catalog import defect, records, rewrite_records

SERVER_ERROR = {
    "type": "about:blank",
    "title": "Internal Server Error",
    "status": 500,
    "detail": "General server error.",
}


async def _patch_with(call: Call, change: Any) -> Response:
    body = call.request.json()
    if call.kind != "patch" or not isinstance(body, list):
        return await call.forward()
    return await call.forward(call.request.with_json(change(body)))


@defect("PatchMisapplied", "patch.operations", "`move` copies: the source stays")
async def patch_misapplied(call: Call) -> Response:
    return await _patch_with(call, lambda body: [{**d, "op": "copy"} if d.get("op") == "move" else d for d in body])


@defect("FailedTestChangedRecord", "patch.test-failure-atomic", "`test` directives are skipped")
async def failed_test_changed_record(call: Call) -> Response:
    return await _patch_with(call, lambda body: [d for d in body if d.get("op") != "test"])


@defect(
    "InvalidPatchChangedRecord",
    "patch.invalid-result-atomic",
    "a refused patch keeps the directives before the bad one",
    also=("patch.test-failure-atomic",),
)
async def invalid_patch_changed_record(call: Call) -> Response:
    response = await call.forward()
    body = call.request.json()
    if call.kind == "patch" and response.status == 400 and isinstance(body, list) and len(body) > 1:
        await call.forward(call.request.with_json(body[:1]))
    return response


@defect(
    "ServerManagedFieldPatched",
    "patch.server-managed-400",
    "directives on id and sys_* are silently skipped",
    also=("patch.test-failure-atomic",),
)
async def server_managed_field_patched(call: Call) -> Response:
    def managed(directive: dict[str, Any]) -> bool:
        top = str(directive.get("path", "")).split("/")[1:2]
        return bool(top) and (top[0] == "id" or top[0].startswith("sys_"))

    return await _patch_with(call, lambda body: [d for d in body if not managed(d)])


@defect("VersionNotIncremented", "versioning.version-increments", "sys_version stays 1")
async def version_not_incremented(call: Call) -> Response:
    return await rewrite_records(call, lambda r: r.update(sys_version=1) if "sys_version" in r else None)


@defect("CreationFieldsChanged", "versioning.created-stable", "sys_created_at follows the last modification")
async def creation_fields_changed(call: Call) -> Response:
    return await rewrite_records(
        call, lambda r: r.update(sys_created_at=r["sys_last_modified_at"]) if "sys_last_modified_at" in r else None
    )


@defect("ModificationTimeNotAdvanced", "versioning.modified-advances", "sys_last_modified_at stays at the create time")
async def modification_time_not_advanced(call: Call) -> Response:
    return await rewrite_records(
        call, lambda r: r.update(sys_last_modified_at=r["sys_created_at"]) if "sys_created_at" in r else None
    )


@defect("ServerFieldsAccepted", "versioning.server-fields-ignored", "sys_* values a body sends are stored")
async def server_fields_accepted(call: Call) -> Response:
    forged: dict[str, dict[str, Any]] = call.memory.setdefault("forged", {})
    body = call.request.json()
    sent = {k: v for k, v in body.items() if k.startswith("sys_")} if isinstance(body, dict) else {}
    response = await call.forward()
    if call.kind in ("create", "replace") and sent and response.status == 200:
        created = response.header("x-record-id") or (response.json() or {}).get("id") or call.params.get("id")
        forged[str(created)] = sent
    return await _overlay(response, forged)


async def _overlay(response: Response, forged: dict[str, dict[str, Any]]) -> Response:
    body = response.json()
    if body is None:
        return response
    for record in records(body):
        record.update(forged.get(str(record.get("id")), {}))
    return response.with_json(body)


@defect("CrossTenantLeak", "tenancy.isolation", "a GET under another tenant's path reads the token's own tenant")
async def cross_tenant_leak(call: Call) -> Response:
    marker = f"/{call.app.other_tenant}"
    if call.request.method == "GET" and marker + "/" in call.request.path + "/":
        path = call.request.path.replace(marker, f"/{call.app.tenant}", 1)
        return await call.app.forward(call.scope, type(call.request)(**{**call.request.__dict__, "path": path}))
    return await call.forward()


@defect("BatchLimitIgnored", "batch.limit", "operations beyond the 100th are dropped instead of refused")
async def batch_limit_ignored(call: Call) -> Response:
    body = call.request.json()
    if call.kind == "batch" and isinstance(body, dict) and isinstance(body.get("operations"), list):
        return await call.forward(call.request.with_json({**body, "operations": body["operations"][:100]}))
    return await call.forward()


async def _batch_result(call: Call, change: Any) -> Response:
    response = await call.forward()
    body = response.json()
    if call.kind == "batch" and isinstance(body, dict) and isinstance(body.get("results"), list):
        change(body)
        return response.with_json(body)
    return response


@defect("BatchResultsMismatch", "batch.per-operation-results", "results come back in reverse order")
async def batch_results_mismatch(call: Call) -> Response:
    return await _batch_result(call, lambda body: body["results"].reverse())


@defect("BatchCountsMismatch", "batch.counts", "success_count counts every operation")
async def batch_counts_mismatch(call: Call) -> Response:
    return await _batch_result(call, lambda body: body.update(success_count=len(body["results"]), error_count=0))


@defect(
    "RecordNotDeleted",
    "delete.removes-record",
    "deletes answer success and keep the record",
    also=("delete.referenced-409",),
)
async def record_not_deleted(call: Call) -> Response:
    if call.kind == "delete":
        return Response(200, [(b"content-type", b"application/json")], json.dumps(call.params["id"]).encode())
    body = call.request.json()
    if call.kind != "batch" or not isinstance(body, dict) or not isinstance(body.get("operations"), list):
        return await call.forward()
    deletes = [i for i, op in enumerate(body["operations"]) if isinstance(op, dict) and op.get("operation") == "delete"]
    for i in deletes:
        body["operations"][i] = {"operation": "patch", "id": body["operations"][i].get("id"), "patch_directives": []}
    response = await call.forward(call.request.with_json(body))
    answer = response.json()
    for i in deletes if isinstance(answer, dict) else []:
        answer["results"][i]["operation"] = "delete"
        answer["results"][i].pop("object", None)
    return response.with_json(answer) if isinstance(answer, dict) else response


@defect("ReferencedRecordDeleted", "delete.referenced-409", "a record that others name is deleted anyway")
async def referenced_record_deleted(call: Call) -> Response:
    response = await call.forward()
    tenant = call.params.get("tenantId", "")
    if call.kind == "delete" and response.status == 409:
        call.state.db.delete(tenant, call.collection, call.params["id"])
        return Response(200, [(b"content-type", b"application/json")], json.dumps(call.params["id"]).encode())
    body = response.json()
    if call.kind == "batch" and isinstance(body, dict):
        for result in body.get("results", []):
            if result.get("operation") == "delete" and "referenced" in str(result.get("error_message", "")):
                call.state.db.delete(tenant, call.collection, result["id"])
                result.update(outcome="success")
                result.pop("error_message", None)
        body.update(success_count=sum(r["outcome"] == "success" for r in body["results"]))
        body.update(error_count=len(body["results"]) - body["success_count"])
        return response.with_json(body)
    return response


@defect("DependentsMismatch", "dependents.recursive", "dependents lists the first level only")
async def dependents_mismatch(call: Call) -> Response:
    response = await call.forward()
    body = response.json()
    if call.request.path.endswith("/dependents") and isinstance(body, dict) and len(body.get("children", [])) > 1:
        return response.with_json({"children": body["children"][:1]})
    return response


@defect(
    "ServerErrorResponse",
    "fuzz.no-server-error",
    "any non-ASCII input crashes the server (500)",
    also=("fuzz.invalid-rejected",),
)
async def server_error_response(call: Call) -> Response:
    raw = call.request.body + "".join(f"{k}{v}" for k, v in call.request.query).encode() + call.request.path.encode()
    if any(byte > 127 for byte in raw) or "%" in call.request.path or "\\u" in call.request.body.decode("latin-1"):
        return Response(500, [(b"content-type", b"application/problem+json")], json.dumps(SERVER_ERROR).encode())
    return await call.forward()


@defect("InvalidDataAccepted", "fuzz.invalid-rejected", "search answers invalid filters with no hits instead of 400")
async def invalid_data_accepted(call: Call) -> Response:
    response = await call.forward()
    if call.kind == "search" and response.status == 400:
        return Response(200, [(b"content-type", b"application/json")], b'{"Items": []}')
    return response


@defect("BrokenLink", "fuzz.stateful-links", "a created record is missing (404) from the first request that names it")
async def broken_link(call: Call) -> Response:
    fresh: set[str] = call.memory.setdefault("fresh", set())
    record_id = call.params.get("id")
    if call.kind in ("get", "replace", "patch") and record_id in fresh:
        fresh.discard(record_id)
        problem = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "not stored yet"}
        return Response(404, [(b"content-type", b"application/problem+json")], json.dumps(problem).encode())
    response = await call.forward()
    if call.kind == "create" and response.status == 200:
        fresh.add(str(response.header("x-record-id") or (response.json() or {}).get("id")))
    return response
