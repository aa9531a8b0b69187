"""Stand-ins for the strangers of issue 11: what the suite concludes about each, and that it does no harm.

Each stand-in (`tests/defects/strangers.py`) wraps the mock the way an implementation nobody here wrote behaved.
An earlier suite passed them, passed rules it could not check, or wrote to records it did not create; here each
is caught by the rule that states what it breaks, reported as not verified where nothing can be proven, and left
unharmed where it is someone else's record.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote, urlsplit

import pytest

from conformance import Config, Runner
from conformance.verdicts import FAILED, NOT_VERIFIED, PASSED
from tests.defects import Defect, load
from tests.defects.app import Call, Response
from tests.defects.server import OTHER_TENANT, TENANT, TOKEN, defective_mock
from tests.defects.strangers import STRANGERS

DEFECTS = load()
OLD_BATCH = {
    "name": "A batch of 2023",
    "business_unit_id": "bu-x",
    "date": "2023-04-01",
    "fiscal_period": 4,
    "fiscal_year_id": "fy-x",
    "status": "open",
    "type": "transaction",
    "sys_version": 3,
    "sys_created_at": "2023-04-01T09:00:00.000000Z",
}


@pytest.fixture(scope="module")
def wide():
    """A defective mock with the mock's default page size (100): a default run's 7 records fit one page."""
    logger = logging.getLogger("mockserver")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    with defective_mock(page_size=100) as running:
        yield running
    logger.setLevel(level)


def run(target, defect: Defect | None, rules: tuple[str, ...], **changes):
    target.reset()
    target.app.switch(defect)
    config = Config(base_url=target.base_url, token=TOKEN, tenant=TENANT, seed=7, rate_limit=0, max_examples=3)
    runner = Runner(config.replace(rules=rules, **changes))
    return runner, runner.run()


def outcome(report, rule: str, resource: str):
    return next(o for o in report.outcomes if o.rule == rule and o.resource == resource)


def titles(report, rule: str) -> set[str]:
    return {f.title for o in report.outcomes if o.rule == rule for f in o.failures}


def test_a_proxy_dropping_page_tails_is_caught_by_a_default_run_at_page_size_100(wide):
    _, report = run(wide, DEFECTS["IncompleteWalk"], ("paging.full-walk",))

    assert {o.status for o in report.outcomes} == {FAILED}, report.summary()
    assert {f.code for f in report.failures()} == {"CC401"}


def test_a_default_run_at_page_size_100_walks_two_pages_and_checks_inserts(wide):
    _, report = run(wide, None, ("paging",))

    assert {o.status for o in report.outcomes} == {PASSED}, [o.reason for o in report.outcomes]
    assert not wide.records(), "the records paging needed were cleaned up"


def test_a_server_without_pages_is_not_verified_never_passed(target):
    _, report = run(target, STRANGERS["OnePageNoKey"], ("paging.full-walk", "paging.stable-under-inserts"))

    statuses = {o.status for o in report.outcomes}
    assert PASSED not in statuses, report.summary()
    walk = outcome(report, "paging.full-walk", "writeOffs")
    assert walk.status == NOT_VERIFIED and "fewer records than a page" in walk.reason, walk.reason


@pytest.mark.parametrize(
    ("name", "where"), [("EnumFixed", "body.method (enum)"), ("GlAccountFilled", "x-conditional-required")]
)
def test_a_proxy_that_mends_invalid_bodies_is_caught(target, name, where):
    _, report = run(target, STRANGERS[name], ("status.bad-body-400",))

    failed = outcome(report, "status.bad-body-400", "writeOffs")
    assert failed.status == FAILED, report.summary()
    assert where in failed.failures[0].received


def test_isolation_is_checked_without_other_tenant(target):
    _, report = run(target, STRANGERS["TenantRewritten"], ("tenancy.isolation",))

    assert report.failed_rules() == {"tenancy.isolation"}, report.summary()
    assert {f.code for f in report.failures()} == {"CC901"}


def test_a_server_answering_an_existing_id_is_never_written_to(target):
    target.reset()
    existing = target.admin("POST", "fixtures", json={TENANT: {"batches": [OLD_BATCH]}})
    old = target.records()["batches"][0]
    target.app.switch(STRANGERS["ExistingIdAnswered"])
    target.app.memory["existing"] = old["id"]
    config = Config(base_url=target.base_url, token=TOKEN, tenant=TENANT, seed=7, rate_limit=0, max_examples=2)

    report = Runner(config.replace(other_tenant=OTHER_TENANT)).run()

    assert existing and outcome(report, "ids.unique", "batches").status == FAILED
    writes = [
        entry
        for entry in target.journal()
        if entry["method"] in ("PUT", "PATCH", "DELETE") and unquote(urlsplit(entry["path"]).path).endswith(old["id"])
    ]
    assert writes == [], f"{len(writes)} writes to a record the suite did not create"
    assert next(r for r in target.records()["batches"] if r["id"] == old["id"]) == old
    assert any(record_id == old["id"] for _, record_id, _ in report.cleanup.left)


def test_creates_answering_201_are_learned_and_removed(target):
    _, report = run(target, STRANGERS["CreatedAnswers201"], ("ids", "patch", "batch", "delete", "versioning"))

    assert report.cleanup.left == [], report.cleanup.left
    assert sum(report.cleanup.removed.values()) > 50 and sum(report.cleanup.created.values()) > 50
    assert not target.records(), "records of the run were left behind"


def test_a_read_back_of_another_record_fails_the_rule_that_read_it(target):
    _, report = run(target, STRANGERS["ReadBackOther"], ("versioning.created-stable",))

    # Where the read-back of a record of the run's own is stale, the rule fails; where even the create's
    # read-back is another record, nothing is the run's to check, and the rule is not verified. Never a pass.
    assert PASSED not in {o.status for o in report.outcomes}, report.summary()
    assert report.failed_rules() == {"versioning.created-stable"}, report.summary()
    assert titles(report, "versioning.created-stable") == {"Stored values differ from those written"}
    skipped = {o.reason for o in report.outcomes if o.status == NOT_VERIFIED}
    assert skipped and all("a GET of it answered record" in reason for reason in skipped), skipped


def test_a_server_that_stores_nothing_breaks_its_links(target):
    _, report = run(target, STRANGERS["StoresNothing"], ("fuzz.stateful-links", "ids.server-generated"))

    assert report.failed_rules() == {"fuzz.stateful-links", "ids.server-generated"}, report.summary()
    assert titles(report, "ids.server-generated") == {"Read-back returned another record"}


async def _supplied_id_refused_with_422(call: Call) -> Response:
    response = await call.forward()
    body = call.request.json()
    return response.with_status(422) if call.kind == "create" and isinstance(body, dict) and "id" in body else response


def test_failure_titles_say_what_was_observed(target):
    refused = Defect(
        "SuppliedIdRefused422", "ids.supplied-id-rejected", "422 instead of 400", _supplied_id_refused_with_422
    )
    _, report = run(target, refused, ("ids.supplied-id-rejected",))
    assert titles(report, "ids.supplied-id-rejected") == {"Create with an id not refused with 400"}

    _, report = run(target, DEFECTS["BatchCountsMismatch"], ("batch.counts",))
    (failure,) = {f.expected for f in report.failures()}
    assert failure.startswith("success_count 3, error_count 2")


def test_a_record_a_delete_kept_is_reported_left_not_lost(target):
    _, report = run(target, DEFECTS["RecordNotDeleted"], ("delete.removes-record",))

    assert report.failed_rules() == {"delete.removes-record"}, report.summary()
    still_there = {(c, r["id"]) for c, records in target.records().items() for r in records}
    left = {(c, i) for c, i, _ in report.cleanup.left}
    assert still_there and still_there <= left, f"not reported: {sorted(still_there - left)}"
    cleanup = report.cleanup
    for collection, made in cleanup.created.items():
        owned_left = sum(1 for c, _, _ in cleanup.left if c == collection)
        assert made == cleanup.deleted.get(collection, 0) + cleanup.removed.get(collection, 0) + owned_left


async def _creates_refused_lists_as_text(call: Call) -> Response:
    response = await call.forward()
    if call.kind == "create":
        return response.with_status(500).with_header("content-type", "application/problem+json")
    return response.with_header("content-type", "text/plain") if call.kind == "list" else response


def test_a_sweep_without_a_record_still_judges_what_needs_none(target):
    broken = Defect(
        "CreatesRefused", "schema.content-type", "creates 500, lists text/plain", _creates_refused_lists_as_text
    )
    _, report = run(target, broken, ("schema.content-type",))

    # Every create is refused, so no record of the run's own can be swept: the lists it still reads are judged.
    assert {o.status for o in report.outcomes} == {FAILED}, report.summary()
    assert {f.received for f in report.failures()} == {"text/plain"}
