"""The job queue of sfqb's Web Connector service: jobs, states, pages, in-doubt writes,
migrations and atomic claims (R-QBD-1, R-QBD-8)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from sfqb.qbwc import (
    DONE,
    FAILED,
    IN_DOUBT,
    QUEUED,
    SENT,
    JobQueue,
    KeyConflict,
    NotInDoubt,
    schema,
)

pytestmark = pytest.mark.sandbox

QUERY = "<CustomerQueryRq><MaxReturned>2</MaxReturned></CustomerQueryRq>"
ADD = "<CustomerAddRq><CustomerAdd><Name>{name}</Name></CustomerAdd></CustomerAddRq>"


def page(rs: str) -> str:
    return f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>{rs}</QBXMLMsgsRs></QBXML>'


def customer_page(job_id: int, remaining: int, iterator: str = "it-1") -> str:
    return page(
        f'<CustomerQueryRs requestID="{job_id}" statusCode="0" statusSeverity="Info" '
        f'statusMessage="Status OK" iteratorRemainingCount="{remaining}" iteratorID="{iterator}">'
        "<CustomerRet><ListID>1</ListID></CustomerRet></CustomerQueryRs>"
    )


def session(queue: JobQueue) -> str:
    return queue.start_session(uuid.uuid4().hex, "sfqb", "open", 600).id


def test_given_a_read_when_queued_twice_with_one_key_then_one_job_is_kept(queue):
    """A retried task queuing the same key finds the job it queued before (R-QBD-1): no
    duplicate; the same key with another request is refused."""
    first = queue.enqueue_read(QUERY, "customers:2026-01-01")
    again = queue.enqueue_read(QUERY, "customers:2026-01-01")

    assert again.id == first.id and first.state == QUEUED and len(queue.jobs()) == 1
    assert queue.job("customers:2026-01-01") == first and queue.job("other") is None
    with pytest.raises(KeyConflict):
        queue.enqueue_read(
            "<CustomerQueryRq><MaxReturned>9</MaxReturned></CustomerQueryRq>",
            "customers:2026-01-01",
        )


@pytest.mark.parametrize(
    "bad",
    [
        "<QBXML><QBXMLMsgsRq><CustomerQueryRq/></QBXMLMsgsRq></QBXML>",
        "<CustomerQuery/>",
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><CustomerQueryRq>&e;</CustomerQueryRq>',
        "<CustomerQueryRq>",
    ],
)
def test_given_a_request_that_is_not_one_request_element_when_queued_then_it_is_refused(queue, bad):
    """Only a single request element, without the envelope or a DOCTYPE, is queued (R-QBD-1)."""
    with pytest.raises(ValueError):
        queue.enqueue_read(bad, "bad")
    assert queue.jobs() == []


def test_given_a_read_when_walked_with_an_iterator_then_pages_are_kept_in_order(queue):
    """A read is sent with iterator Start, then Continue with the iteratorID, page after page,
    and is done when nothing remains."""
    job = queue.enqueue_read(QUERY, "k")
    sid = session(queue)

    claimed = queue.claim(sid)
    assert claimed.id == job.id and claimed.state == SENT
    assert 'iterator="Start"' in claimed.message_set()
    assert f'requestID="{job.id}"' in claimed.message_set()
    after = queue.store_answer(job.id, sid, customer_page(job.id, 3))
    assert after.state == SENT and after.iterator_id == "it-1" and after.remaining == 3
    assert queue.continuing_read(sid).id == job.id
    assert 'iterator="Continue" iteratorID="it-1"' in queue.continuing_read(sid).message_set()
    done = queue.store_answer(job.id, sid, customer_page(job.id, 0))

    assert done.state == DONE and len(queue.pages(job.id)) == 2
    assert queue.continuing_read(sid) is None


def test_given_a_read_under_way_when_its_session_ends_then_it_restarts_from_the_start(queue):
    """Iterators end with the QuickBooks session: a read cut off is queued again with its
    pages dropped, and sent again with iterator Start (R-QBD-1)."""
    job = queue.enqueue_read(QUERY, "k")
    sid = session(queue)
    queue.claim(sid)
    queue.store_answer(job.id, sid, customer_page(job.id, 3))

    queue.end_session(sid, "error", "connection lost")

    again = queue.get(job.id)
    assert again.state == QUEUED and again.iterator_id is None and queue.pages(job.id) == []
    assert 'iterator="Start"' in queue.claim(session(queue)).message_set()


def test_given_an_expired_iterator_when_answered_then_the_read_restarts(queue):
    """Status 3391 (iterator expired) restarts the read rather than failing it (R-QBD-1)."""
    job = queue.enqueue_read(QUERY, "k")
    sid = session(queue)
    queue.claim(sid)
    expired = page(
        f'<CustomerQueryRs requestID="{job.id}" statusCode="3391" statusSeverity="Error" '
        'statusMessage="iterator expired"/>'
    )
    assert queue.store_answer(job.id, sid, expired).state == QUEUED


def test_given_a_write_group_when_answered_then_it_is_done_with_its_errors_summed_up(queue):
    """A write group is one message set with requestIDs job.index and its onError; once
    answered it is done, and the statuses of 1000 and up are summed up in ``error``
    (R-QBD-1)."""
    job = queue.enqueue_writes(
        [ADD.format(name="A"), ADD.format(name="B")], "w", on_error="continueOnError"
    )
    sid = session(queue)
    text = queue.claim(sid).message_set()
    assert 'onError="continueOnError"' in text and f'requestID="{job.id}.1"' in text
    answer = page(
        f'<CustomerAddRs requestID="{job.id}.0" statusCode="0" statusSeverity="Info" '
        'statusMessage="Status OK"/>'
        f'<CustomerAddRs requestID="{job.id}.1" statusCode="3100" statusSeverity="Error" '
        'statusMessage="The name B is already in use."/>'
    )
    done = queue.store_answer(job.id, sid, answer)
    assert done.state == DONE and "3100" in done.error and queue.pages(job.id) == [answer]


def test_given_a_sent_write_when_its_answer_never_comes_then_it_is_in_doubt_and_not_resent(queue):
    """A write sent whose answer never came is in doubt and is never claimed again until the
    sync resolves it (R-QBD-1)."""
    job = queue.enqueue_writes([ADD.format(name="A")], "w")
    sid = session(queue)
    queue.claim(sid)

    queue.end_session(sid, "error", "the Web Connector went away")

    assert queue.get(job.id).state == IN_DOUBT
    assert [j.id for j in queue.in_doubt()] == [job.id]
    assert queue.claim(session(queue)) is None
    assert queue.resolve(job.id, "requeue", "looked up: not in QuickBooks").state == QUEUED
    with pytest.raises(NotInDoubt):
        queue.resolve(job.id, "done", "again")


@pytest.mark.parametrize(("hresult", "state"), [("0x80040400", FAILED), ("0x80040402", IN_DOUBT)])
def test_given_a_write_when_quickbooks_throws_then_parse_errors_fail_and_others_are_in_doubt(
    queue, hresult, state
):
    """A message set QuickBooks could not parse applied nothing (failed); any other HRESULT
    may have come after the writes (in doubt) (R-QBD-1)."""
    job = queue.enqueue_writes([ADD.format(name="A")], "w")
    sid = session(queue)
    queue.claim(sid)
    assert queue.lost_answer(job.id, sid, "hresult", hresult).state == state


def test_given_an_answer_beyond_the_cap_when_stored_then_the_read_restarts_not_the_db_grows(
    queue, monkeypatch
):
    """Pages are capped; an answer beyond the cap is not stored."""
    from sfqb.qbwc import queue as module

    monkeypatch.setattr(module, "MAX_PAGE_CHARS", 100)
    job = queue.enqueue_read(QUERY, "k")
    sid = session(queue)
    queue.claim(sid)
    assert queue.store_answer(job.id, sid, customer_page(job.id, 0)).state == QUEUED
    assert queue.pages(job.id) == []


def test_given_many_jobs_when_sessions_claim_from_threads_then_each_job_is_claimed_once(queue):
    """Claims are atomic: 8 threads, each with its own session, claim 60 jobs at once; every
    job is claimed exactly once (R-QBD-1)."""
    for n in range(60):
        queue.enqueue_writes([ADD.format(name=f"C{n}")], f"w{n}")
    claimed: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def worker() -> None:
        sid = session(queue)
        mine = claimed.setdefault(sid, [])
        try:
            while (job := queue.claim(sid)) is not None:
                mine.append(job.id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert not errors
    every = [job_id for ids in claimed.values() for job_id in ids]
    assert sorted(every) == sorted(j.id for j in queue.jobs()) and len(every) == 60
    assert queue.count(SENT) == 60


def test_given_threads_queuing_one_key_when_racing_then_one_job_exists(queue):
    """Several workers retrying one task at once still queue one job (R-QBD-1)."""
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(queue.enqueue_read(QUERY, "same").id))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(set(results)) == 1 and len(results) == 6 and len(queue.jobs()) == 1


def test_given_a_fresh_database_when_opened_then_it_is_migrated_to_the_latest_version(queue_url):
    """A fresh database gets every migration; opening it again changes nothing."""
    queue = JobQueue.from_url(queue_url)
    assert queue.version() == schema.LATEST
    assert JobQueue.from_url(queue_url).version() == schema.LATEST
    with queue.engine.connect() as conn:
        assert conn.execute(
            sa.select(sa.func.count()).select_from(schema.version_table)
        ).scalar() == len(schema.MIGRATIONS)


def test_given_a_version_1_database_with_jobs_when_opened_then_it_migrates_forward(tmp_path: Path):
    """A database left at version 1 (no sessions, jobs without session_id) keeps its jobs and
    gains the later tables and columns when a newer sfqb opens it."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    old = JobQueue.from_url(url, migrate=False)
    assert old.migrate(target=1) == 1
    with old.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sfqb_qbwc_jobs (key, kind, state, on_error, iterate, requests, "
                "created_at, updated_at, attempts) VALUES ('old', 'read', 'queued', "
                "'stopOnError', 1, :r, '2026-01-01', '2026-01-01', 0)"
            ),
            {"r": f'["{QUERY}"]'},
        )
    old.close()

    new = JobQueue.from_url(url)

    assert new.version() == schema.LATEST
    assert new.job("old").state == QUEUED and new.job("old").session_id is None
    assert new.claim(session(new)).key == "old"


