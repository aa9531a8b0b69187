"""The rule catalog: every rule is complete and reports its own failure; rules are selected by id or area."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import REGISTRY, ConfigError
from conformance.catalog import markdown_table
from conformance.failures import DuplicateId, UndocumentedStatus
from conformance.registry import Area, Registry, Rule

AREAS_OF_THE_ISSUE = {"ids", "status", "schema", "paging", "projection", "patch", "versioning", "search", "tenancy"}
AREAS_OF_THE_ISSUE |= {"batch", "delete", "dependents", "fuzz"}


def test_every_rule_has_a_statement_a_source_and_a_failure_class_of_its_own():
    rules = REGISTRY.all()
    assert len({rule.failure for rule in rules}) == len(rules)
    assert len({rule.failure.code for rule in rules}) == len(rules)
    for rule in rules:
        assert rule.statement.endswith(".") and rule.source and rule.tests, rule.id
        assert rule.failure.rule == rule.id and rule.failure.__doc__, rule.id


def test_the_catalog_covers_every_area_of_the_issue_in_catalog_order():
    assert {rule.area for rule in REGISTRY.all()} == AREAS_OF_THE_ISSUE
    positions = [list(Area).index(rule.area) for rule in REGISTRY.all()]
    assert positions == sorted(positions)


def test_rules_are_selected_by_id_or_area_and_skipped_the_same_way():
    chosen = REGISTRY.select(["ids", "paging.count"], ["ids.unique"])
    assert [rule.id for rule in chosen] == [  # the area's rules but the skipped one, then the named rule
        "ids.server-generated",
        "ids.supplied-id-rejected",
        "ids.put-mismatch-rejected",
        "ids.unknown-404",
        "ids.deleted-404",
        "paging.count",
    ]
    assert len(REGISTRY.select()) == len(REGISTRY.all())


def test_an_unknown_rule_name_is_a_config_error_that_lists_the_areas():
    with pytest.raises(ConfigError, match=r"'rules' has value 'idz'.*areas: batch, delete"):
        REGISTRY.select(["idz"])


def test_a_rule_must_report_its_own_failure_class():
    registry = Registry()
    with pytest.raises(ValueError, match="DuplicateId, which belongs to 'ids.unique'"):
        registry.register(
            Rule(id="ids.other", statement="Something.", source="000 L1", failure=DuplicateId, check=lambda c, r: None)
        )


def test_a_rule_must_belong_to_a_known_area_and_be_declared_by_keyword():
    with pytest.raises(ValueError, match="'idz.other' is in no known area"):
        Registry().register(
            Rule(id="idz.other", statement="Something.", source="000 L1", failure=DuplicateId, check=lambda c, r: None)
        )
    with pytest.raises(TypeError):
        Rule("ids.other", "Something.", "000 L1", DuplicateId, lambda c, r: None)  # type: ignore[misc]


def test_failures_say_what_was_received_and_what_the_contract_says():
    assert (
        DuplicateId(received="ids [a, a]", expected="distinct ids").message
        == "Received: ids [a, a]\nExpected: distinct ids"
    )
    assert UndocumentedStatus(received=418, expected="200, 404").message == "Received: 418\nDocumented: 200, 404"
    assert isinstance(DuplicateId(received=1, expected=2), AssertionError)


def test_the_docs_show_the_catalog_as_the_registry_holds_it():
    docs = (Path(__file__).parent.parent / "docs" / "conformance.md").read_text(encoding="utf-8")
    assert markdown_table() in docs, "regenerate the table with `python -m conformance.catalog`"
