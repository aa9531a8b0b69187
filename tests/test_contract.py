"""The contract in openapi/collect.yaml: valid, complete against the pages, and usable by tools."""

import json
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
from openapi_spec_validator import validate

from collect_contract import NOTES_PATH, SPEC_PATH
from mockserver import http_titles
from tests.contract_pages import DOCUMENTED_CODES, DOCUMENTED_OPERATIONS, INFERRED_OPERATIONS, SEED_FILES

METHODS = {"get", "put", "post", "patch", "delete"}


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def deref(spec, node):
    """Follow a local $ref chain to the object it names."""
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_passes_openapi_spec_validator(spec):
    validate(spec)


def test_passes_connexions_own_check_which_the_mock_skips_for_the_packaged_contract(spec):
    from connexion.spec import Specification

    Specification.load(SPEC_PATH)  # raises InvalidSpecification on a contract connexion would refuse


def test_the_mock_checks_any_contract_other_than_the_packaged_one(spec):
    from connexion.exceptions import InvalidSpecification

    from mockserver.connexion_adapter import load_specification

    broken = {**spec, "paths": {"/x": {"get": {"responses": {"200": {"description": 1}}}}}}
    with pytest.raises(InvalidSpecification):
        load_specification(broken, proven=False)


def test_declares_openapi_3_0_3(spec):
    assert spec["openapi"] == "3.0.3"


def test_has_every_documented_operation_with_its_source(spec):
    by_id = {op["operationId"]: op for _, _, op in operations(spec)}
    for op_id, seed in DOCUMENTED_OPERATIONS.items():
        assert op_id in by_id, f"missing documented operation {op_id}"
        assert seed in by_id[op_id]["x-source"], f"{op_id} should cite {seed}"


def test_every_operation_cites_a_seed_file_with_lines(spec):
    for path, method, op in operations(spec):
        source = op.get("x-source", "")
        assert any(seed in source for seed in SEED_FILES), f"{method.upper()} {path} has no x-source"
        assert re.search(r"#L\d+", source), f"{method.upper()} {path} x-source names no lines: {source}"


def test_inferred_operations_are_marked_and_only_those(spec):
    inferred = {op["operationId"] for _, _, op in operations(spec) if op.get("x-inferred")}
    assert inferred == INFERRED_OPERATIONS
    assert not inferred & set(DOCUMENTED_OPERATIONS)


def test_operation_ids_are_unique_readable_camel_case(spec):
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids)) == 48
    for op_id in ids:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+", op_id), op_id


def test_every_operation_is_tagged_with_a_declared_tag(spec):
    declared = {tag["name"] for tag in spec["tags"]}
    assert declared == {"Invoices", "Write Offs", "Debit Memos", "Credit Memos", "Batches"}
    for path, method, op in operations(spec):
        assert len(op["tags"]) == 1 and op["tags"][0] in declared, f"{method.upper()} {path}"


def test_documented_status_codes_are_all_declared_with_text(spec):
    for _, _, op in operations(spec):
        declared = {int(code) for code in op["responses"]}
        documented = DOCUMENTED_CODES.get(op["operationId"], set())
        assert documented <= declared, f"{op['operationId']} lacks {documented - declared}"
        # Every operation can be refused for bad input, auth, tenancy, absence, limits or failure.
        assert {200, 400, 401, 403, 404, 429, 500} <= declared, op["operationId"]
        for code, response in op["responses"].items():
            assert response["description"].strip(), f"{op['operationId']} {code} has no text"


def test_codes_not_on_the_operations_own_page_are_marked_inferred(spec):
    for _, _, op in operations(spec):
        if op.get("x-inferred"):
            continue
        documented = DOCUMENTED_CODES.get(op["operationId"])
        for code, response in op["responses"].items():
            on_page = documented is not None and int(code) in documented
            if code == "200":
                continue  # every page shows the success response, at least as a sample
            assert bool(response.get("x-inferred")) != on_page, f"{op['operationId']} {code}"


def test_every_error_response_uses_the_problem_shape(spec):
    for _, _, op in operations(spec):
        for code, response in op["responses"].items():
            if int(code) >= 400:
                content = response["content"]
                assert list(content) == ["application/problem+json"], f"{op['operationId']} {code}"
                assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_writes_that_reference_records_declare_409(spec):
    for _, _, op in operations(spec):
        if op["operationId"].startswith(("create", "update", "patch", "delete")):
            assert "409" in op["responses"], op["operationId"]