def test_given_postgresql_when_the_queue_runs_there_then_claims_and_migrations_hold(postgres_url):
    """The same queue on PostgreSQL: migrated from scratch, idempotent keys, atomic claims
    from threads, in-doubt writes (R-QBD-1)."""
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        for table in reversed(schema.metadata.sorted_tables):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table.name} CASCADE"))
    engine.dispose()
    queue = JobQueue.from_url(postgres_url)
    try:
        assert queue.version() == schema.LATEST
        for n in range(40):
            queue.enqueue_writes([ADD.format(name=f"P{n}")], f"p{n}")
        assert queue.enqueue_writes([ADD.format(name="P0")], "p0").id == queue.job("p0").id
        claimed: list[int] = []
        lock = threading.Lock()

        def worker() -> None:
            sid = session(queue)
            while (job := queue.claim(sid)) is not None:
                with lock:
                    claimed.append(job.id)

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(claimed) == sorted(j.id for j in queue.jobs()) and len(claimed) == 40
        some = queue.jobs(SENT)[0]
        queue.end_session(some.session_id, "error", "gone")
        assert queue.get(some.id).state == IN_DOUBT
    finally:
        queue.close()


def test_given_a_server_without_the_queue_database_when_migrate_runs_then_it_is_created_once(
    postgres_url, monkeypatch, capsys
):
    """``python -m sfqb qbwc migrate`` on a PostgreSQL server that has no database of the
    connection's name (a fresh compose deployment): it creates the database and brings the
    schema to the latest version; run again it finds both and changes nothing (R-QBD-1)."""
    import json

    from sfqb.__main__ import main

    name = f"sfqb_qbwc_{uuid.uuid4().hex[:8]}"
    url = sa.engine.make_url(postgres_url).set(database=name).render_as_string(False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SFQB_QBWC_QUEUE",
        json.dumps({"conn_type": "generic", "extra": json.dumps({"url": url})}),
    )

    assert main(["qbwc", "migrate"]) == 0
    first = capsys.readouterr().out
    assert main(["qbwc", "migrate"]) == 0
    second = capsys.readouterr().out

    assert f"{name}: database created, schema version {schema.LATEST}" in first
    assert "database created" not in second and f"version {schema.LATEST}" in second
    queue = JobQueue.from_url(url, migrate=False)
    try:
        assert queue.version() == schema.LATEST
    finally:
        queue.close()


