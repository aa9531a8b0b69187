"""The durability promise under a hostile disk, kill -9 and damaged files, over HTTP against `collect-mock serve`.

A full disk is made two ways: a small tmpfs (where this machine lets the tests mount one; it is always unmounted) and
a file-size limit on the server process (RLIMIT_FSIZE: the kernel refuses writes past it with EFBIG, as a full disk
refuses them with ENOSPC), which works everywhere. Each kind of damage is made in the files of a real database,
then `serve`, `check` and `repair` are run as a user would.
"""

import errno
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from mockserver import wal
from mockserver.tinystore import ReadOnlyStore, check_database
from tests.support import factory
from tests.support.process import MockProcess, free_port

AUTH = {"Authorization": "Bearer dev-token"}
CLI = [sys.executable, "-m", "mockserver"]


def run(*args):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)


def names(mock, tenant="acme"):
    exported = mock.admin("GET", "export").json()["tenants"].get(tenant, {})
    return Counter(record["name"] for record in exported.get("batches", []))


# -- a full disk --------------------------------------------------------------------------------------------------


@contextmanager
def tmpfs(tmp_path):
    """A 512 KiB disk of its own, unmounted afterwards whatever happens."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root and mount(8); the file-size-limit variant covers a full disk")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()}); the file-size-limit variant runs")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)


class Disk:
    """Fill and free the disk under a running server: a tmpfs by a filler file, a file-size limit by prlimit."""

    def __init__(self, kind, directory):
        self.kind, self.directory, self.mock = kind, directory, None

    def start(self, *args):
        if self.kind == "tmpfs":
            self.mock = MockProcess(*args)
        else:  # the log may grow to 48 KiB; the banner and log output stay far below it
            limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (48 * 1024, resource.RLIM_INFINITY))  # noqa: E731
            self.mock = MockProcess(*args, preexec_fn=limit)
        return self.mock.__enter__()

    def fill(self):
        if self.kind == "tmpfs":
            fd = os.open(self.directory / "filler", os.O_WRONLY | os.O_CREAT)
            try:
                while True:
                    os.write(fd, b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
            finally:
                os.close(fd)

    def free(self):
        if self.kind == "tmpfs":
            (self.directory / "filler").unlink()
        else:
            no_limit = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
            resource.prlimit(self.mock.process.pid, resource.RLIMIT_FSIZE, no_limit)


@pytest.mark.parametrize("kind", ["tmpfs", "file-size-limit"])
def test_a_full_disk_refuses_writes_with_507_and_after_kill_9_keeps_exactly_the_acknowledged_ones(tmp_path, kind):
    with tmpfs(tmp_path) if kind == "tmpfs" else _nothing(tmp_path) as directory:
        db = directory / "collect.json"
        disk = Disk(kind, directory)
        mock = disk.start("--db", str(db), "--no-seed")
        try:
            http = httpx.Client(base_url=mock.base_url, headers=AUTH, timeout=30)
            acknowledged, refused = set(), set()
            disk.fill()
            for n in range(400):  # until the disk refuses, and ten more
                name = f"write {n}"
                response = http.post("/batches/acme", json=factory.batch(name=name))
                if response.status_code == 200:
                    acknowledged.add(name)
                    continue
                assert response.status_code == 507, response.text
                assert response.headers["content-type"] == "application/problem+json"
                assert str(db) + ".wal" in response.json()["detail"]
                refused.add(name)
                if len(refused) == 10:
                    break
            assert len(refused) == 10
            health = http.get("/_mock/health").json()
            assert health["status"] == "degraded" and health["storage"]["last_write_error"]
            disk.free()  # space returns
            for n in range(20):
                response = http.post("/batches/acme", json=factory.batch(name=f"after {n}"))
                assert response.status_code == 200, response.text
                acknowledged.add(f"after {n}")
            assert http.get("/_mock/health").json()["status"] == "ok"
            http.close()
            mock.kill()
        finally:
            mock.__exit__(None, None, None)
        assert check_database(db).damage == []
        with MockProcess("--db", str(db), "--no-seed") as restarted:
            stored = names(restarted)
    assert set(stored) == acknowledged and max(stored.values()) == 1  # all acknowledged, once; no refused one


@contextmanager
def _nothing(tmp_path):
    yield tmp_path


# -- kill -9 in the middle of a batch request ---------------------------------------------------------------------


def test_a_batch_request_in_flight_at_kill_9_is_stored_whole_or_not_at_all(tmp_path):
    """Three clients each rename their 100 records with one batch request after another, until kill -9: after the
    restart each client's 100 records carry one name, that of its last request acknowledged or of the one after it
    (a kill once left 61 of a request's 100 operations stored). Patches of 20 KB records keep the server inside the
    requests' work most of the time, so the kill lands in the middle of one."""
    db = tmp_path / "collect.json"
    acknowledged, stop = {w: [-1] for w in range(3)}, threading.Event()

    def sender(worker, ids):
        with httpx.Client(base_url=mock.base_url, headers=AUTH, timeout=10) as http:
            for n in range(10_000):
                if stop.is_set():
                    return
                rename = [{"op": "replace", "path": "/name", "value": f"{worker}:{n}"}]
                operations = [{"operation": "patch", "id": i, "patch_directives": rename} for i in ids]
                try:
                    response = http.post("/batches/acme/batch", json={"operations": operations})
                except httpx.HTTPError:
                    return  # the server died in the middle of it: not acknowledged
                assert response.json()["success_count"] == 100
                acknowledged[worker].append(n)

    with MockProcess("--db", str(db), "--no-seed") as mock:
        threads = []
        for worker in range(3):
            creates = [{"operation": "create", "object": factory.batch(description="d" * 20_000)} for _ in range(50)]
            ids = []
            for _ in range(2):
                response = httpx.post(f"{mock.base_url}/batches/acme/batch", json={"operations": creates}, headers=AUTH)
                ids += [result["id"] for result in response.json()["results"]]
            threads.append(threading.Thread(target=sender, args=(worker, ids)))
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        mock.kill()
        stop.set()
        for thread in threads:
            thread.join()
    with MockProcess("--db", str(db), "--no-seed") as restarted:
        stored = names(restarted)
    for worker, done in acknowledged.items():
        mine = {name: count for name, count in stored.items() if name.startswith(f"{worker}:")}
        assert list(mine.values()) == [100], f"client {worker}: a request stored in part: {mine}"
        assert int(next(iter(mine)).split(":")[1]) in (done[-1], done[-1] + 1)


# -- one server per database --------------------------------------------------------------------------------------


def test_a_second_server_on_the_same_database_is_refused_and_the_first_loses_nothing(tmp_path):
    db = str(tmp_path / "collect.json")
    with MockProcess("--db", db, "--no-seed") as first:
        created = httpx.post(f"{first.base_url}/batches/acme", json=factory.batch(name="first"), headers=AUTH).json()
        second = run("serve", "--db", db, "--no-seed", "--port", str(free_port()))
        assert second.returncode == 1 and "Traceback" not in second.stderr
        assert f"the database {db} is in use by another collect-mock process" in second.stderr
        assert httpx.get(f"{first.base_url}/batches/acme/{created['id']}", headers=AUTH).json() == created
    with MockProcess("--db", db, "--no-seed") as after:  # the lock goes with the first server
        assert names(after) == {"first": 1}


# -- a restart after each kind of damage --------------------------------------------------------------------------


def killed_base(directory, prefix):
    """A database with ten records in its snapshot and five more in its log (the last server was killed)."""
    db = directory / "collect.json"
    for names_, stop in ((range(10), "stop"), (range(10, 15), "kill")):
        with MockProcess("--db", str(db), "--no-seed") as mock:
            for n in names_:
                body = factory.batch(name=f"{prefix}{n:02d}", description="d" * 40)
                assert httpx.post(f"{mock.base_url}/batches/acme", json=body, headers=AUTH).status_code == 200
            mock.stop() if stop == "stop" else mock.kill()
    return directory


@pytest.fixture(scope="module")
def damaged_base(tmp_path_factory):
    return killed_base(tmp_path_factory.mktemp("base"), "r")


@pytest.fixture(scope="module")
def other_base(tmp_path_factory):
    """Another database, built the same way: its files must never be taken for the first one's."""
    return killed_base(tmp_path_factory.mktemp("other"), "o")


ALL = {f"r{n:02d}" for n in range(15)}


def stored_names(db):
    store = ReadOnlyStore(db)
    return {change.value["name"] for change in store.load() if change.collection == "batches"}


def log_of(db):
    return db.with_name(db.name + ".wal")


def damage_log_byte(db, other):
    log = log_of(db)
    data = bytearray(log.read_bytes())
    data[data.index(b'"r12"') + 2] ^= 0x01  # r12 becomes r02 in the log: the line still parses, its checksum not
    log.write_bytes(bytes(data))
    return ALL - {"r12"}, f"{log} line 4"  # line 1 is the log's header


def truncate_snapshot(db, other):
    data = db.read_bytes()
    db.write_bytes(data[: data.index(b'"r07"')])
    return ALL - {"r07", "r08", "r09"}, f"{db} line"


def tear_sealed_log(db, other):
    sealed = db.with_name(db.name + ".wal.1")
    log_of(db).rename(sealed)
    sealed.write_bytes(sealed.read_bytes()[:-7])
    return ALL - {"r14"}, f"{sealed} line 6"


def cut_sealed_log_at_a_line(db, other):
    """A sealed log cut at a line boundary, with the active log after it: what the cut took is missing."""
    sealed = db.with_name(db.name + ".wal.1")
    log_of(db).rename(sealed)
    lines = sealed.read_bytes().splitlines(keepends=True)
    sealed.write_bytes(b"".join(lines[:-2]))  # r13 and r14 gone, whole lines left
    database = wal.read_log(sealed).database
    log_of(db).write_bytes(wal.header(database, 16))
    return ALL - {"r13", "r14"}, f"{log_of(db)} line 1"


def empty_the_log(db, other):
    log_of(db).write_bytes(b"")
    return ALL - {f"r{n}" for n in range(10, 15)}, f"{log_of(db)} line 1"


def duplicate_an_old_line(db, other):
    """An old line appended again (a copy, a replayed backup) would put back what a later change replaced."""
    log = log_of(db)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines) + lines[2])
    return ALL, f"{log} line 7"


