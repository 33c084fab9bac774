"""QuickBooks Desktop's clock as its answers show it (``DesktopClock``), with fake clocks."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from sfqb.hooks.desktop.clock import DesktopClock, carried, latest_time, saved_time

pytestmark = pytest.mark.unit

SERVER = dt.datetime(2026, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def answer(*stamps: str) -> etree._Element:
    """A CustomerQueryRs page with one CustomerRet per stamp (TimeCreated an hour earlier)."""
    rets = "".join(
        f"<CustomerRet><ListID>{i}</ListID><TimeCreated>2026-04-01T00:00:00-07:00</TimeCreated>"
        f"<TimeModified>{stamp}</TimeModified></CustomerRet>"
        for i, stamp in enumerate(stamps)
    )
    return etree.fromstring(
        f'<QBXML><QBXMLMsgsRs><CustomerQueryRs statusCode="0">{rets}</CustomerQueryRs>'
        "</QBXMLMsgsRs></QBXML>"
    )


class Fake:
    """The server's clocks: wall (an hour ahead of the PC's) and monotonic; the queue meta."""

    def __init__(self, meta: str | None = None, last_poll: dt.datetime | None = None) -> None:
        self.wall, self.mono, self.meta, self.last_poll = SERVER, 100.0, meta, last_poll
        self.saved: list[str] = []

    def clock(self) -> DesktopClock:
        return DesktopClock(
            load=lambda: self.meta,
            save=self.save,
            service_now=lambda: self.last_poll,
            monotonic=lambda: self.mono,
            worker_now=lambda: self.wall,
        )

    def save(self, value: str) -> None:
        self.meta = value
        self.saved.append(value)

    def wait(self, seconds: float) -> None:
        self.wall += dt.timedelta(seconds=seconds)
        self.mono += seconds


def test_given_a_pc_clock_an_hour_behind_when_answers_come_then_times_are_the_pcs_never_ahead():
    """R-ACC-5, R-GEN-2, R-GEN-7: the PC's clock is an hour behind the server's. The time at an
    answer is the latest TimeModified seen so far (offsets and zones as QuickBooks wrote them);
    ``now()`` moves it on by the time elapsed since, not by the server's clock."""
    fake = Fake()
    clock = fake.clock()
    clock.observe(answer("2026-05-01T03:58:00-07:00", "2026-05-01T03:30:00-07:00"))  # 10:58Z
    fake.wait(30)
    clock.observe(answer("2026-05-01T10:20:00+00:00"))  # older: the bound stays
    fake.wait(15)
    assert clock.seen == [dt.datetime(2026, 5, 1, 10, 58, tzinfo=dt.UTC)] * 2
    assert clock.first_since(1) == dt.datetime(2026, 5, 1, 10, 58, tzinfo=dt.UTC)
    assert clock.first_since(2) is None
    assert clock.now() == dt.datetime(2026, 5, 1, 10, 58, 45, tzinfo=dt.UTC)
    assert clock.now() < fake.wall - dt.timedelta(minutes=59)
    assert fake.saved == [saved_time(dt.datetime(2026, 5, 1, 10, 58, tzinfo=dt.UTC), None)]


def test_given_a_server_clock_step_when_asked_now_then_only_monotonic_time_counts():
    """R-ACC-5: the server's wall clock steps a day ahead (NTP, a wrong manual setting): the
    PC's time from the answers does not jump with it."""
    fake = Fake()
    clock = fake.clock()
    clock.observe(answer("2026-05-01T11:00:00+00:00"))
    fake.wall += dt.timedelta(days=1)
    fake.mono += 2
    assert clock.now() == dt.datetime(2026, 5, 1, 11, 0, 2, tzinfo=dt.UTC)


def test_given_an_answer_without_times_first_when_asked_then_unknown_until_a_time_is_seen():
    """R-GEN-2: an answer with no record (nothing changed in a window) shows no time: the
    first read's time is unknown (the watermark stays); an earlier adapter's time from the
    queue's meta serves ``now()`` but never a read's time, which must be this task's own."""
    fake = Fake(meta="2026-05-01T10:00:00+00:00")
    clock = fake.clock()
    clock.observe(answer())
    assert clock.seen == [None] and clock.first_since(0) is None
    fake.wait(60)
    assert clock.now() == dt.datetime(2026, 5, 1, 10, 1, tzinfo=dt.UTC)
    clock.observe(answer("2026-05-01T09:00:00+00:00"))  # older than the meta: not saved
    assert clock.first_since(1) == dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
    assert fake.saved == []


def test_given_no_time_ever_seen_when_asked_now_then_the_servers_clock():
    """R-GEN-7: a company sfqb never read a stamped record from, and an empty meta: ``now()``
    is the server's clock (nothing better is known)."""
    fake = Fake()
    assert fake.clock().now() == SERVER


def test_given_odd_values_when_the_latest_time_is_taken_then_they_are_skipped():
    """api-notes 8.4: naive or malformed date-times in an answer are ignored; the latest time
    of those with an offset counts (a later wall time in an earlier zone is earlier)."""
    root = etree.fromstring(
        "<QBXML><TimeModified>2026-05-01T12:00:00</TimeModified>"
        "<TimeModified>not a time</TimeModified><TimeDeleted>2026-05-01T09:00:00-07:00</TimeDeleted>"
        "<TimeCreated>2026-05-01T17:00:00+02:00</TimeCreated></QBXML>"
    )
    assert latest_time(root) == dt.datetime(2026, 5, 1, 16, 0, tzinfo=dt.UTC)


