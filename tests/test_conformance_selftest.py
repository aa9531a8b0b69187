"""The suite fails where it should: each defect of `tests/defects` trips its own rule's failure, and of the other
rules of its area exactly those its catalog entry names.

A clean mock passes every rule; the same mock with one defect switched on fails that defect's rule, with that
rule's failure class, while every other rule of the same area (`Area`: the rules that check the neighbouring
properties, the likeliest to trip on the same defect) runs too and fails only where the defect declares it
(`also`: a 500 for invalid input is a server error and an invalid request not refused, both). Rules of other
areas are not run with the defect, so that the whole self-test stays within a few minutes: what it proves is
"this rule, and of its area no other than those named", not "no other rule of the catalog".
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance import REGISTRY, Config, Runner
from conformance.verdicts import ERROR, PASSED
from tests.defects import load
from tests.defects.server import OTHER_TENANT, TENANT, TOKEN

DEFECTS = load()
DOCS = Path(__file__).parent.parent / "docs" / "conformance.md"


def check(target, **overrides) -> Config:
    config = Config(
        base_url=target.base_url,
        token=TOKEN,
        tenant=TENANT,
        other_tenant=OTHER_TENANT,
        seed=7,
        rate_limit=0,
        max_examples=3,
        paging_records=6,  # above the mock's page size of 4: every walk spans pages
    )
    return config.replace(**overrides)


def test_a_clean_mock_passes_every_rule(target):
    target.reset()

    report = Runner(check(target)).run()

    assert report.ok, "\n\n".join(f.as_text() for f in report.failures()) or report.summary()
    assert {o.status for o in report.outcomes} == {PASSED}
    assert {o.rule for o in report.outcomes} == {rule.id for rule in REGISTRY.all()}
    assert report.cleanup.left == []


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_each_defect_trips_its_rule_and_no_other_of_its_area(target, name):
    defect = DEFECTS[name]
    area = REGISTRY.get(defect.rule).area
    target.reset()
    target.app.switch(defect)

    # Stateful scenarios need a few more examples to reach create -> link -> read. One worker: which rules a
    # defect trips must not depend on the order in which units happen to run (creates of one unit between the
    # pages of another's walk trip more rules when the keys are offsets).
    examples = 10 if defect.rule == "fuzz.stateful-links" else 3
    report = Runner(check(target, rules=(area,), max_examples=examples, workers=1)).run()

    assert {o.rule for o in report.outcomes} == {rule.id for rule in REGISTRY.all() if rule.area is area}
    assert report.failed_rules() == {defect.rule, *defect.also}, report.summary()
    assert {f.code for f in report.failures()} == {REGISTRY.get(r).failure.code for r in (defect.rule, *defect.also)}
    assert not [o for o in report.outcomes if o.status is ERROR], report.summary()


def test_what_a_defect_trips_besides_its_rule_is_of_its_own_area():
    for defect in DEFECTS.values():
        assert {REGISTRY.get(rule).area for rule in defect.also} <= {REGISTRY.get(defect.rule).area}, defect.name


def test_every_rule_has_a_defect_named_after_its_failure():
    by_rule = {d.rule: d.name for d in DEFECTS.values()}
    assert by_rule == {rule.id: rule.failure.__name__ for rule in REGISTRY.all()}


def test_the_docs_tabulate_every_defect_and_what_else_it_trips():
    rows = re.findall(r"^\| `(\w+)` \| `([\w.-]+)` \|.*\| ([^|]*) \|$", DOCS.read_text(encoding="utf-8"), re.MULTILINE)
    documented = {name: (rule, tuple(re.findall(r"`([a-z-]+\.[a-z0-9-]+)`", also))) for name, rule, also in rows}
    assert documented == {d.name: (d.rule, d.also) for d in DEFECTS.values()}
