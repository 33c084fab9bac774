"""Outcomes, skips and the per-area report (R-GEN-1, R-GEN-5, R-GEN-11, R-OPS-2)."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from sfqb.outcomes import (
    CREATED,
    FAILED,
    QB_CUSTOMER,
    RECOVERED,
    SF_ACCOUNT,
    SF_CONTACT,
    UPDATED,
    WARNING,
    area_report,
    count,
    log_problems,
    merge_counts,
    outcome,
    outcomes,
    quickbooks_record,
    salesforce_record,
    skips,
)

pytestmark = pytest.mark.unit


def test_given_a_load_with_one_failure_when_reported_then_counts_and_the_warning_name_the_record():
    """R-GEN-5: one record's failure is a warning naming it; the rest are counted as loaded."""
    skipped = pd.concat(
        [
            skips(["001A"], "no closed/won opportunity yet", record=QB_CUSTOMER),
            skips(["QB:7"], "sub-customer's parent failed", level=WARNING, record=SF_ACCOUNT),
        ]
    )
    done = outcomes(
        [
            outcome("001B", CREATED, record=QB_CUSTOMER, target_id="58"),
            outcome("001C", UPDATED, record=QB_CUSTOMER, target_id="59"),
            outcome(
                "001D", FAILED, record=QB_CUSTOMER, reason="Duplicate Name Exists Error [6240]"
            ),
        ]
    )
    report = area_report("customers", skipped, done, considered=["001B", "QB:7"])
    assert report["records"][QB_CUSTOMER] == {
        "created": 1,
        "updated": 1,
        "recovered": 0,
        "deleted": 0,
        "skipped": 1,
        "failed": 1,
    }
    assert report["records"][SF_ACCOUNT]["skipped"] == 1
    assert [(w["key"], w["reason"], w["kind"]) for w in report["warnings"]] == [
        ("001D", "Duplicate Name Exists Error [6240]", "failed"),
        ("QB:7", "sub-customer's parent failed", "skipped"),
    ]
    assert report["considered"] == ["001B", "QB:7"]


def test_given_writes_of_unlike_records_when_counted_then_each_record_type_has_its_own_counts():
    """R-GEN-11: Accounts, Contacts and QuickBooks Customers of one area are never added up;
    a record adopted from an interrupted attempt counts as recovered, not created."""
    done = outcomes(
        [
            outcome("QB:1", CREATED, record=SF_ACCOUNT),
            outcome("QB:2", CREATED, record=SF_ACCOUNT),
            outcome("QB:1 contact", CREATED, record=SF_CONTACT),
            outcome("001X", RECOVERED, record=QB_CUSTOMER),
        ]
    )
    report = area_report("customers", skips([], "x", record=SF_ACCOUNT), done)
    assert {r: c[CREATED] for r, c in report["records"].items()} == {
        SF_ACCOUNT: 2,
        SF_CONTACT: 1,
        QB_CUSTOMER: 0,
    }
    assert report["records"][QB_CUSTOMER][RECOVERED] == 1
    assert count(report, CREATED, SF_ACCOUNT) == 2 and count(report, CREATED) == 3
    merged = merge_counts({SF_ACCOUNT: {CREATED: 1}}, report["records"])
    assert merged[SF_ACCOUNT][CREATED] == 3 and merged[SF_CONTACT][CREATED] == 1


def test_given_object_names_when_labelled_then_users_read_the_system_and_the_record():
    """R-GEN-11: record types name their system."""
    assert salesforce_record("Invoice__c") == "Salesforce Invoice"
    assert salesforce_record("OpportunityLineItem") == "Salesforce Opportunity Product"
    assert quickbooks_record("SalesReceipt") == "QuickBooks Sales Receipt"
    assert quickbooks_record("Estimate") == "QuickBooks Estimate"


def test_given_failures_when_logged_then_each_is_a_warning_line_and_info_skips_stay_info(caplog):
    """R-OPS-2: warnings at WARNING level so Airflow's log filtering finds them."""
    skipped = pd.concat(
        [
            skips(["006X"], "stage is not closed/won", record="QuickBooks transaction"),
            skips(
                ["006Y"],
                "product P-1 has no QuickBooks item",
                WARNING,
                record="QuickBooks transaction",
            ),
        ]
    )
    done = outcomes(
        [outcome("006Z", FAILED, record="QuickBooks Invoice", reason="Stale Object Error [5010]")]
    )
    with caplog.at_level(logging.INFO):
        log_problems(logging.getLogger("test"), "opportunities", skipped, done)
    by_level = {(r.levelname, r.getMessage()) for r in caplog.records}
    assert ("INFO", "opportunities: skipped 006X: stage is not closed/won") in by_level
    assert (
        "WARNING",
        "opportunities: skipped 006Y: product P-1 has no QuickBooks item",
    ) in by_level
    assert (
        "WARNING",
        "opportunities: failed 006Z: Stale Object Error [5010] (it will be retried on the next run)",
    ) in by_level
