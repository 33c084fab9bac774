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
    """R-GEN-2 / ARCHITECTURE: a retried or late run never moves a watermark backwards."""
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
