"""The seed data: the shipped set and generated ones are valid, consistent and reproducible (fixtures/README.md)."""

import copy
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

from collect_fixtures import DATA_DIR, DEFAULT_DIR, consistency
from collect_fixtures.generator import DEFAULT_SCALE, DEFAULT_SEED, MIN_SCALE, generate, main, write
from collect_fixtures.layout import COLLECTIONS, load

SCHEMAS = {"invoices": "Invoice", "writeOffs": "WriteOff", "debitMemos": "DebitMemo", "creditMemos": "CreditMemo"}
SCHEMAS["batches"] = "Batch"


@pytest.fixture(scope="module")
def shipped():
    return load(DEFAULT_DIR)


@pytest.fixture(scope="module")
def generated():
    return generate(3000, 11)


@pytest.fixture(scope="module", params=["shipped", "generated"])
def data_set(request):
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def validators(spec):
    return {
        name: OAS30ReadValidator(
            {"components": spec["components"], "$ref": f"#/components/schemas/{schema}"},
            format_checker=oas30_format_checker,
        )
        for name, schema in SCHEMAS.items()
    }


def _schema_errors(validators, fixture_set):
    for tenant, data in fixture_set.tenants.items():
        for name in COLLECTIONS:
            for record in data.collections[name]:
                for error in validators[name].iter_errors(record):
                    yield f"{tenant}/{name}/{record.get('id')}: {error.message}"


def _all(fixture_set, name):
    return [record for data in fixture_set.tenants.values() for record in data.collections[name]]


# Validity and consistency, of the shipped set and of a generated one


def test_every_record_validates_against_its_contract_schema(validators, data_set):
    errors = list(_schema_errors(validators, data_set))
    assert not errors, errors[:5]


def test_the_schema_check_catches_a_broken_record(validators, shipped):
    broken = copy.deepcopy(shipped)
    invoice = broken.tenants["acme"].collections["invoices"][0]
    del invoice["sys_created_at"]
    invoice["nickname"] = "not in the contract"
    broken.tenants["acme"].collections["batches"][0]["sys_last_modified_at"] = "yesterday"
    assert len(list(_schema_errors(validators, broken))) == 3


RULES = sorted(consistency.RULES)


@pytest.mark.parametrize("rule", RULES)
def test_set_obeys_the_stated_rule(data_set, rule):
    broken = consistency.problems(data_set, [rule])
    assert not broken, broken[:5]


def _first(data, name, **match):
    return next(r for r in data.collections[name] if all(r.get(k) == v for k, v in match.items()))


def _loop_dependents(data):
    """Make a batch's first dependent depend on it in turn."""
    parent = next(b for b in data.collections["batches"] if b["dependents"])
    _first(data, "batches", id=parent["dependents"][0])["dependents"] = [parent["id"]]


def _allowance(data):
    return _first(data, "writeOffs", method="allowance")


