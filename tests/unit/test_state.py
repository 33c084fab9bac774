"""Sync state in Variables: watermarks, install date, flags, show and reset (R-GEN-2/6, R-OPS-5)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sfqb.state import InMemoryVariables, SyncState

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def test_given_no_watermark_when_committed_then_it_is_stored_as_utc_json():
    """R-GEN-2: the watermark is committed (by the area's commit task) as a visible Variable."""
    backend = InMemoryVariables()
    state = SyncState(backend)
    assert state.watermark("quickbooks.Customer") is None
    state.commit_watermark("quickbooks.Customer", T0, run_id="r1", now=T0)
    assert state.watermark("quickbooks.Customer") == T0
    assert json.loads(backend.data["sfqb.watermark.quickbooks.Customer"])["run_id"] == "r1"


def test_given_a_newer_watermark_when_an_older_run_commits_then_it_does_not_move_back():
    """R-GEN-2 / docs/architecture.md section 2: a retried or late run never moves a watermark backwards."""
    state = SyncState(InMemoryVariables())
    state.commit_watermark("salesforce.Account", T0, run_id="new", now=T0)
    kept = state.commit_watermark(
        "salesforce.Account", T0 - dt.timedelta(hours=1), run_id="old", now=T0
    )
    assert kept == T0
    assert state.watermark("salesforce.Account") == T0


def test_given_first_run_when_install_date_ensured_then_the_run_start_is_recorded_once():
    """R-GEN-6: the install date is the first run's start unless sync_start is configured."""
    state = SyncState(InMemoryVariables())
    assert state.ensure_install_date(configured=None, first_run_start=T0) == T0
    later = T0 + dt.timedelta(days=3)
    assert state.ensure_install_date(configured=None, first_run_start=later) == T0
    configured = T0 - dt.timedelta(days=30)
    assert state.ensure_install_date(configured=configured, first_run_start=later) == configured
    assert state.install_date() == configured


def test_given_state_when_reset_by_target_then_only_that_piece_goes():
    """R-OPS-5: an operator resets one stream, the matching flag, or everything."""
    backend = InMemoryVariables({"sfqb.preferences": "{}"})
    state = SyncState(backend)
    state.commit_watermark("quickbooks.Customer", T0, run_id="r", now=T0)
    state.commit_watermark("salesforce.Account", T0, run_id="r", now=T0)
    state.mark_first_run_done("matching", run_id="r", now=T0, details={"linked": 3})
    state.save_migration({"status": "done"})

    assert state.reset("quickbooks.Customer") == ["sfqb.watermark.quickbooks.Customer"]
    assert state.watermark("salesforce.Account") == T0
    assert state.reset("matching") == ["sfqb.first_run.matching"]
    assert state.first_run_done("matching") is None
    assert set(state.show()) == {"sfqb.watermark.salesforce.Account", "sfqb.migration"}
    state.reset()
    assert state.show() == {}
    assert backend.data == {"sfqb.preferences": "{}"}  # configuration is never state


def test_given_warnings_and_a_first_export_when_reset_then_each_goes_alone():
    """R-OPS-5, R-OPS-3, R-GEN-6: the open warnings and alert times reset together; the
    customers' first-run export resets by its name; neither touches the watermarks."""
    state = SyncState(InMemoryVariables())
    state.commit_watermark("quickbooks.Customer", T0, run_id="r", now=T0)
    state.save_warnings("customers", {"open": {"a1": {"key": "QB:1"}}, "resolved": {}})
    state.save_alerts({"last_digest_at": None, "alerted": {"a1": T0.isoformat()}})
    state.mark_first_run_done("customers.export", run_id="r", now=T0)
    assert set(state.show()) == {
        "sfqb.watermark.quickbooks.Customer",
        "sfqb.warnings.customers",
        "sfqb.alerts",
        "sfqb.first_run.customers.export",
    }
    assert sorted(state.reset("warnings")) == ["sfqb.alerts", "sfqb.warnings.customers"]
    assert state.reset("customers.export") == ["sfqb.first_run.customers.export"]
    assert list(state.show()) == ["sfqb.watermark.quickbooks.Customer"]
    state.save_warnings("items", {"open": {}, "resolved": {}})  # nothing open: no Variable
    assert "sfqb.warnings.items" not in state.show()


def test_given_unknown_target_when_reset_then_the_error_lists_what_exists():
    """R-OPS-5: a typo in a reset does not silently do nothing."""
    state = SyncState(InMemoryVariables())
    state.commit_watermark("quickbooks.Item", T0, run_id="r", now=T0)
    with pytest.raises(KeyError, match="sfqb.watermark.quickbooks.Item"):
        state.reset("quickbooks.Itme")


def test_given_failed_records_when_saved_then_the_next_run_sees_them_until_cleared():
    """R-GEN-5: a failed record is retried on the next run, whatever its timestamp."""
    state = SyncState(InMemoryVariables())
    state.save_retries("salesforce.Account", ["001B", "001A", "001A"], run_id="r1")
    assert state.retries("salesforce.Account") == ["001A", "001B"]
    assert "sfqb.retry.salesforce.Account" in state.show()
    state.save_retries("salesforce.Account", [], run_id="r2")
    assert state.retries("salesforce.Account") == []
    assert state.show() == {}


HOUR = dt.timedelta(hours=1)


def _fail_hourly(state: SyncState, stream: str, ids: list[str], runs: int) -> list[list[str]]:
    """Hourly runs from T0 in which ``ids`` fail whenever they are read: what each run read."""
    read = []
    for n in range(runs):
        at = T0 + n * HOUR
        due = state.retries(stream, at=at)
        read.append(due)
        state.save_retries(
            stream, [i for i in ids if i in due] if n else ids, run_id=f"r{n}", at=at
        )
    return read


def test_given_a_record_failing_every_run_when_runs_go_on_hourly_then_it_is_retried_less_often():
    """R-GEN-5: the next run always retries a failed record; one that keeps failing
    unchanged waits 2 h, 4 h, 8 h ... at most a day, so a quiet run does not re-read it hourly."""
    state = SyncState(InMemoryVariables())
    read = _fail_hourly(state, "salesforce.Opportunity", ["006A"], runs=48)
    retried_at = [n for n, ids in enumerate(read) if ids]
    assert retried_at == [1, 3, 7, 15, 31]  # failed at 0; the next run, then +2 h, +4, +8, +16
    assert state.retries("salesforce.Opportunity", at=T0 + 55 * HOUR) == ["006A"]  # then daily
    assert state.retries("salesforce.Opportunity") == ["006A"]  # never dropped: nothing is lost


def test_given_a_waiting_record_when_another_fails_then_both_are_kept_with_their_own_counts():
    """R-GEN-5: a record not due yet stays in the list when the run saves its own failures, and
    one that went through when retried is dropped."""
    state = SyncState(InMemoryVariables())
    stream = "quickbooks.Customer"
    state.save_retries(stream, ["A", "B"], run_id="r0", at=T0)
    state.save_retries(stream, ["A"], run_id="r1", at=T0 + HOUR)  # A failed again, B went through
    assert state.retries(stream) == ["A"]
    assert state.retries(stream, at=T0 + 2 * HOUR) == []  # A waits 2 h after its second failure
    state.save_retries(stream, ["C"], run_id="r2", at=T0 + 2 * HOUR)
    assert state.retries(stream) == ["A", "C"]
    assert state.retries(stream, at=T0 + 3 * HOUR) == ["A", "C"]


def test_given_the_list_saved_before_backoff_when_read_then_every_record_is_due():
    """R-GEN-5: state written by an older sfqb (``{"ids": [...]}``) still retries every record."""
    backend = InMemoryVariables(
        {"sfqb.retry.quickbooks.Item": json.dumps({"ids": ["7", "9"], "run_id": "r"})}
    )
    assert SyncState(backend).retries("quickbooks.Item", at=T0) == ["7", "9"]


def test_given_linked_records_when_added_for_a_reread_then_they_are_due_and_not_counted_as_failures():
    """R-PRE-6: records the first-run matching linked are read again by the next export."""
    state = SyncState(InMemoryVariables())
    state.save_retries("quickbooks.Item", ["1"], run_id="r0", at=T0)
    state.save_retries("quickbooks.Item", ["1"], run_id="r1", at=T0 + HOUR)
    state.add_retries("quickbooks.Item", ["1", "2"], run_id="m")
    assert state.retries("quickbooks.Item", at=T0 + 2 * HOUR) == ["2"]


def test_given_creates_sent_when_saved_then_they_are_state_until_cleared():
    """R-GEN-3: the customers QuickBooks was asked to create stay known (shown by ``state show``)
    until their links are recorded, so an interrupted load's customers can be adopted."""
    state = SyncState(InMemoryVariables())
    state.save_pending_creates("customers", {"001B": "Beta", "001A": "Alpha"}, run_id="r1")
    assert state.pending_creates("customers") == {"001A": "Alpha", "001B": "Beta"}
    assert "sfqb.pending.customers" in state.show()
    state.save_pending_creates("customers", {}, run_id="r2")
    assert state.pending_creates("customers") == {} and state.show() == {}


def test_given_invoices_waiting_when_a_run_reads_some_again_then_only_theirs_are_replaced():
    """R-INV-7: the waiting list keeps customer -> invoices; a run that read an invoice replaces
    what it waits on (nothing once it has its Account); the others keep waiting; an empty list
    removes the state."""
    state = SyncState(InMemoryVariables())
    stream = "quickbooks.Invoice@invoices"
    state.save_waiting(
        stream, {"5": ["61", "284"], "7": ["64"]}, read=["61", "284", "64"], run_id="r1"
    )
    assert state.waiting(stream) == {"5": ["284", "61"], "7": ["64"]}
    state.save_waiting(stream, {"8": ["64"]}, read=["64", "99"], run_id="r2")
    assert state.waiting(stream) == {"5": ["284", "61"], "8": ["64"]}
    assert "sfqb.waiting." + stream in state.show()
    state.save_waiting(stream, {}, read=["61", "284", "64"], run_id="r3")
    assert state.waiting(stream) == {} and state.show() == {}


def test_given_invoices_waiting_when_the_watermarks_are_reset_then_the_waiting_list_goes_too():
    """R-OPS-5: ``state reset watermarks`` (and of the stream) re-reads everything since the
    install date, so the waiting list is reset with the watermarks."""
    state = SyncState(InMemoryVariables())
    stream = "quickbooks.Invoice@invoices"
    state.save_waiting(stream, {"5": ["61"]}, read=[], run_id="r1")
    assert state.reset(stream) == ["sfqb.waiting." + stream]
    state.save_waiting(stream, {"5": ["61"]}, read=[], run_id="r1")
    assert state.reset("watermarks") == ["sfqb.waiting." + stream]
