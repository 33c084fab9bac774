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
