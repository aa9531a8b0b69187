"""One failure class per rule: what the API under test did wrong, as Schemathesis reports it.

Every class subclasses Schemathesis' `Failure` (an `AssertionError`), so a rule's check can run inside
`st run` and `case.validate_response` unchanged. Each has a fixed title and names its rule; the message has one
shape, `Received: <what the API did>` then `Expected: <what the contract says>` (or `Documented:` for status
codes and media types), as in Schemathesis' `Received: 500\\nDocumented: 200, 404`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar

from schemathesis.core.failures import Failure as _SchemathesisFailure
from schemathesis.core.failures import Severity

if TYPE_CHECKING:
    from conformance.http import Exchange


class Failure(_SchemathesisFailure):
    """The API under test broke a rule of the contract."""

    rule: ClassVar[str] = ""
    code: ClassVar[str] = "CC900"
    kind_title: ClassVar[str] = "Conformance rule broken"
    expected_label: ClassVar[str] = "Expected"

    def __init__(
        self,
        *,
        received: Any,
        expected: Any,
        exchange: Exchange | None = None,
        operation: str | None = None,
        note: str = "",
        title: str | None = None,
    ) -> None:
        self.received, self.expected, self.note = str(received), str(expected), note
        # The class's title names the rule's usual finding; a check that observed something else says what.
        self.title = title or self.kind_title
        message = f"Received: {self.received}\n{self.expected_label}: {self.expected}" + (f"\n{note}" if note else "")
        if operation is None and exchange is not None:
            operation = exchange.label
        super().__init__(operation=operation, title=self.title, message=message, severity=Severity.HIGH)
        self.exchange = exchange

    @property
    def _unique_key(self) -> str:
        return f"{self.received}|{self.expected}"


_observing: ContextVar[type[Failure] | None] = ContextVar("observing", default=None)


@contextmanager
def observing(failure: type[Failure]) -> Iterator[None]:
    """While a rule's check runs, what the shared steps observe (a read-back of another record) is its failure."""
    token = _observing.set(failure)
    try:
        yield
    finally:
        _observing.reset(token)


def current() -> type[Failure] | None:
    """The failure class of the rule whose check is running in this thread (None outside a check)."""
    return _observing.get()


class MalformedGeneratedId(Failure):
    """A create did not report a server-generated id that matches the id pattern."""

    rule, code, kind_title = "ids.server-generated", "CC101", "Generated id missing or malformed"


class DuplicateId(Failure):
    """Two created records were given the same id."""

    rule, code, kind_title = "ids.unique", "CC102", "Duplicate id"


class SuppliedIdAccepted(Failure):
    """A create that carried its own id was not rejected with 400, or stored something."""

    rule, code, kind_title = "ids.supplied-id-rejected", "CC103", "Client-supplied id accepted"


class IdMismatchAccepted(Failure):
    """A replace whose body id differs from the path's was not rejected with 400, or changed the record."""

    rule, code, kind_title = "ids.put-mismatch-rejected", "CC104", "Replace with a different body id accepted"


class UnknownIdAnswered(Failure):
    """A request naming an id that does not exist was not answered with 404."""

    rule, code, kind_title = "ids.unknown-404", "CC105", "Unknown id not answered with 404"


class DeletedRecordServed(Failure):
    """A request naming a deleted record was not answered with 404."""

    rule, code, kind_title = "ids.deleted-404", "CC106", "Deleted id not answered with 404"


class UndocumentedStatus(Failure):
    """Response has a status code that the operation does not document."""

    rule, code, kind_title, expected_label = "status.documented", "CC201", "Undocumented status code", "Documented"


class InvalidBodyAccepted(Failure):
    """An invalid request body was not rejected with 400."""

    rule, code, kind_title = "status.bad-body-400", "CC202", "Invalid body not rejected with 400"


class InvalidParameterAccepted(Failure):
    """An invalid or unknown parameter was not rejected with 400."""

    rule, code, kind_title = "status.bad-param-400", "CC203", "Invalid parameter not rejected with 400"


class MissingAuthAccepted(Failure):
    """A request without a valid credential was not answered with 401."""

    rule, code, kind_title = "status.no-auth-401", "CC204", "Missing or unknown credential not answered with 401"


class ForeignTenantAllowed(Failure):
    """A credential reached a tenant it does not cover, or was refused with another code than 403."""

    rule, code, kind_title = "status.foreign-tenant-403", "CC205", "Other tenant not refused with 403"


class DanglingReferenceAccepted(Failure):
    """A write naming a record that does not exist was not refused with 409, or was stored."""

    rule, code, kind_title = "status.missing-reference-409", "CC206", "Missing reference not refused with 409"


class ResponseBodyMismatch(Failure):
    """Response body does not match the contract's schema (the named fields only, when projected)."""

    rule, code, kind_title = "schema.response-body", "CC301", "Response violates schema"


class UndocumentedContentType(Failure):
    """Response has a media type that the operation does not document for its status."""

    rule, code, kind_title, expected_label = "schema.content-type", "CC302", "Undocumented Content-Type", "Documented"


class ResponseHeaderMismatch(Failure):
    """A documented response header is missing, or does not match its schema."""

    rule, code, kind_title = "schema.headers", "CC303", "Documented header missing or invalid"


class IncompleteWalk(Failure):
    """Following the paging keys did not return every record exactly once, or did not end."""

    rule, code, kind_title = "paging.full-walk", "CC401", "Paging walk incomplete"


