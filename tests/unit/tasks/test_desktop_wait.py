"""The deferred wait for Desktop jobs: the trigger over a real queue file, the operator's look
before deferring and its answer when resumed, and a run's first wait for the Web Connector
(``AwaitWebConnector``) resumed on a refused company or at its deadline (R-QBD-1, R-QBD-2)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import threading
import time
from pathlib import Path

import pytest
from airflow.sdk.exceptions import TaskDeferred

from sfqb.hooks.desktop.waiting import WebConnectorNotPolling, WrongCompany, pauses
from sfqb.hooks.errors import TransientError
from sfqb.qbwc.queue import DONE, FAILED, QUEUED, WRONG_COMPANY, Job, JobQueue
from sfqb.tasks.desktop_wait import (
    DEFAULT_POLL_INTERVAL,
    SETTLED,
    TIMEOUT,
    WAKE_REQUEST,
    AwaitWebConnector,
    DesktopJobsTrigger,
    WaitForDesktopJobs,
    job_states,
)

pytestmark = pytest.mark.unit

ADD = "<CustomerAddRq><CustomerAdd><Name>Wait One</Name></CustomerAdd></CustomerAddRq>"


def answer(queue: JobQueue, job: Job) -> None:
    """What the Web Connector does for one write job: a session takes it, QuickBooks answers."""
    session = queue.start_session("ticket", "sfqb", "open", ttl=60)
    claimed = queue.claim(session.id)
    assert claimed is not None and claimed.id == job.id
    queue.store_answer(
        job.id,
        session.id,
        '<?xml version="1.0"?><QBXML><QBXMLMsgsRs>'
        f'<CustomerAddRs requestID="{job.id}.0" statusCode="0" statusSeverity="Info" '
        'statusMessage="Status OK"/></QBXMLMsgsRs></QBXML>',
    )
    queue.end_session(session.id, "done")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'queue.sqlite3'}"


@pytest.fixture
def queue(url: str):
    q = JobQueue.from_url(url)
    yield q
    q.close()


def first_event(trigger: DesktopJobsTrigger) -> dict:
    async def one() -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(asyncio.wait_for(one(), 30))


def later(seconds: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).isoformat()


def test_given_a_trigger_when_serialized_then_it_is_rebuilt_from_its_path_and_arguments():
    """The triggerer rebuilds the trigger from what ``serialize`` answers (R-QBD-2)."""
    trigger = DesktopJobsTrigger("sqlite:///q", [3, "4"], "2030-01-01T00:00:00+00:00", 2)
    path, kwargs = trigger.serialize()
    assert path == "sfqb.tasks.desktop_wait.DesktopJobsTrigger"
    assert kwargs == {
        "queue_url": "sqlite:///q",
        "job_ids": [3, 4],
        "deadline": "2030-01-01T00:00:00+00:00",
        "poll_interval": 2.0,
    }
    assert DesktopJobsTrigger(**kwargs).serialize() == (path, kwargs)


def test_given_a_queued_job_when_the_web_connector_answers_then_the_trigger_fires_settled(
    queue, url
):
    """The trigger polls the queue until a session answered the job, then fires once with
    every job's state (R-QBD-2)."""
    job = queue.enqueue_writes([ADD], "run-1")
    timer = threading.Timer(0.3, answer, (queue, job))
    timer.start()
    try:
        event = first_event(DesktopJobsTrigger(url, [job.id], later(20), poll_interval=0.05))
    finally:
        timer.join()
    assert event == {"status": SETTLED, "states": {str(job.id): DONE}}


def test_given_a_session_that_answers_at_once_when_the_trigger_waits_then_it_sees_it_within_a_second(
    queue, url
):
    """A job a lingering session (or a Web Connector polling right then) answers in 0.3 s is
    seen settled within a second, not at the trigger's 5 s interval; the pauses then grow to
    that interval and stay there (R-QBD-2)."""
    job = queue.enqueue_writes([ADD], "run-1")
    timer = threading.Timer(0.3, answer, (queue, job))
    started = time.monotonic()
    timer.start()
    try:
        event = first_event(DesktopJobsTrigger(url, [job.id], later(20)))
    finally:
        timer.join()
    assert event == {"status": SETTLED, "states": {str(job.id): DONE}}
    assert time.monotonic() - started < 1.0
    first = list(itertools.islice(pauses(DEFAULT_POLL_INTERVAL), 40))
    assert first[0] == 0.02 and first == sorted(first) and first[-9:] == [5.0] * 9
    assert sum(p for p in first if p < 5.0) < 30


