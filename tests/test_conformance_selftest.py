"""The suite fails where it should: each defect of `tests/defects` trips exactly its own rule's failure.

A clean mock passes every rule; the same mock with one defect switched on fails that defect's rule, with that
rule's failure class and no other. Only the rule under test runs for each defect, with few examples, so that
the whole self-test stays within a couple of minutes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance import REGISTRY, Config, Runner
from conformance.verdicts import PASSED
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
def test_each_defect_trips_its_rule_and_only_it(target, name):
    defect = DEFECTS[name]
    target.reset()
    target.app.switch(defect)

    # Stateful scenarios need a few more examples to reach create -> link -> read.
    examples = 10 if defect.rule == "fuzz.stateful-links" else 3
    report = Runner(check(target, rules=(defect.rule,), max_examples=examples)).run()

    assert report.failed_rules() == {defect.rule}, report.summary()
    assert {f.code for f in report.failures()} == {REGISTRY.get(defect.rule).failure.code}


def test_every_rule_has_a_defect_named_after_its_failure():
    by_rule = {d.rule: d.name for d in DEFECTS.values()}
    assert by_rule == {rule.id: rule.failure.__name__ for rule in REGISTRY.all()}


def test_the_docs_tabulate_every_defect():
    rows = dict(re.findall(r"^\| `(\w+)` \| `([\w.-]+)` \|", DOCS.read_text(encoding="utf-8"), re.MULTILINE))
    assert rows == {d.name: d.rule for d in DEFECTS.values()}
