"""Errors of the suite itself, kept apart from the failures it finds in the API under test.

    ConformanceError                 the suite could not do its job (never "the API is wrong")
    ├── ConfigError                  a bad option or environment value; the message names both
    ├── SafetyError                  a request the suite refused to send
    │   ├── ReadOnlyViolation        a write in --read-only mode
    │   ├── ForeignRecordError       a write to a record the suite did not create, or to another tenant
    │   └── BudgetExhausted          the request budget is spent
    ├── SetupError                   the target did not let the suite prepare a check (for example a create
    │                                it needs failed); the unit is reported as an error, not a failure
    └── TargetError                  the target cannot be checked at all (unreachable, token refused)
    NotVerified (alias Skipped)      a check could not prove its rule here; `reason` says why (a `Reason`)

API failures live in `conformance.failures`, exactly as Schemathesis keeps `SchemathesisError` apart from
`Failure`.
"""

from __future__ import annotations

from enum import StrEnum


class ConformanceError(Exception):
    """Base of every error of the suite itself."""


class ConfigError(ConformanceError):
    """A configuration value is unusable."""

    @classmethod
    def bad_value(cls, key: str, value: object, why: str) -> ConfigError:
        return cls(f"Config '{key}' has value '{value}'. {why}")


class SafetyError(ConformanceError):
    """The suite refused to send a request that could touch data it does not own."""


class ReadOnlyViolation(SafetyError):
    """A request that is not a safe (GET) request was attempted in read-only mode."""


class ForeignRecordError(SafetyError):
    """A write would reach another tenant or a record the suite did not create."""


class BudgetExhausted(SafetyError):
    """The maximum number of requests has been sent."""


class SetupError(ConformanceError):
    """The target did not let the suite prepare a check."""


class TargetError(ConformanceError):
    """The target cannot be checked at all."""


class Reason(StrEnum):
    """Why a unit could not be verified: a closed set, so that a pipeline can accept some and not others."""

    NO_RECORDS = "no-records"  # the tenant holds nothing to read (read-only runs)
    ONE_PAGE = "one-page"  # every record fits in one page: the paging keys were never exercised
    READ_ONLY = "read-only"  # the rule needs writes
    NEEDS_OTHER_TENANT = "needs-other-tenant"  # the rule needs --other-tenant
    SETUP_REFUSED = "setup-refused"  # the target refused what the check needed first (a create, a read, ...)
    BUDGET_SPENT = "budget-spent"  # the request budget ran out before the unit was done
    NOT_APPLICABLE = "not-applicable"  # nothing of the resource to check (no range filter, no free-text field)
    NO_TRAFFIC = "no-traffic"  # a response rule saw no response of the resource to judge
    RUN_STOPPED = "run-stopped"  # the run stopped before the unit (target unreachable, token refused)

    @property
    def describe(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Reason.NO_RECORDS: "the tenant has no records to read",
    Reason.ONE_PAGE: "the records fit in one page",
    Reason.READ_ONLY: "needs writes (--read-only)",
    Reason.NEEDS_OTHER_TENANT: "needs --other-tenant",
    Reason.SETUP_REFUSED: "the target refused the set-up",
    Reason.BUDGET_SPENT: "the request budget was spent",
    Reason.NOT_APPLICABLE: "nothing to check on this resource",
    Reason.NO_TRAFFIC: "no response to judge",
    Reason.RUN_STOPPED: "the run stopped first",
}


class NotVerified(Exception):
    """A check could not prove its rule on this target or resource: the message says what was missing, `reason`
    which kind of gap it is. A unit that raises it is reported as *not verified*, never as passed."""

    def __init__(self, message: str, reason: Reason = Reason.NOT_APPLICABLE) -> None:
        super().__init__(message)
        self.reason = reason


# The earlier name: checks that raise `Skipped(message)` report a unit that was not verified.
Skipped = NotVerified
