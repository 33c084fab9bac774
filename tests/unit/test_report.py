"""The run summary table (SPEC R-OPS-2)."""

from __future__ import annotations

import pytest

from sfqb.report import format_summary
from sfqb.synclog import render_page

pytestmark = pytest.mark.unit

SUMMARY = {
    "run_id": "manual__2026-11-26", "upper_bound": "2026-11-26T04:00:00+00:00",
    "scope": "areas customers; full resync of customers from 2026-01-01T00:00:00+00:00",
    "areas": [{"area": "customers", "created": 3, "updated": 1, "skipped": 2, "failed": 1,
               "warning_count": 250, "warnings": ["customers: 001<x>: name 'A:B' rejected"]}],
}


def test_given_a_narrowed_run_with_more_warnings_than_listed_when_formatted_then_scope_counts_and_total_show():
    """R-OPS-2: per area created/updated/skipped/failed, the run's scope, every listed warning
    and the true total when the list was capped."""
    text = format_summary(SUMMARY)
    lines = text.splitlines()
    assert lines[1] == "  areas customers; full resync of customers from 2026-01-01T00:00:00+00:00"
    assert lines[3].split() == ["customers", "3", "1", "2", "1"]
    assert "  warnings: 250 (1 listed)" in lines
    assert lines[-1] == "    customers: 001<x>: name 'A:B' rejected"


def test_given_runs_when_the_sync_log_page_is_rendered_then_summaries_are_escaped_and_missing_ones_explained():
    """R-OPS-2: the sync log page shows each run's summary (HTML-escaped) or why it has none."""
    page = render_page([
        {"dag_id": "sfqb_sync", "run_id": "r1", "state": "success", "run_type": "manual",
         "start_date": "s", "end_date": "e", "summary": SUMMARY},
        {"dag_id": "sfqb_sync", "run_id": "r0", "state": "failed", "run_type": "scheduled",
         "start_date": "s", "end_date": "e", "summary": None},
    ])
    assert "customers: 001&lt;x&gt;: name 'A:B' rejected" in page
    assert "<x>" not in page
    assert "No summary: the run has not reached summarize_run" in page


def test_given_a_reconciliation_entry_when_formatted_then_it_is_a_line_of_checks_not_an_area_row():
    """R-OPS-2 / issue 15: the reconciliation writes nothing, so it shows its checks (those with
    differences, or that both systems agree) and the records compared, not a row of zeros."""
    clean = {"area": "reconcile", "counts": {"accounts_without_customer": 0, "accounts_without_customer_compared": 5,
                                             "invoice_balances": 0, "invoice_balances_compared": 7,
                                             "pending_retry": 1}}
    broken = {**clean, "counts": {**clean["counts"], "invoice_balances": 2}}
    for entry, verdict in ((clean, "both systems agree"), (broken, "differences: invoice_balances 2")):
        lines = format_summary({**SUMMARY, "areas": [*SUMMARY["areas"], entry]}).splitlines()
        assert f"  reconcile: {verdict} (2 checks, 12 records compared)" in lines
        assert not any(line.split()[:1] == ["reconcile"] for line in lines)
