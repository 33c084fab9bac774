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
from collections.abc import Callable

from sfqb.hooks.errors import SyncServiceError, TransientError
from sfqb.qbwc.queue import DONE, FAILED, IN_DOUBT, Job, JobQueue
from sfqb.qbwc.settings import DEFAULT_MAX_POLL_MINUTES

DEFAULT_MAX_POLL_AGE = dt.timedelta(minutes=DEFAULT_MAX_POLL_MINUTES)
"""How long since the last poll the Web Connector still counts as running (the connection's
extra ``max_poll_minutes`` overrides it)."""
SETTLED = (DONE, FAILED, IN_DOUBT)

Waiter = Callable[[JobQueue, int, float], Job]
"""``(queue, job_id, deadline)`` -> the job once settled (``time.monotonic()`` deadline)."""


class WebConnectorNotPolling(SyncServiceError):
    """The Web Connector has not polled within the allowed time: nothing was queued."""


def check_polling(
    last_poll: dt.datetime | None, now: dt.datetime, max_age: dt.timedelta = DEFAULT_MAX_POLL_AGE
) -> None:
    """Raise ``WebConnectorNotPolling`` when the last poll is older than ``max_age`` (or there
    never was one), naming when it last polled (R-QBD-2)."""
    if last_poll is not None and now - last_poll <= max_age:
        return
    when = (
        f"it last polled at {last_poll.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC, "
        f"{_age(now - last_poll)} ago"
        if last_poll is not None
        else "it has never polled sfqb's service"
    )
    raise WebConnectorNotPolling(
        f"QuickBooks Desktop: the Web Connector is not running: {when} (allowed: "
        f"{_age(max_age)}). Nothing was queued; start the Web Connector on the QuickBooks PC "
        "(Auto-Run on, a Windows user logged on) and the next run picks up."
    )


def _age(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def poll_wait(
    queue: JobQueue,
    job_id: int,
    deadline: float,
    *,
    interval: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> Job:
    """Poll the job until it is done, failed or in doubt; ``TransientError`` at ``deadline``.

    Each round first ends sessions past their expiry (``expire_sessions``), so the writes of a
    Web Connector that went away show as in doubt instead of waiting forever."""
    while True:
        queue.expire_sessions()
        job = queue.get(job_id)
        if job.state in SETTLED:
            return job
        if time.monotonic() >= deadline:
            raise TransientError(
                f"QuickBooks Desktop: job {job_id} ({job.key}) is still {job.state} at the run's "
                "deadline; the Web Connector has not finished it (it stays queued)"
            )
        sleep(interval)
