"""Concurrency and crashes: no acknowledged write is lost or duplicated, versions only go up, the file stays valid."""

import random
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from openapi_schema_validator import OAS30ReadValidator

from mockserver.tinystore import TinyStore
from tests.support import factory
from tests.support.process import MockProcess

TENANTS = ["acme", "globex", "initech"]
AUTH = {"Authorization": "Bearer dev-token"}


class Ledger:
    """What the server acknowledged, from the clients' side."""

    def __init__(self):
        self.lock = threading.Lock()
        self.created = defaultdict(set)  # (tenant, collection) -> ids
        self.deleted = defaultdict(set)
        self.versions = defaultdict(list)  # (tenant, collection, id) -> versions answered

    def note(self, kind, tenant, collection, record_id, version=None):
        with self.lock:
            if kind == "created":
                self.created[(tenant, collection)].add(record_id)
            elif kind == "deleted":
                self.deleted[(tenant, collection)].add(record_id)
            if version is not None:
                self.versions[(tenant, collection, record_id)].append(version)


def worker(base_url, ledger, worlds, seed, operations):
    rng = random.Random(seed)
    mine = []  # (tenant, collection, id) this worker created
    with httpx.Client(base_url=base_url, headers=AUTH, timeout=30) as http:
        for step in range(operations):
            tenant = rng.choice(TENANTS)
            roll = rng.random()
            if roll < 0.4 or not mine:
                collection = rng.choice(["batches", "writeOffs"])
                if collection == "batches":
                    body = factory.batch(name=f"w{seed}")
                else:
                    body = factory.write_off(worlds[tenant]["invoice"], worlds[tenant]["batch"])
                response = http.post(f"/{collection}/{tenant}", json=body)
                assert response.status_code == 200, response.text
                record_id = response.headers.get("X-Record-Id") or response.json()["id"]
                ledger.note("created", tenant, collection, record_id, 1)
                mine.append((tenant, collection, record_id))
                continue
            tenant, collection, record_id = rng.choice(mine)
            if roll < 0.65:
                response = http.patch(
                    f"/{collection}/{tenant}/{record_id}",
                    json=[
                        {
                            "op": "add",
                            "path": "/memo" if collection != "batches" else "/description",
                            "value": f"seed {seed} step {step}",
                        }
                    ],
                )
            elif roll < 0.85:
                body = (
                    factory.batch(name=f"put {seed} {step}")
                    if collection == "batches"
                    else factory.write_off(
                        worlds[tenant]["invoice"], worlds[tenant]["batch"], number=10_000 + 100 * seed + step
                    )
                )
                response = http.put(f"/{collection}/{tenant}/{record_id}", json=body)
            else:
                path = f"/{collection}/{tenant}"
                if collection == "batches":
                    response = http.delete(f"{path}/{record_id}")
                else:
                    response = http.post(
                        f"{path}/batch", json={"operations": [{"operation": "delete", "id": record_id}]}
                    )
                assert response.status_code == 200, response.text
                ledger.note("deleted", tenant, collection, record_id)
                mine.remove((tenant, collection, record_id))
                continue
            assert response.status_code == 200, response.text
            ledger.note("changed", tenant, collection, record_id, response.json()["sys_version"])


def make_worlds(mock):
    worlds = {}
    with httpx.Client(base_url=mock.base_url, headers=AUTH) as http:
        for tenant in TENANTS:
            batch = http.post(f"/batches/{tenant}", json=factory.batch(name="anchor")).json()["id"]
            invoice = http.post(f"/invoices/{tenant}", json=factory.invoice(batch)).headers["X-Record-Id"]
            worlds[tenant] = {"batch": batch, "invoice": invoice}
    return worlds


def stored(mock):
    exported = mock.admin("GET", "export").json()["tenants"]
    return {(t, c): {r["id"]: r for r in records} for t, cols in exported.items() for c, records in cols.items()}


def test_32_concurrent_clients_lose_nothing_and_versions_only_go_up(tmp_path):
    db = tmp_path / "collect.json"
    ledger = Ledger()
    with MockProcess("--db", str(db), "--no-seed") as mock:
        worlds = make_worlds(mock)
        anchors = {(t, "batches"): {w["batch"]} for t, w in worlds.items()}
        with ThreadPoolExecutor(max_workers=32) as pool:
            for future in [pool.submit(worker, mock.base_url, ledger, worlds, seed, 20) for seed in range(32)]:
                future.result()
        state = stored(mock)
    for key in {*ledger.created, *anchors}:
        expected = (ledger.created[key] | anchors.get(key, set())) - ledger.deleted[key]
        assert set(state.get(key, {})) == expected, key
    for (tenant, collection, record_id), versions in ledger.versions.items():
        assert len(versions) == len(set(versions)), f"{record_id} answered a version twice: {versions}"
        record = state.get((tenant, collection), {}).get(record_id)
        if record is not None:
            assert record["sys_version"] == max(versions)
    # After a clean stop the TinyDB file holds exactly the same records.
    with TinyStore(db) as store:
        reloaded = {(c.tenant, c.collection, c.id): c.value for c in store.load()}
    assert reloaded == {(t, c, i): r for (t, c), records in state.items() for i, r in records.items()}


@pytest.mark.parametrize(
    "extra", [[], ["--fsync"], ["--compact-every", "40"]], ids=["flush", "fsync", "compacting-in-background"]
)
def test_every_write_acknowledged_before_kill_9_survives(tmp_path, spec, extra):
    db = tmp_path / "collect.json"
    acknowledged, lock, stop = [], threading.Lock(), threading.Event()

    def storm(seed):
        with httpx.Client(base_url=mock.base_url, headers=AUTH, timeout=10) as http:
            while not stop.is_set():
                try:
                    response = http.post(f"/batches/{TENANTS[seed % 3]}", json=factory.batch(name=f"storm {seed}"))
                except httpx.HTTPError:
                    return  # the server died mid-request: not acknowledged
                if response.status_code == 200:
                    with lock:
                        acknowledged.append((TENANTS[seed % 3], response.json()["id"]))

    with MockProcess("--db", str(db), "--no-seed", *extra) as mock:
        threads = [threading.Thread(target=storm, args=(seed,)) for seed in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        mock.kill()
        stop.set()
        for thread in threads:
            thread.join()
    assert len(acknowledged) > 50
    with MockProcess("--db", str(db), "--no-seed") as mock:
        state = stored(mock)
    found = {(tenant, record_id) for (tenant, _), records in state.items() for record_id in records}
    missing = set(acknowledged) - found
    assert not missing, f"{len(missing)} acknowledged writes lost"
    validator = OAS30ReadValidator({"components": spec["components"], "$ref": "#/components/schemas/Batch"})
    for records in state.values():
        for record in records.values():
            assert not list(validator.iter_errors(record)), record
