"""The adapter's wait for a queued job (``poll_wait``) on a real queue file, its clock and sleep
injected: quick looks while a session answers within a second, backing off to the interval for
a long wait, and the Web Connector checks still made once an interval (R-QBD-1, R-QBD-2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from sfqb.hooks.desktop.waiting import (
    BACKOFF,
    FIRST_LOOK,
    WebConnectorNotPolling,
    WrongCompany,
    poll_wait,
)
from sfqb.hooks.errors import TransientError
from sfqb.qbwc.queue import DONE, FAILED, QUEUED, WRONG_COMPANY, Job, JobQueue

pytestmark = pytest.mark.unit

ADD = "<CustomerAddRq><CustomerAdd><Name>Wait One</Name></CustomerAdd></CustomerAddRq>"
INTERVAL = 0.5
START = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


class CountingQueue(JobQueue):
    """The queue, counting the wait's looks at the job and its expiry checks (not the Web
    Connector's own calls: ``answer`` turns ``counting`` off)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.looks = 0
        self.expiry_checks = 0
        self.counting = True

    def get(self, job_id: int) -> Job:
        self.looks += self.counting
        return super().get(job_id)

    def expire_sessions(self, keep: str | None = None) -> list[str]:
        self.expiry_checks += 1
        return super().expire_sessions(keep)


class Clock:
    """A monotonic clock moved on only by the wait's sleeps; ``at`` runs an action (the Web
    Connector's) once the clock has passed its time."""

    def __init__(self) -> None:
        self.t = 100.0
        self.pauses: list[float] = []
        self.actions: list[tuple[float, Callable[[], None]]] = []

    def monotonic(self) -> float:
        return self.t

    def now(self) -> dt.datetime:
        return START + dt.timedelta(seconds=self.t - 100.0)

    def at(self, seconds: float, action: Callable[[], None]) -> None:
        self.actions.append((100.0 + seconds, action))

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.t += seconds
        for due, action in list(self.actions):
            if self.t >= due:
                self.actions.remove((due, action))
                action()


