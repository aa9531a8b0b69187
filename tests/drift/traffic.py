"""What a client developer's app does against the service, through the recorder: creates of every resource
(each read back), a lookup walked and a list walked, a patch, a patch whose test fails, a replace, deletes (one
of a batch that others still name), a batch delete, bad input and a search."""

from __future__ import annotations

from typing import Any

import httpx

from collect_contract import SPEC_PATH, Contract
from conformance.factory import Bodies

COLLECTIONS = ("batches", "invoices", "writeOffs", "debitMemos", "creditMemos")


def client_session(base_url: str, token: str, tenant: str, records: int = 5) -> dict[str, list[str]]:
    """Run the session; returns the ids created, by collection."""
    contract = Contract.from_path(SPEC_PATH)
    bodies = Bodies(contract, "bu-session", "fy-session")
    ids: dict[str, list[str]] = {}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:

        def first(collection: str) -> str | None:
            return ids.get(collection, [None])[0]

        for collection in COLLECTIONS:
            for _ in range(records):
                answer = client.post(
                    f"/{collection}/{tenant}", json=bodies.create(contract.resources[collection], first)
                )
                assert answer.status_code in (200, 201), answer.text
                created = answer.headers.get("x-record-id") or answer.json()["id"]
                ids.setdefault(collection, []).append(created)
                assert client.get(f"/{collection}/{tenant}/{created}").status_code == 200
        batch, invoice = ids["batches"][0], ids["invoices"][1]
        _walk(client, f"/invoices/{tenant}/batch/{batch}", lambda a: a.json().get("LastEvaluatedKey"))
        _walk(client, f"/invoices/{tenant}", lambda a: a.headers.get("x-last-evaluated-key"))
        assert (
            client.patch(
                f"/invoices/{tenant}/{invoice}", json=[{"op": "add", "path": "/memo", "value": "x"}]
            ).status_code
            == 200
        )
        failing = [{"op": "test", "path": "/memo", "value": "not this"}, {"op": "add", "path": "/memo", "value": "y"}]
        assert client.patch(f"/invoices/{tenant}/{invoice}", json=failing).status_code in (400, 409)
        second = client.get(f"/batches/{tenant}/{ids['batches'][1]}").json()
        assert client.put(f"/batches/{tenant}/{second['id']}", json={**second, "description": "new"}).status_code == 200
        client.delete(f"/batches/{tenant}/{batch}")  # still named by every transaction: 409 is due
        assert client.delete(f"/batches/{tenant}/{ids['batches'][-1]}").status_code == 200
        assert client.get(f"/batches/{tenant}/{ids['batches'][-1]}").status_code == 404
        operations = {"operations": [{"operation": "delete", "id": ids["invoices"][-1]}]}
        assert client.post(f"/invoices/{tenant}/batch", json=operations).status_code == 200
        assert client.post(f"/invoices/{tenant}", json={"not": "an invoice"}).status_code == 400
        assert client.get(f"/invoices/{tenant}", params={"cfz_unknown": "1"}).status_code == 400
        assert client.post(f"/invoices/{tenant}/search", json={"business_unit_id": "bu-session"}).status_code == 200
    return ids


def _walk(client: httpx.Client, path: str, following: Any) -> None:
    answer = client.get(path)
    for _ in range(50):
        assert answer.status_code == 200, answer.text
        key = following(answer)
        if not key:
            return
        answer = client.get(path, params={"exclusiveStartKey": key})
