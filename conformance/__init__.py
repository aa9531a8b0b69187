"""A conformance suite for any implementation of the Collect (Finance & Billing) API.

    report = conformance.run(conformance.Config(base_url=..., token=..., tenant=...))
    print(report.summary()); sys.exit(report.exit_code)

Every unit (rule × resource) ends passed, failed, error (the suite's own trouble) or not verified (with its
`Reason`); the `Verdict` is PASS, PARTIAL, FAIL or COULD NOT RUN, and `Exit` the code a pipeline reads.

The same checks run from the command line (`collect-conformance`), from pytest (`pytest conformance
--base-url ...`, through the `collect_conformance` plugin) and inside Schemathesis (`conformance.hooks`).
See docs/conformance.md for the layers, the rule catalog and the self-test.
"""

from conformance.config import Config
from conformance.errors import (
    BudgetExhausted,
    ConfigError,
    ConformanceError,
    ForeignRecordError,
    NotVerified,
    ReadOnlyViolation,
    Reason,
    SafetyError,
    SetupError,
    Skipped,
    TargetError,
)
from conformance.failures import Failure
from conformance.registry import REGISTRY, Rule
from conformance.report import FailureRecord, Outcome, Report
from conformance.runner import Runner, run
from conformance.verdicts import Exit, Status, Verdict

__all__ = [
    "BudgetExhausted",
    "Config",
    "ConfigError",
    "ConformanceError",
    "Exit",
    "Failure",
    "FailureRecord",
    "ForeignRecordError",
    "NotVerified",
    "Outcome",
    "REGISTRY",
    "ReadOnlyViolation",
    "Reason",
    "Report",
    "Rule",
    "Runner",
    "SafetyError",
    "SetupError",
    "Skipped",
    "Status",
    "TargetError",
    "Verdict",
    "run",
]
