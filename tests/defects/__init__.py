"""Switchable defects for the mock: each breaks one rule of the conformance catalog (and, where it says so, the
neighbouring rules of the same area that state what it breaks too).

`DefectiveApp` wraps the mock's ASGI app; a defect rewrites requests, responses or state, the way a broken
implementation would behave. Each is named after the failure class it should trip, as Schemathesis names the
modifiers of its test apps after the checks they trip.
"""

from tests.defects.app import Call, DefectiveApp, Request, Response
from tests.defects.catalog import DEFECTS, Defect, load

__all__ = ["DEFECTS", "Call", "Defect", "DefectiveApp", "Request", "Response", "load"]
