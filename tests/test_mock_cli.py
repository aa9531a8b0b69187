"""The `collect-mock` command: it starts, reports, persists, and fails with clear messages."""

import json
import socket
import subprocess
import sys
import time

import httpx

from tests.support.process import MockProcess, free_port

CLI = [sys.executable, "-m", "mockserver"]
BATCH = {"business_unit_id": "bu", "date": "2025-01-01", "fiscal_period": 1, "fiscal_year_id": "fy", "name": "n"}


def run(*args, timeout=60):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def test_serve_prints_its_url_hides_a_chosen_token_and_state_persists_across_restarts(tmp_path):
    flags = ("--db", str(tmp_path / "collect.json"), "--no-seed", "--token", "secret-dev")
    headers = {"Authorization": "Bearer secret-dev"}
    with MockProcess(*flags) as mock:
        created = httpx.post(f"{mock.base_url}/batches/acme", json=BATCH, headers=headers).json()
        mock.stop()
        output = mock.log()  # stdout and stderr: the token must be in neither
        assert f"Collect mock serving {mock.base_url}\n" in output and f"{mock.base_url}/ui/" in output
        assert "token:      as given (not shown)" in output and "secret-dev" not in output
    with MockProcess(*flags) as mock:
        assert httpx.get(f"{mock.base_url}/batches/acme/{created['id']}", headers=headers).json() == created
        mock.stop()
        assert "tenants:    acme\n" in mock.log()


def test_a_killed_server_keeps_every_acknowledged_write(tmp_path):
    flags = ("--db", str(tmp_path / "collect.json"), "--no-seed")
    headers = {"Authorization": "Bearer dev-token"}
    with MockProcess(*flags) as mock:
        ids = [httpx.post(f"{mock.base_url}/batches/acme", json=BATCH, headers=headers).json()["id"] for _ in range(25)]
        mock.kill()
    with MockProcess(*flags) as mock:
        stored = [b["id"] for b in httpx.get(f"{mock.base_url}/batches/acme", headers=headers).json()]
    assert stored == ids[: len(stored)] and len(stored) == 25


def test_swagger_ui_is_served():
    with MockProcess("--db", ":memory:", "--no-seed") as mock:
        response = httpx.get(f"{mock.base_url}/ui/")
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
    assert "is not a Collect mock database" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_flag_is_a_usage_error(tmp_path):
    result = run("serve", "--page-size", "lots")
    assert result.returncode == 2 and "--page-size" in result.stderr
    result = run("serve", "--port", str(free_port()), "--page-size", "0", "--db", ":memory:")
    assert result.returncode == 1 and "page_size" in result.stderr


def test_reset_and_export_work_on_a_database_file(tmp_path):
    db = str(tmp_path / "collect.json")
    with MockProcess("--db", db, "--no-seed") as mock:
        httpx.post(f"{mock.base_url}/batches/globex", json=BATCH, headers={"Authorization": "dev-token"})
    exported = run("export", "--db", db)
    assert exported.returncode == 0 and '"globex"' in exported.stdout
    assert run("reset", "--db", db).returncode == 0
    assert '"globex"' not in run("export", "--db", db).stdout


def snapshot_size(db):
    text = db.read_text() if db.exists() else ""  # replaced whole by a rename: never seen half written
    return len(json.loads(text).get("records", {})) if text else 0


def test_every_serve_flag_takes_effect(tmp_path):
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
    with MockProcess(*flags) as mock:
        http = httpx.Client(base_url=mock.base_url, headers={"Authorization": "tok-a"})
        for _ in range(6):
            assert http.post("/batches/acme", json=BATCH).status_code == 200
        page = http.get("/batches/acme")
        assert len(page.json()) == 2 and page.headers["X-Last-Evaluated-Key"]  # --page-size
        throttled = http.get(f"/batches/acme/{page.json()[0]['id']}")
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "4"  # --faults
        assert mock.admin("GET", "journal").json()["count"] == 0  # --journal-size 0
        assert httpx.get(f"{mock.base_url}/batches/globex", headers={"Authorization": "tok-b"}).status_code == 200
        assert httpx.get(f"{mock.base_url}/batches/acme", headers={"Authorization": "tok-b"}).status_code == 403
        http.close()
        # --compact-every 5: the snapshot is rewritten in the background while serving
        deadline = time.monotonic() + 20
        while snapshot_size(db) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert snapshot_size(db) >= 5


def test_generate_a_fixture_set_seed_a_database_and_serve_it(tmp_path):
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