# One defect per rule: each must be reported by that rule, or the rule could never fail.
DEFECTS = {
    "ids": lambda d: d.collections["batches"][1].update(id=d.collections["batches"][0]["id"]),
    "references": lambda d: d.collections["writeOffs"][0].update(invoice_id="inv-999999"),
    "references (dependents loop)": _loop_dependents,
    "calendar": lambda d: d.collections["creditMemos"][0].update(date="2025-12-31"),
    "currency": lambda d: d.collections["invoices"][5].update(total_in_base_currency=1.0),
    "totals": lambda d: d.collections["invoices"][5]["line_items"][0].update(quantity=99),
    "balances": lambda d: _first(d, "invoices", status="paid").update(status="open"),
    "balances (over-credited)": lambda d: d.collections["creditMemos"][0].update(total=99999.0),
    "write_offs": lambda d: _allowance(d).pop("bad_debts_expense_gl_account_id"),
    "batch_totals": lambda d: _first(d, "batches", type="transaction").update(count=0),
    "locks": lambda d: _first(d, "batches", status="archived").pop("sys_locked"),
    "history": lambda d: d.collections["debitMemos"][0].update(sys_created_at="2026-01-01T00:00:00Z"),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_rule_reports_its_defect(shipped, defect):
    broken = copy.deepcopy(shipped)
    DEFECTS[defect](broken.tenants["acme"])
    assert consistency.problems(broken, [defect.split()[0]])


def test_every_rule_has_a_defect_to_report():
    assert {defect.split()[0] for defect in DEFECTS} == set(consistency.RULES)


def test_tenants_have_business_units_of_their_own(shipped):
    for tenant, data in shipped.tenants.items():
        units = {unit["id"] for unit in data.business_units}
        others = {u["id"] for t, d in shipped.tenants.items() if t != tenant for u in d.business_units}
        assert units and not units & others
        assert {b["business_unit_id"] for b in data.collections["batches"]} <= units


# The shipped set tells the documented story


def test_shipped_set_has_two_tenants_and_200_invoices_in_three_currencies(shipped):
    invoices = _all(shipped, "invoices")
    assert len(shipped.tenants) >= 2
    assert len(invoices) >= 200
    assert {"USD", "GBP", "EUR"} <= {invoice["currency_code"] for invoice in invoices}


def test_shipped_set_is_small_enough_to_load_instantly(shipped):
    assert 500 <= shipped.total() <= 1500


def test_shipped_batches_cover_every_type_and_status(spec, shipped):
    batch = spec["components"]["schemas"]["Batch"]["properties"]
    batches = _all(shipped, "batches")
    assert {b["type"] for b in batches} == set(batch["type"]["enum"])
    assert {b["status"] for b in batches} == set(batch["status"]["enum"])


def test_shipped_set_has_every_kind_of_transaction_and_invoice_status(spec, shipped):
    assert {w["method"] for w in _all(shipped, "writeOffs")} == {"direct", "allowance"}
    assert _all(shipped, "creditMemos") and _all(shipped, "debitMemos")
    statuses = spec["components"]["schemas"]["Invoice"]["properties"]["status"]["enum"]
    assert {invoice["status"] for invoice in _all(shipped, "invoices")} == set(statuses)


def _depth(graph, node):
    return 1 + max((_depth(graph, child) for child in graph[node]), default=0)


def test_shipped_dependents_include_a_chain_of_three_levels(shipped):
    for data in shipped.tenants.values():
        graph = {b["id"]: b["dependents"] for b in data.collections["batches"]}
        assert max(_depth(graph, node) for node in graph) >= 3


def test_shipped_error_batches_list_their_errors(shipped):
    failed = [b for b in _all(shipped, "batches") if b["status"] == "error"]
    assert failed and all(b["errors"] for b in failed)


def test_shipped_set_has_locked_records_and_custom_fields(shipped):
    locked = {name: [r for r in _all(shipped, name) if r.get("sys_locked")] for name in COLLECTIONS}
    assert locked["invoices"] and locked["batches"] and locked["creditMemos"] + locked["debitMemos"]
    assert 0 < sum(map(len, locked.values())) < shipped.total() / 4
    assert any(r.get("custom_field_values") for r in _all(shipped, "invoices"))
    assert any(r.get("custom_field_values") for r in _all(shipped, "batches"))


def test_shipped_legacy_import_is_regenerated_or_failed(shipped):
    legacy = [i for i in _all(shipped, "invoices") if i["type"] == "legacy"]
    assert any(i.get("regenerated_invoice_id") for i in legacy)
    assert any(i.get("regeneration_error") and i["status"] == "open" for i in legacy)


def test_shipped_reference_data_has_base_currencies_and_twelve_periods(shipped):
    for data in shipped.tenants.values():
        assert all(
            len(unit["base_currency_code"]) == 3 and unit["base_currency_symbol"] for unit in data.business_units
        )
        assert all(len(year["periods"]) == 12 for year in data.fiscal_years)
    starts = {year["start_date"][5:] for data in shipped.tenants.values() for year in data.fiscal_years}
    assert starts == {"01-01", "07-01"}


def test_readme_names_only_records_that_exist(shipped):
    text = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:inv|wo|dm|cm)-\d{6}|batch-[a-z]{2}-\d{4}-\d{2}-[a-z]+)`", text))
    existing = {record["id"] for name in COLLECTIONS for record in _all(shipped, name)}
    assert len(named) > 15
    assert named <= existing, named - existing


def test_readme_examples_are_what_it_says(shipped):
    acme = {r["id"]: r for name in COLLECTIONS for r in shipped.tenants["acme"].collections[name]}
    globex = {r["id"]: r for r in shipped.tenants["globex"].collections["invoices"]}
    assert (acme["inv-001035"]["currency_code"], acme["inv-001065"]["currency_code"]) == ("CAD", "EUR")
    assert acme["inv-001002"]["regenerated_invoice_id"] == "inv-001011"
    assert acme["inv-001011"]["parent_invoice_id"] == "inv-001002"
    assert acme["inv-001003"]["regeneration_error"] and acme["inv-001003"]["status"] == "open"
    assert acme["dm-001003"]["memo"].startswith("Late fee") and acme["cm-001001"]["is_from_retroactive_coupon"]
    assert acme["cm-001013"]["cancellation_id"] and acme["inv-001150"]["amount_refunded"] > 0
    assert acme["inv-001015"]["status"] == "open" and 0 < acme["inv-001015"]["amount_paid"]
    assert (acme["wo-001001"]["method"], acme["wo-001005"]["method"]) == ("direct", "allowance")
    assert all(acme[id_].get("sys_locked") for id_ in ("inv-001008", "cm-001001", "dm-001001"))
    assert acme["batch-us-2025-10-ar"]["status"] == "posting" and acme["batch-uk-2025-10-ar"]["status"] == "error"
    assert globex["inv-001011"]["currency_code"] == "CHF"


# The generator: deterministic, sized as asked, and its files match its manifest


def _files(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*.json"))}


def test_shipped_set_is_exactly_what_the_generator_makes(tmp_path):
    write(generate(DEFAULT_SCALE, DEFAULT_SEED), tmp_path)
    assert _files(tmp_path) == _files(DEFAULT_DIR)


def test_same_scale_and_seed_give_byte_identical_files(tmp_path):
    write(generate(1500, 3), tmp_path / "one", compact=True)
    write(generate(1500, 3), tmp_path / "two", compact=True)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_output_does_not_depend_on_hash_randomisation(tmp_path):
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        argv = [
            sys.executable,
            "-m",
            "collect_fixtures.generator",
            "--scale",
            "400",
            "--out",
            str(tmp_path / hash_seed),
        ]
        subprocess.run(argv, check=True, env=env, capture_output=True)
    assert _files(tmp_path / "1") == _files(tmp_path / "2")


def test_a_different_seed_gives_different_data(shipped):
    other = generate(DEFAULT_SCALE, DEFAULT_SEED + 1)
    assert other.tenants["acme"].collections["invoices"] != shipped.tenants["acme"].collections["invoices"]


def test_generation_leaves_the_global_random_state_alone():
    random.seed(42)
    state = random.getstate()
    generate(MIN_SCALE, 1)
    assert random.getstate() == state


def test_scale_is_the_approximate_total_record_count(generated):
    assert 2850 <= generated.total() <= 3150
    assert 0.9 * MIN_SCALE <= generate(MIN_SCALE, 1).total() <= 1.2 * MIN_SCALE


def test_a_busy_month_is_split_into_several_receivables_batches():
    big = generate(10_000, 2)
    assert any(batch["id"].endswith("-ar-02") for batch in _all(big, "batches"))
    assert not consistency.problems(big, ["batch_totals", "calendar", "references"])


def test_a_scale_below_the_minimum_is_refused():
    with pytest.raises(ValueError, match=str(MIN_SCALE)):
        generate(MIN_SCALE - 1, 1)


def test_manifest_counts_match_the_files():
    manifest = json.loads((DEFAULT_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == 1 and (manifest["seed"], manifest["scale"]) == (DEFAULT_SEED, DEFAULT_SCALE)
    for tenant in manifest["tenants"]:
        assert set(manifest["counts"][tenant]) == set(COLLECTIONS)
        for name, count in manifest["counts"][tenant].items():
            records = json.loads((DEFAULT_DIR / tenant / f"{name}.json").read_text(encoding="utf-8"))
            assert len(records) == count, f"{tenant}/{name}"


def test_a_written_set_loads_back_unchanged(tmp_path, generated):
    assert load(write(generated, tmp_path)) == generated


def test_small_sets_are_indented_and_compact_ones_are_one_line(tmp_path, generated):
    write(generated, tmp_path / "pretty")
    write(generated, tmp_path / "compact", compact=True)
    assert (tmp_path / "pretty/acme/batches.json").read_text().startswith("[\n  {\n")
    assert (tmp_path / "compact/acme/batches.json").read_text().count("\n") == 1


# The command line


def test_cli_writes_a_set_and_prints_one_summary_line(tmp_path, capsys):
    assert main(["--scale", "300", "--seed", "4", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "invoices" in out and "batches" in out
    assert load(tmp_path).total() == int(out.split()[0])


@pytest.mark.parametrize("argv", [["--scale", "many"], ["--scale", "10"], ["--seed", "x"], []])
def test_cli_rejects_bad_arguments_with_status_2(tmp_path, capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--out", str(tmp_path)] if argv else argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_cli_reports_an_unwritable_out_dir_with_status_1(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert main(["--scale", "300", "--out", str(blocker / "out")]) == 1
    err = capsys.readouterr().err
    assert "cannot write" in err and str(blocker) in err and "Traceback" not in err
