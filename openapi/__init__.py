"""The Collect contract, shipped as package data (import name ``collect_contract``).

The YAML next to this file is the single source of truth that the mock server and the conformance suite load.
"""

from pathlib import Path

SPEC_PATH = Path(__file__).with_name("collect.yaml")
NOTES_PATH = Path(__file__).with_name("NOTES.md")

__all__ = ["NOTES_PATH", "SPEC_PATH"]
