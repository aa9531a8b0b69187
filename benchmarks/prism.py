"""Prism, Stoplight's mock server, serving our contract's static examples: the comparison point.

Installed by the benchmark from the npm registry into the data folder (a pinned version, once), and started as
`prism mock openapi/collect.yaml` without `-d`, so it answers each operation's example. Its request log is
turned down to warnings: logging every request would slow it down, and the comparison should be with Prism at
its best. Without node and npm, or if the install fails, the benchmark says so and skips the Prism cases.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from benchmarks.servers import Server
from benchmarks.wrk import TOKEN
from collect_contract import SPEC_PATH
from collect_process import answers, free_port

PACKAGE = "@stoplight/prism-cli"
VERSION = "5.16.0"


class PrismUnavailable(RuntimeError):
    """Node, npm or the package is missing; the message says which, and the Prism cases are skipped."""


def install(root: Path, log: Path) -> Path:
    """The `prism` executable, installed under `root` if it is not there yet."""
    binary = root / "node_modules" / ".bin" / "prism"
    stamp = root / f".installed-{VERSION}"
    if binary.exists() and stamp.exists():
        return binary
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise PrismUnavailable(f"{tool} is not installed")
    root.mkdir(parents=True, exist_ok=True)
    command = ["npm", "install", "--prefix", str(root), "--no-audit", "--no-fund", f"{PACKAGE}@{VERSION}"]
    with open(log, "a") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=600, check=False)
    if done.returncode != 0 or not binary.exists():
        raise PrismUnavailable(f"npm install {PACKAGE}@{VERSION} failed (exit {done.returncode}); see {log}")
    stamp.write_text(VERSION)
    return binary


def server(binary: Path, log: Path, verbosity: str = "warn") -> Server:
    """`prism mock` of the contract on a free port; `verbosity` "info" logs every request (the tests read it)."""
    port = free_port()
    argv = [str(binary), "mock", str(SPEC_PATH), "-h", "127.0.0.1", "-p", str(port), "-v", verbosity]
    return Server(f"prism {VERSION}", argv, port, log)


def ready(path: str) -> Callable[[str], bool]:
    """Prism is ready when it answers one of the benchmark's GETs with its example."""
    return lambda base_url: answers(base_url + path, {"Authorization": f"Bearer {TOKEN}"}, timeout=2)