def add_a_line_without_checksum(db, other):
    log = log_of(db)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines) + lines[3].split(b" ", 1)[1].replace(b'"r12"', b'"EVIL"'))
    return ALL, f"{log} line 7"


def copy_in_another_databases_log(db, other):
    shutil.copy(log_of(other / "collect.json"), log_of(db))
    return ALL - {f"r{n}" for n in range(10, 15)}, f"{log_of(db)} line 1: belongs to another database"


def append_another_databases_log(db, other):
    with open(log_of(db), "ab") as fh:
        fh.write(log_of(other / "collect.json").read_bytes())
    return ALL, f"{log_of(db)} line 7: is the start of another database's log"


def copy_in_another_databases_snapshot(db, other):
    shutil.copy(other / "collect.json", db)  # the log beside it is this database's: it is refused, not replayed
    return {f"o{n:02d}" for n in range(10)}, f"{log_of(db)} line 1: belongs to another database"


def break_a_document_key(db, other):
    """A document key that is not a number (one byte changed): a damaged record, not a crash of the reader."""
    lines = db.read_bytes().split(b"\n")
    at = next(i for i, line in enumerate(lines) if b'"r05"' in line)
    lines[at] = lines[at].replace(b'":{"t"', b'a":{"t"', 1)
    db.write_bytes(b"\n".join(lines))
    return ALL - {"r05"}, f"{db} line {at + 1}"


