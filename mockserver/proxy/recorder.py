"""Recording: what the deployment answered, written as fixtures that `collect-mock seed --from DIR` loads, so that
the local mock holds data shaped like the user's own.

The latest whole version of every record seen (reads, creates, replaces, patches, pages without `fields`, batch
results) is kept, per tenant and collection; a record deleted through the recorder is dropped. At the end:

    DIR/<tenant>/<collection>.json     the records, redacted, each valid against the contract (what seeding
                                       demands): a field the contract does not list is dropped first
    DIR/_rejected/<tenant>/<collection>.json   records still invalid, with why (seeding skips `_` folders)
    DIR/_recording.json                what was written, from where, and what was redacted or dropped
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collect_contract import Contract, Resource
from collect_drift import write_whole
from mockserver.proxy.redact import Redaction
from mockserver.validation import ReadValidator, schema_errors

Key = tuple[str, str, str]
MANIFEST = "_recording.json"
REJECTED = "_rejected"
MAX_RECORDS = 200_000


class Recorder:
    def __init__(self, contract: Contract, folder: Path, redaction: Redaction, upstream: str):
        self.contract, self.folder, self.redaction, self.upstream = contract, folder, redaction, upstream
        self._records: dict[Key, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.full = False  # more records than MAX_RECORDS were seen: the rest are not recorded

    def keep(self, tenant: str, collection: str, record: Mapping[str, Any]) -> None:
        if not isinstance(record.get("id"), str):
            return
        with self._lock:
            key = (tenant, collection, str(record["id"]))
            if key in self._records or len(self._records) < MAX_RECORDS:
                self._records[key] = dict(record)
            else:
                self.full = True

    def forget(self, tenant: str, collection: str, record_id: str) -> None:
        with self._lock:
            self._records.pop((tenant, collection, record_id), None)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._records)

    def write(self) -> dict[str, Any]:
        """Write the fixtures (each file whole) and return the manifest."""
        with self._lock:
            records = dict(self._records)
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for (tenant, collection, _), record in sorted(records.items()):
            grouped.setdefault((tenant, collection), []).append(record)
        written: dict[str, dict[str, int]] = {}
        rejected: dict[str, dict[str, int]] = {}
        dropped: dict[str, int] = {}
        for (tenant, collection), found in grouped.items():
            resource = self.contract.resources[collection]
            kept, refused = [], []
            for record in found:
                clean, why = self._clean(resource, record, dropped)
                if why:
                    refused.append({"record": clean, "why": why})
                else:
                    kept.append(clean)
            if kept:
                self._write(self.folder / tenant / f"{collection}.json", kept)
                written.setdefault(tenant, {})[collection] = len(kept)
            if refused:
                self._write(self.folder / REJECTED / tenant / f"{collection}.json", refused)
                rejected.setdefault(tenant, {})[collection] = len(refused)
        manifest = {
            "format": 1,
            "upstream": self.upstream,
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "records": written,
            "rejected": rejected,
            "dropped_fields": dropped,
            "redacted_fields": sorted(self.redaction.fields),
            "redacted_credentials": "fields whose names look like credentials (token, secret, password, api key)",
            "incomplete": self.full,
            "load_with": f"collect-mock seed --db PATH --from {self.folder}",
        }
        self._write(self.folder / MANIFEST, manifest)
        return manifest

    def _clean(self, resource: Resource, record: dict[str, Any], dropped: dict[str, int]) -> tuple[dict[str, Any], str]:
        """The record redacted and without the fields the contract does not list; why it is still invalid."""
        clean = self.redaction.record(record, resource.inline_schema)
        if resource.inline_schema.get("additionalProperties") is False:
            for name in [n for n in clean if n not in resource.inline_schema["properties"]]:
                del clean[name]
                dropped[f"{resource.collection}.{name}"] = dropped.get(f"{resource.collection}.{name}", 0) + 1
        errors = schema_errors(ReadValidator, resource.inline_schema, clean)
        return clean, "; ".join(str(e) for e in errors[:3])

    @staticmethod
    def _write(path: Path, data: Any) -> None:
        write_whole(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
