"""The conformance suite's own safety, end to end: against a deployment that holds other records, a full
read-write run leaves every record it did not create exactly as it was, and takes its own records away (and says
so: what it created, removed and left)."""

import httpx
import pytest

import conformance
from mockserver import Settings
from mockserver.testing import serve_in_thread

ADMIN = "safety-admin"


@pytest.fixture(scope="module")
def deployment():
    """A mock holding the shipped fixtures (acme and globex), and a token that reaches acme only."""
    settings = Settings(
        db=":memory:", seed=True, page_size=50, admin_token=ADMIN, tokens={"acme-only": frozenset({"acme"})}
    )
    with serve_in_thread(settings) as (base_url, _):
        yield base_url


def everything(base_url):
    response = httpx.get(f"{base_url}/_mock/export", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60)
    return {
        (tenant, collection, record["id"]): record
        for tenant, collections in response.json()["tenants"].items()
        for collection, records in collections.items()
        for record in records
    }


def test_a_full_run_leaves_every_record_it_did_not_create_untouched(deployment):
    before = everything(deployment)
    assert sum(1 for tenant, _, _ in before if tenant == "acme") > 500
    report = conformance.run(
        conformance.Config(
            base_url=deployment,
            token="acme-only",
            tenant="acme",
            other_tenant="globex",
            seed=11,
            max_examples=5,
            rate_limit=0,
            progress=False,
            # The mock's page size here (50) holds every paging walk's 7 records: that rule stays unverified.
            accept_partial=("one-page",),
        )
    )
    assert report.ok, report.summary()
    assert report.cleanup.left == [] and sum(report.cleanup.created.values()) > 100
    after = everything(deployment)
    changed = [key for key, record in before.items() if after.get(key) != record]
    assert not changed, f"{len(changed)} records the run did not create were changed or removed: {changed[:5]}"
    left = sorted(set(after) - set(before))
    assert not left, f"the run left {len(left)} records of its own behind: {left[:5]}"