def test_given_a_write_answered_by_a_pc_15_minutes_behind_when_measured_then_the_offset_is_kept_and_said():
    """R-QBD-8: a write's answer stamps the record QuickBooks just wrote on the PC's clock; the
    service stored it 15 minutes and 2 seconds later by its own. The offset is kept as JSON and
    read back; beyond two minutes it is a sentence saying which way and what it costs, within
    two minutes nothing is said."""
    from sfqb.hooks.desktop.clock import write_offset
    from sfqb.qbwc.status import offset_note, offset_text, saved_offset

    stored = "2026-05-01T11:15:02.000000+00:00"
    offset = write_offset([answer("2026-05-01T04:00:00-07:00")], stored)
    assert offset == -dt.timedelta(minutes=15, seconds=2)
    kept = saved_offset(offset_note(offset, stored))
    assert kept == {"seconds": -902.0, "measured_at": stored, "warning": offset_text(-902.0)}
    assert saved_offset(None) is None and saved_offset("{not json") is None
    said = offset_text(-902.0)
    assert said is not None and "about 15 minutes behind" in said and "not read" in said
    assert "3.0 hours ahead of" in (offset_text(3 * 3600.0) or "")
    assert offset_text(-100.0) is None and offset_text(119.0) is None
    assert write_offset([answer()], stored) is None  # nothing stamped: every write refused


def test_given_a_read_queued_after_a_later_time_was_seen_when_its_old_records_come_then_its_time_is_that_bound():
    """R-GEN-2: an earlier task saw QuickBooks' time 10:00 (the queue's meta); a read queued a
    minute later answers only records last edited weeks ago. Its time is the bound when it was
    queued (10:01), not the old records' latest stamp: the watermark does not fall back to
    weeks ago and make every run read those records again; with nothing known, still None."""
    fake = Fake(meta="2026-05-01T10:00:00+00:00")
    clock = fake.clock()
    assert clock.bound() == dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)
    fake.wait(60)
    asked = clock.bound()
    clock.observe(answer("2026-04-10T09:00:00+00:00"), asked)
    assert clock.first_since(0) == dt.datetime(2026, 5, 1, 10, 1, tzinfo=dt.UTC)
    assert Fake().clock().bound() is None


def test_given_a_quiet_hour_since_the_last_answer_when_a_new_task_starts_then_its_bound_moved_on():
    """R-GEN-2, R-ACC-5: the last task saw QuickBooks' time 10:00 in an answer the service
    stored at 11:00:05 by its own clock (an hour ahead of the PC's); the Web Connector last
    polled at 12:00:05. A new task's bound is 10:00 moved on by that hour, less 1% and a minute
    (10:58:24): the next window does not read again the records edited before 10:00. It moves
    on from there by the task's own monotonic time, and what it sees later is kept with when
    the service stored it."""
    stored = "2026-05-01T11:00:05+00:00"
    meta = saved_time(dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC), stored)
    fake = Fake(meta=meta, last_poll=dt.datetime(2026, 5, 1, 12, 0, 5, tzinfo=dt.UTC))
    clock = fake.clock()
    assert clock.bound() == dt.datetime(2026, 5, 1, 10, 58, 24, tzinfo=dt.UTC)
    fake.wait(30)
    asked = clock.bound()
    assert asked == dt.datetime(2026, 5, 1, 10, 58, 54, tzinfo=dt.UTC)
    clock.observe(answer("2026-04-10T09:00:00+00:00"), asked, "2026-05-01T12:00:40+00:00")
    assert clock.first_since(0) == asked and fake.saved == []
    clock.observe(answer("2026-05-01T11:00:00+00:00"), asked, "2026-05-01T12:01:00+00:00")
    assert fake.saved == [
        saved_time(dt.datetime(2026, 5, 1, 11, 0, tzinfo=dt.UTC), "2026-05-01T12:01:00+00:00")
    ]


def test_given_service_times_missing_or_set_back_when_carried_then_the_saved_time_is_not_moved():
    """R-GEN-2: a time kept before the service's were (a bare ISO time), a saved answer without
    its service time, no poll yet, or a service clock set back behind the stored answer: the
    saved time stays where it was (too early only reads records again; too late loses an
    edit). Within the slack of a minute nothing moves either."""
    ten = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)
    poll = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
    assert carried(None, poll) is None
    assert carried("2026-05-01T10:00:00+00:00", poll) == ten
    assert carried(saved_time(ten, None), poll) == ten
    assert carried(saved_time(ten, "2026-05-01T11:00:00+00:00"), None) == ten
    assert carried(saved_time(ten, "2026-05-01T13:00:00+00:00"), poll) == ten
    assert carried(saved_time(ten, "2026-05-01T11:59:05+00:00"), poll) == ten
    assert carried("[1, 2]", poll) is None and carried("not json", poll) is None
