"""The server-managed parts of a record: ids, system fields, versions, execution tokens and projections."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from mockserver.contract import Resource

Record = dict[str, Any]


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


class Clock:
    """Timestamps that strictly increase, so `sys_last_modified_at` moves on every change."""

    def __init__(self, now: Callable[[], datetime] = utc_now):
        self._now = now
        self._last = datetime.min.replace(tzinfo=UTC)

    def tick(self, after: str | None = None) -> str:
        moment = self._now()
        floor = max(self._last, parse_iso(after) or self._last) if after else self._last
        if moment <= floor:
            moment = floor + timedelta(microseconds=1)
        self._last = moment
        return iso(moment)


def id_prefix(collection: str) -> str:
    """`writeOffs` -> `wo`, `debitMemos` -> `dm`, `invoices` -> `inv`, `batches` -> `bat`."""
    words = re.findall(r"[a-z]+|[A-Z][a-z]*", collection)
    return "".join(w[0] for w in words).lower() if len(words) > 1 else collection[:3].lower()


def new_id(collection: str, exists: Callable[[str], bool]) -> str:
    while True:
        candidate = f"{id_prefix(collection)}-{secrets.token_hex(6)}"
        if not exists(candidate):
            return candidate


def writable(resource: Resource, body: Record) -> Record:
    """The body without the server-managed (readOnly) fields: the server keeps its own values for those."""
    return {k: v for k, v in body.items() if k not in resource.read_only}


def _stamp(resource: Resource, record: Record, **system: Any) -> Record:
    # Only the system fields this resource's schema lists, so that a stored record fits its closed schema.
    record.update((k, v) for k, v in system.items() if k in resource.schema["properties"])
    return record


def created(resource: Resource, body: Record, record_id: str, user: str, tenant: str, now: str) -> Record:
    record = {"id": record_id, **writable(resource, body)}
    return _stamp(
        resource,
        record,
        sys_version=1,
        sys_created_at=now,
        sys_created_by_id=user,
        sys_last_modified_at=now,
        sys_last_modified_by_id=user,
        sys_last_security_context={"user_id": user, "tenant_id": tenant, "action": "insert"},
    )


def changed(resource: Resource, old: Record, new_fields: Record, user: str, tenant: str, now: str) -> Record:
    """`new_fields` replaces the writable fields of `old`; its server-managed fields stay, the version moves on."""
    kept = {k: v for k, v in old.items() if k in resource.read_only}
    record = {**writable(resource, new_fields), **kept}
    return _stamp(
        resource,
        record,
        sys_version=int(old.get("sys_version") or 0) + 1,
        sys_last_modified_at=now,
        sys_last_modified_by_id=user,
        sys_last_security_context={"user_id": user, "tenant_id": tenant, "action": "modify"},
    )


def project(record: Record, fields: Iterable[str] | None) -> Record:
    if not fields:
        return record
    return {f: record[f] for f in fields if f in record}


def execution_token(tenant: str, collection: str, action: str, record_id: str, now: str) -> Record:
    arn = f"arn:aws:states:us-east-1:000000000000:execution:collect-{collection}-{action}:{record_id}"
    return {
        "executionArn": arn,
        "notification_channel": f"{tenant}.{collection}.{record_id}",
        "notification_publishKey": "pub-c-mock",
        "notification_subscribeKey": "sub-c-mock",
        "start_date": now,
    }