def test_given_sessions_when_recorded_then_last_poll_sessions_and_events_can_be_read(queue):
    """The last poll, the sessions with their errors and each session's events are kept in
    the queue DB, where the sync and the sync log read them (R-QBD-8)."""
    assert queue.last_poll() is None
    sid = session(queue)
    queue.record_poll()
    queue.log_event(sid, "start", "user sfqb")
    queue.end_session(sid, "error", "wrong company file")

    assert queue.last_poll() is not None
    (latest,) = queue.sessions()
    assert latest.id == sid and latest.state == "error" and latest.error == "wrong company file"
    assert [e.event for e in queue.events(sid)] == ["start"]


def test_given_an_old_queue_when_pruned_then_only_what_the_sync_may_need_is_kept(queue_url):
    """Finished reads go after a day, finished write groups after 90 days (a retried task still
    finds its group by key until then), ended sessions and their events after 30 days; jobs
    queued or in doubt and open sessions stay whatever their age (R-QBD-1, R-QBD-8)."""
    now = {"t": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
    queue = JobQueue.from_url(queue_url, clock=lambda: now["t"])

    def finish_read(key: str) -> int:
        job = queue.enqueue_read(QUERY, key)
        sid = session(queue)
        queue.claim(sid)
        queue.store_answer(job.id, sid, customer_page(job.id, 0))
        queue.end_session(sid, "ended")
        return job.id

    def finish_write(key: str) -> int:
        job = queue.enqueue_writes([ADD.format(name=key)], key)
        sid = session(queue)
        queue.claim(sid)
        queue.store_answer(
            job.id,
            sid,
            page(f'<CustomerAddRs requestID="{job.id}.0" statusCode="0" statusSeverity="Info"/>'),
        )
        queue.end_session(sid, "ended")
        return job.id

    old_write = finish_write("old-write")
    old_read = finish_read("old-read")
    doubtful = queue.enqueue_writes([ADD.format(name="D")], "doubt")
    stuck = session(queue)
    queue.claim(stuck)
    queue.log_event(stuck, "error", "the Web Connector went away")
    queue.log_event(open_session := session(queue), "start", "still going")
    queue.end_session(stuck, "error", "gone")  # the write is in doubt now
    start = now["t"]
    now["t"] += dt.timedelta(days=60)
    mid_write = finish_write("mid-write")
    now["t"] += dt.timedelta(days=31)
    new_read = finish_read("new-read")
    queue.touch(open_session, 600)
    end, now["t"] = now["t"], start
    waiting = queue.enqueue_read(QUERY, "waiting")  # queued 91 days ago, never polled for
    now["t"] = end

    gone = queue.prune()

    kept = {j.id for j in queue.jobs()}
    assert old_read not in kept and old_write not in kept and queue.pages(old_read) == []
    assert {mid_write, new_read, doubtful.id, waiting.id} <= kept
    assert queue.get(doubtful.id).state == IN_DOUBT and queue.get(waiting.id).state == QUEUED
    ids = {s.id for s in queue.sessions(100)}
    assert open_session in ids and stuck not in ids
    assert gone == {"jobs": 2, "sessions": 4, "events": 1}
    assert [e.detail for e in queue.events(open_session)] == ["still going"]
    assert queue.prune() == {"jobs": 0, "sessions": 0, "events": 0}
