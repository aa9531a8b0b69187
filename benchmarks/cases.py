"""What each case sends, picked from the generated records so that every request hits something real.

All cases work in tenant `acme`. Reads rotate over up to 1,000 invoice ids spread over the set, so no single
record stays hot. Writes touch only unlocked invoices (a locked one is a 409) and never the records that the
lookups and searches read: creates go into the open November batch, puts and patches into disjoint sets of
unlocked invoices, and the patch is an `add /memo`, which always applies. Lookups take the biggest batch, the
fiscal period and the status with the most batches; the date search asks for last month's invoices of a business
unit (the month before the data set's snapshot date), the status search for its open invoices.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

from benchmarks.data import DataSet
from benchmarks.wrk import Request
from collect_contract import SPEC_PATH, Contract

TENANT = "acme"
LOOKUPS = ("by-batch", "by-period", "by-status", "search-date", "search-open")  # answer pages, not one record
READS = ("get", *LOOKUPS)
WRITES = ("create", "put", "patch")
OPS = READS + WRITES
SEARCH_MONTH = ("2025-10-01", "2025-10-31")
Record = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """One operation against one data set: the requests wrk cycles through."""

    op: str
    requests: tuple[Request, ...]


def _body(record: Any) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=True)


def _spread(items: list[str], limit: int) -> list[str]:
    step = max(1, len(items) // limit)
    return items[::step][:limit]


@cache
def read_only_fields() -> frozenset[str]:
    """The invoice's server-managed fields, as the mock reads them from the contract (read once per run)."""
    return Contract.from_path(SPEC_PATH).resource_of_schema("Invoice").read_only


def create_body(invoices: list[Record], batches: list[Record], read_only: frozenset[str]) -> Record:
    """A new invoice for the first open receivables batch of bu-us, modelled on one already in it."""
    open_batch = next(
        b for b in batches if b["status"] == "open" and b["type"] == "transaction" and b["business_unit_id"] == "bu-us"
    )
    model = next(
        (i for i in invoices if i["batch_id"] == open_batch["id"] and not i.get("sys_locked")),
        next(i for i in invoices if i["business_unit_id"] == "bu-us" and not i.get("sys_locked")),
    )
    body = {k: v for k, v in model.items() if k not in read_only and k != "workflow_execution_id"}
    body["batch_id"] = open_batch["id"]
    return body


def build(data: DataSet) -> dict[str, Case]:
    invoices, batches = data.load(TENANT, "invoices"), data.load(TENANT, "batches")
    read_only = read_only_fields()
    new = create_body(invoices, batches, read_only)
    unlocked = [i for i in invoices if not i.get("sys_locked") and i["batch_id"] != new["batch_id"]]
    put_records = unlocked[0::2][:200]
    patch_ids = [i["id"] for i in unlocked[1::2][:500]]
    biggest_batch = Counter(i["batch_id"] for i in invoices).most_common(1)[0][0]
    year, period = Counter((b["fiscal_year_id"], b["fiscal_period"]) for b in batches).most_common(1)[0][0]
    status, unit = Counter((b["status"], b["business_unit_id"]) for b in batches).most_common(1)[0][0]
    base = f"/invoices/{TENANT}"
    patch = _body([{"op": "add", "path": "/memo", "value": "benchmark patch"}])
    by_date = {"business_unit_id": "bu-us", "date": list(SEARCH_MONTH)}
    by_open = {"business_unit_id": "bu-us", "status": ["open"]}
    cases = {
        "get": [Request("GET", f"{base}/{i}") for i in _spread([i["id"] for i in invoices], 1000)],
        "by-batch": [Request("GET", f"{base}/batch/{biggest_batch}")],
        "by-period": [Request("GET", f"/batches/{TENANT}/fiscal_period/{year}/{period}")],
        "by-status": [Request("GET", f"/batches/{TENANT}/status/{status}/{unit}")],
        "search-date": [Request("POST", f"{base}/search", _body(by_date))],
        "search-open": [Request("POST", f"{base}/search", _body(by_open))],
        "create": [Request("POST", base, _body(new))],
        "put": [Request("PUT", f"{base}/{r['id']}", _body({**r, "memo": "benchmark put"})) for r in put_records],
        "patch": [Request("PATCH", f"{base}/{i}", patch) for i in patch_ids],
    }
    return {op: Case(op, tuple(requests)) for op, requests in cases.items()}


def sample_record(data: DataSet) -> Record:
    """An invoice of typical size, for the ceiling to answer."""
    invoices = data.load(TENANT, "invoices")
    return sorted(invoices, key=lambda r: len(_body(r)))[len(invoices) // 2]
