"""Implementations nobody here wrote, run by the tests (`tests/test_conformance_strangers.py`): Prism from npm
and a naive CRUD server in the spirit of json-server. Their expected verdicts live in docs/conformance.md."""
