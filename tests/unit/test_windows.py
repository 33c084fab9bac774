"""Extract windows: [watermark - lookback, upper bound), install date floor, backfills (R-GEN-2/6)."""

from __future__ import annotations

import datetime as dt

import pytest

from sfqb.windows import BACKFILL, INCREMENTAL, RESYNC, Window, plan_window

pytestmark = pytest.mark.unit

UPPER = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
INSTALL = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
LOOKBACK = dt.timedelta(minutes=10)


def test_given_no_watermark_when_planned_then_the_window_starts_at_the_install_date():
    """R-GEN-6: the first run reads everything changed since the install date."""
    window = plan_window(upper_bound=UPPER, install_date=INSTALL, watermark=None, lookback=LOOKBACK)
    assert (window.start, window.end, window.mode) == (INSTALL, UPPER, INCREMENTAL)
    assert window.commits


def test_given_a_watermark_when_planned_then_the_window_reaches_back_by_the_lookback():
    """R-GEN-2: only what changed since the watermark (minus the lookback) up to the run's bound."""
    watermark = UPPER - dt.timedelta(hours=1)
    window = plan_window(
        upper_bound=UPPER, install_date=INSTALL, watermark=watermark, lookback=LOOKBACK
    )
    assert window.start == watermark - LOOKBACK
    assert window.end == UPPER


def test_given_a_backfill_interval_when_planned_then_it_is_read_and_never_committed():
    """docs/architecture.md section 2: a backfill re-syncs its own interval and never moves a watermark."""
    start = dt.datetime(2026, 5, 20, 10, tzinfo=dt.UTC)
    end = start + dt.timedelta(hours=1)
    window = plan_window(
        upper_bound=UPPER,
        install_date=INSTALL,
        watermark=UPPER,
        lookback=LOOKBACK,
        backfill_interval=(start, end),
    )
    assert (window.start, window.end, window.mode) == (start - LOOKBACK, end, BACKFILL)
    assert not window.commits


def test_given_a_backfill_before_the_install_date_when_planned_then_nothing_is_read():
    """R-GEN-6: nothing older than the install date is pulled, backfill or not."""
    start = INSTALL - dt.timedelta(days=7)
    assert (
        plan_window(
            upper_bound=UPPER,
            install_date=INSTALL,
            watermark=None,
            lookback=LOOKBACK,
            backfill_interval=(start, start + dt.timedelta(hours=1)),
        )
        is None
    )


def test_given_a_resync_date_when_planned_then_it_reads_from_there_without_committing():
    """R-OPS-1: a full resync of one area from a date."""
    since = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    window = plan_window(
        upper_bound=UPPER,
        install_date=INSTALL,
        watermark=UPPER,
        lookback=LOOKBACK,
        resync_from=since,
    )
    assert (window.start, window.mode, window.commits) == (since, RESYNC, False)


def test_given_a_window_when_sent_through_xcom_then_it_comes_back_equal():
    """The window travels from extract to commit by XCom (docs/architecture.md section 2)."""
    window = Window(INSTALL, UPPER)
    assert Window.from_xcom(window.to_xcom()) == window


def test_given_naive_or_inverted_bounds_when_built_then_rejected():
    """Windows are half-open and timezone-aware: a bug here must not read the wrong slice."""
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(dt.datetime(2026, 1, 1), UPPER)
    with pytest.raises(ValueError, match="empty window"):
        Window(UPPER, INSTALL)


def _committed(read_at: dt.datetime | None, *, watermark: dt.datetime | None = None) -> dict:
    from sfqb.state import InMemoryVariables, SyncState
    from sfqb.steps.common import commit_windows, read_on_quickbooks_clock

    state = SyncState(InMemoryVariables())
    if watermark is not None:
        state.commit_watermark("qb", watermark, run_id="before", now=UPPER)
    window = Window(UPPER - dt.timedelta(hours=1), UPPER).to_xcom()
    windows = read_on_quickbooks_clock({"qb": window, "sf": window}, ["qb"], read_at)
    commit_windows({"run_id": "run"}, windows, state)  # type: ignore[arg-type]
    return {stream: state.watermark(stream) for stream in ("qb", "sf")}


def test_given_quickbooks_answered_before_the_window_end_when_committed_then_the_watermark_stops_there():
    """R-GEN-2: QuickBooks' clock (on Desktop the company PC's) is an hour behind the scheduler's.
    The QuickBooks stream's watermark moves to QuickBooks' time of the read, not to the window's
    end, so an edit QuickBooks stamps after the read is in the next window; a Salesforce
    stream's moves to the end as before."""
    read_at = UPPER - dt.timedelta(minutes=61)
    assert _committed(read_at) == {"qb": read_at, "sf": UPPER}


def test_given_quickbooks_answered_after_the_window_end_when_committed_then_the_watermark_is_the_end():
    """R-GEN-2: with clocks that agree, QuickBooks answers after the run's upper bound: the
    watermark moves to the window's end, as it always did."""
    assert _committed(UPPER + dt.timedelta(seconds=3)) == {"qb": UPPER, "sf": UPPER}


def test_given_quickbooks_time_of_the_read_unknown_when_committed_then_the_watermark_stays():
    """R-GEN-2: nothing in the answers showed QuickBooks' time (a Desktop company sfqb never
    read a stamped record from): the QuickBooks stream's watermark does not move, and the next
    window reads from the same start."""
    before = UPPER - dt.timedelta(hours=5)
    assert _committed(None, watermark=before) == {"qb": before, "sf": UPPER}
