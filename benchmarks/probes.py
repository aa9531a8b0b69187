"""The checks beside throughput: starting the mock, its durability under kill -9, and the conformance run.

Durability: a write storm of creates at concurrency 8 on a mock told to fold its log into a new snapshot every
200 writes, `kill -9` while requests are in flight and, if the timing allows, while a forked child is writing a
snapshot, a restart on the same files, then a GET for every create the mock answered 200.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.servers import Server
from benchmarks.wrk import TOKEN, Request
from collect_process import ServerProcess, free_port

ADMIN_TOKEN = "dev-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


READY_TIMEOUT = 300.0  # seconds a mock may take to start: a million records on a busy machine take ~20


def mock_server(cli: list[str], db: Path, log: Path, name: str, env: dict[str, str] | None = None) -> Server:
    """A mock on loopback that takes the benchmark's tokens, whatever `MOCKSERVER_*` the caller's shell sets."""
    port = free_port()
    argv = [*cli, "serve", "--db", str(db), "--no-seed", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--page-size", "100"]
    tokens = {"MOCKSERVER_TOKEN": TOKEN, "MOCKSERVER_ADMIN_TOKEN": ADMIN_TOKEN}
    return Server(name, argv, port, log, env={**tokens, **(env or {})})


def mock_ready(expected_records: int | None = None) -> Callable[[str], bool]:
    """A readiness probe: health answers, and holds the records we loaded (so it is our server)."""

    def probe(base_url: str) -> bool:
        try:
            response = httpx.get(f"{base_url}/_mock/health", headers=ADMIN, timeout=2)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        held = sum(n for per in response.json().get("records", {}).values() for n in per.values())
        return expected_records is None or held >= expected_records

    return probe


def records_held(base_url: str) -> int:
    health = httpx.get(f"{base_url}/_mock/health", headers=ADMIN, timeout=10).json()
    return sum(n for per in health.get("records", {}).values() for n in per.values())


class SnapshotWatch:
    """Tells whether a mock replaced its snapshot (or is replacing it) since the last look."""

    def __init__(self, db: Path):
        self.db, self.sealed = db, db.with_name(db.name + ".wal.1")  # the log a forked compaction is folding
        self.last = self._state()

    def _state(self) -> tuple[int, int]:
        st = self.db.stat()
        return st.st_ino, st.st_mtime_ns

    @property
    def compacting(self) -> bool:
        return self.sealed.exists()

    def replaced(self) -> bool:
        """Whether a compaction renamed a new snapshot into place since the last look."""
        now = self._state()
        changed, self.last = now != self.last, now
        return changed


@dataclass(frozen=True)
class Durability:
    acknowledged: int
    found: int
    refused: int
    storm_seconds: float
    compact_every: int
    compactions: int  # snapshots replaced during the storm, as seen by polling
    compacting_at_kill: bool

    @property
    def kept(self) -> bool:
        return self.acknowledged > 0 and self.found == self.acknowledged


async def _storm(
    server: Server, watch: SnapshotWatch, create: Request, seconds: float, concurrency: int
) -> tuple[list[str], int, int, bool, float]:
    acknowledged: list[str] = []
    refused = compactions = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal refused
        while True:
            try:
                response = await client.request(create.method, create.path, content=create.body)
            except httpx.HTTPError:
                return  # the server is gone: this request was never acknowledged
            if response.status_code == 200:
                acknowledged.append(response.headers["X-Record-Id"])
            else:
                refused += 1

    async with httpx.AsyncClient(base_url=server.base_url, headers=AUTH, timeout=10) as client:
        workers = [asyncio.create_task(worker(client)) for _ in range(concurrency)]
        # Storm for `seconds`, then up to two more, waiting for a compaction to be under way: the hardest moment.
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds or (elapsed < seconds + 2 and not watch.compacting):
            await asyncio.sleep(0.005)
            compactions += watch.replaced()
        compacting = watch.compacting
        server.kill(signal.SIGKILL)  # mid-storm: requests are in flight
        await asyncio.gather(*workers)
    return acknowledged, refused, compactions, compacting, elapsed


def durability(
    cli: list[str],
    db: Path,
    expected: int,
    create: Request,
    log: Path,
    seconds: float = 2.0,
    concurrency: int = 8,
    compact_every: int = 200,
) -> Durability:
    # Through the setting's variable; `collect-mock serve --compact-every` would set the same.
    env = {"MOCKSERVER_COMPACT_EVERY": str(compact_every)}
    server = mock_server(cli, db, log, "durability mock", env).start()
    try:
        server.wait_ready(mock_ready(expected), timeout=READY_TIMEOUT)
        storm = _storm(server, SnapshotWatch(db), create, seconds, concurrency)
        acknowledged, refused, compactions, compacting, elapsed = asyncio.run(storm)
    finally:
        server.stop()
    again = mock_server(cli, db, log, "durability mock, restarted", env).start()
    try:
        again.wait_ready(mock_ready(expected), timeout=READY_TIMEOUT)
        with httpx.Client(base_url=again.base_url, headers=AUTH, timeout=10) as client:
            path = create.path.rstrip("/")
            found = sum(client.get(f"{path}/{record_id}").status_code == 200 for record_id in acknowledged)
    finally:
        again.stop()
    return Durability(len(acknowledged), found, refused, elapsed, compact_every, compactions, compacting)


@dataclass(frozen=True)
class Conformance:
    state: str  # absent, passed, failed, timeout
    seconds: float = 0.0
    exit_code: int | None = None
    tail: str = ""


def conformance(bin_dir: Path, log: Path, timeout: float) -> Conformance:
    """The duration of `collect-conformance --spawn-mock` (what `make conformance` runs), if it exists yet."""
    command = bin_dir / "collect-conformance"
    if not command.exists():
        return Conformance("absent", tail=f"{command} is not installed")
    probe = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=120, check=False)
    if probe.returncode != 0:
        return Conformance("absent", exit_code=probe.returncode, tail=(probe.stderr or probe.stdout).strip()[-400:])
    started = time.perf_counter()
    with open(log, "wb") as out:
        suite = ServerProcess([str(command), "--spawn-mock"], name="collect-conformance", output=out).start()
        try:
            code: int | None = suite.process.wait(timeout=timeout) if suite.process else None
        except subprocess.TimeoutExpired:
            code = None
        finally:
            # Timed out, or Ctrl-C: SIGTERM lets the suite stop the mock it spawned (in a process group of its
            # own), then SIGKILL ends what is left of the suite's group.
            suite.stop(grace=30)
    elapsed = time.perf_counter() - started
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-10:])
    state = "timeout" if code is None else "passed" if code == 0 else "failed"
    return Conformance(state, elapsed, code, tail)
