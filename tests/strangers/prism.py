"""Prism from npm for the tests: `prism mock openapi/collect.yaml`, stateless, answering the contract's examples.

Installed once per machine under `.cache/prism` (git-ignored) by the benchmark's installer (a pinned version,
`benchmarks.prism`), started on a free port of 127.0.0.1 with its request log on, and stopped at the end. Where
node or npm is missing, or the install fails, the tests that need it are skipped with that reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

import pytest

from benchmarks.prism import VERSION, PrismUnavailable, install, ready, server
from benchmarks.servers import Server

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "prism"
# Prism's request log at -v info: "[HTTP SERVER] put /writeOffs/acme/wo-1 ℹ  info      Request received"
_RECEIVED = re.compile(r"\[HTTP SERVER\] (\w+) (\S+) .*Request received")


@contextmanager
def running_prism(log: Path) -> Iterator[Server]:
    """Prism on 127.0.0.1 (installed first if need be), stopped on exit; a skip, with the reason, without npm."""
    try:
        binary = install(CACHE, CACHE / "install.log")
    except PrismUnavailable as exc:
        pytest.skip(f"Prism {VERSION} is not available: {exc}")
    prism = server(binary, log, verbosity="info")
    prism.start()
    try:
        prism.wait_ready(ready("/writeOffs/acme"), timeout=60)
        yield prism
    finally:
        prism.stop()


def received(log: Path) -> list[tuple[str, str]]:
    """(METHOD, decoded path) of every request Prism logged, in order."""
    text = log.read_text(errors="replace")
    return [(method.upper(), unquote(path.split("?")[0])) for method, path in _RECEIVED.findall(text)]
