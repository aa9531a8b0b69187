"""Helpers for the project's tests: a real server on a free port, and a client that checks every response."""
