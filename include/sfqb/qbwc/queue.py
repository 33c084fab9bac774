"""The durable job queue between the sync and sfqb's Web Connector service (R-QBD-1, R-QBD-8).

The Web Connector pulls and Airflow pushes, so the two meet in a database sfqb owns (never
Airflow's metadata DB): SQLite in WAL mode on one machine, PostgreSQL when the workers are on
several (``settings.queue_url``). The service and any number of workers use it at once; every
change is one short transaction, and a claim is one conditional UPDATE, so one session gets a
job once.

A **job** is one logical read (one request element, e.g. ``<CustomerQueryRq>`` with
``MaxReturned``, walked with iterators over several sendRequestXML calls of one session) or one
group of writes (one message set, ``stopOnError`` or ``continueOnError``). Its states:

- ``queued``: waiting for a Web Connector session;
- ``sent``: handed to a session (a read between two pages stays ``sent``);
- ``done``: answered; its pages hold the answers (a write group is ``done`` once QuickBooks
  answered, whatever each request's status: read them in the page, ``error`` sums up the
  statuses of 1000 and up);
- ``failed``: a read QuickBooks refused (status 1000 and up), a message set QuickBooks could not
  parse (HRESULT 0x80040400: nothing was applied), a read restarted too often, or an in-doubt
  write resolved as failed;
- ``in_doubt``: a write that was sent and whose answer never came (the session ended or
  expired, connectionError, a lost answer, an answer that cannot be read). It is **never sent
  again automatically**: the sync looks up whether its records exist (R-QBD-4) and resolves it.
  A late answer in the same session still settles it as ``done``.

Iterators live in QuickBooks' session, so a read whose session ends before its last page is
restarted (``queued`` again, its pages dropped), not continued, up to ``MAX_READ_ATTEMPTS``.

**The API the Desktop adapter codes against** (``JobQueue``; ``Job``, ``Session`` are frozen
dataclasses):

- ``JobQueue.open()`` (the ``sfqb_qbwc_queue`` connection, migrated) or ``JobQueue.from_url``;
- ``enqueue_read(request, key, iterate=True) -> Job``: ``request`` is the request element text
  without the envelope (``<CustomerQueryRq><MaxReturned>100</MaxReturned>...``); ``iterate``
  adds ``iterator="Start"``/``"Continue"`` (list and transaction queries with MaxReturned)
  and walks every page; without it the job is one message set, whatever the request says;
- ``enqueue_writes(requests, key, on_error="stopOnError") -> Job``: request elements
  (``<CustomerAddRq>...``), sent as one message set;
- both are idempotent on ``key``: queuing the same key again returns the job queued before
  (a retried task finds its job); the same key with other requests raises ``KeyConflict``;
- ``job(key) -> Job | None``, ``get(job_id) -> Job``: the job and its ``state``;
- ``pages(job_id) -> list[str]``: the response message sets (qbXML text), in order: a read has
  one per iterator page, a write group one;
- ``in_doubt() -> list[Job]`` and ``resolve(job_id, outcome, note)`` with outcome ``done``
  (the writes were applied), ``failed`` (they were not; give up) or ``requeue`` (they were not;
  send them again);
- ``last_poll() -> datetime | None``: when the Web Connector last authenticated with the right
  password or, in a session, last asked for work (R-QBD-2 reads it); ``sessions(limit)`` and
  ``events(session_id)``: the sessions and what happened in them (R-QBD-8), with each
  session's ``error``;
- ``prune()``: finished reads after a day, finished write groups after 90 days, ended sessions
  and their events after 30 days are deleted (the service prunes when a session closes).

The service's side (``claim``, ``start_session``, ``store_answer``, ``end_session``...) is below
the adapter's. Pages are capped at ``MAX_PAGE_CHARS`` (lower MaxReturned rather than raise it):
an answer beyond it fails a read and leaves a write in doubt; pages too large for a database row
would go to files beside the queue with the row holding their path (not built).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from lxml import etree
from sqlalchemy.engine import Connection, Engine

from . import qbxml
from .schema import LATEST, MIGRATIONS, events, jobs, meta, pages, sessions, version_table

log = logging.getLogger("sfqb.qbwc")

QUEUED, SENT, DONE, FAILED, IN_DOUBT = "queued", "sent", "done", "failed", "in_doubt"
STATES = (QUEUED, SENT, DONE, FAILED, IN_DOUBT)
READ, WRITE = "read", "write"
MAX_READ_ATTEMPTS = 5
MAX_PAGE_CHARS = 8 * 1024 * 1024
MAX_KEY = 200
# HRESULT of a message set QuickBooks could not parse: it failed whole, nothing applied
# (api-notes 8.2).
HR_PARSE_ERROR = "0x80040400"


class KeyConflict(ValueError):
    """The key names a job queued before with other requests."""


class NotInDoubt(ValueError):
    """``resolve`` on a job that is not in doubt."""


@dataclass(frozen=True)
class Job:
    id: int
    key: str
    kind: str
    state: str
    on_error: str
    iterate: bool
    requests: list[str]
    created_at: str
    updated_at: str
    attempts: int
    iterator_id: str | None
    remaining: int | None
    error: str | None
    note: str | None
    session_id: str | None

    @property
    def finished(self) -> bool:
        return self.state in (DONE, FAILED)

    def message_set(self) -> str:
        """The qbXML message set to send now (the next iterator page for a read under way)."""
        elements = [qbxml.request_element(text) for text in self.requests]
        if self.kind == READ:
            (element,) = elements
            element.set("requestID", str(self.id))
            if self.iterate:
                if self.iterator_id:
                    element.set("iterator", "Continue")
                    element.set("iteratorID", self.iterator_id)
                else:
                    element.set("iterator", "Start")
        else:
            for index, element in enumerate(elements):
                element.set("requestID", f"{self.id}.{index}")
        return qbxml.message_set(elements, self.on_error)


@dataclass(frozen=True)
class Session:
    id: str
    user_name: str
    state: str
    started_at: str
    last_seen_at: str
    expires_at: str
    ended_at: str | None
    company_file: str | None
    product_name: str | None
    requests: int
    answered: int
    current_job_id: int | None
    error: str | None


@dataclass(frozen=True)
class Event:
    session_id: str
    at: str
    event: str
    detail: str


IDLE = "idle"
"""The state of a session the service answered "none": the Web Connector polled, nothing was
queued."""

WRONG_COMPANY = "wrong company: "
"""How a session's error begins when the service refused the company file the Web Connector
opened (R-QBD-1): the adapter's wait stops on it instead of waiting for its deadline."""

