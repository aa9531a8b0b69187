"""Every selected rule on every resource it applies to, as one pytest test each (see `conformance.plugin`)."""

from __future__ import annotations

from typing import Any

import pytest


def test_rule(conformance_runner: Any, conformance_unit: tuple[str, str]) -> None:
    from conformance.registry import REGISTRY
    from conformance.runner import Unit

    rule_id, resource = conformance_unit
    outcome = conformance_runner.outcome(Unit(REGISTRY.get(rule_id), resource))
    if outcome.status == "skipped":
        pytest.skip(outcome.reason)
    if outcome.status == "error":
        pytest.fail(f"could not check {rule_id} on {resource}: {outcome.reason}", pytrace=False)
    if outcome.status == "failed":
        pytest.fail("\n\n".join(failure.as_text() for failure in outcome.failures), pytrace=False)
