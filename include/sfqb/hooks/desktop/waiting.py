"""Waiting for the Web Connector: is it polling (R-QBD-2), and a job's wait (the seam).

- ``check_polling``: pure; the Web Connector's last poll against the allowed age. A Desktop
  company is only reached when the Web Connector polls, so a run that queued work while it is
  not running would only wait for its deadline: the run fails before writing instead, saying
  so and when it last polled, and nothing is queued (the next run picks up).
- ``poll_wait``: the one function that waits for a queued job. Today a poll loop in the task
  (the worker slot stays taken while the Web Connector works); a reschedule-mode sensor or a
  deferrable trigger can take its place later without the adapter changing: the adapter
  calls whatever ``Waiter`` it was given (docs/quickbooks-desktop.md, "Waiting").
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator

from sfqb.hooks.errors import SyncServiceError, TransientError
from sfqb.qbwc.queue import DONE, FAILED, IDLE, IN_DOUBT, QUEUED, WRONG_COMPANY, Job, JobQueue
from sfqb.qbwc.settings import DEFAULT_MAX_POLL_MINUTES
from sfqb.qbwc.status import OFFSET_KEY, age_text, saved_offset

DEFAULT_MAX_POLL_AGE = dt.timedelta(minutes=DEFAULT_MAX_POLL_MINUTES)
"""How long since the last poll the Web Connector still counts as running (the connection's
extra ``max_poll_minutes`` overrides it)."""
SETTLED = (DONE, FAILED, IN_DOUBT)

Waiter = Callable[[JobQueue, int, float], Job]
"""``(queue, job_id, deadline)`` -> the job once settled (``time.monotonic()`` deadline)."""


class WebConnectorNotPolling(SyncServiceError):
    """The Web Connector has not polled within the allowed time: nothing was queued."""


class WrongCompany(SyncServiceError):
    """The Web Connector polls with a company file the connection does not name (R-QBD-1)."""


def company_refusal(queue: JobQueue, since: str) -> str | None:
    """The service's refusal of the company file the Web Connector opened, when its latest
    session (started at or after ``since``, ISO UTC) ended on it; else None."""
    latest = queue.sessions(1)
    if not latest:
        return None
    session = latest[0]
    if session.started_at >= since and (session.error or "").startswith(WRONG_COMPANY):
        return session.error
    return None


def wrong_company(refusal: str) -> WrongCompany:
    """The error of a wait whose Web Connector opened another company (R-QBD-1)."""
    return WrongCompany(
        f"QuickBooks Desktop: the Web Connector opened a company sfqb does not sync: "
        f"{refusal.removeprefix(WRONG_COMPANY)}. Nothing was sent. Open the right "
        "company file on the QuickBooks PC, or correct the connection "
        "quickbooks_desktop_default (extras company_file and edition)."
    )


def check_polling(
    last_poll: dt.datetime | None,
    now: dt.datetime,
    max_age: dt.timedelta = DEFAULT_MAX_POLL_AGE,
    outcome: str = "Nothing was queued",
) -> None:
    """Raise ``WebConnectorNotPolling`` when the last poll is older than ``max_age`` (or there
    never was one), naming when it last polled (R-QBD-2)."""
    if last_poll is not None and now - last_poll <= max_age:
        return
    when = (
        f"it last polled at {last_poll.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC, "
        f"{age_text(now - last_poll)} ago"
        if last_poll is not None
        else "it has never polled sfqb's service"
    )
    raise WebConnectorNotPolling(
        f"QuickBooks Desktop: the Web Connector is not running: {when} (allowed: "
        f"{age_text(max_age)}). {outcome}; start the Web Connector on the QuickBooks PC "
        "(Auto-Run on, a Windows user logged on) and the next run picks up."
    )


def web_connector_status(queue: JobQueue, since: dt.datetime, limit: int = 200) -> dict:
    """What the run summary and the sync log show of the Web Connector (R-QBD-8): its last
    poll, the sessions since ``since`` (the run's start) that had work (``sessions``: refused
    ones included) and the idle polls apart (``idle_polls``: answered "none"), and the sessions
    that ended on an error, newest first, each with its start and the service's message; the
    PC's clock against the service's as the latest write showed it (``pc_clock``). JSON."""
    last = queue.last_poll()
    after = since.astimezone(dt.UTC).isoformat(timespec="microseconds")
    sessions = [s for s in queue.sessions(limit) if s.started_at >= after]
    idle = sum(s.state == IDLE for s in sessions)
    return {
        "last_poll": last.isoformat() if last else None,
        "pc_clock": saved_offset(queue.get_meta(OFFSET_KEY)),
        "sessions": len(sessions) - idle,
        "idle_polls": idle,
        "errors": [
            {"at": s.started_at, "error": s.error, "company_file": s.company_file}
            for s in sessions
            if s.error
        ],
    }


FIRST_LOOK = 0.02
"""Seconds before a wait's second look at its job: a message set takes QuickBooks a fraction of
a second while a session is open, so the first looks come quickly."""
BACKOFF = 1.2
"""Each pause of a wait is this much longer than the one before, up to its ``interval``."""
_EARLY = 0.001
"""Seconds a round may come before the checks' time and still make them (a clock's rounding)."""


def pauses(interval: float, first_look: float = FIRST_LOOK) -> Iterator[float]:
    """A wait's pauses between two looks: ``first_look``, each ``BACKOFF`` times the one before,
    up to ``interval``, then ``interval`` for ever (``poll_wait`` in a worker, the deferred
    wait's trigger in the triggerer). With 5 s: 31 looks in the first 28 s, then one every 5 s."""
    pause = min(first_look, interval)
    while True:
        yield pause
        pause = min(pause * BACKOFF, interval)


def poll_wait(
    queue: JobQueue,
    job_id: int,
    deadline: float,
    *,
    interval: float = 0.5,
    first_look: float = FIRST_LOOK,
    max_poll_age: dt.timedelta | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Job:
    """Poll the job until it is done, failed or in doubt; ``TransientError`` at ``deadline``.

    The pauses between looks start at ``first_look`` and grow by ``BACKOFF`` up to
    ``interval``: a job a lingering session takes is answered within a second (one message set
    of QuickBooks' time), and is seen settled a few tens of milliseconds after its answer, while
    a job waiting for the Web Connector's next update costs one look every ``interval``. A
    quick look reads only the job's state; the checks below run on the first look and then once
    every ``interval`` at most.

    Those checks first end sessions past their expiry (``expire_sessions``), so the writes of a
    Web Connector that went away show as in doubt instead of waiting forever. A job not yet sent
    whose Web Connector's latest session was refused for the company file (R-QBD-1) is
    cancelled and ``WrongCompany`` raised with the service's reason: it would never be sent.
    With ``max_poll_age``, a Web Connector that stops polling while the job waits ends the wait
    the same way, with ``WebConnectorNotPolling`` (R-QBD-2), instead of at the deadline; a
    job already sent is left to its answer or its session's expiry (then in doubt)."""
    pause = pauses(interval, first_look)
    checks_due = monotonic()
    while True:
        checking = monotonic() >= checks_due - _EARLY
        if checking:
            checks_due = monotonic() + interval
            queue.expire_sessions()
        job = queue.get(job_id)
        if job.state in SETTLED:
            return job
        if checking:
            _check_waiting(queue, job, max_poll_age, now)
        if monotonic() >= deadline:
            raise TransientError(
                f"QuickBooks Desktop: job {job_id} ({job.key}) is still {job.state} at the run's "
                "deadline; the Web Connector has not finished it (it stays queued)"
            )
        # never past the next checks' time: they come once an interval, as before the quick looks
        left, next_pause = checks_due - monotonic(), next(pause)
        sleep(min(next_pause, left) if left > _EARLY else next_pause)


def _check_waiting(
    queue: JobQueue,
    job: Job,
    max_poll_age: dt.timedelta | None,
    now: Callable[[], dt.datetime],
) -> None:
    """A job not yet sent that never will be: the company file was refused (R-QBD-1) or the Web
    Connector stopped polling (R-QBD-2); the job is cancelled and the error raised."""
    if job.state != QUEUED:
        return
    refusal = company_refusal(queue, job.created_at)
    if refusal is not None:
        queue.cancel(job.id, refusal)
        raise wrong_company(refusal)
    if max_poll_age is not None:
        try:
            check_polling(
                queue.last_poll(),
                now(),
                max_poll_age,
                f"Job {job.id} ({job.key}) was never sent and is cancelled",
            )
        except WebConnectorNotPolling:
            queue.cancel(job.id, "the Web Connector stopped polling")
            raise
