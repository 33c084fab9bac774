"""Intuit's clock as QuickBooks' answers show it (``ServerClock``), with a fake worker clock."""

from __future__ import annotations

import datetime as dt

import pytest

from sfqb.hooks.quickbooks import ServerClock

pytestmark = pytest.mark.unit

WORKER = dt.datetime(2026, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def test_given_answers_from_a_clock_two_minutes_behind_when_asked_now_then_it_is_intuits_time():
    """R-GEN-7, R-ACC-5: the worker's clock runs two minutes ahead of Intuit's; after answers
    stamped on Intuit's clock, ``now()`` is Intuit's time (the largest offset seen: an answer
    that spent longer on the way does not pull the estimate back)."""
    worker = [WORKER]
    clock = ServerClock(lambda: worker[0])
    assert clock.now() == WORKER  # nothing seen yet: the worker's own clock
    clock.observe("2026-05-01T04:58:00.000-07:00")  # 11:58:00Z, received at once
    worker[0] += dt.timedelta(seconds=5)
    clock.observe("2026-05-01T11:57:59.500Z")  # 4.5 s late on the way: a smaller offset
    worker[0] += dt.timedelta(seconds=10)
    assert clock.now() == dt.datetime(2026, 5, 1, 11, 58, 15, tzinfo=dt.UTC)
    assert clock.first_since(0) == dt.datetime(2026, 5, 1, 11, 58, tzinfo=dt.UTC)
    assert clock.first_since(1) == dt.datetime(2026, 5, 1, 11, 57, 59, 500000, tzinfo=dt.UTC)
    assert clock.first_since(2) is None


def test_given_an_answer_without_a_usable_time_when_observed_then_it_is_ignored():
    """api-notes 2.2: a missing, numeric (the fault body's epoch millis) or naive ``time``
    changes nothing."""
    clock = ServerClock(lambda: WORKER)
    for value in (None, 1633520295688, "not a time", "2026-05-01T11:00:00"):
        clock.observe(value)
    assert clock.seen == [] and clock.now() == WORKER
