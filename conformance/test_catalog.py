"""Every selected rule on every resource it applies to, as one pytest test each (see `conformance.plugin`)."""

from __future__ import annotations

from typing import Any

import pytest


def test_rule(conformance_runner: Any, conformance_unit: tuple[str, str]) -> None:
    from conformance.registry import REGISTRY
    from conformance.runner import Unit

    rule_id, resource = conformance_unit
    from conformance.verdicts import ERROR, FAILED, NOT_VERIFIED

    outcome = conformance_runner.outcome(Unit(REGISTRY.get(rule_id), resource))
    if outcome.status == NOT_VERIFIED:
        why = outcome.why.value if outcome.why else "not-applicable"
        pytest.skip(f"not verified ({why}): {outcome.reason}")
    if outcome.status == ERROR:
        pytest.fail(f"could not check {rule_id} on {resource}: {outcome.reason}", pytrace=False)
    if outcome.status == FAILED:
        pytest.fail("\n\n".join(failure.as_text() for failure in outcome.failures), pytrace=False)
