"""The closed sets a run is judged in: a unit's `Status`, the run's `Verdict`, and the `Exit` code a pipeline reads.

See `conformance/report.py` for how they follow from each other.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NOT_VERIFIED = "not verified"


PASSED, FAILED, ERROR, NOT_VERIFIED = Status.PASSED, Status.FAILED, Status.ERROR, Status.NOT_VERIFIED


class Verdict(StrEnum):
    PASS = "PASS"
    PARTIAL = "PARTIAL"
    FAIL = "FAIL"
    UNABLE = "COULD NOT RUN"


class Exit(IntEnum):
    """The exit codes of `collect-conformance`."""

    PASS = 0
    FAIL = 1
    USAGE = 2
    UNABLE = 3
    PARTIAL = 4