@pytest.fixture
def queue(tmp_path: Path):
    q = CountingQueue.from_url(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    yield q
    q.close()


def answer(queue: CountingQueue, job: Job) -> None:
    """What a lingering Web Connector session does: take the job, store QuickBooks' answer."""
    queue.counting = False
    session = queue.start_session("ticket", "sfqb", "open", ttl=600)
    claimed = queue.claim(session.id)
    assert claimed is not None and claimed.id == job.id
    queue.store_answer(
        job.id,
        session.id,
        '<?xml version="1.0"?><QBXML><QBXMLMsgsRs>'
        f'<CustomerAddRs requestID="{job.id}.0" statusCode="0" statusSeverity="Info" '
        'statusMessage="Status OK"/></QBXMLMsgsRs></QBXML>',
    )
    queue.counting = True


def wait(queue: JobQueue, job: Job, clock: Clock, **options) -> Job:
    return poll_wait(
        queue,
        job.id,
        clock.monotonic() + 60,
        interval=INTERVAL,
        now=clock.now,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        **options,
    )


def test_given_a_job_answered_within_a_second_when_waited_then_seen_settled_soon_after(queue):
    """A lingering session answers the job 0.45 s after it was queued (one message set of
    QuickBooks' time): the wait looks again after 20 ms, then a little later each time, and
    returns the settled job well within a tenth of a second of the answer, where looks every
    0.5 s would lose up to half a second per message set (R-QBD-2)."""
    clock = Clock()
    job = queue.enqueue_writes([ADD], "write:one")
    clock.at(0.45, lambda: answer(queue, job))

    done = wait(queue, job, clock)

    assert done.state == DONE
    assert 0.45 <= clock.t - 100.0 < 0.45 + 0.1
    assert clock.pauses[0] == pytest.approx(FIRST_LOOK)
    assert clock.pauses[1] == pytest.approx(FIRST_LOOK * BACKOFF)
    quick = clock.pauses[:-1]  # the last pause is cut short to meet the checks at 0.5 s
    assert all(b > a for a, b in zip(quick, quick[1:], strict=False)) and max(quick) < 0.1
    # the checks ran on the first look and at 0.5 s only (once an interval), the state each time
    assert queue.expiry_checks == 2 and queue.looks == len(clock.pauses) + 1


def test_given_a_long_wait_when_polled_then_looks_back_off_to_the_interval(queue):
    """A job the Web Connector takes only after 30 s (its next update): the pauses grow to the
    interval and stay there, so the queue sees about two looks a second, not fifty; the expiry
    of dead sessions is still checked once an interval (R-QBD-2)."""
    clock = Clock()
    job = queue.enqueue_writes([ADD], "write:late")
    clock.at(30.0, lambda: answer(queue, job))

    done = wait(queue, job, clock)

    assert done.state == DONE
    assert max(clock.pauses) == pytest.approx(INTERVAL)
    assert clock.pauses[-10:] == [pytest.approx(INTERVAL)] * 10
    assert queue.looks < 30 / INTERVAL + 25  # the quick looks of the first seconds, then 2 a second
    assert 30 / INTERVAL - 5 <= queue.expiry_checks <= 30 / INTERVAL + 2


def test_given_the_web_connector_stopping_while_a_job_waits_then_the_wait_ends_within_an_interval(
    queue,
):
    """The Web Connector polled once at the start and then fell silent: with 30 s allowed, the
    wait cancels the job never sent and raises ``WebConnectorNotPolling`` within an interval of
    the 30 s being over, quick looks or not (R-QBD-2)."""
    clock = Clock()
    job = queue.enqueue_writes([ADD], "write:unsent")
    queue.record_poll()  # the queue's clock is real time: "now" for the wait is set from it
    polled = queue.last_poll()
    assert polled is not None
    clock.now = lambda: polled + dt.timedelta(seconds=clock.t - 100.0)  # type: ignore[method-assign]

    with pytest.raises(WebConnectorNotPolling, match="never sent and is cancelled"):
        wait(queue, job, clock, max_poll_age=dt.timedelta(seconds=30))

    assert 30.0 < clock.t - 100.0 <= 30.0 + INTERVAL
    assert queue.get(job.id).state == FAILED


def test_given_the_company_refused_while_a_job_waits_then_wrong_company_within_an_interval(queue):
    """A session started after the job was queued is refused for its company file (R-QBD-1):
    the next check, at most an interval later, cancels the job and raises ``WrongCompany`` with
    the service's reason, not the run's deadline (R-QBD-2)."""
    clock = Clock()
    job = queue.enqueue_writes([ADD], "write:refused")

    def refuse() -> None:
        session = queue.start_session("ticket", "sfqb", "open", ttl=600)
        queue.end_session(session.id, "error", f"{WRONG_COMPANY}the company file is another")

    clock.at(2.0, refuse)

    with pytest.raises(WrongCompany, match="the company file is another"):
        wait(queue, job, clock)

    assert 2.0 <= clock.t - 100.0 <= 2.0 + INTERVAL
    assert queue.get(job.id).state == FAILED


def test_given_a_job_never_taken_when_the_deadline_passes_then_a_transient_error(queue):
    """Nothing takes the job: the wait ends at its deadline on the injected clock, the job still
    queued (R-QBD-2)."""
    clock = Clock()
    job = queue.enqueue_writes([ADD], "write:never")

    with pytest.raises(TransientError, match="still queued at the run's deadline"):
        poll_wait(
            queue,
            job.id,
            clock.monotonic() + 5,
            interval=INTERVAL,
            sleep=clock.sleep,
            monotonic=clock.monotonic,
        )

    assert 5.0 <= clock.t - 100.0 <= 5.0 + INTERVAL
    assert queue.get(job.id).state == QUEUED
