"""Scale: the medium seed (10k customers) loads quickly and pages through the real client."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def test_given_the_medium_seed_when_reading_everything_then_it_is_quick(sf, fresh):
    """Seed sizes (brief): medium seeds in seconds; query_all pages 10k accounts in 2000s,
    a selective query by external id is answered from an index."""
    started = time.monotonic()
    counts = fresh.seed("salesforce", "medium")["counts"]
    seeded = time.monotonic() - started
    assert counts["Account"] == 10_002 and seeded < 30, f"medium seed took {seeded:.1f} s"
    fresh.clear_counters("salesforce")
    started = time.monotonic()
    accounts = sf.query_all("SELECT Id, Name, BillingCity FROM Account")
    read = time.monotonic() - started
    assert accounts["totalSize"] == 10_002 and read < 30
    ops = fresh.counters("salesforce")["by_operation"]
    assert ops["query"] == 1 and ops["queryMore"] == 5
    one = accounts["records"][1234]["Id"]
    sf.Account.update(one, {"External_Account_ID__c": "QB-1234"})
    started = time.monotonic()
    for _ in range(20):
        found = sf.query("SELECT Id FROM Account WHERE External_Account_ID__c = 'QB-1234'")
    assert found["records"][0]["Id"] == one
    assert (time.monotonic() - started) / 20 < 0.5
