"""The run summary (R-OPS-2, R-GEN-11, R-OPS-3)."""

from __future__ import annotations

import pytest

from sfqb.report import format_summary

pytestmark = pytest.mark.unit


def entry(key, reason, state, since="2026-11-25T03:00:00+00:00", **more):
    return {
        "area": "customers",
        "key": key,
        "reason": reason,
        "kind": "skipped",
        "state": state,
        "since": since,
        **more,
    }


SUMMARY = {
    "run_id": "manual__2026-11-26",
    "upper_bound": "2026-11-26T04:00:00+00:00",
    "scope": "areas customers; full resync of customers from 2026-01-01T00:00:00+00:00",
    "areas": [
        {
            "area": "customers",
            "records": {
                "Salesforce Account": {
                    "created": 3,
                    "updated": 1,
                    "recovered": 0,
                    "deleted": 0,
                    "skipped": 2,
                    "failed": 0,
                },
                "QuickBooks Customer": {
                    "created": 0,
                    "updated": 0,
                    "recovered": 0,
                    "deleted": 0,
                    "skipped": 0,
                    "failed": 1,
                },
            },
            "warning_count": 250,
            "warning_counts": {"new": 1, "standing": 249, "resolved": 1},
            "warnings": [
                entry("001<x>", "name 'A:B' rejected", "new"),
                entry("QB:9", "a name shared by two Accounts", "standing", checked=False),
                entry("QB:4", "name too long", "resolved"),
            ],
        }
    ],
}


def test_given_a_narrowed_run_when_formatted_then_scope_and_counts_per_record_type_show():
    """R-OPS-2, R-GEN-11: the run's scope, and per area one row per record type: Accounts and
    QuickBooks Customers are never added up."""
    lines = format_summary(SUMMARY).splitlines()
    assert lines[1] == "  areas customers; full resync of customers from 2026-01-01T00:00:00+00:00"
    assert lines[2].split() == ["area", "record", "created", "updated", "skipped", "failed"]
    assert lines[3].split() == ["customers", "Salesforce", "Account", "3", "1", "2", "0"]
    assert lines[4].split() == ["QuickBooks", "Customer", "0", "0", "0", "1"]


def test_given_warnings_in_each_state_when_formatted_then_new_standing_and_resolved_are_told_apart():
    """R-OPS-3: totals per state (the true totals when the lists are capped), new ones first,
    standing ones with the time they were first seen, resolved ones last."""
    text = format_summary(SUMMARY)
    lines = text.splitlines()
    assert "  warnings: 1 new, 249 standing, 1 resolved" in lines
    assert (
        lines.index("    new:")
        < lines.index("    standing: (1 listed)")
        < lines.index("    resolved in this run:")
    )
    assert "      customers: 001<x>: name 'A:B' rejected" in lines
    assert (
        "      customers: QB:9: a name shared by two Accounts (since 2026-11-25 03:00 UTC; "
        "not looked at again in this run)"
    ) in lines
    assert "      customers: QB:4: name too long (open since 2026-11-25 03:00 UTC)" in lines


def test_given_a_summary_from_before_warning_states_when_formatted_then_it_still_reads():
    """R-OPS-2: the sync log shows old runs too (counts per area, warnings as lines)."""
    old = {
        "run_id": "r",
        "upper_bound": "u",
        "areas": [
            {
                "area": "items",
                "created": 2,
                "updated": 0,
                "skipped": 1,
                "failed": 0,
                "warning_count": 1,
                "warnings": ["items: QB:7: no price"],
            }
        ],
    }
    lines = format_summary(old).splitlines()
    assert lines[2].split() == ["items", "records", "2", "0", "1", "0"]
    assert lines[-2:] == ["  warnings: 1", "    items: QB:7: no price"]


def test_given_a_reconciliation_entry_when_formatted_then_it_is_a_line_of_checks_not_an_area_row():
    """R-OPS-2: the reconciliation writes nothing, so it shows its checks (those with
    differences, or that both systems agree) and the records compared, not a row of zeros."""
    clean = {
        "area": "reconcile",
        "counts": {
            "accounts_without_customer": 0,
            "accounts_without_customer_compared": 5,
            "invoice_balances": 0,
            "invoice_balances_compared": 7,
            "pending_retry": 1,
        },
    }
    broken = {**clean, "counts": {**clean["counts"], "invoice_balances": 2}}
    for entry_, verdict in (
        (clean, "both systems agree"),
        (broken, "differences: invoice_balances 2"),
    ):
        lines = format_summary({**SUMMARY, "areas": [*SUMMARY["areas"], entry_]}).splitlines()
        assert f"  reconcile: {verdict} (2 checks, 12 records compared)" in lines
        assert not any(line.split()[:1] == ["reconcile"] for line in lines)


def test_given_a_migration_dry_run_when_formatted_then_it_says_nothing_was_written_and_what_would_be():
    """R-MIG-1, R-OPS-2: a dry run's summary says it wrote nothing and what a real run would
    write per Salesforce record type; invoices and items always, the others when any."""
    from sfqb.report import dry_run_line

    dry = {
        "area": "migration",
        "records": {"Salesforce Invoice": {"skipped": 9}},
        "warnings": [],
        "dry_run": True,
        "would_write": {
            "Salesforce Invoice": 334,
            "Salesforce Invoice Item": 1,
            "Salesforce Opportunity": 0,
            "Salesforce Invoice-Opportunity Link": 0,
        },
    }
    lines = format_summary({**SUMMARY, "scope": None, "areas": [dry]}).splitlines()

    assert "  migration: dry run: nothing written; would write 334 invoices, 1 item" in lines
    assert dry_run_line(
        {"Salesforce Invoice": 1, "Salesforce Invoice Item": 0, "Salesforce Opportunity": 2}
    ) == ("dry run: nothing written; would write 1 invoice, 0 items, 2 placeholder opportunities")
    real = {**dry, "dry_run": False, "would_write": {}}
    assert not any(
        "dry run" in line for line in format_summary({**SUMMARY, "areas": [real]}).splitlines()
    )
