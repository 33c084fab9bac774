"""QuickBooks Desktop's clock as its answers show it (``DesktopClock``, the adapter's ``clock``).

QuickBooks stamps every edit with the company PC's clock (``TimeModified``), and the sync's
comparisons with those stamps (R-ACC-5's Last Sync Date, R-GEN-2's watermarks) must be on that
clock: a time from the server's clock is later than the PC's when the PC runs behind, and an
edit made in between would look older than the sync's read of the record and be missed.

qbXML answers carry no time of their own, but every ``TimeCreated``, ``TimeModified`` and
``TimeDeleted`` in them is an instant the PC's clock had passed when it answered. So:

- ``seen`` / ``first_since``: after each answer, the latest such time in this adapter's answers
  so far, or the bound ``now()`` had when a read's job was queued if that is later: a lower
  bound of the PC's time when that answer was made (the answers come in the order QuickBooks
  made them, after their jobs were queued). What a read returned is stamped and its watermark
  committed on it. A quiet company's bound is its last edit: the next window reads again the
  records edited in the lookback before it, and the loads compare values, so that costs the
  records read again.
- ``now()``: that latest time, or the latest any adapter saw (kept in the queue's meta,
  ``quickbooks_time``, so a task that read nothing yet starts from it), moved on by the time
  elapsed since it was seen (``time.monotonic``: a step of the server's clock does not move it):
  never ahead of the PC's time now, however far the two clocks disagree.
- Between tasks (``carried``): the meta keeps with that time when the service stored its answer
  (the job's ``updated_at``, the service's clock), and a later task moves it on by the time the
  service's clock has passed since, as far as the Web Connector's last poll shows it
  (``last_poll``, also the service's clock; before the task queues anything), less 1% and a
  minute (``DRIFT``, ``SLACK``: a PC clock running slow, the service's clock slewed). Without
  it a quiet company's bound would stay at its last edit, and every run would read again the
  records edited in the lookback before it: after a first sync, the thousands sfqb wrote.
  The two times of the move are on one clock, the service's, whatever the workers' clocks say.

A time too early only makes the next run read a few records again; one too late loses an edit.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable

from lxml import etree

TIME_TAGS = ("TimeCreated", "TimeModified", "TimeDeleted")
META_KEY = "quickbooks_time"
"""The queue meta key of the latest QuickBooks time any adapter saw and when the service stored
its answer (``saved_time``: JSON ``{"time": ISO, "stored_at": ISO | null}``; a bare ISO time
from before ``stored_at`` was kept is read as a time without it)."""
DRIFT = 0.01
"""The share of the service's elapsed time a move between tasks leaves out (``carried``)."""
SLACK = dt.timedelta(minutes=1)
"""The time a move between tasks leaves out besides (``carried``)."""