def test_both_documented_security_styles_are_accepted_everywhere(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["knox-authorizer"] == {**schemes["knox-authorizer"], "type": "http", "scheme": "bearer"}
    assert schemes["api-key"] == {**schemes["api-key"], "type": "apiKey", "in": "header", "name": "Authorization"}
    assert spec["security"] == [{"knox-authorizer": []}, {"api-key": []}]
    assert all("security" not in op for _, _, op in operations(spec))


RECORDS = ["WriteOff", "DebitMemo", "CreditMemo", "Invoice", "Batch"]


@pytest.mark.parametrize("name", RECORDS)
def test_server_managed_fields_are_read_only_and_required_in_responses(spec, name):
    schema = spec["components"]["schemas"][name]
    for field, prop in schema["properties"].items():
        if field == "id" or field.startswith("sys_"):
            assert deref(spec, prop).get("readOnly") is True, f"{name}.{field}"
    assert {"id", "sys_created_at", "sys_created_by_id", "sys_last_modified_at", "sys_last_modified_by_id"} <= set(
        schema["required"]
    )


@pytest.mark.parametrize("name", RECORDS)
def test_projection_mirrors_the_record_without_required_fields(spec, name):
    schemas = spec["components"]["schemas"]
    assert schemas[f"{name}Projection"]["properties"] == schemas[name]["properties"]
    assert "required" not in schemas[f"{name}Projection"]
    assert schemas[f"{name}View"]["anyOf"] == [
        {"$ref": f"#/components/schemas/{name}"},
        {"$ref": f"#/components/schemas/{name}Projection"},
    ]


@pytest.mark.parametrize("name", RECORDS)
def test_fields_parameters_name_exactly_the_record_fields(spec, name):
    fields = set(spec["components"]["schemas"][name]["properties"])
    for param in (f"{name}Fields", f"{name}FieldsToReturn"):
        assert set(spec["components"]["parameters"][param]["schema"]["items"]["enum"]) == fields


def test_references_name_modelled_records(spec):
    schemas = spec["components"]["schemas"]
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "x-references" in node:
                found.append(node["x-references"])
                assert node["x-references"] in RECORDS
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schemas)
    assert {"Invoice", "Batch"} <= set(found)


def test_links_target_existing_operations_and_parameters(spec):
    params_of = {}
    for _, _, op in operations(spec):
        names = set()
        for param in op.get("parameters", []):
            names.add(deref(spec, param)["name"])
        params_of[op["operationId"]] = names
    count = 0
    for _, _, op in operations(spec):
        for response in op["responses"].values():
            for name, link in response.get("links", {}).items():
                count += 1
                assert link["operationId"] in params_of, name
                assert set(link["parameters"]) <= params_of[link["operationId"]], name
    assert count == 33  # creates: 4 x 3 + adjust + batch 9; gets: 4 x 2 + batch 3


def test_creates_and_gets_link_to_their_item_operations(spec):
    for _, _, op in operations(spec):
        op_id = op["operationId"]
        links = op["responses"]["200"].get("links", {})
        if op_id.startswith("create"):
            name = op_id.removeprefix("create")
            assert {f"Get{name}", f"Update{name}", f"Patch{name}"} <= set(links), op_id
        if op_id.startswith("get") and op_id != "getBatchDependents":
            name = op_id.removeprefix("get")
            assert {f"Update{name}", f"Patch{name}"} <= set(links), op_id
    assert (
        "DeleteBatch"
        in next(o for _, _, o in operations(spec) if o["operationId"] == "getBatch")["responses"]["200"]["links"]
    )


def _validator(spec, schema, cls):
    root = {"components": spec["components"], **schema}
    return cls(root)


def _media_examples(spec):
    """Every (where, example value, schema, direction) of request and response bodies."""
    for path, method, op in operations(spec):
        where = f"{method.upper()} {path}"
        body = op.get("requestBody")
        if body:
            for media in body["content"].values():
                for name, example in media.get("examples", {}).items():
                    yield f"{where} request {name}", deref(spec, example)["value"], media["schema"], "write"
        for code, response in op["responses"].items():
            for media in response.get("content", {}).values():
                for name, example in media.get("examples", {}).items():
                    yield f"{where} {code} {name}", deref(spec, example)["value"], media["schema"], "read"


def test_every_body_has_an_example(spec):
    for path, method, op in operations(spec):
        body = op.get("requestBody")
        if body:
            for media in body["content"].values():
                assert media.get("examples"), f"{method.upper()} {path} request"
        for code, response in op["responses"].items():
            for media in response.get("content", {}).values():
                assert media.get("examples"), f"{method.upper()} {path} {code}"


def test_every_error_example_carries_the_status_it_is_given_for(spec):
    """A generated client's docs, or a mock that serves examples, show a 404 body under 404 and so on."""
    for path, method, op in operations(spec):
        for code, response in op["responses"].items():
            media = response.get("content", {}).get("application/problem+json")
            if media is None:
                continue
            for name, example in media["examples"].items():
                value = deref(spec, example)["value"]
                assert value["status"] == int(code), f"{method.upper()} {path} {code}: {name}"
                assert value["title"] == http_titles.title(int(code)) and value["detail"], name
                if code == "404":  # about the operation's own resource
                    noun = op["tags"][0].lower().removesuffix("es" if op["tags"][0] == "Batches" else "s")
                    assert f"No {noun} '" in value["detail"], f"{method.upper()} {path}: {value['detail']}"


