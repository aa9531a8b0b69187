"""The Collect contract (import name ``collect_contract``): the document, and the one reading of its structure.

The YAML next to this file is the single source of truth. `Contract` is what the mock server, the conformance
suite, the benchmark and the tests know of its structure (resources, operations and their `Kind`, references,
search filters, lookups, examples); `constraints` lists the constraints it states for request values, and
`structure` checks that a document has the structure the model reads. This package imports nothing of ours.
"""

from pathlib import Path

from collect_contract.document import METHODS, TENANT, Refs, load_spec
from collect_contract.model import Contract, Filter, Kind, Match, Operation, Reference, Requirement, Resource

SPEC_PATH = Path(__file__).with_name("collect.yaml")
NOTES_PATH = Path(__file__).with_name("NOTES.md")

__all__ = [
    "METHODS",
    "NOTES_PATH",
    "SPEC_PATH",
    "TENANT",
    "Contract",
    "Filter",
    "Kind",
    "Match",
    "Operation",
    "Reference",
    "Refs",
    "Requirement",
    "Resource",
    "load_spec",
]
