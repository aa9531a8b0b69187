"""One benchmark run, in order: data, servers, walks, the measured rounds, clean stops, durability, conformance.

Every server is entered into one `ExitStack`, so each is stopped on success, failure or Ctrl-C. The mocks of
all sizes, the ceiling and Prism run side by side (see `rounds` for the order of the measurements). Walks run
first, while each mock still holds exactly its generated set. At the end the mocks are stopped one at a time and
timed: a clean stop folds the log into a new snapshot, so it shows what one whole-file rewrite costs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from benchmarks import cases, data, machine, prism, probes, proxy
from benchmarks.options import Options
from benchmarks.probes import SnapshotWatch
from benchmarks.results import Results, SizeInfo, label
from benchmarks.rounds import run_rounds, write_scripts
from benchmarks.servers import Server
from benchmarks.walk import walk_all
from collect_process import free_port
from conformance.spawn import mock_command

Print = Callable[[str], None]
CEILING = "benchmarks.ceiling"
REPO = Path(__file__).resolve().parents[1]


def run(options: Options, say: Print = print) -> Results:
    results = Results(options, machine.describe(), time.time())
    root = options.data.resolve()
    logs = root / "logs"
    shutil.rmtree(logs, ignore_errors=True)  # the logs of the last run only
    logs.mkdir(parents=True)
    sets = {}
    for scale in options.sizes:
        say(f"data: {label(scale)} records (scale {scale}, seed {options.seed})")
        sets[scale] = data.prepare(scale, options.seed, root, mock_command(), logs / "fixtures.log")
    prism_binary = _install_prism(options, root, logs, results, say)
    workdir = root / f"run-{os.getpid()}"
    try:
        with ExitStack() as servers:
            _measure(options, sets, prism_binary, workdir, logs, servers, results, say)
        smallest, largest = sets[min(sets)], sets[max(sets)]
        if options.durability:
            say(
                f"durability: write storm at c=8 with frequent compactions on {label(smallest.scale)}, kill -9, restart"
            )
            results.durability = _durability(smallest, workdir, logs)
            if largest is not smallest:
                say(f"durability: the same on {label(largest.scale)}")
                results.durability_big = _durability(largest, workdir, logs)
        if options.conformance:
            say("conformance: collect-conformance --spawn-mock")
            results.conformance = probes.conformance(
                Path(sys.executable).parent, logs / "conformance.log", options.conformance_timeout
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results.machine["load at end"] = machine.load()
    results.finished = time.time()
    return results


def _durability(dataset: data.DataSet, workdir: Path, logs: Path) -> probes.Durability:
    db = data.copy_snapshot(dataset, workdir / f"durability-{label(dataset.scale)}")
    create = cases.build(dataset)["create"].requests[0]
    log = logs / f"durability-{label(dataset.scale)}.log"
    found = probes.durability(mock_command(), db, dataset.records, create, log)
    shutil.rmtree(db.parent, ignore_errors=True)
    return found


def _baseline(workdir: Path, logs: Path, results: Results, say: Print) -> None:
    """The RSS of a mock serving an empty database: what memory per record is counted beyond."""
    db = workdir / "empty" / data.SNAPSHOT
    db.parent.mkdir(parents=True, exist_ok=True)
    server = probes.mock_server(mock_command(), db, logs / "mock-empty.log", "mock, empty")
    try:
        server.start().wait_ready(probes.mock_ready(0), timeout=probes.READY_TIMEOUT)
        results.baseline_mb, _ = server.memory_mb()
    finally:
        server.stop()
    say(f"mock, empty database: RSS {results.baseline_mb:.0f} MB (the baseline of memory per record)")


def _install_prism(options: Options, root: Path, logs: Path, results: Results, say: Print) -> Path | None:
    if not options.prism:
        results.prism = "skipped (--no-prism)"
        return None
    try:
        binary = prism.install(root / "prism", logs / "npm.log")
    except prism.PrismUnavailable as exc:
        results.prism = f"skipped: {exc}"
        say(f"prism: {results.prism}")
        return None
    results.prism = f"{prism.PACKAGE} {prism.VERSION}"
    return binary


def _measure(
    options: Options,
    sets: dict[int, data.DataSet],
    prism_binary: Path | None,
    workdir: Path,
    logs: Path,
    servers: ExitStack,
    results: Results,
    say: Print,
) -> None:
    _baseline(workdir, logs, results, say)
    mocks = _start_mocks(sets, workdir, logs, servers, results, say)
    _walks(options, sets, mocks, results, say)
    plans: dict[int | None, dict[str, cases.Case]] = {scale: cases.build(dataset) for scale, dataset in sets.items()}
    for scale, server in mocks.items():
        _preflight(server.base_url, plans[scale], options.ops, results.sizes[scale])
    smallest = min(sets)
    plans[None] = {"get": plans[smallest]["get"], "create": plans[smallest]["create"]}
    others = {"ceiling": _start_ceiling(sets[smallest], mocks[smallest], plans[None], workdir, logs, servers)}
    if options.proxy:  # in front of the smallest mock, whose records the reference cases name
        others["proxy"] = _start_proxy(proxy.server(mock_command(), mocks[smallest], logs / "proxy.log"), servers)
    if prism_binary is not None:
        try:
            others["prism"] = _start_prism(prism_binary, plans[None]["get"], logs, servers)
        except Exception as exc:  # noqa: BLE001 - Prism is a comparison point, not the subject
            results.prism += f" (did not start: {exc})"
            say(f"prism: did not start: {exc}")
    for server in others.values():
        _preflight(server.base_url, plans[None], ("get", "create"), None)
    watches = {scale: SnapshotWatch(_db(workdir, scale)) for scale in mocks}
    run_rounds(options, mocks, watches, others, write_scripts(workdir / "lua", plans), results, say)
    for scale, server in mocks.items():
        results.sizes[scale].records_end = probes.records_held(server.base_url)
    for scale, server in mocks.items():  # one at a time, so that their compactions do not compete
        started = time.perf_counter()
        server.stop(grace=300)
        results.sizes[scale].stop_s = time.perf_counter() - started
        say(f"mock {label(scale)}: clean stop (a whole-file compaction) in {results.sizes[scale].stop_s:.2f} s")


def _db(workdir: Path, scale: int) -> Path:
    return workdir / label(scale) / data.SNAPSHOT


def _start_mocks(
    sets: dict[int, data.DataSet], workdir: Path, logs: Path, servers: ExitStack, results: Results, say: Print
) -> dict[int, Server]:
    """One mock per size, started one at a time so that their startups do not compete."""
    mocks: dict[int, Server] = {}
    for scale, dataset in sets.items():
        db = data.copy_snapshot(dataset, workdir / label(scale))
        server = probes.mock_server(mock_command(), db, logs / f"mock-{label(scale)}.log", f"mock {label(scale)}")
        servers.callback(server.stop)
        startup = server.start().wait_ready(probes.mock_ready(dataset.records), timeout=probes.READY_TIMEOUT)
        rss, peak = server.memory_mb()
        results.sizes[scale] = SizeInfo(scale, dataset.records, startup, rss, peak)
        mocks[scale] = server
        say(f"mock {label(scale)}: {dataset.records} records, ready in {startup:.2f} s, RSS {rss:.0f} MB")
    return mocks


def _walks(
    options: Options, sets: dict[int, data.DataSet], mocks: dict[int, Server], results: Results, say: Print
) -> None:
    """Full walks while each mock holds exactly its generated set, so the count can be checked."""
    for repeat in range(options.walk_repeats):
        for scale, server in mocks.items():
            walk = walk_all(server.base_url, sorted(sets[scale].counts()))
            if walk.records != sets[scale].records:
                raise RuntimeError(f"the walk of {label(scale)} found {walk.records} of {sets[scale].records} records")
            results.walks.setdefault(scale, []).append(walk)
            say(f"walk {label(scale)} #{repeat + 1}: {walk.records} records, {walk.pages} pages, {walk.seconds:.2f} s")


def _start_ceiling(
    dataset: data.DataSet, mock: Server, reference: dict[str, cases.Case], workdir: Path, logs: Path, servers: ExitStack
) -> Server:
    """The bare endpoint, answering a typical invoice and what the mock answers to the benchmark's create."""
    record, answer = workdir / "ceiling-record.json", workdir / "ceiling-answer.json"
    record.write_text(json.dumps(cases.sample_record(dataset)))
    create = reference["create"].requests[0]
    answer.write_bytes(httpx.post(mock.base_url + create.path, content=create.body, headers=probes.AUTH).content)
    port = free_port()
    argv = [sys.executable, "-m", CEILING, "--port", str(port), "--record", str(record), "--answer", str(answer)]
    server = Server("ceiling", argv, port, logs / "ceiling.log", cwd=REPO)
    servers.callback(server.stop)
    server.start().wait_ready(lambda base: httpx.get(f"{base}/invoices/acme/x", timeout=2).is_success, timeout=60)
    return server


def _start_proxy(server: Server, servers: ExitStack) -> Server:
    servers.callback(server.stop)
    server.start().wait_ready(timeout=60)
    return server


def _start_prism(binary: Path, get: cases.Case, logs: Path, servers: ExitStack) -> Server:
    server = prism.server(binary, logs / "prism.log")
    servers.callback(server.stop)
    server.start().wait_ready(prism.ready(get.requests[0].path), timeout=120)
    return server


def _preflight(base_url: str, plan: dict[str, cases.Case], ops: tuple[str, ...], info: SizeInfo | None) -> None:
    """Send each case's first request once: a case that does not answer 2xx is a bug in the benchmark's picks."""
    with httpx.Client(base_url=base_url, headers=probes.AUTH, timeout=60) as client:
        for op in ops:
            request = plan[op].requests[0]
            response = client.request(request.method, request.path, content=request.body)
            if not response.is_success:
                raise RuntimeError(
                    f"{base_url}: {op} {request.method} {request.path}: {response.status_code} {response.text[:300]}"
                )
            if info is not None:
                info.items[op] = _items(response.json())


def _items(body: Any) -> int:
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict) and isinstance(body.get("Items"), list):
        return len(body["Items"])
    return 1
