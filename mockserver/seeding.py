"""Loading seed data: the fixture layout on disk (see fixtures/README.md) or records given inline.

Layout: `<dir>/<tenant>/<collection>.json`, each a JSON array of stored records; files whose name is not a
collection of the contract (reference data such as `business_units.json`) are skipped. Seeded records may leave
out `id` and the `sys_*` fields: the server fills them in as if it had created the records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from collect_contract import Contract, Resource
from mockserver import records
from mockserver.database import Database
from mockserver.errors import MockProblem
from mockserver.storage import Change
from mockserver.validation import MAX_RECORD_BYTES, ReadValidator, check_limits, schema_errors

Record = dict[str, Any]
SEED_USER = "fixture-loader"


class SeedError(ValueError):
    """Seed data that cannot be loaded; the message names the file or tenant, the record and the field."""


class _TenantFiles(Mapping[str, list[Record]]):
    """One tenant's fixture files, each read when it is asked for and not kept: a million records are loaded one
    collection at a time (their dicts take about five times the memory of the stored bytes)."""

    def __init__(self, paths: dict[str, Path]):
        self._paths = paths

    def __getitem__(self, collection: str) -> list[Record]:
        path = self._paths[collection]
        try:
            items = orjson.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise SeedError(f"{path}: not a JSON array of records ({exc})") from exc
        if not isinstance(items, list):
            raise SeedError(f"{path}: not a JSON array of records")
        return items

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


def read_directory(directory: Path, contract: Contract) -> dict[str, Mapping[str, list[Record]]]:
    """{tenant: {collection: [records]}} from a fixture directory (each collection's file read when it is used)."""
    if not directory.is_dir():
        raise SeedError(f"fixture directory {directory} does not exist")
    data: dict[str, Mapping[str, list[Record]]] = {}
    for tenant_dir in sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        paths = {c: tenant_dir / f"{c}.json" for c in contract.resources if (tenant_dir / f"{c}.json").exists()}
        if paths:
            data[tenant_dir.name] = _TenantFiles(paths)
    return data


def load(
    db: Database,
    contract: Contract,
    data: Mapping[str, Mapping[str, Iterable[Record]]],
    clock: records.Clock,
    validate: bool = True,
    durable: bool = True,
) -> dict[str, dict[str, int]]:
    """Store the records (replacing any with the same id); returns counts per tenant and collection.

    Every record is checked before anything is stored, so bad seed data changes nothing.
    """
    changes: list[Change] = []
    counts: dict[str, dict[str, int]] = {}
    seqs: dict[tuple[str, str, str], int] = {}  # an id given twice in one load is one record: the later one wins
    now = clock.tick()
    for tenant, collections in data.items():
        for collection, items in collections.items():
            resource = contract.resources.get(collection)
            if resource is None:
                raise SeedError(
                    f"tenant {tenant}: {collection!r} is not a collection of the contract "
                    f"({', '.join(contract.resources)})"
                )
            for position, item in enumerate(items):
                if not isinstance(item, dict):
                    raise SeedError(f"{tenant}/{collection}[{position}]: not a JSON object")
                record = _complete(resource, item, collection, tenant, now, db)
                if validate:
                    _check(resource, record, f"{tenant}/{collection}[{position}] ({record.get('id')})")
                key = (tenant, collection, record["id"])
                if key not in seqs:
                    seqs[key] = db.seq_of(*key) or db.new_seq()
                    counts.setdefault(tenant, {}).setdefault(collection, 0)
                    counts[tenant][collection] += 1
                # Encoded only: a million records' dicts would not fit twice (the fixtures' and these).
                changes.append(Change(seqs[key], tenant, collection, record["id"], orjson.dumps(record)))
    if durable:
        db.apply(changes)
    else:
        db.apply_in_memory(changes)
    return counts


def _check(resource: Resource, record: Record, where: str) -> None:
    """A seeded record obeys what any stored record obeys: its schema and the limits of what is stored."""
    errors = schema_errors(ReadValidator, resource.inline_schema, record)
    if errors:
        raise SeedError(f"{where}: {'; '.join(str(e) for e in errors[:3])}")
    try:
        check_limits(record)
    except MockProblem as exc:
        raise SeedError(f"{where}: {exc.detail}") from None
    size = len(orjson.dumps(record))
    if size > MAX_RECORD_BYTES:
        raise SeedError(f"{where}: the record is {size} bytes; a stored record holds at most {MAX_RECORD_BYTES}")


def _complete(resource: Resource, item: Record, collection: str, tenant: str, now: str, db: Database) -> Record:
    record = dict(item)
    if not record.get("id"):
        record["id"] = records.new_id(collection, lambda i: db.get(tenant, collection, i) is not None)
    defaults = {
        "sys_version": 1,
        "sys_created_at": now,
        "sys_last_modified_at": now,
        "sys_created_by_id": SEED_USER,
        "sys_last_modified_by_id": SEED_USER,
    }
    for name, value in defaults.items():
        if name in resource.fields:
            record.setdefault(name, value)
    return record


def export(db: Database) -> dict[str, Any]:
    """The whole state in the fixture shape: {"format": 1, "tenants": {tenant: {collection: [records]}}}."""
    tenants: dict[str, dict[str, list[Record]]] = {}
    for change in db.snapshot():
        tenants.setdefault(change.tenant, {}).setdefault(change.collection, []).append(change.value or {})
    return {"format": 1, "tenants": tenants}