def instant(value: object) -> dt.datetime | None:
    """A qbXML date-time with its offset, in UTC; None when absent, naive or not a time."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.astimezone(dt.UTC) if moment.tzinfo is not None else None


def latest_time(root: etree._Element) -> dt.datetime | None:
    """The latest QuickBooks time stamped anywhere in an answer (``TIME_TAGS``)."""
    times = [t for t in (instant(el.text) for el in root.iter(*TIME_TAGS)) if t is not None]
    return max(times) if times else None


def saved_time(time_: dt.datetime, stored_at: str | None) -> str:
    """The meta's value (``META_KEY``): QuickBooks' time and when the service stored the answer
    that showed it (None: unknown, the time is not moved on between tasks)."""
    return json.dumps({"time": time_.isoformat(), "stored_at": stored_at})


def carried(saved: str | None, service_now: dt.datetime | None) -> dt.datetime | None:
    """The PC's time, a lower bound, when the service's clock reads ``service_now``: the saved
    time moved on by the service's time since its answer was stored, less ``DRIFT`` of it and
    ``SLACK``; not moved without both service times; None without a saved time.

    The saved time was stamped by the PC before it answered and the answer stored after, so the
    PC had passed it when the service's clock read ``stored_at``; since then both clocks ran on
    by the same time, give or take the PC's drift (``DRIFT``) and the service's corrections
    (``SLACK``). ``service_now`` earlier than ``stored_at`` (a clock set back) moves nothing."""
    if saved is None:
        return None
    try:
        value = json.loads(saved)
    except ValueError:
        value = {"time": saved}  # a bare ISO time, as kept before ``stored_at`` was
    if not isinstance(value, dict):
        value = {"time": saved}
    moment, stored = instant(value.get("time")), instant(value.get("stored_at"))
    if moment is None or stored is None or service_now is None:
        return moment
    elapsed = (service_now.astimezone(dt.UTC) - stored) * (1 - DRIFT) - SLACK
    return moment + max(elapsed, dt.timedelta(0))


class DesktopClock:
    """The company PC's time as lower bounds (module docstring): ``now()``, ``seen`` and
    ``first_since`` as the ``Clock`` protocol has them. ``load``/``save`` read and keep the
    latest time in the queue's meta (``saved_time``), ``service_now`` the service's latest time
    (the Web Connector's last poll) to move it on by (``carried``); ``monotonic`` measures the
    time elapsed since."""

    def __init__(
        self,
        *,
        load: Callable[[], str | None] = lambda: None,
        save: Callable[[str], None] = lambda value: None,
        service_now: Callable[[], dt.datetime | None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
        worker_now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._load, self._save, self._service_now = load, save, service_now
        self._monotonic, self._worker_now = monotonic, worker_now
        self._base: tuple[dt.datetime, float] | None = None
        self._latest: dt.datetime | None = None
        self._loaded = False
        self._lock = threading.Lock()
        self.seen: list[dt.datetime | None] = []
        """After each answer, the latest time in this adapter's answers so far (None: none)."""

    def _bound(self) -> dt.datetime | None:
        if self._base is None and not self._loaded:
            self._loaded = True
            saved = self._load()
            known = carried(saved, self._service_now()) if saved is not None else None
            if known is not None:
                self._base = (known, self._monotonic())
        if self._base is None:
            return None
        moment, at = self._base
        return moment + dt.timedelta(seconds=max(0.0, self._monotonic() - at))

    def bound(self) -> dt.datetime | None:
        """``now()`` without the worker's clock: None while no QuickBooks time was ever seen.
        Taken before a job is queued, it is a lower bound of the PC's time when the job is
        answered (``observe``'s ``floor``)."""
        with self._lock:
            return self._bound()

    def observe(
        self,
        root: etree._Element,
        floor: dt.datetime | None = None,
        stored_at: str | None = None,
    ) -> None:
        """Note one answer (a parsed qbXML page, in the order QuickBooks made them): ``seen``
        gets the latest time of this adapter's answers so far, or ``floor`` (``bound()`` when
        the job was queued) when that is later; a time later than ``now()`` moves it on and is
        kept in the queue's meta with ``stored_at``, when the service stored the answer (the
        job's ``updated_at``)."""
        latest = latest_time(root)
        with self._lock:
            if latest is not None and (self._latest is None or latest > self._latest):
                self._latest = latest
            known = [t for t in (self._latest, floor) if t is not None]
            self.seen.append(max(known) if known else None)
            bound = self._bound()
            if latest is not None and (bound is None or latest > bound):
                self._base = (latest, self._monotonic())
                self._save(saved_time(latest, stored_at))

    def first_since(self, mark: int) -> dt.datetime | None:
        """QuickBooks' time at the first answer after ``mark`` (``len(clock.seen)`` taken
        before): the latest time in this adapter's answers up to it; None when there was no
        answer, or no time in any answer yet."""
        return self.seen[mark] if len(self.seen) > mark else None

    def now(self) -> dt.datetime:
        """The PC's time now, never ahead of it; the worker's clock only while no QuickBooks time
        was ever seen (a company sfqb has read nothing with a time from)."""
        with self._lock:
            bound = self._bound()
        return bound if bound is not None else self._worker_now().astimezone(dt.UTC)


def write_offset(answers: list[etree._Element], stored_at: str) -> dt.timedelta | None:
    """How far the PC's clock is ahead of the service's (negative: behind), as a write job's
    answers show it: the latest time QuickBooks stamped in them (the records it just wrote, at
    most a second before it answered) minus when the service stored the answer, ``stored_at``
    (the job's ``updated_at``). The answer's way back makes it smaller than the truth by that
    journey, seconds. None without a stamped record (every write refused)."""
    times = [t for t in (latest_time(rs) for rs in answers) if t is not None]
    stored = instant(stored_at)
    return max(times) - stored if times and stored is not None else None
