"""What `make bench` needs besides Python, named with the command that installs it.

The benchmark never installs system packages itself (it would need root, and a benchmark should not change the
machine it measures): it names what is missing and exits, before the minute-long setup. wrk is required; node
and npm are only needed for the Prism comparison, whose cases are skipped without them (or with --no-prism).

Standard library only: `make bench` runs this with the system Python before creating the virtualenv.

    python3 -m benchmarks.prerequisites [--no-prism]
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Tool:
    binary: str
    purpose: str
    debian: str  # the Debian/Ubuntu package
    brew: str  # the Homebrew formula
    required: bool = True


WRK = Tool("wrk", "the HTTP load generator every measurement runs", "wrk", "wrk")
NODE = Tool("node", "runs Prism, the comparison mock", "nodejs", "node", required=False)
NPM = Tool("npm", "installs Prism (once, into data/bench)", "npm", "node", required=False)


def missing(prism: bool = True) -> list[Tool]:
    tools = [WRK, NODE, NPM] if prism else [WRK]
    return [tool for tool in tools if shutil.which(tool.binary) is None]


def install_command(tools: list[Tool]) -> str:
    """The command that installs `tools` on this machine, as a user would type it."""
    if shutil.which("apt-get"):
        sudo = "" if os.geteuid() == 0 else "sudo "
        return f"{sudo}apt-get install -y {' '.join(dict.fromkeys(t.debian for t in tools))}"
    if shutil.which("brew"):
        return f"brew install {' '.join(dict.fromkeys(t.brew for t in tools))}"
    return f"use your system's package manager (Debian: {' '.join(dict.fromkeys(t.debian for t in tools))})"


def report(prism: bool = True) -> tuple[bool, list[str]]:
    """(whether the benchmark can run, the lines to print)."""
    absent = missing(prism)
    required = [t for t in absent if t.required]
    optional = [t for t in absent if not t.required]
    lines = []
    if required:
        needs = "; ".join(f"{t.binary} ({t.purpose})" for t in required)
        command = install_command(required)
        lines.append(f"BenchmarkError: the benchmark needs {needs}: not found on PATH. Install it: {command}")
    if optional:
        names = " and ".join(t.binary for t in optional)
        lines.append(
            f"note: without {names} the Prism comparison is skipped. Install them: {install_command(optional)} "
            "(or run with --no-prism)"
        )
    return not required, lines


def main(argv: list[str] | None = None) -> int:
    ok, lines = report(prism="--no-prism" not in (sys.argv[1:] if argv is None else argv))
    for line in lines:
        print(line, file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
