"""Waiting for the Web Connector without holding a worker slot: a deferrable operator.

A task queues jobs (``JobQueue.enqueue_read``/``enqueue_writes``, keyed so that a retried task
finds them) and hands their ids on; ``WaitForDesktopJobs`` waits for them to settle (done,
failed or in doubt) in the triggerer. The DAGs use it once per run, as ``AwaitWebConnector``
(below): the run's first wait, for the Web Connector's next scheduled update; the service then
keeps that session open for the run's later tasks, whose waits stay in the tasks (seconds).
The Web Connector polls every few minutes, so that first wait is minutes: as a poll loop in the task
(``waiting.poll_wait``) it holds a worker slot throughout; deferred, it holds none, and the
triggerer's one async loop watches every waiting task's jobs (docs/quickbooks-desktop.md,
"Waiting for the Web Connector", has the measurement that chose this over a reschedule-mode
sensor).

- ``DesktopJobsTrigger``: in the triggerer, ends sessions past their expiry (as ``poll_wait``
  does, so the writes of a Web Connector that went away show as in doubt) and reads the jobs'
  states, in a thread (the queue's driver is synchronous): at once, then after the pauses
  ``poll_wait`` makes too (``sfqb.hooks.desktop.waiting.pauses``), up to ``poll_interval``
  seconds. A Web Connector whose session is open answers within a second and is seen a few
  tens of milliseconds later; one on its schedule costs a look every ``poll_interval``. One
  event: ``settled`` with every job's state, or ``timeout`` at the deadline.
- ``WaitForDesktopJobs``: looks once in the worker (jobs already settled: no deferral at all),
  then defers; resumed, answers ``{job_id: state}`` (XCom) or raises ``TransientError`` at the
  deadline, naming the jobs still open (they stay queued: the next run finds them by key).

The trigger's keyword arguments are kept in Airflow's metadata DB (encrypted with the Fernet
key): the queue's URL goes there, so a PostgreSQL queue's password does too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.triggers.base import BaseTrigger, TriggerEvent

from sfqb.run_params import RunContext
from sfqb.tasks.lease import leased

DEFAULT_POLL_INTERVAL = 5.0
"""Seconds between two looks at the queue in the triggerer once its first pauses have grown to
it: small against a Web Connector schedule of minutes, and each look is two short queries."""
DEFAULT_TIMEOUT = dt.timedelta(minutes=30)
"""The adapter's own deadline (``adapter.DEFAULT_TIMEOUT``): six schedules of 5 minutes."""
SETTLED, TIMEOUT = "settled", "timeout"


def job_states(queue_url: str, job_ids: Sequence[int]) -> dict[str, str]:
    """Each job's state (``str(job_id)`` -> state), after ending expired sessions. A job never
    sent whose Web Connector's latest session was refused for the company file is cancelled
    (failed, with the refusal as its error), as ``poll_wait`` does: it would never be sent."""
    from sfqb.hooks.desktop.waiting import company_refusal
    from sfqb.qbwc.queue import QUEUED, JobQueue

    queue = JobQueue.from_url(queue_url, migrate=False)
    try:
        queue.expire_sessions()
        states = {}
        for job_id in job_ids:
            job = queue.get(job_id)
            refusal = company_refusal(queue, job.created_at) if job.state == QUEUED else None
            if refusal is not None:
                job = queue.cancel(job_id, refusal)
            states[str(job_id)] = job.state
        return states
    finally:
        queue.close()


def all_settled(states: dict[str, str]) -> bool:
    from sfqb.hooks.desktop.waiting import SETTLED as SETTLED_STATES

    return all(state in SETTLED_STATES for state in states.values())


