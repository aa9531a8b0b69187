"""The suite's checks for `st run`: `SCHEMATHESIS_HOOKS=conformance.hooks st run --checks all ...`.

Importing this module registers every response rule (as a check named after the rule's function) and the
fuzz rules with `@schemathesis.check`. The suite itself passes the same functions to `validate_response`
explicitly, so importing `conformance` alone registers nothing.
"""

from __future__ import annotations

import schemathesis

from conformance import rules  # noqa: F401  (registers the catalog)
from conformance.registry import REGISTRY, RuleKind
from conformance.schemathesis_bridge import as_check

CHECKS = [schemathesis.check(as_check(rule.check)) for rule in REGISTRY.all() if rule.kind is RuleKind.RESPONSE]
CHECKS += [schemathesis.check(rule.check) for rule in REGISTRY.all() if rule.kind is RuleKind.FUZZ]
