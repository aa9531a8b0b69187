"""Benchmark data: sets made by the fixture generator through the CLI, seeded once and cached.

A set lives in `<root>/scale<N>-seed<S>-<code>/`: the generator's files and `collect.json`, the snapshot
`collect-mock seed` made from them. `<code>` is a digest of the generator's and the snapshot writer's source, so a
change to either makes a fresh set rather than benchmarking stale files. Each server gets a copy of the snapshot,
because the writes of a run (and the compaction at a clean stop) change it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import collect_fixtures
import mockserver

READY = ".ready"
SNAPSHOT = "collect.json"
Record = dict[str, Any]


def code_digest() -> str:
    """What a cached set depends on: the generator's modules and how the mock writes its snapshot."""
    sources = sorted(Path(collect_fixtures.__file__).parent.glob("*.py"))
    mock = Path(mockserver.__file__).parent
    sources += [mock / "storage.py", mock / "seeding.py", mock / "records.py"]
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:10]


@dataclass(frozen=True)
class DataSet:
    scale: int
    seed: int
    directory: Path

    @property
    def snapshot(self) -> Path:
        return self.directory / SNAPSHOT

    @cached_property
    def manifest(self) -> Record:
        manifest: Record = json.loads((self.directory / "manifest.json").read_text())
        return manifest

    @property
    def records(self) -> int:
        return sum(n for per in self.manifest["counts"].values() for n in per.values())

    def counts(self) -> dict[tuple[str, str], int]:
        return {(t, c): n for t, per in self.manifest["counts"].items() for c, n in per.items()}

    def load(self, tenant: str, collection: str) -> list[Record]:
        records: list[Record] = json.loads((self.directory / tenant / f"{collection}.json").read_text())
        return records


def prepare(scale: int, seed: int, root: Path, cli: list[str], log: Path) -> DataSet:
    """The cached set for (scale, seed), generated and seeded through `collect-mock` if missing or stale."""
    key = f"scale{scale}-seed{seed}"
    directory = root / f"{key}-{code_digest()}"
    if (directory / READY).exists():
        return DataSet(scale, seed, directory)
    for stale in root.glob(f"{key}-*"):  # older code, or a run cut short
        shutil.rmtree(stale, ignore_errors=True)
    work = root / f"{key}-{code_digest()}.partial"
    work.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        for argv in (
            [*cli, "fixtures", "--scale", str(scale), "--seed", str(seed), "--out", str(work)],
            [*cli, "seed", "--db", str(work / SNAPSHOT), "--from", str(work)],
        ):
            subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=600)
    (work / READY).write_text(json.dumps({"scale": scale, "seed": seed}))
    work.rename(directory)
    return DataSet(scale, seed, directory)


def copy_snapshot(data: DataSet, target: Path) -> Path:
    """A private copy of the seeded snapshot for one server (no log beside it: nothing pending)."""
    target.mkdir(parents=True, exist_ok=True)
    db = target / SNAPSHOT
    shutil.copyfile(data.snapshot, db)
    return db