class DesktopJobsTrigger(BaseTrigger):
    """Fires once the jobs ``job_ids`` of the queue at ``queue_url`` have all settled, or at
    ``deadline`` (ISO 8601, UTC)."""

    def __init__(
        self,
        queue_url: str,
        job_ids: Sequence[int],
        deadline: str,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        super().__init__()
        self.queue_url = queue_url
        self.job_ids = [int(job_id) for job_id in job_ids]
        self.deadline = deadline
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "queue_url": self.queue_url,
                "job_ids": self.job_ids,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        deadline = dt.datetime.fromisoformat(self.deadline)
        from sfqb.hooks.desktop.waiting import pauses

        pause = pauses(self.poll_interval)
        while True:
            states = await asyncio.to_thread(job_states, self.queue_url, self.job_ids)
            if all_settled(states):
                yield TriggerEvent({"status": SETTLED, "states": states})
                return
            if dt.datetime.now(dt.UTC) >= deadline:
                yield TriggerEvent({"status": TIMEOUT, "states": states})
                return
            await asyncio.sleep(next(pause))


class WaitForDesktopJobs(BaseOperator):
    """Wait, deferred to the triggerer, until the Desktop jobs ``job_ids`` have settled;
    answers ``{job_id: state}``. ``queue_url`` defaults to the ``sfqb_qbwc_queue``
    connection's (read in the worker, when the task runs)."""

    template_fields: Sequence[str] = ("job_ids",)

    def __init__(
        self,
        *,
        job_ids: Sequence[int] | str,
        queue_url: str | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        wait_timeout: dt.timedelta = DEFAULT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_ids = job_ids
        self.queue_url = queue_url
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout

    def _url(self) -> str:
        if self.queue_url:
            return self.queue_url
        from sfqb.qbwc.settings import queue_url

        return queue_url()

    def execute(self, context: Any) -> dict[str, str]:
        url, ids = self._url(), [int(job_id) for job_id in self.job_ids]
        states = job_states(url, ids)
        if all_settled(states):
            return states
        deadline = dt.datetime.now(dt.UTC) + self.wait_timeout
        self.log.info(
            "QuickBooks Desktop: deferring to the triggerer until job(s) %s settle (at most %s)",
            ", ".join(map(str, ids)),
            self.wait_timeout,
        )
        self.defer(
            trigger=DesktopJobsTrigger(url, ids, deadline.isoformat(), self.poll_interval),
            method_name="execute_complete",
            # Airflow's own limit a little after the trigger's: the trigger's event says which
            # jobs were still open.
            timeout=self.wait_timeout + dt.timedelta(minutes=1),
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, str]:
        states: dict[str, str] = event["states"]
        if event["status"] == SETTLED:
            return states
        from sfqb.hooks.desktop.waiting import SETTLED as SETTLED_STATES
        from sfqb.hooks.errors import TransientError

        still = ", ".join(
            f"{job_id} {state}" for job_id, state in states.items() if state not in SETTLED_STATES
        )
        raise TransientError(
            f"QuickBooks Desktop: jobs still open at the wait's deadline ({still}); the Web "
            "Connector has not finished them (they stay queued)"
        )


WAKE_REQUEST = "<HostQueryRq/>"
"""What a Desktop run's first look at QuickBooks asks: the product and version, no company
data, answered within a second once a session is open."""


def queue_wake(run: RunContext, dag_id: str, attempt: int = 1) -> tuple[int, float] | None:
    """``AwaitWebConnector``'s body, holding the run lease: on QuickBooks Desktop, check that
    the Web Connector polled lately (R-QBD-2) and queue the run's ``WAKE_REQUEST`` (one per
    task try: a retry does not find the read its failed try cancelled); answers the job's id
    and the seconds to wait for it. None on QuickBooks Online."""
    from sfqb.hooks.desktop import DesktopQuickBooks
    from sfqb.steps.common import preferences

    if preferences(run).quickbooks_edition != "desktop":
        return None
    qb = DesktopQuickBooks.from_connection()
    try:
        qb.check_web_connector()
        key = f"{dag_id}:{run['run_id']}:web-connector:{attempt}"
        job = qb.queue.enqueue_read(WAKE_REQUEST, key, iterate=False)
    finally:
        qb.queue.close()
    return job.id, (qb.max_poll_age + dt.timedelta(minutes=1)).total_seconds()


class AwaitWebConnector(WaitForDesktopJobs):
    """A run's first QuickBooks task. On QuickBooks Desktop it queues one harmless read
    (``WAKE_REQUEST``, keyed by the run) and waits, deferred (no worker slot), for the Web
    Connector's next scheduled update to answer it. The service then keeps that session open
    while the run's tasks queue their jobs (``ServiceSettings.linger_seconds``), so the later
    tasks' waits are seconds and stay in the tasks. On QuickBooks Online it returns at once.

    Before queuing: the Web Connector must have polled within the connection's
    ``max_poll_minutes`` (R-QBD-2, the run fails at once naming its last poll). The wait lasts
    that long again and a minute more: a Web Connector on its schedule comes within it. A Web
    Connector that opens another company file fails the task at once (R-QBD-1); one that does
    not come fails it naming its last poll, the read cancelled, and the error of its latest
    session when it came but could not get through (QuickBooks could not open the company
    file, a wrong password)."""

    body = staticmethod(leased(queue_wake))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(job_ids=[], **kwargs)

    def execute(self, context: Any) -> dict[str, str]:
        queued = self.body(context["dag_run"].dag_id, context["ti"].try_number)
        if queued is None:
            self.log.info("QuickBooks Online: no Web Connector to wait for")
            return {}
        job_id, seconds = queued
        self.job_ids, self.wait_timeout = [job_id], dt.timedelta(seconds=seconds)
        self.log.info("QuickBooks Desktop: job %s asks for the Web Connector's next update", job_id)
        states = super().execute(context)  # settled at the first look: no deferral
        return self.execute_complete(context, {"status": SETTLED, "states": states})

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, str]:
        from sfqb.hooks.desktop.waiting import WebConnectorNotPolling, wrong_company
        from sfqb.qbwc.queue import DONE, WRONG_COMPANY, JobQueue

        (job_id,) = (int(job_id) for job_id in event["states"])
        queue = JobQueue.from_url(self._url(), migrate=False)
        try:
            job = queue.get(job_id)
            if job.state == DONE:
                self.log.info("QuickBooks Desktop: the Web Connector answered (job %s)", job_id)
                return {str(job_id): job.state}
            if (job.error or "").startswith(WRONG_COMPANY):
                raise wrong_company(job.error or "")
            job = queue.cancel(job_id, "the Web Connector did not come in time")
            last = queue.last_poll()
            failed = [s for s in queue.sessions(50) if s.error and s.started_at >= job.created_at]
        finally:
            queue.close()
        polled = f"{last:%Y-%m-%d %H:%M:%S} UTC" if last else "never"
        why = f"; {job.error}" if job.error else ""
        if failed:  # it came, and could not get through: say why, not "check that it runs"
            advice = (
                f"the Web Connector came {len(failed)} time(s) since the job was queued, and "
                f"its latest session ended on an error: {failed[0].error}. Nothing was written; "
                'correct that (docs/quickbooks-desktop.md, "Troubleshooting by symptom") and '
                "the next run picks up."
            )
        else:
            advice = (
                "Nothing was written; check that the Web Connector runs on the QuickBooks PC "
                "(Auto-Run on, a Windows user logged on) and the next run picks up."
            )
        raise WebConnectorNotPolling(
            f"QuickBooks Desktop: the Web Connector did not answer job {job_id} ({job.key}): "
            f"now {job.state}{why}; its last poll: {polled}. {advice}"
        )


def await_web_connector() -> AwaitWebConnector:
    """The DAGs' task: ``await_web_connector`` (see ``AwaitWebConnector``)."""
    return AwaitWebConnector(task_id="await_web_connector")