@pytest.mark.parametrize(
    "damage",
    [
        damage_log_byte,
        truncate_snapshot,
        tear_sealed_log,
        cut_sealed_log_at_a_line,
        empty_the_log,
        duplicate_an_old_line,
        add_a_line_without_checksum,
        copy_in_another_databases_log,
        append_another_databases_log,
        copy_in_another_databases_snapshot,
        break_a_document_key,
    ],
)
def test_after_damage_start_refuses_naming_file_and_line_and_repair_keeps_everything_readable(
    tmp_path, damaged_base, other_base, damage
):
    directory = tmp_path / "db"
    shutil.copytree(damaged_base, directory)
    db = directory / "collect.json"
    kept, where = damage(db, other_base)
    before = {p.name: p.read_bytes() for p in directory.iterdir() if p.suffix != ".lock"}

    refused = run("serve", "--db", str(db), "--no-seed", "--port", str(free_port()))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert where in refused.stderr and "is damaged" in refused.stderr, refused.stderr
    assert f"collect-mock check --db {db}" in refused.stderr and f"collect-mock repair --db {db}" in refused.stderr
    assert {p.name: p.read_bytes() for p in directory.iterdir() if p.suffix != ".lock"} == before  # untouched

    checked = run("check", "--db", str(db))
    assert checked.returncode == 1 and where in checked.stdout and "collect-mock repair" in checked.stdout
    repaired = run("repair", "--db", str(db))
    assert repaired.returncode == 0 and "dropped" in repaired.stdout, repaired.stderr
    assert any(".damaged-" in p.name for p in directory.iterdir()) or not before.get("collect.json.wal")
    assert check_database(db).damage == []
    assert stored_names(db) == kept


def test_a_write_cut_short_by_a_crash_is_dropped_with_a_warning(tmp_path, damaged_base):
    """The one damage start cannot tell from a crash: the end of the active log. It is dropped, and said so."""
    directory = tmp_path / "db"
    shutil.copytree(damaged_base, directory)
    log = directory / "collect.json.wal"
    log.write_bytes(log.read_bytes()[:-7])  # the last write never finished: never acknowledged either
    checked = run("check", "--db", str(directory / "collect.json"))
    assert checked.returncode == 0 and "bytes of a write cut short" in checked.stdout
    with MockProcess("--db", str(directory / "collect.json"), "--no-seed") as mock:
        stored = names(mock)
        mock.stop()
        assert "WARNING" in mock.log() and "dropped the last" in mock.log()
    assert set(stored) == {f"r{n:02d}" for n in range(14)}
    assert json.loads((directory / "collect.json").read_text())["records"]


