"""Benchmark data: sets made by the fixture generator through the CLI, seeded once and cached.

The generator's files live in `<root>/fixtures-scale<N>-seed<S>-<generator>/` and the snapshot `collect-mock seed`
made from them in `<root>/scale<N>-seed<S>-<code>/collect.json`. `<generator>` is a digest of the generator's
source and `<code>` adds how the mock seeds and writes its snapshot, so a change to either makes a fresh set
rather than benchmarking stale files, and a change to the mock's storage only seeds again (a minute or two at a
million records) rather than generating again. Each server gets a copy of the snapshot, because the writes of a
run (and the compaction at a clean stop) change it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import collect_fixtures
import mockserver

READY = ".ready"
SNAPSHOT = "collect.json"
Record = dict[str, Any]


def generator_digest() -> str:
    """What cached fixtures depend on: the generator's modules."""
    return _digest(sorted(Path(collect_fixtures.__file__).parent.glob("*.py")))


def code_digest() -> str:
    """What a cached snapshot depends on: the generator's modules and how the mock seeds and writes a snapshot."""
    mock = Path(mockserver.__file__).parent
    names = ("storage.py", "seeding.py", "records.py", "snapshot.py")
    return _digest([*sorted(Path(collect_fixtures.__file__).parent.glob("*.py")), *(mock / n for n in names)])


def _digest(sources: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:10]


@dataclass(frozen=True)
class DataSet:
    scale: int
    seed: int
    directory: Path  # the seeded snapshot
    fixtures: Path  # the generator's files

    @property
    def snapshot(self) -> Path:
        return self.directory / SNAPSHOT

    @cached_property
    def manifest(self) -> Record:
        manifest: Record = json.loads((self.fixtures / "manifest.json").read_text())
        return manifest

    @property
    def records(self) -> int:
        return sum(n for per in self.manifest["counts"].values() for n in per.values())

    def counts(self) -> dict[tuple[str, str], int]:
        return {(t, c): n for t, per in self.manifest["counts"].items() for c, n in per.items()}

    def load(self, tenant: str, collection: str) -> list[Record]:
        records: list[Record] = json.loads((self.fixtures / tenant / f"{collection}.json").read_text())
        return records


def prepare(scale: int, seed: int, root: Path, cli: list[str], log: Path) -> DataSet:
    """The cached set for (scale, seed), generated and seeded through `collect-mock` if missing or stale."""
    key = f"scale{scale}-seed{seed}"
    fixtures = _cached(
        root,
        f"fixtures-{key}",
        generator_digest(),
        log,
        lambda work: [[*cli, "fixtures", "--scale", str(scale), "--seed", str(seed), "--out", str(work)]],
    )
    directory = _cached(
        root,
        key,
        code_digest(),
        log,
        lambda work: [[*cli, "seed", "--db", str(work / SNAPSHOT), "--from", str(fixtures)]],
    )
    return DataSet(scale, seed, directory, fixtures)


def _cached(root: Path, key: str, digest: str, log: Path, commands: Callable[[Path], list[list[str]]]) -> Path:
    """`<root>/<key>-<digest>/`, made by `commands` (run in a `.partial` directory) if it is not there yet."""
    directory = root / f"{key}-{digest}"
    if (directory / READY).exists():
        return directory
    for stale in root.glob(f"{key}-*"):  # older code, or a run cut short
        shutil.rmtree(stale, ignore_errors=True)
    work = root / f"{key}-{digest}.partial"
    work.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        for argv in commands(work):
            subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=1800)
    (work / READY).write_text(json.dumps({"key": key}))
    work.rename(directory)
    return directory


def copy_snapshot(data: DataSet, target: Path) -> Path:
    """A private copy of the seeded snapshot for one server (no log beside it: nothing pending)."""
    target.mkdir(parents=True, exist_ok=True)
    db = target / SNAPSHOT
    shutil.copyfile(data.snapshot, db)
    return db
