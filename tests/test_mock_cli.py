"""The `collect-mock` command: it starts, reports, persists, and fails with clear messages."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

CLI = [sys.executable, "-m", "mockserver"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, timeout=60):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def serve(tmp_path):
    started = []

    def start(*args):
        port = free_port()
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/_mock/health", timeout=1).status_code == 200:
                    return base, process
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(process.stderr.read() if process.poll() is not None else "server did not start")

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        process.stdout.close()
        process.stderr.close()


def stop(process):
    process.send_signal(signal.SIGINT)
    process.wait(timeout=20)
    return process.stdout.read()


def test_serve_prints_its_url_hides_a_chosen_token_and_state_persists_across_restarts(serve, tmp_path):
    db = str(tmp_path / "collect.json")
    base, process = serve("--db", db, "--no-seed", "--token", "secret-dev")
    headers = {"Authorization": "Bearer secret-dev"}
    body = {"business_unit_id": "bu", "date": "2025-01-01", "fiscal_period": 1, "fiscal_year_id": "fy", "name": "n"}
    created = httpx.post(f"{base}/batches/acme", json=body, headers=headers).json()
    output = stop(process)
    assert base in output and "/ui/" in output
    assert "token:      as given (not shown)" in output and "secret-dev" not in output
    base, process = serve("--db", db, "--no-seed", "--token", "secret-dev")
    assert httpx.get(f"{base}/batches/acme/{created['id']}", headers=headers).json() == created
    assert "acme" in stop(process)


def test_a_killed_server_keeps_every_acknowledged_write(serve, tmp_path):
    db = str(tmp_path / "collect.json")
    base, process = serve("--db", db, "--no-seed")
    headers = {"Authorization": "Bearer dev-token"}
    body = {"business_unit_id": "bu", "date": "2025-01-01", "fiscal_period": 1, "fiscal_year_id": "fy", "name": "n"}
    ids = [httpx.post(f"{base}/batches/acme", json=body, headers=headers).json()["id"] for _ in range(25)]
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    base, _ = serve("--db", db, "--no-seed")
    stored = [b["id"] for b in httpx.get(f"{base}/batches/acme", headers=headers).json()]
    assert stored == ids[: len(stored)] and len(stored) == 25


def test_swagger_ui_is_served(serve):
    base, _ = serve("--db", ":memory:", "--no-seed")
    response = httpx.get(f"{base}/ui/")
    assert response.status_code == 200 and "swagger" in response.text.lower()


def test_a_busy_port_is_a_clear_message(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run("serve", "--port", str(busy.getsockname()[1]), "--db", ":memory:")
    assert result.returncode == 1
    assert "cannot listen on 127.0.0.1" in result.stderr and "Traceback" not in result.stderr


def test_an_unreadable_database_is_a_clear_message(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    result = run("serve", "--port", str(free_port()), "--db", str(tmp_path / "bad.json"))
    assert result.returncode == 1
    assert "not a TinyDB JSON file" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_flag_is_a_usage_error(tmp_path):
    result = run("serve", "--page-size", "lots")
    assert result.returncode == 2 and "--page-size" in result.stderr
    result = run("serve", "--port", str(free_port()), "--page-size", "0", "--db", ":memory:")
    assert result.returncode == 1 and "page_size" in result.stderr


def test_reset_and_export_work_on_a_database_file(tmp_path, serve):
    db = str(tmp_path / "collect.json")
    base, process = serve("--db", db, "--no-seed")
    body = {"business_unit_id": "bu", "date": "2025-01-01", "fiscal_period": 1, "fiscal_year_id": "fy", "name": "n"}
    httpx.post(f"{base}/batches/globex", json=body, headers={"Authorization": "dev-token"})
    stop(process)
    exported = run("export", "--db", db)
    assert exported.returncode == 0 and '"globex"' in exported.stdout
    assert run("reset", "--db", db).returncode == 0
    assert '"globex"' not in run("export", "--db", db).stdout


def test_every_serve_flag_takes_effect(tmp_path):
    from tests.support.process import MockProcess

    rules = tmp_path / "faults.json"
    rules.write_text('[{"operation": "getBatch", "throttle_rate": 1, "retry_after": 4}]')
    db = tmp_path / "collect.json"
    flags = [
        "--db",
        str(db),
        "--no-seed",
        "--page-size",
        "2",
        "--journal-size",
        "0",
        "--faults",
        str(rules),
        "--compact-every",
        "5",
        "--token",
        "tok-a",
        "--tokens",
        "tok-b=globex",
    ]
    body = {"business_unit_id": "bu", "date": "2025-01-01", "fiscal_period": 1, "fiscal_year_id": "fy", "name": "n"}
    with MockProcess(*flags) as mock:
        http = httpx.Client(base_url=mock.base_url, headers={"Authorization": "tok-a"})
        for _ in range(6):
            assert http.post("/batches/acme", json=body).status_code == 200
        page = http.get("/batches/acme")
        assert len(page.json()) == 2 and page.headers["X-Last-Evaluated-Key"]  # --page-size
        throttled = http.get(f"/batches/acme/{page.json()[0]['id']}")
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "4"  # --faults
        assert mock.admin("GET", "journal").json()["count"] == 0  # --journal-size 0
        assert httpx.get(f"{mock.base_url}/batches/globex", headers={"Authorization": "tok-b"}).status_code == 200
        assert httpx.get(f"{mock.base_url}/batches/acme", headers={"Authorization": "tok-b"}).status_code == 403
        http.close()
        time.sleep(1)
        # --compact-every 5: the snapshot was rewritten in the background while serving
        assert len(json.loads(db.read_text())["records"]) >= 5


def test_generate_a_fixture_set_seed_a_database_and_serve_it(tmp_path):
    from tests.support.process import MockProcess

    out, db = tmp_path / "set", tmp_path / "collect.json"
    generated = run("fixtures", "--scale", "400", "--seed", "3", "--out", str(out))
    assert generated.returncode == 0, generated.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    expected = sum(n for per in manifest["counts"].values() for n in per.values())
    seeded = run("seed", "--db", str(db), "--from", str(out))
    assert seeded.returncode == 0 and f"seeded {expected} records" in seeded.stdout
    with MockProcess("--db", str(db), "--no-seed") as mock:
        counts = mock.admin("GET", "health").json()["records"]
    assert sum(n for per in counts.values() for n in per.values()) == expected
    assert run("fixtures", "--scale", "lots").returncode == 2
