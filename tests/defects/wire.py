"""Defects on the wire: ids, status codes, media types and bodies."""

from __future__ import annotations

from tests.defects.app import Call, Response
from tests.defects.catalog import defect, rewrite_records

# -- ids ------------------------------------------------------------------------------------------------------


@defect("MalformedGeneratedId", "ids.server-generated", "workflow creates do not send X-Record-Id")
async def malformed_generated_id(call: Call) -> Response:
    response = await call.forward()
    return response.with_header("x-record-id", None) if call.kind == "create" else response


@defect("DuplicateId", "ids.unique", "batch creates report the first new id for every record")
async def duplicate_id(call: Call) -> Response:
    response = await call.forward()
    body = response.json()
    if call.kind != "batch" or not isinstance(body, dict):
        return response
    created = [r for r in body.get("results", []) if r.get("operation") == "create" and r.get("outcome") == "success"]
    for result in created:
        result["id"] = created[0]["id"]
    return response.with_json(body)


@defect("SuppliedIdAccepted", "ids.supplied-id-rejected", "a create body's id is dropped instead of refused")
async def supplied_id_accepted(call: Call) -> Response:
    body = call.request.json()
    if call.kind == "create" and isinstance(body, dict) and "id" in body:
        return await call.forward(call.request.with_json({k: v for k, v in body.items() if k != "id"}))
    return await call.forward()


@defect("IdMismatchAccepted", "ids.put-mismatch-rejected", "a replace body's id is ignored instead of compared")
async def id_mismatch_accepted(call: Call) -> Response:
    body = call.request.json()
    if call.kind == "replace" and isinstance(body, dict) and "id" in body:
        return await call.forward(call.request.with_json({k: v for k, v in body.items() if k != "id"}))
    return await call.forward()


@defect(
    "UnknownIdAnswered",
    "ids.unknown-404",
    "GET of an unknown id answers 200 with an empty object",
    also=("ids.deleted-404",),
)
async def unknown_id_answered(call: Call) -> Response:
    response = await call.forward()
    if call.kind == "get" and response.status == 404:
        return Response(200, [(b"content-type", b"application/json")], b"{}")
    return response


@defect("DeletedRecordServed", "ids.deleted-404", "a deleted record is still served from a cache")
async def deleted_record_served(call: Call) -> Response:
    gone: set[str] = call.memory.setdefault("gone", set())
    response = await call.forward()
    body = response.json()
    if call.kind == "delete" and response.status == 200:
        gone.add(call.params["id"])
    if call.kind == "batch" and isinstance(body, dict):
        gone.update(
            r["id"] for r in body.get("results", []) if r.get("operation") == "delete" and r.get("outcome") == "success"
        )
    if call.kind == "get" and call.params.get("id") in gone:
        return response.with_json({"id": call.params["id"]}, status=200)
    return response


# -- status codes ---------------------------------------------------------------------------------------------


@defect(
    "UndocumentedStatus",
    "status.documented",
    "an invalid list request answers 422, which no operation documents",
    also=("status.bad-param-400",),
)
async def undocumented_status(call: Call) -> Response:
    response = await call.forward()
    return response.with_status(422) if call.kind == "list" and response.status == 400 else response


@defect("InvalidBodyAccepted", "status.bad-body-400", "unknown fields of a create body are silently dropped")
async def invalid_body_accepted(call: Call) -> Response:
    body = call.request.json()
    if call.kind == "create" and isinstance(body, dict):
        known = call.app.contract.resources[call.collection].fields
        return await call.forward(call.request.with_json({k: v for k, v in body.items() if k in known}))
    return await call.forward()


@defect(
    "InvalidParameterAccepted", "status.bad-param-400", "query parameters the operation does not define are ignored"
)
async def invalid_parameter_accepted(call: Call) -> Response:
    if call.operation is None:
        return await call.forward()
    known = call.operation.query_names()
    return await call.forward(call.request.with_query([(k, v) for k, v in call.request.query if k in known]))


@defect("MissingAuthAccepted", "status.no-auth-401", "a request without a credential is served as the suite's user")
async def missing_auth_accepted(call: Call) -> Response:
    if call.request.header("authorization") is None:
        return await call.forward(call.request.with_header("authorization", f"Bearer {call.app.token}"))
    return await call.forward()


@defect("ForeignTenantAllowed", "status.foreign-tenant-403", "another tenant's paths answer 404 instead of 403")
async def foreign_tenant_allowed(call: Call) -> Response:
    response = await call.forward()
    return response.with_status(404) if response.status == 403 else response


@defect(
    "DanglingReferenceAccepted", "status.missing-reference-409", "a reference to a missing record is a 400, not 409"
)
async def dangling_reference_accepted(call: Call) -> Response:
    response = await call.forward()
    return response.with_status(400) if response.status == 409 else response


# -- schemas --------------------------------------------------------------------------------------------------


@defect("UndocumentedContentType", "schema.content-type", "records are served as text/plain")
async def undocumented_content_type(call: Call) -> Response:
    response = await call.forward()
    return (
        response.with_header("content-type", "text/plain")
        if call.kind == "get" and response.status == 200
        else response
    )


@defect("ResponseHeaderMismatch", "schema.headers", "the Access-Control-Allow-* headers are stripped from every answer")
async def response_header_mismatch(call: Call) -> Response:
    response = await call.forward()
    kept = [(k, v) for k, v in response.headers if not k.lower().startswith(b"access-control-allow-")]
    return Response(response.status, kept, response.body)


@defect("ResponseBodyMismatch", "schema.response-body", "GET leaves the required sys_created_at out of records")
async def response_body_mismatch(call: Call) -> Response:
    if call.kind != "get":
        return await call.forward()
    return await rewrite_records(call, lambda record: record.pop("sys_created_at", None))