def test_every_example_validates_against_its_schema(spec):
    checked = 0
    for where, value, schema, direction in _media_examples(spec):
        cls = OAS30WriteValidator if direction == "write" else OAS30ReadValidator
        errors = [e.message for e in _validator(spec, schema, cls).iter_errors(value)]
        assert not errors, f"{where}: {errors[:3]}"
        checked += 1
    problem = spec["components"]["schemas"]["Problem"]
    assert not list(_validator(spec, problem, OAS30ReadValidator).iter_errors(problem["example"]))
    for name, param in spec["components"]["parameters"].items():
        if "example" in param:
            assert not list(_validator(spec, param["schema"], OAS30WriteValidator).iter_errors(param["example"])), name
    assert checked == 402  # 26 request bodies, 44 success bodies, 332 error bodies (22 of them 507)


def fixture_records(tenant="acme"):
    from collect_fixtures import DEFAULT_DIR

    return {
        collection: {r["id"]: r for r in json.loads((DEFAULT_DIR / tenant / f"{collection}.json").read_text())}
        for collection in ("invoices", "writeOffs", "debitMemos", "creditMemos", "batches")
    }


RECORD_EXAMPLES = {
    "WriteOff": "writeOffs",
    "DebitMemo": "debitMemos",
    "CreditMemo": "creditMemos",
    "Invoice": "invoices",
    "Batch": "batches",
}


def test_example_records_are_records_the_seeded_mock_holds(spec):
    """Tools that use the examples (fuzzers, Swagger UI, a developer copying a sample) meet real data."""
    examples = {name: ex["value"] for name, ex in spec["components"]["examples"].items()}
    stored = fixture_records()
    for name, collection in RECORD_EXAMPLES.items():
        record = examples[f"{name}Record"]
        assert stored[collection][record["id"]] == record, name
        assert not record.get("sys_locked"), f"{name}: a locked example could not be changed"
        pages = [page for key, page in examples.items() if key.startswith(f"{name}Page")]
        assert pages, name
        for item in (item for page in pages for item in page["Items"]):
            assert stored[collection][item["id"]] == item
    for param in spec["components"]["parameters"].values():
        if param["name"] == "batch_id":
            assert param["example"] in stored["batches"]
    for path, item in spec["paths"].items():
        for op in item.values():
            for param in op.get("parameters", []):
                if param.get("name") == "id":
                    assert any(param["example"] in records for records in stored.values()), (path, param)


def test_examples_refer_to_records_that_exist(spec):
    examples = {name: ex["value"] for name, ex in spec["components"]["examples"].items()}
    stored = fixture_records()
    for name in ("WriteOff", "DebitMemo", "CreditMemo"):
        for example in (examples[f"{name}Record"], examples[f"{name}Create"]):
            assert example["invoice_id"] in stored["invoices"], name
            assert example["batch_id"] in stored["batches"], name
    assert examples["InvoiceCreate"]["batch_id"] in stored["batches"]
    assert set(examples["BatchDependents"]["children"]) == set(examples["BatchRecord"]["dependents"])
    assert set(examples["BatchRecord"]["dependents"]) <= set(stored["batches"])
    for name in ("WriteOff", "DebitMemo", "CreditMemo", "Invoice"):
        token = examples[f"{name}ExecutionToken"]
        assert token["executionArn"].rsplit(":", 1)[1] == examples[f"{name}Record"]["id"]
        assert examples[f"{name}Record"]["workflow_execution_id"] == token["executionArn"]


def test_notes_record_the_deliberate_deviations():
    notes = NOTES_PATH.read_text(encoding="utf-8")
    for topic in [
        "readOnly",
        "x-inferred",
        "X-Last-Evaluated-Key",
        "X-Record-Id",
        "Projection",
        "problem",
        "sys_locked",
        "409",
        "not modelled",
        "Credit memos",
    ]:
        assert topic.lower() in notes.lower(), topic


@pytest.fixture(scope="module")
def st_schema():
    return schemathesis.openapi.from_path(str(SPEC_PATH))


def _generate(operation, count):
    """Draw `count` cases of `operation` the way Schemathesis does."""
    cases = []

    @given(operation.as_strategy())
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def generate(case):
        cases.append(case)

    generate()
    return cases


def test_schemathesis_generates_a_request_for_every_operation(st_schema):
    labels = []
    for result in st_schema.get_all_operations():
        operation = result.ok()
        assert _generate(operation, 2), operation.label
        labels.append(operation.label)
    assert len(labels) == 48


def test_generated_create_bodies_never_carry_server_managed_fields(st_schema):
    for case in _generate(st_schema["/writeOffs/{tenantId}"]["POST"], 25):
        assert not {key for key in case.body if key == "id" or key.startswith("sys_")}