def test_given_no_web_connector_when_the_deadline_passes_then_the_trigger_fires_timeout(queue, url):
    """A job nobody answers: the trigger fires ``timeout`` at its deadline, naming the job's
    state; the job stays queued (R-QBD-2)."""
    job = queue.enqueue_writes([ADD], "run-1")
    event = first_event(DesktopJobsTrigger(url, [job.id], later(0.2), poll_interval=0.05))
    assert event == {"status": TIMEOUT, "states": {str(job.id): QUEUED}}
    assert queue.get(job.id).state == QUEUED


def test_given_settled_jobs_when_the_operator_runs_then_it_answers_without_deferring(queue, url):
    """Jobs already answered: no deferral, the states at once (R-QBD-2)."""
    job = queue.enqueue_writes([ADD], "run-1")
    answer(queue, job)
    op = WaitForDesktopJobs(task_id="wait", job_ids=[job.id], queue_url=url)
    assert op.execute({}) == {str(job.id): DONE}


def test_given_an_open_job_when_the_operator_runs_then_it_defers_to_the_trigger(queue, url):
    """An open job: the task defers to ``DesktopJobsTrigger`` on its jobs, with Airflow's own
    timeout a minute after the trigger's deadline (R-QBD-2)."""
    job = queue.enqueue_writes([ADD], "run-1")
    op = WaitForDesktopJobs(
        task_id="wait", job_ids=[job.id], queue_url=url, wait_timeout=dt.timedelta(minutes=10)
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, DesktopJobsTrigger) and trigger.job_ids == [job.id]
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout == dt.timedelta(minutes=11)
    assert job_states(url, [job.id]) == {str(job.id): QUEUED}


def test_given_a_timeout_event_when_the_task_resumes_then_it_fails_naming_the_open_jobs():
    """Resumed by a ``timeout`` event, the task raises ``TransientError`` naming the jobs still
    open; by ``settled``, it answers the states (R-QBD-2)."""
    op = WaitForDesktopJobs(task_id="wait", job_ids=[1, 2], queue_url="sqlite:///unused")
    states = {"1": DONE, "2": QUEUED}
    with pytest.raises(TransientError, match="2 queued"):
        op.execute_complete({}, {"status": TIMEOUT, "states": states})
    assert op.execute_complete({}, {"status": SETTLED, "states": {"1": DONE}}) == {"1": DONE}


def refuse_company(queue: JobQueue) -> None:
    """What the service does when the Web Connector opens another company file: the session
    ends on the refusal (R-QBD-1)."""
    session = queue.start_session("ticket-2", "sfqb", "open", ttl=60)
    queue.end_session(session.id, "error", f"{WRONG_COMPANY}the Web Connector opened Other.QBW")


def test_given_a_refused_company_when_the_trigger_looks_then_the_job_is_cancelled_and_settles(
    queue, url
):
    """The Web Connector opens a company file the connection does not name: the queued job
    would never be sent, so the look cancels it (failed, the refusal as its error) and the
    trigger fires at once instead of at its deadline (R-QBD-1)."""
    job = queue.enqueue_read(WAKE_REQUEST, "run-1:web-connector", iterate=False)
    refuse_company(queue)

    event = first_event(DesktopJobsTrigger(url, [job.id], later(20), poll_interval=0.05))

    assert event == {"status": SETTLED, "states": {str(job.id): FAILED}}
    assert queue.get(job.id).error.startswith(WRONG_COMPANY)


def test_given_the_wake_read_refused_when_the_task_resumes_then_it_fails_naming_the_company(
    queue, url
):
    """``AwaitWebConnector`` resumed on a wake read cancelled for the wrong company: it fails
    with ``WrongCompany`` naming the file and what to correct (R-QBD-1)."""
    job = queue.enqueue_read(WAKE_REQUEST, "run-1:web-connector", iterate=False)
    refuse_company(queue)
    states = job_states(url, [job.id])
    op = AwaitWebConnector(task_id="await_web_connector", queue_url=url)

    with pytest.raises(WrongCompany, match="Other.QBW.*quickbooks_desktop_default"):
        op.execute_complete({}, {"status": SETTLED, "states": states})


