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
    Skipped                          a check does not apply here (no --other-tenant, read-only, one page, ...)

API failures live in `conformance.failures`, exactly as Schemathesis keeps `SchemathesisError` apart from
`Failure`.
"""

from __future__ import annotations


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


class Skipped(Exception):
    """A check does not apply to this target or resource; the message says why."""
