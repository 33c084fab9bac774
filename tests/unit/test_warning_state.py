"""Warnings with an identity: new, standing, resolved (R-OPS-3). Pure functions."""

from __future__ import annotations

import datetime as dt

import pytest

from sfqb.outcomes import MAX_LISTED_WARNINGS, warning
from sfqb.warning_state import (
    NEW,
    RESOLVED,
    STANDING,
    apply_to_report,
    identity,
    root,
    rule_of,
    track,
)

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
NO_ITEM = warning(
    "opportunities", "006A", "Opportunity Products with no QuickBooks item (R-OPP-3)", "skipped"
)
CLASH = warning("customers", "QB:12", "Salesforce already has an Account named 'Acme'", "skipped")


def states(listed):
    return {(w["key"], w["state"]) for w in listed}


def hourly(found_by_run, considered_by_run=None, complete=False):
    """Track a series of runs an hour apart; the listed warnings of each."""
    saved, out = None, []
    for n, found in enumerate(found_by_run):
        considered = (considered_by_run or [set()] * len(found_by_run))[n]
        saved, listed = track(
            found,
            saved,
            run_id=f"run{n}",
            now=T0 + dt.timedelta(hours=n),
            considered=considered,
            complete=complete,
        )
        out.append(listed)
    return saved, out


def test_given_a_warning_found_again_when_tracked_then_it_is_new_once_then_standing_since_its_first_run():
    """R-OPS-3: the same (area, record, rule, reason) is one warning: new in the run that first
    found it, standing (with when it was first seen) in the next."""
    _, (first, second) = hourly([[NO_ITEM], [NO_ITEM]], [{"006A"}, {"006A"}])
    assert states(first) == {("006A", NEW)}
    assert states(second) == {("006A", STANDING)}
    assert second[0]["since"] == T0.isoformat(timespec="seconds") and second[0]["checked"] is True


def test_given_a_record_looked_at_again_without_its_warning_when_tracked_then_the_warning_is_resolved():
    """R-OPS-3: a warning whose record the area read again and did not warn about is resolved;
    one whose record was not read stays standing (not looked at again)."""
    saved, (_, second) = hourly([[NO_ITEM, CLASH], []], [set(), {"006A"}])
    assert states(second) == {("006A", RESOLVED), ("QB:12", STANDING)}
    assert next(w for w in second if w["key"] == "QB:12")["checked"] is False
    assert list(saved["open"]) == [identity(CLASH)]


def test_given_a_line_warning_when_its_invoice_is_read_again_then_the_root_key_resolves_it():
    """R-OPS-3: a line's or a contact's warning belongs to its record (the key's first word)."""
    line = warning("invoices", "QB:Invoice:7 line 3", "no Product", "note")
    assert root(line["key"]) == "QB:Invoice:7"
    _, (_, second) = hourly([[line], []], [set(), {"QB:Invoice:7"}])
    assert states(second) == {("QB:Invoice:7 line 3", RESOLVED)}


def test_given_a_changed_reason_when_tracked_then_it_is_a_new_warning_and_the_old_one_resolves():
    """R-OPS-3: a changed warning alerts as new."""
    changed = {**NO_ITEM, "reason": "Opportunity Products with no QuickBooks item: P-2 (R-OPP-3)"}
    _, (_, second) = hourly([[NO_ITEM], [changed]], [set(), {"006A"}])
    assert sorted(w["state"] for w in second) == [NEW, RESOLVED]
    assert rule_of(changed["reason"]) == "R-OPP-3" and identity(changed) != identity(NO_ITEM)


def test_given_an_area_that_checks_everything_when_a_finding_is_gone_then_it_is_resolved():
    """R-OPS-3: the reconciliation compares everything each run: absence resolves."""
    finding = warning(
        "reconcile", 'QuickBooks customer 200 "River"', "customers_without_account: ...", "check"
    )
    _, (_, second) = hourly([[finding], []], complete=True)
    assert states(second) == {('QuickBooks customer 200 "River"', RESOLVED)}


def test_given_a_retried_task_of_the_same_run_when_tracked_again_then_states_do_not_change():
    """R-OPS-3: a load retried within one run reports what the first attempt reported: its new
    warnings stay new, its resolved ones stay resolved."""
    saved, _ = track([NO_ITEM, CLASH], None, run_id="r1", now=T0, considered=set())
    saved, first = track(
        [CLASH], saved, run_id="r2", now=T0 + dt.timedelta(hours=1), considered={"006A"}
    )
    saved, again = track(
        [CLASH], saved, run_id="r2", now=T0 + dt.timedelta(hours=1, minutes=5), considered={"006A"}
    )
    assert states(first) == states(again) == {("006A", RESOLVED), ("QB:12", STANDING)}
    saved, _ = track([NO_ITEM], None, run_id="r9", now=T0, considered=set())
    _, retried = track([NO_ITEM], saved, run_id="r9", now=T0, considered=set())
    assert states(retried) == {("006A", NEW)}


def test_given_many_warnings_when_applied_to_a_report_then_each_state_is_capped_and_counted():
    """R-OPS-2/3: every state is counted; at most MAX_LISTED_WARNINGS of each are listed, new first."""
    many = [
        warning("invoices", f"QB:Invoice:{i}", "no Account", "note")
        for i in range(MAX_LISTED_WARNINGS + 5)
    ]
    saved, listed = track(many, None, run_id="r1", now=T0, considered=set())
    report = apply_to_report(
        {"area": "invoices", "records": {}, "warnings": many, "considered": ["x"]}, listed
    )
    assert report["warning_counts"] == {NEW: MAX_LISTED_WARNINGS + 5, STANDING: 0, RESOLVED: 0}
    assert report["warning_count"] == MAX_LISTED_WARNINGS + 5
    assert len(report["warnings"]) == MAX_LISTED_WARNINGS and "considered" not in report
    assert len(saved["open"]) == MAX_LISTED_WARNINGS + 5