def test_given_no_web_connector_when_the_wake_wait_times_out_then_it_fails_and_cancels_the_read(
    queue, url
):
    """``AwaitWebConnector`` resumed at its deadline: the wake read is cancelled (the Web
    Connector is not handed it later) and the task fails with ``WebConnectorNotPolling``
    naming the last poll; answered, it hands on the job's state (R-QBD-2)."""
    job = queue.enqueue_read(WAKE_REQUEST, "run-1:web-connector", iterate=False)
    queue.record_poll()
    op = AwaitWebConnector(task_id="await_web_connector", queue_url=url)

    with pytest.raises(
        WebConnectorNotPolling,
        match=r"did not answer job \d+ .*did not come in time.*last poll: 20",
    ):
        op.execute_complete({}, {"status": TIMEOUT, "states": {str(job.id): QUEUED}})
    assert queue.get(job.id).state == FAILED

    answered = queue.enqueue_read(WAKE_REQUEST, "run-2:web-connector", iterate=False)
    answer_read(queue, answered)
    event = {"status": SETTLED, "states": {str(answered.id): DONE}}
    assert op.execute_complete({}, event) == {str(answered.id): DONE}


def test_given_the_web_connector_failing_to_open_the_company_when_the_wait_times_out_then_it_says_why(
    queue, url
):
    """The Web Connector polls, but QuickBooks cannot open the company file (connectionError)
    or the password is refused: the wake read is never answered, and the task fails naming the
    latest session's error rather than asking whether the Web Connector runs (R-QBD-2,
    R-QBD-8)."""
    job = queue.enqueue_read(WAKE_REQUEST, "run-1:web-connector", iterate=False)
    for ticket in ("t-1", "t-2"):
        queue.record_poll()
        session = queue.start_session(ticket, "sfqb", "open", ttl=60)
        queue.end_session(
            session.id, "error", f"QuickBooks could not open the company file: {ticket}"
        )
    op = AwaitWebConnector(task_id="await_web_connector", queue_url=url)

    with pytest.raises(WebConnectorNotPolling) as failure:
        op.execute_complete({}, {"status": TIMEOUT, "states": {str(job.id): QUEUED}})

    message = str(failure.value)
    assert "came 2 time(s)" in message and "could not open the company file: t-2" in message
    assert "check that the Web Connector runs" not in message
    assert queue.get(job.id).state == FAILED


def answer_read(queue: JobQueue, job: Job) -> None:
    session = queue.start_session("ticket-3", "sfqb", "open", ttl=60)
    assert queue.claim(session.id).id == job.id
    queue.store_answer(
        job.id,
        session.id,
        '<?xml version="1.0"?><QBXML><QBXMLMsgsRs>'
        f'<HostQueryRs requestID="{job.id}.0" statusCode="0" statusSeverity="Info" '
        'statusMessage="Status OK"><HostRet><ProductName>QuickBooks Enterprise</ProductName>'
        "</HostRet></HostQueryRs></QBXMLMsgsRs></QBXML>",
    )
    queue.end_session(session.id, "done")


class Context(dict):
    """The bits of a task's context ``AwaitWebConnector.execute`` reads."""

    def __init__(self, try_number: int = 1) -> None:
        from types import SimpleNamespace

        super().__init__(
            dag_run=SimpleNamespace(dag_id="sfqb_sync"), ti=SimpleNamespace(try_number=try_number)
        )


def test_given_a_wake_read_settled_at_the_first_look_when_it_failed_then_the_task_fails_at_once(
    queue, url, monkeypatch
):
    """The task's own look finds the wake read already cancelled for the wrong company: no
    deferral, and the task fails with ``WrongCompany`` instead of passing on a failed read;
    each try queues its own read (the key carries the try), so a retry waits again; on
    QuickBooks Online the task answers at once (R-QBD-1, R-QBD-2)."""
    keys = []

    def body(dag_id: str, attempt: int):
        keys.append(f"{dag_id}:run-1:web-connector:{attempt}")
        job = queue.enqueue_read(WAKE_REQUEST, keys[-1], iterate=False)
        return job.id, 60.0

    monkeypatch.setattr(AwaitWebConnector, "body", staticmethod(body))
    op = AwaitWebConnector(task_id="await_web_connector", queue_url=url)
    first = queue.enqueue_read(WAKE_REQUEST, "sfqb_sync:run-1:web-connector:1", iterate=False)
    refuse_company(queue)
    job_states(url, [first.id])

    with pytest.raises(WrongCompany):
        op.execute(Context(try_number=1))
    with pytest.raises(TaskDeferred):
        op.execute(Context(try_number=2))
    assert keys == ["sfqb_sync:run-1:web-connector:1", "sfqb_sync:run-1:web-connector:2"]

    monkeypatch.setattr(AwaitWebConnector, "body", staticmethod(lambda dag_id, attempt: None))
    assert op.execute(Context()) == {}