KEEP_READS = dt.timedelta(days=1)
KEEP_WRITES = dt.timedelta(days=90)
KEEP_HISTORY = dt.timedelta(days=30)
"""How long ``prune`` keeps finished reads, finished write groups, and ended sessions."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def ticket_hash(ticket: str) -> str:
    """Tickets are kept only as their SHA-256: the database never holds a live credential."""
    return hashlib.sha256(ticket.encode()).hexdigest()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE``
    transactions (writers queue instead of failing on a lock upgrade)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" below opens transactions
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the lock up front; readers (WAL) never wait for one.
        immediate = conn.get_execution_options().get("sfqb_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def create_database(url: str) -> bool:
    """Create the PostgreSQL database ``url`` names when the server has none of that name (as
    ``url``'s user, through the server's maintenance database ``postgres``); True when it was
    created. SQLite needs nothing: its file appears on the first open."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return False
    server = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": parsed.database},
            ).first()
            if found:
                return False
            name = conn.dialect.identifier_preparer.quote(parsed.database)
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    finally:
        server.dispose()
    log.info("qbwc queue: database %s created", parsed.database)
    return True


class JobQueue:
    """The queue in one database (see the module doc for the API)."""

    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    @classmethod
    def from_url(
        cls, url: str, *, migrate: bool = True, clock: Callable[[], dt.datetime] = utcnow
    ) -> JobQueue:
        queue = cls(make_engine(url), clock)
        if migrate:
            queue.migrate()
        return queue

    @classmethod
    def open(cls, conn_id: str | None = None) -> JobQueue:
        """The queue the Airflow connection ``sfqb_qbwc_queue`` names (a SQLite file under
        AIRFLOW_HOME without one), migrated."""
        from .settings import QUEUE_CONN_ID, queue_url

        return cls.from_url(queue_url(conn_id or QUEUE_CONN_ID))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(sfqb_write=True)
            with conn.begin():
                yield conn

    def _now(self) -> str:
        return iso(self.clock())

    # -- migrations ------------------------------------------------------------------------
    def version(self) -> int:
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table(version_table.name):
                return 0
            return int(conn.execute(sa.select(sa.func.max(version_table.c.version))).scalar() or 0)

    def migrate(self, target: int = LATEST) -> int:
        """Apply the missing migrations up to ``target``; the version reached."""
        for version, description, step in MIGRATIONS:
            if version > target:
                break
            with self._tx() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(7411230901)"))
                version_table.create(conn, checkfirst=True)
                done = conn.execute(
                    sa.select(version_table.c.version).where(version_table.c.version == version)
                ).first()
                if done:
                    continue
                step(conn)
                conn.execute(
                    version_table.insert().values(
                        version=version, applied_at=self._now(), description=description
                    )
                )
                log.info("qbwc queue: schema version %s applied (%s)", version, description)
        return self.version()

    # -- the adapter's side ----------------------------------------------------------------
    def enqueue_read(self, request: str, key: str, *, iterate: bool = True) -> Job:
        """Queue one read (a request element without the envelope); idempotent on ``key``."""
        element = qbxml.request_element(request)
        if "Query" not in element.tag:
            raise ValueError(f"a read is a query request, not <{element.tag}>")
        return self._enqueue(READ, [_canonical(element)], key, "stopOnError", iterate)

    def enqueue_writes(
        self, requests: Sequence[str], key: str, *, on_error: str = "stopOnError"
    ) -> Job:
        """Queue one group of writes, sent as one message set; idempotent on ``key``."""
        if not requests:
            raise ValueError("a write group needs at least one request")
        if on_error not in qbxml.ON_ERROR:
            raise ValueError(f"on_error must be one of {qbxml.ON_ERROR}")
        elements = [_canonical(qbxml.request_element(text)) for text in requests]
        return self._enqueue(WRITE, elements, key, on_error, False)

    def _enqueue(self, kind: str, requests: list[str], key: str, on_error: str, it: bool) -> Job:
        if not key or len(key) > MAX_KEY:
            raise ValueError(f"a job key is 1 to {MAX_KEY} characters")
        now = self._now()
        row = {
            "key": key,
            "kind": kind,
            "state": QUEUED,
            "on_error": on_error,
            "iterate": it,
            "requests": json.dumps(requests),
            "created_at": now,
            "updated_at": now,
            "attempts": 0,
        }
        try:
            with self._tx() as conn:
                conn.execute(jobs.insert().values(**row))
        except sa.exc.IntegrityError:
            pass
        job = self.job(key)
        assert job is not None
        if (job.kind, job.requests, job.on_error, job.iterate) != (kind, requests, on_error, it):
            raise KeyConflict(f"job key {key!r} was queued before with other requests")
        return job

    def job(self, key: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(jobs).where(jobs.c.key == key)).mappings().first()
        return _job(row) if row else None

    def get(self, job_id: int) -> Job:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            raise KeyError(f"no job {job_id}")
        return _job(row)

    def jobs(self, state: str | None = None) -> list[Job]:
        query = sa.select(jobs).order_by(jobs.c.id)
        if state:
            query = query.where(jobs.c.state == state)
        with self.engine.connect() as conn:
            return [_job(r) for r in conn.execute(query).mappings()]

    def pages(self, job_id: int) -> list[str]:
        query = sa.select(pages.c.xml).where(pages.c.job_id == job_id).order_by(pages.c.seq)
        with self.engine.connect() as conn:
            return [str(x) for x in conn.execute(query).scalars()]

    def in_doubt(self) -> list[Job]:
        return self.jobs(IN_DOUBT)

    def resolve(self, job_id: int, outcome: str, note: str) -> Job:
        """Settle an in-doubt write once the sync has looked (R-QBD-4): ``done``, ``failed``
        or ``requeue`` (sent again by the next session)."""
        state = {"done": DONE, "failed": FAILED, "requeue": QUEUED}.get(outcome)
        if state is None:
            raise ValueError("outcome is done, failed or requeue")
        with self._tx() as conn:
            changed = conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.state == IN_DOUBT)
                .values(state=state, note=note, updated_at=self._now(), session_id=None)
            ).rowcount
        if not changed:
            raise NotInDoubt(f"job {job_id} is not in doubt")
        return self.get(job_id)

    def has_work(self) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(jobs.c.id).where(jobs.c.state == QUEUED).limit(1)
            ).first()
        return found is not None

    def last_poll(self) -> dt.datetime | None:
        value = self.get_meta("last_poll")
        return dt.datetime.fromisoformat(value) if value else None

    def sessions(self, limit: int = 20) -> list[Session]:
        query = sa.select(sessions).order_by(sessions.c.started_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_session(r) for r in conn.execute(query).mappings()]

    def session(self, session_id: str) -> Session | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(sessions).where(sessions.c.id == session_id))
                .mappings()
                .first()
            )
        return _session(row) if row else None

    def events(self, session_id: str) -> list[Event]:
        query = sa.select(events).where(events.c.session_id == session_id).order_by(events.c.id)
        with self.engine.connect() as conn:
            return [
                Event(r["session_id"], r["at"], r["event"], r["detail"])
                for r in conn.execute(query).mappings()
            ]

    # -- meta ------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()
        return str(value) if value is not None else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as conn:
            if conn.execute(meta.update().where(meta.c.key == key).values(value=value)).rowcount:
                return
            conn.execute(meta.insert().values(key=key, value=value))

    def meta_default(self, key: str, make: Callable[[], str]) -> str:
        """``key``'s value, set to ``make()`` the first time (the first writer wins)."""
        value = self.get_meta(key)
        if value is not None:
            return value
        try:
            with self._tx() as conn:
                conn.execute(meta.insert().values(key=key, value=make()))
        except sa.exc.IntegrityError:
            pass
        value = self.get_meta(key)
        assert value is not None
        return value

    # -- the service's side: sessions ------------------------------------------------------
    def start_session(
        self, ticket: str, user_name: str, state: str, ttl: float, error: str | None = None
    ) -> Session:
        now = self.clock()
        session_id = secrets.token_hex(8)
        with self._tx() as conn:
            conn.execute(
                sessions.insert().values(
                    id=session_id,
                    ticket_hash=ticket_hash(ticket),
                    user_name=user_name[:200],
                    state=state,
                    started_at=iso(now),
                    last_seen_at=iso(now),
                    expires_at=iso(now + dt.timedelta(seconds=ttl)),
                    ended_at=None if state == "open" else iso(now),
                    requests=0,
                    answered=0,
                    error=error,
                )
            )
        found = self.session(session_id)
        assert found is not None
        return found

    def session_for(self, ticket: str) -> Session | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(sessions).where(sessions.c.ticket_hash == ticket_hash(ticket))
                )
                .mappings()
                .first()
            )
        return _session(row) if row else None

    def touch(self, session_id: str, ttl: float, **changes: Any) -> None:
        now = self.clock()
        with self._tx() as conn:
            conn.execute(
                sessions.update()
                .where(sessions.c.id == session_id)
                .values(
                    last_seen_at=iso(now),
                    expires_at=iso(now + dt.timedelta(seconds=ttl)),
                    **changes,
                )
            )

    def record_poll(self) -> None:
        self.set_meta("last_poll", self._now())

    def log_event(self, session_id: str, event: str, detail: str) -> None:
        with self._tx() as conn:
            conn.execute(
                events.insert().values(
                    session_id=session_id, at=self._now(), event=event, detail=detail[:4000]
                )
            )

    def end_session(self, session_id: str, state: str, error: str | None = None) -> list[Job]:
        """End an open session (``ended`` or ``error``): its writes still awaiting an answer
        become in doubt, its reads are restarted. The jobs it touched, as they are now."""
        with self._tx() as conn:
            values: dict[str, Any] = {"state": state, "ended_at": self._now()}
            if error:
                values["error"] = error
            conn.execute(
                sessions.update()
                .where(sessions.c.id == session_id, sessions.c.state == "open")
                .values(current_job_id=None, **values)
            )
            touched = self._settle(conn, session_id, f"session {session_id} ended ({state})")
        return [self.get(job_id) for job_id in touched]

    def prune(
        self,
        *,
        reads: dt.timedelta = KEEP_READS,
        writes: dt.timedelta = KEEP_WRITES,
        history: dt.timedelta = KEEP_HISTORY,
    ) -> dict[str, int]:
        """Delete what the sync no longer needs, so the queue does not grow with every run:
        finished reads (their pages were read by the task that queued them; a retried task
        queues its reads anew) after ``reads``, finished write groups (kept long: a retried
        task finds its group by key instead of sending it again) after ``writes``, ended
        sessions and their events after ``history``. Jobs queued, sent or in doubt are never
        deleted. The number of jobs, sessions and events deleted."""
        now = self.clock()
        finished = (DONE, FAILED)
        with self._tx() as conn:
            old = sa.select(jobs.c.id).where(
                jobs.c.state.in_(finished),
                sa.or_(
                    sa.and_(jobs.c.kind == READ, jobs.c.updated_at < iso(now - reads)),
                    sa.and_(jobs.c.kind == WRITE, jobs.c.updated_at < iso(now - writes)),
                ),
            )
            conn.execute(pages.delete().where(pages.c.job_id.in_(old)))
            gone_jobs = conn.execute(jobs.delete().where(jobs.c.id.in_(old))).rowcount
            ended = sa.select(sessions.c.id).where(
                sessions.c.state != "open", sessions.c.last_seen_at < iso(now - history)
            )
            gone_events = conn.execute(
                events.delete().where(events.c.session_id.in_(ended))
            ).rowcount
            gone_sessions = conn.execute(
                sessions.delete().where(
                    sessions.c.state != "open", sessions.c.last_seen_at < iso(now - history)
                )
            ).rowcount
        return {"jobs": gone_jobs, "sessions": gone_sessions, "events": gone_events}

    def cancel(self, job_id: int, why: str) -> Job:
        """A job still queued (never sent) that its task gave up on: failed, with ``why``, so
        the Web Connector is not handed work nobody waits for. A job already sent is left as
        it is (its answer settles it). The job as it is now."""
        with self._tx() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.state == QUEUED)
                .values(state=FAILED, error=why[:4000], updated_at=self._now())
            )
        return self.get(job_id)

    def set_session_error(self, session_id: str, error: str) -> None:
        with self._tx() as conn:
            conn.execute(sessions.update().where(sessions.c.id == session_id).values(error=error))

    def expire_sessions(self, keep: str | None = None) -> list[str]:
        """End every open session past its expiry (``keep`` None), or every open one but
        ``keep`` (``""``: all of them) when the Web Connector starts a new update: it runs one
        at a time, so the others are over. Their ids. The adapter may call it before reading
        a job's state, so a dead session's writes show as in doubt."""
        now = self._now()
        with self.engine.connect() as conn:
            query = sa.select(sessions.c.id).where(sessions.c.state == "open")
            if keep is None:
                query = query.where(sessions.c.expires_at < now)
            else:
                query = query.where(sessions.c.id != keep)
            stale = list(conn.execute(query).scalars())
        for session_id in stale:
            self.end_session(session_id, "error", "the session expired or was superseded")
        return stale

    def _settle(self, conn: Connection, session_id: str, why: str) -> list[int]:
        rows = (
            conn.execute(
                sa.select(jobs).where(jobs.c.session_id == session_id, jobs.c.state == SENT)
            )
            .mappings()
            .all()
        )
        now = self._now()
        for row in rows:
            if row["kind"] == WRITE:
                conn.execute(
                    jobs.update()
                    .where(jobs.c.id == row["id"], jobs.c.state == SENT)
                    .values(state=IN_DOUBT, updated_at=now, error=f"no answer came: {why}"[:4000])
                )
            else:
                self._restart(conn, row["id"], row["attempts"], why)
        return [row["id"] for row in rows]

    def _restart(self, conn: Connection, job_id: int, attempts: int, why: str) -> None:
        """A read starts over: its pages go, its iterator is forgotten (iterators end with the
        QuickBooks session); after MAX_READ_ATTEMPTS it fails."""
        conn.execute(pages.delete().where(pages.c.job_id == job_id))
        failed = attempts >= MAX_READ_ATTEMPTS
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id)
            .values(
                state=FAILED if failed else QUEUED,
                iterator_id=None,
                remaining=None,
                session_id=None,
                updated_at=self._now(),
                error=(f"restarted {attempts} times, last: {why}" if failed else why)[:4000],
            )
        )

    # -- the service's side: jobs ----------------------------------------------------------
    def claim(self, session_id: str) -> Job | None:
        """Atomically take the oldest queued job for ``session_id`` (state ``sent``); None
        when nothing is queued. One conditional UPDATE: two sessions never get one job."""
        for _ in range(20):
            with self._tx() as conn:
                oldest = (
                    sa.select(jobs.c.id)
                    .where(jobs.c.state == QUEUED)
                    .order_by(jobs.c.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                    .scalar_subquery()
                )
                claimed = conn.execute(
                    jobs.update()
                    .where(jobs.c.id == oldest, jobs.c.state == QUEUED)
                    .values(
                        state=SENT,
                        session_id=session_id,
                        attempts=jobs.c.attempts + 1,
                        updated_at=self._now(),
                        error=None,
                    )
                    .returning(jobs.c.id)
                ).scalar()
            if claimed is not None:
                return self.get(int(claimed))
            if not self.has_work():
                return None
        return None

    def continuing_read(self, session_id: str) -> Job | None:
        """The read this session is walking with an iterator, if any."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(jobs).where(
                        jobs.c.session_id == session_id,
                        jobs.c.state == SENT,
                        jobs.c.iterator_id.is_not(None),
                    )
                )
                .mappings()
                .first()
            )
        return _job(row) if row else None

    def outstanding(self, session_id: str) -> int:
        """Jobs of this session still sent (writes awaiting an answer, reads under way)."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(jobs)
                    .where(jobs.c.session_id == session_id, jobs.c.state == SENT)
                ).scalar()
                or 0
            )

    def last_work(self, session_id: str) -> dt.datetime | None:
        """When a job of this session last changed (sent, answered, restarted), or None."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.max(jobs.c.updated_at)).where(jobs.c.session_id == session_id)
            ).scalar()
        return dt.datetime.fromisoformat(value) if value else None

    def count(self, state: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(jobs).where(jobs.c.state == state)
                ).scalar()
                or 0
            )

    def store_answer(self, job_id: int, session_id: str, response: str) -> Job:
        """QuickBooks' answer to the job's message set, relayed by the Web Connector."""
        job = self.get(job_id)
        if job.session_id != session_id or job.state not in (SENT, IN_DOUBT):
            raise ValueError(f"job {job_id} is not awaiting an answer in this session")
        if len(response) > MAX_PAGE_CHARS:
            return self.lost_answer(
                job_id, session_id, f"an answer of {len(response)} characters exceeds the page cap"
            )
        try:
            found = qbxml.answers(response)
        except ValueError as exc:
            return self.lost_answer(job_id, session_id, f"the answer cannot be read: {exc}")
        now = self._now()
        answer = found[0] if found else None
        with self._tx() as conn:
            if (
                job.kind == READ
                and answer is not None
                and answer.status_code == qbxml.ITERATOR_EXPIRED
            ):
                self._restart(conn, job_id, job.attempts, "the iterator expired (3391)")
                values: dict[str, Any] = {}
            else:
                seq = conn.execute(
                    sa.select(sa.func.count()).select_from(pages).where(pages.c.job_id == job_id)
                ).scalar()
                conn.execute(
                    pages.insert().values(
                        job_id=job_id, seq=int(seq or 0), xml=response, created_at=now
                    )
                )
                values = (
                    _after_read(answer, job.iterate) if job.kind == READ else _after_write(found)
                )
            if values:
                conn.execute(
                    jobs.update()
                    .where(
                        jobs.c.id == job_id,
                        jobs.c.session_id == session_id,
                        jobs.c.state.in_((SENT, IN_DOUBT)),
                    )
                    .values(updated_at=now, **values)
                )
        return self.get(job_id)

    def lost_answer(self, job_id: int, session_id: str, why: str, hresult: str = "") -> Job:
        """The job's answer will not come: a write becomes in doubt (``failed`` when QuickBooks
        could not parse the message set, HRESULT 0x80040400, as nothing was applied), a read
        is restarted."""
        with self._tx() as conn:
            row = (
                conn.execute(
                    sa.select(jobs).where(
                        jobs.c.id == job_id,
                        jobs.c.session_id == session_id,
                        jobs.c.state == SENT,
                    )
                )
                .mappings()
                .first()
            )
            if row is not None:
                if row["kind"] == READ:
                    if hresult.lower() == HR_PARSE_ERROR:
                        conn.execute(
                            jobs.update()
                            .where(jobs.c.id == job_id)
                            .values(state=FAILED, error=why[:4000], updated_at=self._now())
                        )
                    else:
                        self._restart(conn, job_id, row["attempts"], why)
                else:
                    state = FAILED if hresult.lower() == HR_PARSE_ERROR else IN_DOUBT
                    conn.execute(
                        jobs.update()
                        .where(jobs.c.id == job_id)
                        .values(state=state, error=why[:4000], updated_at=self._now())
                    )
        return self.get(job_id)


def _after_read(answer: qbxml.Answer | None, iterate: bool = True) -> dict[str, Any]:
    """A read's state after one page: failed on an error status, sent while the iterator has
    more (a read queued with ``iterate=False`` is one page, even when its request starts an
    iterator itself: the adapter's count), done otherwise."""
    if answer is None or answer.is_error:
        error = (
            f"{answer.tag} {answer.status_code}: {answer.message}"
            if answer
            else "the answer holds no response element"
        )
        return {"state": FAILED, "error": error[:4000]}
    if iterate and answer.remaining and answer.iterator_id:
        return {"state": SENT, "iterator_id": answer.iterator_id, "remaining": answer.remaining}
    return {"state": DONE, "iterator_id": None, "remaining": 0}


def _after_write(found: list[qbxml.Answer]) -> dict[str, Any]:
    """A write group is done once answered; its error statuses are summed up."""
    errors = "; ".join(f"{a.tag} {a.status_code}: {a.message}" for a in found if a.is_error)
    return {"state": DONE, "error": errors[:4000] or None}


def _canonical(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode")


def _job(row: Any) -> Job:
    return Job(
        id=int(row["id"]),
        key=row["key"],
        kind=row["kind"],
        state=row["state"],
        on_error=row["on_error"],
        iterate=bool(row["iterate"]),
        requests=list(json.loads(row["requests"])),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        attempts=int(row["attempts"]),
        iterator_id=row["iterator_id"],
        remaining=row["remaining"],
        error=row["error"],
        note=row["note"],
        session_id=row["session_id"],
    )


def _session(row: Any) -> Session:
    return Session(
        id=row["id"],
        user_name=row["user_name"],
        state=row["state"],
        started_at=row["started_at"],
        last_seen_at=row["last_seen_at"],
        expires_at=row["expires_at"],
        ended_at=row["ended_at"],
        company_file=row["company_file"],
        product_name=row["product_name"],
        requests=int(row["requests"]),
        answered=int(row["answered"]),
        current_job_id=row["current_job_id"],
        error=row["error"],
    )