class CountMismatch(Failure):
    """A page's Count differs from the number of its Items."""

    rule, code, kind_title = "paging.count", "CC402", "Count does not match Items"


class BadStartKeyAccepted(Failure):
    """A malformed or foreign start key was not rejected with 400."""

    rule, code, kind_title = "paging.bad-key-400", "CC403", "Bad start key not rejected with 400"


class WalkDisturbedByInserts(Failure):
    """Records created during a walk made it return a record twice or lose one."""

    rule, code, kind_title = "paging.stable-under-inserts", "CC404", "Walk disturbed by concurrent creates"


class ProjectionMismatch(Failure):
    """With `fields`, a record did not carry exactly the named fields with their stored values."""

    rule, code, kind_title = "projection.fields", "CC501", "Projection (fields) mismatch"


class SearchProjectionMismatch(Failure):
    """A search hit did not carry exactly the `fieldsToReturn`, or the summary fields without it."""

    rule, code, kind_title = "projection.fields-to-return", "CC502", "Search projection (fieldsToReturn) mismatch"


class PatchMisapplied(Failure):
    """A JSON Patch operation did not change the record as RFC 6902 says."""

    rule, code, kind_title = "patch.operations", "CC601", "Patch operation misapplied"


class FailedTestChangedRecord(Failure):
    """A patch whose `test` failed was not refused, or changed the record."""

    rule, code, kind_title = "patch.test-failure-atomic", "CC602", "Failed test changed the record"


class InvalidPatchChangedRecord(Failure):
    """A patch whose result breaks the schema was not refused with 400, or changed the record."""

    rule, code, kind_title = "patch.invalid-result-atomic", "CC603", "Invalid patch result changed the record"


class ServerManagedFieldPatched(Failure):
    """A patch directive on id or a sys_* field was not refused with 400, or changed the record."""

    rule, code, kind_title = "patch.server-managed-400", "CC604", "Patch of a server-managed field accepted"


class VersionNotIncremented(Failure):
    """sys_version did not start at 1 or did not go up by one on a change."""

    rule, code, kind_title = "versioning.version-increments", "CC701", "sys_version not incremented"


class CreationFieldsChanged(Failure):
    """sys_created_at or sys_created_by_id changed after the create."""

    rule, code, kind_title = "versioning.created-stable", "CC702", "Creation fields changed"


class ModificationTimeNotAdvanced(Failure):
    """sys_last_modified_at did not move forward on a change."""

    rule, code, kind_title = "versioning.modified-advances", "CC703", "sys_last_modified_at did not advance"


class ServerFieldsAccepted(Failure):
    """sys_* values sent in a create or replace body were stored instead of ignored."""

    rule, code, kind_title = "versioning.server-fields-ignored", "CC704", "Client-sent sys_* values stored"


class EqualityFilterMismatch(Failure):
    """A scalar search filter did not match exactly the records whose field equals it."""

    rule, code, kind_title = "search.equality", "CC801", "Equality filter mismatch"


class ListFilterMismatch(Failure):
    """A list search filter did not match exactly the records whose field is one of its values."""

    rule, code, kind_title = "search.lists", "CC802", "List filter mismatch"


class RangeFilterMismatch(Failure):
    """A [min, max] search filter did not match exactly the records within it, both bounds included."""

    rule, code, kind_title = "search.range-inclusive", "CC803", "Range filter mismatch"


class BusinessUnitLeak(Failure):
    """A search returned a record of another business unit than the one asked for."""

    rule, code, kind_title = "search.business-unit-scope", "CC804", "Search crossed business units"


class CrossTenantLeak(Failure):
    """A record of the tenant was readable, listed or found under another tenant's path."""

    rule, code, kind_title = "tenancy.isolation", "CC901", "Record visible from another tenant"


class BatchLimitIgnored(Failure):
    """A batch request outside 1..100 operations was not rejected with 400, or one inside was refused."""

    rule, code, kind_title = "batch.limit", "CC1001", "Batch operation limit not enforced"


class BatchResultsMismatch(Failure):
    """Batch results were not one per operation, in order, with each operation's own outcome."""

    rule, code, kind_title = "batch.per-operation-results", "CC1002", "Batch results do not match the operations"


class BatchCountsMismatch(Failure):
    """success_count and error_count do not count the outcomes."""

    rule, code, kind_title = "batch.counts", "CC1003", "Batch counts do not match the results"


class RecordNotDeleted(Failure):
    """A delete did not answer with the record's id, or the record stayed listed or searchable."""

    rule, code, kind_title = "delete.removes-record", "CC1101", "Deleted record remains"


class ReferencedRecordDeleted(Failure):
    """A record that others reference was deleted, or refused with another code than 409."""

    rule, code, kind_title = "delete.referenced-409", "CC1102", "Referenced record deleted"


class DependentsMismatch(Failure):
    """The dependents of batches were not every transitive dependent once, without the batches asked for."""

    rule, code, kind_title = "dependents.recursive", "CC1201", "Dependents mismatch"


class ServerErrorResponse(Failure):
    """A generated request was answered with a 5xx."""

    rule, code, kind_title = "fuzz.no-server-error", "CC1301", "Server error"


class InvalidDataAccepted(Failure):
    """A request that breaks the schema was not rejected with a 4xx."""

    rule, code, kind_title = "fuzz.invalid-rejected", "CC1302", "Schema-invalid request accepted"


class BrokenLink(Failure):
    """Following a link of the contract from a successful response did not reach the linked record."""

    rule, code, kind_title = "fuzz.stateful-links", "CC1303", "Link to a created record broken"
