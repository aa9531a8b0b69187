"""Where the figures come from: CPU, cores, load, and the versions of everything on the request path."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("uvicorn", "httptools", "uvloop", "connexion", "starlette", "jsonschema-rs", "tinydb")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _command(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "absent"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "?"


def commit() -> str:
    root = Path(__file__).resolve().parents[1]
    return _command(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def describe() -> dict[str, str]:
    info = {
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count()),
        "kernel": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
    }
    info.update({package: _version(package) for package in PACKAGES})
    info["wrk"] = _command(["wrk", "-v"]).split(" [")[0]
    info["node"] = _command(["node", "--version"])
    info["commit"] = commit()
    info["load at start"] = load()
    return info
