"""The server-managed parts of a record: ids, system fields, versions, execution tokens and projections."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from collect_contract import Resource

Record = dict[str, Any]


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Clock:
    """The server's clock: timestamps that strictly increase within a run, so that two writes are never stamped
    alike. They come from the clock alone, never from a stored record: a record seeded with a date in the year 2999
    (or 9999) must not drag every later write there (or past the end of the calendar)."""

    def __init__(self, now: Callable[[], datetime] = utc_now):
        self._now = now
        self._last = datetime.min.replace(tzinfo=UTC)

    def tick(self) -> str:
        moment = self._now()
        if moment <= self._last:
            moment = self._last + timedelta(microseconds=1)
        self._last = moment
        return iso(moment)


MAX_VERSION = 2**63 - 1  # versions are 64-bit integers for the clients that read them


class VersionExhaustedError(ValueError):
    """A record's version cannot be raised any further."""


def next_version(record: Record) -> int:
    """The version a change gives a record: one more than it had (a seeded float version counts as its integer)."""
    current = record.get("sys_version")
    number = int(current) if isinstance(current, (int, float)) and not isinstance(current, bool) else 0
    if number >= MAX_VERSION:
        raise VersionExhaustedError(f"sys_version is {current}, the largest a version can be ({MAX_VERSION})")
    return max(number, 0) + 1


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
    record.update((k, v) for k, v in system.items() if k in resource.inline_schema["properties"])
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
        sys_version=next_version(old),
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
