"""Bulk API 2.0 ingest and query jobs as simple-salesforce's bulk2 drives them (api-notes 3.12)."""

from __future__ import annotations

import csv
import io
import time

import pytest

pytestmark = pytest.mark.sandbox
ROWS = 50_000


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_given_50k_accounts_when_bulk_inserting_and_querying_then_all_round_trip(sf, fresh):
    """api-notes 3.12: a 50k-row ingest job (insert) completes with every record processed, and
    a bulk query job returns them in pages with Sforce-Locator / Sforce-NumberOfRecords."""
    records = [
        {"Name": f"Bulk Account {i:05d}", "External_Account_ID__c": f"B-{i}"} for i in range(ROWS)
    ]
    started = time.monotonic()
    results = sf.bulk2.Account.insert(records=records, wait=0.1)
    elapsed = time.monotonic() - started
    assert sum(int(r["numberRecordsProcessed"]) for r in results) == ROWS
    assert sum(int(r["numberRecordsFailed"]) for r in results) == 0
    assert elapsed < 60, f"50k-row ingest took {elapsed:.1f} s"
    count = sf.query("SELECT COUNT() FROM Account WHERE Name LIKE 'Bulk Account%'")
    assert count["totalSize"] == ROWS
    pages = list(
        sf.bulk2.Account.query(
            "SELECT Id, Name, External_Account_ID__c, Owner.Name FROM Account "
            "WHERE Name LIKE 'Bulk Account%' ORDER BY Name",
            max_records=20_000,
            wait=0.1,
        )
    )
    assert len(pages) == 3
    rows = [row for page in pages for row in _rows(page)]
    assert len(rows) == ROWS and rows[0]["Name"] == "Bulk Account 00000"
    assert rows[-1]["External_Account_ID__c"] == f"B-{ROWS - 1}"
    assert rows[0]["Owner.Name"] == "Sfqb Integration" and rows[0]["Id"].startswith("001")


def test_given_bad_rows_when_bulk_upserting_then_failed_results_carry_the_error(
    sf, fresh, tmp_path
):
    """api-notes 3.12: upsert by external id creates and updates; a bad row is reported in
    failedResults with sf__Error "CODE:message:fields --"; successfulResults has sf__Created."""
    sf.bulk2.Product2.upsert(
        records=[{"External_Item_ID__c": "P-1", "Name": "First"}],
        external_id_field="External_Item_ID__c",
        wait=0.1,
    )
    results = sf.bulk2.Product2.upsert(
        records=[
            {"External_Item_ID__c": "P-1", "Name": "Renamed"},
            {"External_Item_ID__c": "P-2", "Name": "Second"},
            {"External_Item_ID__c": "P-3", "Name": "x" * 300},
        ],
        external_id_field="External_Item_ID__c",
        wait=0.1,
    )
    assert int(results[0]["numberRecordsProcessed"]) == 3
    job_id = results[0]["job_id"]
    ok = _rows(sf.bulk2.Product2.get_successful_records(job_id))
    assert {(r["External_Item_ID__c"], r["sf__Created"]) for r in ok} == {
        ("P-1", "false"),
        ("P-2", "true"),
    }
    failed = _rows(sf.bulk2.Product2.get_failed_records(job_id))
    assert len(failed) == 1 and failed[0]["sf__Error"].startswith("STRING_TOO_LONG:")
    assert sf.Product2.get_by_custom_id("External_Item_ID__c", "P-1")["Name"] == "Renamed"


def test_given_a_relationship_column_when_bulk_inserting_then_lookups_resolve(sf, fresh):
    """api-notes 3.12: a ``Account.External_Account_ID__c`` column sets the lookup by the
    parent's external id; an unknown value fails that row."""
    sf.Account.create({"Name": "Parent By Ext", "External_Account_ID__c": "PX-1"})
    results = sf.bulk2.Contact.insert(
        records=[
            {"LastName": "Child", "Account.External_Account_ID__c": "PX-1"},
            {"LastName": "Orphan", "Account.External_Account_ID__c": "PX-404"},
        ],
        wait=0.1,
    )
    assert int(results[0]["numberRecordsFailed"]) == 1
    rows = sf.query("SELECT LastName, Account.Name FROM Contact WHERE LastName = 'Child'")
    assert rows["records"][0]["Account"]["Name"] == "Parent By Ext"


def test_given_an_unsupported_bulk_query_when_run_then_the_job_fails(sf):
    """api-notes 3.12: Bulk 2.0 query jobs reject subqueries/aggregates: the job is Failed and
    simple-salesforce raises."""
    from simple_salesforce.exceptions import SalesforceOperationError

    with pytest.raises(SalesforceOperationError):
        list(sf.bulk2.Account.query("SELECT Id, (SELECT Id FROM Contacts) FROM Account", wait=0.1))


def test_given_bulk_deletes_when_run_then_rows_are_soft_deleted(sf, fresh):
    """api-notes 3.12: delete jobs take an Id column; deleted rows show in queryAll."""
    ids = [sf.Account.create({"Name": f"Bulk Gone {i}"})["id"] for i in range(3)]
    results = sf.bulk2.Account.delete(records=[{"Id": i} for i in ids], wait=0.1)
    assert int(results[0]["numberRecordsProcessed"]) == 3
    assert sf.query("SELECT COUNT() FROM Account WHERE Name LIKE 'Bulk Gone%'")["totalSize"] == 0
    gone = sf.query_all(
        "SELECT Id FROM Account WHERE Name LIKE 'Bulk Gone%' AND IsDeleted = true",
        include_deleted=True,
    )
    assert {r["Id"] for r in gone["records"]} == set(ids)


def test_given_a_hard_delete_job_when_run_then_rows_are_gone_even_from_query_all(sf, fresh):
    """api-notes 3.12: hardDelete skips the recycle bin: queryAll no longer finds the rows."""
    ids = [sf.Account.create({"Name": f"Bulk Purged {i}"})["id"] for i in range(2)]
    results = sf.bulk2.Account.hard_delete(records=[{"Id": i} for i in ids], wait=0.1)
    assert int(results[0]["numberRecordsFailed"]) == 0
    gone = sf.query_all(
        "SELECT Id FROM Account WHERE Name LIKE 'Bulk Purged%'", include_deleted=True
    )
    assert gone["totalSize"] == 0


def test_given_an_unknown_column_when_bulk_inserting_then_the_job_fails(sf, fresh):
    """api-notes 3.12: a CSV header naming no field fails the whole job (state Failed with an
    errorMessage); simple-salesforce raises and nothing is written."""
    from simple_salesforce.exceptions import SalesforceOperationError

    with pytest.raises(SalesforceOperationError) as caught:
        sf.bulk2.Account.insert(records=[{"Name": "Never", "Colour__c": "red"}], wait=0.1)
    assert "Colour__c" in str(caught.value)
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Never'")["totalSize"] == 0
