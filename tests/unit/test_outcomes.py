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


def test_given_failures_when_logged_then_each_is_a_warning_line_naming_the_record_and_info_skips_stay_info(
    caplog,
):
    """R-OPS-2, R-GEN-5: a bad record is a WARNING naming the record (and its name, when the
    plan has it) and the reason, so Airflow's log filtering finds it; a record skipped for now
    stays at INFO."""
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
    names = {"006Y": "Acme - 10 widgets", "006Z": "Globex renewal"}
    with caplog.at_level(logging.INFO):
        log_problems(logging.getLogger("test"), "opportunities", skipped, done, names=names)
    by_level = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert by_level == [
        (
            "WARNING",
            "opportunities: skipped 006Y (Acme - 10 widgets): product P-1 has no QuickBooks item",
        ),
        (
            "WARNING",
            "opportunities: failed 006Z (Globex renewal): Stale Object Error [5010] (it will be "
            "retried on the next run)",
        ),
        (
            "INFO",
            "opportunities: 1 QuickBooks transaction skipped: stage is not closed/won; 006X",
        ),
    ]


def test_given_143_records_skipped_for_now_when_logged_then_one_info_line_per_reason_with_a_few_named(
    caplog,
):
    """R-OPS-2: records skipped for now (INFO) are summed up per reason, largest first, with
    their count and three examples named; each record is still logged, at DEBUG; WARNING
    skips stay one line each."""
    jobs = [f"QB:{200 + i}" for i in range(143)]
    skipped = pd.concat(
        [
            skips(jobs, "a QuickBooks project (job): jobs are not synced", record=QB_CUSTOMER),
            skips(["QB:9"], "inactive", record=QB_CUSTOMER),
            skips(["QB:7"], "a colon in the name", WARNING, record=QB_CUSTOMER),
        ]
    )
    names = {"QB:200": "Acme: Roof", "QB:201": "Acme: Porch", "QB:7": "Bad: Name"}
    with caplog.at_level(logging.DEBUG, logger="test"):
        log_problems(logging.getLogger("test"), "customers", skipped, outcomes([]), names=names)
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert info == [
        "customers: 143 QuickBooks Customers skipped: a QuickBooks project (job): jobs are not "
        "synced; for example QB:200 (Acme: Roof), QB:201 (Acme: Porch), QB:202 and 140 more",
        "customers: 1 QuickBooks Customer skipped: inactive; QB:9",
    ]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == ["customers: skipped QB:7 (Bad: Name): a colon in the name"]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(debug) == 144 and "customers: skipped QB:342: " in debug[142]


def test_given_skips_for_many_reasons_when_logged_then_the_smallest_are_folded_into_one_line(
    caplog,
):
    """R-OPS-2: past ten reason lines, the rest of the records skipped for now is one line."""
    reasons = [f"reason {chr(ord('a') + i)}" for i in range(25)]
    skipped = skips(
        [f"006{i}" for i in range(25)],
        pd.Series(reasons),
        record="QuickBooks transaction",
    )
    with caplog.at_level(logging.INFO, logger="test"):
        log_problems(logging.getLogger("test"), "opportunities", skipped, outcomes([]))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 11
    assert lines[-1] == (
        "opportunities: 15 more records skipped for 15 other reasons (each record is logged at "
        "DEBUG)"
    )


def test_given_reasons_that_differ_only_in_a_records_own_value_when_logged_then_they_share_a_line(
    caplog,
):
    """R-OPS-2: a reason that carries the record's own Id or number ("already has QuickBooks
    transaction 335") is one line for all such records, the varying part shown as "…"; a
    number inside a word or range ("2-6", as in a rule's name) is not a record's value."""
    skipped = pd.concat(
        [
            skips(
                ["006A", "006B"],
                pd.Series(
                    [
                        "already has QuickBooks transaction 335: never changed (pages 2-6)",
                        "already has QuickBooks transaction 336: never changed (pages 2-6)",
                    ]
                ),
                record="QuickBooks transaction",
            ),
            skips(
                ["006C"],
                "its Account 0015g000000001rAAA is not synced yet",
                record="QuickBooks transaction",
            ),
        ]
    )
    with caplog.at_level(logging.INFO, logger="test"):
        log_problems(
            logging.getLogger("test"), "opportunities", skipped, outcomes([]), names={"006A": "A"}
        )
    assert [r.getMessage() for r in caplog.records] == [
        "opportunities: 2 QuickBooks transactions skipped: already has QuickBooks transaction …: "
        "never changed (pages 2-6); 006A (A), 006B",
        "opportunities: 1 QuickBooks transaction skipped: its Account 0015g000000001rAAA is not "
        "synced yet; 006C",
    ]