# -- a disk that refuses the write and the cut that should undo it -------------------------------------------------

FAULT_SHIM = Path(__file__).parent / "support" / "faultshim"


@pytest.mark.parametrize("end", ["kill", "stop"])
def test_a_write_answered_507_never_comes_back_even_when_the_disk_refuses_its_fsync_and_the_cut(tmp_path, end):
    """fsync and ftruncate fail with EIO (injected in the server process): every write is a 507, the line it left
    whole in the log cannot be cut off; after kill -9 (or a clean stop whose final fold fails too) and a restart,
    none of the refused creates, patches or deletes is stored, and the acknowledged record is as acknowledged."""
    control, directory = tmp_path / "faults", tmp_path / "db"
    control.write_text("")
    db = directory / "collect.json"
    env = {
        "PYTHONPATH": str(FAULT_SHIM),
        "COLLECT_TEST_FAULTS": str(control),
        "COLLECT_TEST_FAULT_PATH": str(directory),
    }
    with MockProcess("--db", str(db), "--no-seed", "--fsync", env=env) as mock:
        http = httpx.Client(base_url=mock.base_url, headers=AUTH, timeout=30)
        kept = http.post("/batches/acme", json=factory.batch(name="kept")).json()
        control.write_text("fsync\nftruncate\n")
        creates = [{"operation": "create", "object": factory.batch(name="refused")} for _ in range(3)]
        refused = [
            http.post("/batches/acme", json=factory.batch(name="refused")),
            http.post("/batches/acme/batch", json={"operations": creates}),
            http.patch(f"/batches/acme/{kept['id']}", json=[{"op": "replace", "path": "/name", "value": "refused"}]),
            http.delete(f"/batches/acme/{kept['id']}"),
        ]
        assert [r.status_code for r in refused] == [507] * 4, [r.text for r in refused]
        assert http.get(f"/batches/acme/{kept['id']}").json() == kept  # reads go on
        http.close()
        mock.kill() if end == "kill" else mock.stop()
        control.write_text("")
    with MockProcess("--db", str(db), "--no-seed") as restarted:
        assert names(restarted) == {"kept": 1}
        assert httpx.get(f"{restarted.base_url}/batches/acme/{kept['id']}", headers=AUTH).json() == kept


# -- the compaction child -----------------------------------------------------------------------------------------


def test_after_kill_9_the_port_is_free_though_a_compaction_child_was_running(tmp_path):
    """The forked snapshot writer holds none of the server's sockets and dies with it: the next start takes the
    same port at once."""
    db = tmp_path / "collect.json"
    folding = {"MOCKSERVER_COMPACT_BYTES": "1"}  # a fold whenever the log holds as many bytes as the snapshot
    with MockProcess("--db", str(db), "--no-seed", "--compact-every", "1", env=folding) as mock:
        port = mock.port
        http = httpx.Client(base_url=mock.base_url, headers=AUTH, timeout=30)
        large = [{"operation": "create", "object": factory.batch(description="d" * 20_000)} for _ in range(50)]
        held = []
        for _ in range(40):  # each batch may start a compaction in the background: catch its child at work
            assert http.post("/batches/acme/batch", json={"operations": large}).status_code == 200
            held = _at_work(mock.process.pid)
            if held:
                break
        http.close()
        assert held, "no compaction child was seen writing a snapshot"
        children = [child for child, _ in held]
        for _, files in held:
            assert not [f for f in files if f.startswith("socket:")], files
        mock.kill()
        deadline = time.monotonic() + 10
        while [c for c in children if _alive(c)] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [c for c in children if _alive(c)], "the compaction child outlived the server"
    with socket.socket() as sock:  # as the next start binds it: only a listening socket would be in the way
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()


def _at_work(pid, within=5.0):
    """[(child, the files it holds)] once a child of `pid` has opened its snapshot file (it is past its start)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = []
        for child in _children(pid):
            try:
                files = [os.readlink(f"/proc/{child}/fd/{fd}") for fd in os.listdir(f"/proc/{child}/fd")]
            except OSError:
                continue
            if any(f.endswith(".tmp") for f in files):
                found.append((child, files))
        if found or not _children(pid):
            return found
        time.sleep(0.001)
    return []


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:
        return []


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return not fh.read().split(") ")[1].startswith("Z")
    except OSError:
        return False
