"""A full list walk: every page of every list-all endpoint, following `X-Last-Evaluated-Key`.

One keep-alive connection, as a client syncing the whole set would use. The walk counts the records it gets and
the benchmark compares that with the data set's manifest, so a walk that skips or repeats records is caught.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from benchmarks.wrk import TOKEN


@dataclass(frozen=True)
class Walk:
    records: int
    pages: int
    seconds: float

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    @property
    def us_per_record(self) -> float:
        return self.seconds * 1e6 / self.records if self.records else 0.0


def walk_one(client: httpx.Client, tenant: str, collection: str) -> tuple[int, int]:
    """(records, pages) of one list-all endpoint."""
    records = pages = 0
    params: dict[str, str] = {}
    while True:
        response = client.get(f"/{collection}/{tenant}", params=params)
        response.raise_for_status()
        records += len(response.json())
        pages += 1
        key = response.headers.get("X-Last-Evaluated-Key")
        if not key:
            return records, pages
        params = {"exclusiveStartKey": key}


def walk_all(base_url: str, lists: Iterable[tuple[str, str]]) -> Walk:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        started = time.perf_counter()
        records = pages = 0
        for tenant, collection in lists:
            got, walked = walk_one(client, tenant, collection)
            records, pages = records + got, pages + walked
        return Walk(records, pages, time.perf_counter() - started)
