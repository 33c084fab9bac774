"""``DesktopQuickBooks``: the ``QuickBooks`` protocol over sfqb's Web Connector queue.

Reads queue one read job per query (iterator pages of ``page_size``), wait for it (``wait``,
the seam of ``waiting.py``) and normalise its Rets into QBO JSON (R-QBD-3). Writes queue one
write job per group of ``batch_size`` (continueOnError), read each request's statusCode, retry
a stale EditSequence (3200) once on a fresh read, and link a name already in use (3100) when it
is our own earlier add (R-QBD-4). Every add carries an ExternalGUID derived from its entity,
operation and key; before anything is written, every write job left in doubt is looked up by
those identities and settled (``resolve``), and adds found are answered from what QuickBooks
has instead of being sent again. Before queuing writes, the Web Connector must have polled
recently (R-QBD-2).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from lxml import etree

from sfqb import qbo_queries as q
from sfqb.hooks.errors import (
    DuplicateNameError,
    NotFoundError,
    StaleObjectError,
    SyncServiceError,
    TransientError,
    ValidationError,
)
from sfqb.hooks.interface import Read
from sfqb.hooks.quickbooks.batch import BATCH_SIZE, BatchOp, BatchResult
from sfqb.qbwc import qbxml
from sfqb.qbwc.queue import DONE, FAILED, IN_DOUBT, Job, JobQueue
from sfqb.qbwc.settings import desktop_settings
from sfqb.qbwc.status import OFFSET_KEY, offset_note, offset_text

from . import normalise as n
from . import translate as t
from .clock import META_KEY, DesktopClock, write_offset
from .waiting import DEFAULT_MAX_POLL_AGE, Waiter, check_polling, poll_wait

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "quickbooks_desktop_default"
IN_CHUNK = 100
"""ListIDs/FullNames per selecting query."""
DEFAULT_TIMEOUT = 30 * 60.0
NAME_IN_USE, STALE, NOT_FOUND_CODES = 3100, 3200, (3120, 3140)
NOT_IN_EDITION = 3250
"""A feature the company's edition does not have (Sales Orders on Pro, api-notes 8.3)."""
LOOKBACK = dt.timedelta(days=1)
"""How far before an in-doubt job's creation its transactions are looked for (clock skew)."""


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


@dataclass
class _QueuedChunk:
    """A write group queued, not yet answered: its key, the ops sent and their requests, the
    job (None when no op could be written) and the results known already."""

    key: str
    ops: list[BatchOp]
    requests: list[str]
    job: Job | None
    results: dict[str, BatchResult] = field(default_factory=dict)


class DesktopQuickBooks:
    """One QuickBooks Desktop company, reached through the queue of sfqb's Web Connector
    service (docs/architecture.md section 7)."""

    def __init__(
        self,
        queue: JobQueue,
        *,
        conn_id: str = DEFAULT_CONN_ID,
        tz: dt.tzinfo = dt.UTC,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        wait: Waiter | None = None,
        poll_interval: float = 0.5,
        max_poll_age: dt.timedelta = DEFAULT_MAX_POLL_AGE,
        page_size: int = t.DEFAULT_PAGE,
        before_call: Callable[[bool], None] | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.queue = queue
        self._conn_id = conn_id
        self.tz = tz
        self.deadline = deadline if deadline is not None else time.monotonic() + timeout
        self.wait: Waiter = wait or partial(
            poll_wait, interval=poll_interval, max_poll_age=max_poll_age, now=now
        )
        self.max_poll_age = max_poll_age
        self.page_size = page_size
        self.before_call = before_call
        self._now = now
        self._clock = DesktopClock(
            load=lambda: queue.get_meta(META_KEY),
            save=lambda value: queue.set_meta(META_KEY, value),
            service_now=queue.last_poll,  # the service's clock, to move it on between tasks
        )
        self._offset_warned = False

    @classmethod
    def from_connection(
        cls, conn_id: str = DEFAULT_CONN_ID, *, queue: JobQueue | None = None, **options: Any
    ) -> DesktopQuickBooks:
        """The adapter for the company of connection ``conn_id``: the queue sfqb's service
        serves (connection ``sfqb_qbwc_queue``, ``JobQueue.open``), the company's time zone and
        the allowed poll age from the connection's extras (``sfqb.qbwc.settings``). A missing
        or bad connection raises ``SettingsError`` naming it and the key."""
        settings = desktop_settings(conn_id)
        return cls(
            queue if queue is not None else JobQueue.open(),
            conn_id=conn_id,
            tz=settings.tz,
            max_poll_age=settings.max_poll_age,
            **options,
        )

    # -- the protocol's properties ---------------------------------------------------------
    @property
    def quickbooks_conn_id(self) -> str:
        return self._conn_id

    @property
    def clock(self) -> DesktopClock:
        """The company PC's time as its answers' TimeModified show it, a lower bound (R-ACC-5,
        R-GEN-2: the stamps and watermarks compared with QuickBooks' times are on it)."""
        return self._clock

    def refresh_token_warning(self) -> str | None:
        """Desktop has no tokens: the Web Connector's password does not lapse."""
        return None

    # -- R-QBD-2 ---------------------------------------------------------------------------
    def check_web_connector(self) -> None:
        """``WebConnectorNotPolling`` unless the Web Connector polled within the allowed time
        (R-QBD-2); call it at the start of an area too."""
        check_polling(self.queue.last_poll(), self._now(), self.max_poll_age)

    # -- jobs ------------------------------------------------------------------------------
    def _settle(self, job: Job) -> Job:
        return self.wait(self.queue, job.id, self.deadline)

    def _answers(self, job: Job, asked: dt.datetime | None = None) -> list[etree._Element]:
        """The response elements of every page of a finished job, in order; ``asked``: the
        clock's bound when the job was queued (a read's: answered after it)."""
        out = []
        for page in self.queue.pages(job.id):
            root = qbxml.parse(page)
            self._clock.observe(root, asked, job.updated_at)
            msgs = root.find("QBXMLMsgsRs")
            out += [rs for rs in (msgs if msgs is not None else []) if isinstance(rs.tag, str)]
        return out

    def _read_jobs(self, requests: list[tuple[str, bool]]) -> list[list[etree._Element]]:
        """The Ret elements of each read, in order (``_read_answers``)."""
        return [
            [r for rs in answers for r in rs if isinstance(r.tag, str)]
            for answers in self._read_answers(requests)
        ]

    def _read_answers(self, requests: list[tuple[str, bool]]) -> list[list[etree._Element]]:
        """Queue the reads (all of them first: one Web Connector session can take them all),
        then wait for each; the response elements of each (every page), checked. Nothing is
        queued while the Web Connector is not polling (R-QBD-2): the read fails at once."""
        if self.before_call is not None:
            self.before_call(False)
        self.check_web_connector()
        asked = self._clock.bound()  # QuickBooks answers these after they are queued
        jobs = [
            self.queue.enqueue_read(request, f"read:{uuid.uuid4().hex}", iterate=iterate)
            for request, iterate in requests
        ]
        out: list[list[etree._Element]] = []
        for job in jobs:
            done = self._settle(job)
            if done.state == FAILED and f"SalesOrderQueryRs {NOT_IN_EDITION}" in (done.error or ""):
                out.append([])  # Pro keeps no Sales Orders: there are none to read (R-QBD-5)
                continue
            if done.state != DONE:
                raise TransientError(
                    f"QuickBooks Desktop: read job {done.id} {done.state}: {done.error}"
                )
            answers = self._answers(done, asked)
            for rs in answers:
                code = int(rs.get("statusCode", "0"))
                if code >= qbxml.ERROR_FROM:
                    raise ValidationError(
                        f"QuickBooks Desktop refused {rs.tag}: {rs.get('statusMessage')}",
                        code=code,
                    )
            out.append(answers)
        return out

    def _query(self, queries: list[t.Query]) -> list[dict]:
        return [record for records in self._query_each(queries) for record in records]

    def _query_each(self, queries: list[t.Query]) -> list[list[dict]]:
        """Each query's records (normalised, its ``post`` conditions applied), in order; the
        jobs queued together (``_read_jobs``)."""
        out = []
        pages = self._read_jobs([(query.request, query.iterate) for query in queries])
        for query, rets in zip(queries, pages, strict=True):
            records = []
            for ret in rets:
                if ret.tag not in query.entity.rets:
                    continue
                record = n.normalise(ret)
                if all(n.matches(record, c) for c in query.post):
                    records.append(record)
            out.append(records)
        return out

    # -- reads -----------------------------------------------------------------------------
    def query_all(
        self,
        entity: str,
        where: Sequence[str] = (),
        *,
        include_inactive: bool = False,
        page_size: int = q.MAX_RESULTS,
        order_by: str = q.DEFAULT_ORDER,
        start_position: int = 1,
    ) -> Iterator[dict]:
        """Every record matching ``where`` (translated by ``translate.query_request``); the
        job walks QuickBooks' iterator in pages of ``page_size`` (at most the adapter's), then
        the records are put in ``order_by`` order and answered from ``start_position``."""
        (query,) = self._requests(Read(entity, where, include_inactive), page_size)
        records = _ordered(self._query([query]), order_by)
        yield from records[start_position - 1 :]

    def query_all_together(self, reads: Sequence[Read]) -> list[Iterator[dict]]:
        """Each read's records as ``query_all`` (``query_in`` for a read ``among`` values)
        answers them, its requests the same; every read's jobs are queued before the first is
        waited on (``_read_answers``), so one Web Connector session takes them back to back
        (read one after the other, each waited for the previous one's answer and the next
        queue round trip)."""
        requests = [self._requests(read) for read in reads]
        flat = [query for each in requests for query in each]
        answered = iter(self._query_each(flat) if flat else [])
        out = []
        for read, each in zip(reads, requests, strict=True):
            records = [record for _ in each for record in next(answered)]
            out.append(
                iter(
                    _unique(records)
                    if read.among is not None
                    else _ordered(records, q.DEFAULT_ORDER)
                )
            )
        return out

    def _requests(self, read: Read, page_size: int = q.MAX_RESULTS) -> list[t.Query]:
        """A read's requests: ``query_all``'s one (iterator pages of ``page_size``, at most the
        adapter's) or, ``among`` values, one per ``IN_CHUNK`` of them (each value asked once,
        blanks ignored: none, no request)."""
        if read.among is None:
            chunks: list[list[str]] = [[]]
        else:
            prop, values = read.among
            wanted = sorted({str(v) for v in values if v is not None and str(v).strip()})
            chunks = [
                [q.in_(prop, wanted[i : i + IN_CHUNK])] for i in range(0, len(wanted), IN_CHUNK)
            ]
            page_size = self.page_size
        return [
            t.query_request(
                read.entity,
                [*read.where, *chunk],
                include_inactive=read.include_inactive,
                tz=self.tz,
                max_returned=min(page_size, self.page_size),
            )
            for chunk in chunks
        ]

    def query_in(
        self,
        entity: str,
        prop: str,
        values: Iterable[object],
        where: Sequence[str] = (),
        *,
        include_inactive: bool = False,
    ) -> Iterator[dict]:
        """Records whose ``prop`` is one of ``values``, ``IN_CHUNK`` values per query, the
        queries queued together."""
        read = Read(entity, where, include_inactive, among=(prop, values))
        (records,) = self.query_all_together([read])
        yield from records

    def query_window(
        self,
        entity: str,
        start: dt.datetime | None,
        end: dt.datetime | None,
        *,
        include_inactive: bool = False,
        where: Sequence[str] = (),
        page_size: int = q.MAX_RESULTS,
    ) -> Iterator[dict]:
        """Records last changed in ``[start, end)``, oldest first."""
        return self.query_all(
            entity,
            [*q.window_conditions(start, end), *where],
            include_inactive=include_inactive,
            page_size=page_size,
        )

    def count(
        self, entity: str, where: Sequence[str] = (), *, include_inactive: bool = False
    ) -> int:
        """qbXML has no count query. When QuickBooks can apply every condition itself, one
        request starts an iterator of one record and its ``iteratorRemainingCount`` says the
        rest (the iterator is left to expire); otherwise the records are read and counted."""
        query = t.query_request(
            entity, where, include_inactive=include_inactive, tz=self.tz, max_returned=1
        )
        if not query.iterate or query.post:
            return sum(1 for _ in self.query_all(entity, where, include_inactive=include_inactive))
        element = qbxml.request_element(query.request)
        element.set("iterator", "Start")
        ((rs,),) = self._read_answers([(etree.tostring(element, encoding="unicode"), False)])
        returned = sum(1 for r in rs if isinstance(r.tag, str) and r.tag in query.entity.rets)
        return returned + int(rs.get("iteratorRemainingCount") or 0)

    def changes(
        self, entities: Sequence[str], since: dt.datetime, *, now: dt.datetime | None = None
    ) -> dict[str, list[dict]]:
        """Per entity, the records modified since ``since`` (inactive ones included) and the
        deletions QuickBooks lists since then (ListDeletedQuery/TxnDeletedQuery, about 90
        days back), as ``{"status": "Deleted", "Id": ...}``."""
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        queries = [
            t.query_request(
                entity,
                q.window_conditions(since, None),
                include_inactive=True,
                tz=self.tz,
                max_returned=self.page_size,
            )
            for entity in entities
        ]
        deleted = t.deleted_request(entities, since, self.tz)
        pages = self._read_jobs(
            [(query.request, query.iterate) for query in queries] + [(d, False) for d in deleted]
        )
        out: dict[str, list[dict]] = {}
        for query, rets in zip(queries, pages[: len(queries)], strict=True):
            out[query.entity.name] = _ordered(
                [n.normalise(r) for r in rets if r.tag in query.entity.rets], q.DEFAULT_ORDER
            )
        by_type = {d: e for e in entities for d in t.entity(e).deleted}
        for rets in pages[len(queries) :]:
            for ret in rets:
                kind, record = n.deleted(ret)
                if kind in by_type:
                    out[by_type[kind]].append(record)
        return out

    def preferences(self) -> dict:
        """The company's preferences (``n.preferences``), with ``Edition``/``ProductName`` as
        the company file reports them (HostQuery, R-QBD-5): ``pro``, ``premier``,
        ``enterprise``, ``accountant`` or None."""
        rets, host = self._read_jobs(
            [("<PreferencesQueryRq></PreferencesQueryRq>", False), ("<HostQueryRq/>", False)]
        )
        found = [r for r in rets if r.tag == "PreferencesRet"]
        out = n.preferences(found[0]) if found else n.preferences(etree.Element("None"))
        product = next((r.findtext("ProductName") for r in host if r.tag == "HostRet"), None)
        company = qbxml.HostCompany((product or "").strip(), "", out.get("SalesOrders"))
        return out | {"ProductName": company.product_name or None, "Edition": company.edition}

    def read(self, entity: str, id_: str) -> dict:
        found = list(self.query_in(entity, "Id", [id_], include_inactive=True))
        if not found:
            raise NotFoundError(f"QuickBooks Desktop: {entity} {id_} not found")
        return found[0]

    # -- writes ----------------------------------------------------------------------------
    def batch(
        self,
        operations: Sequence[BatchOp],
        *,
        request_id: str | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> list[BatchResult]:
        """Apply the writes, one write job (message set, continueOnError) per ``batch_size``;
        one ``BatchResult`` per op, in input order (R-QBD-4).

        First the Web Connector must be polling (R-QBD-2: else ``WebConnectorNotPolling`` and
        nothing is queued), then every write job in doubt is settled by looking its records
        up. The same ``request_id`` finds the jobs a first attempt queued (their keys derive
        from it): answered ones are read again, not sent again."""
        keys = [op.key for op in operations]
        if len(set(keys)) != len(keys):
            raise ValueError("BatchOp keys must be unique")
        if not operations:
            return []
        self.check_web_connector()
        if self.before_call is not None:
            self.before_call(True)
        found = self.settle_in_doubt()
        base = request_id or uuid.uuid4().hex
        results: dict[str, BatchResult] = {}
        pending = []
        for op in operations:
            guid = identity(op)
            if op.operation == "create" and guid in found:
                log.info("QuickBooks Desktop: %s %s was applied before; linked", op.entity, op.key)
                results[op.key] = BatchResult(op.key, True, entity=found[guid])
            else:
                pending.append(op)
        # Every group is queued before the first wait: the Web Connector then sends them all in
        # one session (a group queued after the previous one's answer waits for the next poll,
        # minutes on a real schedule: bench/results/desktop_throughput.md).
        queued = [
            self._queue_chunk(pending[start : start + batch_size], f"{base}:{start // batch_size}")
            for start in range(0, len(pending), batch_size)
        ]
        for chunk in queued:
            results.update(self._finish_chunk(chunk))
        return [results[key] for key in keys]

    def _queue_chunk(self, chunk: Sequence[BatchOp], key: str) -> _QueuedChunk:
        """One write group's requests, queued (its ops that cannot be written: their results)."""
        results: dict[str, BatchResult] = {}
        requests: dict[str, str] = {}
        for op in chunk:
            try:
                requests[op.key] = t.write_request(
                    op.entity, op.operation, op.payload, identity(op)
                )
            except SyncServiceError as exc:
                results[op.key] = BatchResult(op.key, False, error=exc)
        ops = [op for op in chunk if op.key in requests]
        texts = [requests[op.key] for op in ops]
        job = self._write_job(texts, key) if ops else None
        return _QueuedChunk(key, ops, texts, job, results)

    def _finish_chunk(self, chunk: _QueuedChunk) -> dict[str, BatchResult]:
        """Wait for a queued group's answer; one result per op (3200: read again, sent once
        more)."""
        results, ops, key = chunk.results, chunk.ops, chunk.key
        if chunk.job is None:
            return results
        answers = self._answers_for(chunk.job, chunk.requests)
        stale: list[BatchOp] = []
        for op, answer in zip(ops, answers, strict=True):
            result = self._outcome(op, answer)
            if isinstance(result.error, StaleObjectError):
                stale.append(op)
            results[op.key] = result
        if stale:
            retried = self._retry_stale(stale, key)
            results.update(retried)
        return results

    def _run_writes(self, requests: list[str], key: str) -> list[etree._Element | BatchResult]:
        """Queue one write group (or find the one queued under ``key``), wait, and answer one
        response element per request; a group left in doubt is settled first."""
        return self._answers_for(self._write_job(requests, key), requests)

    def _answers_for(self, job: Job, requests: list[str]) -> list[etree._Element | BatchResult]:
        """Wait for ``job`` (a write group of ``requests``); one response element per request,
        or the result that stands for it (in doubt: settled by looking the records up)."""
        done = self._settle(job)
        if done.state == IN_DOUBT:
            # The answer never came: what QuickBooks has decides, request by request.
            found = self._settle_job(done)
            out: list[etree._Element | BatchResult] = []
            for text in done.requests:
                record = found.get(_write_identity(qbxml.request_element(text)))
                out.append(
                    BatchResult("", True, entity=record)
                    if record is not None
                    else BatchResult(
                        "",
                        False,
                        error=TransientError(
                            f"QuickBooks Desktop: write job {done.id} lost its answer and the "
                            "write was not applied; it is sent again next run"
                        ),
                    )
                )
            return out
        if done.state != DONE:
            # failed: QuickBooks could not parse the message set (nothing applied)
            error = TransientError(f"QuickBooks Desktop: write job {done.id}: {done.error}")
            return [BatchResult("", False, error=error) for _ in requests]
        answers = self._answers(done)
        self._note_offset(write_offset(answers, done.updated_at), done.updated_at)
        by_id = {rs.get("requestID"): rs for rs in answers}
        out = []
        for index in range(len(requests)):
            rs = by_id.get(f"{done.id}.{index}")
            out.append(
                rs
                if rs is not None
                else BatchResult(
                    "", False, error=TransientError("QuickBooks Desktop: no answer for the write")
                )
            )
        return out

    def _note_offset(self, offset: dt.timedelta | None, stored_at: str) -> None:
        """Keep the PC's clock offset a write showed (the queue's meta, for the run summary
        and ``qbwc status``); a WARNING once per adapter when it is off by minutes."""
        if offset is None:
            return
        self.queue.set_meta(OFFSET_KEY, offset_note(offset, stored_at))
        text = offset_text(offset.total_seconds())
        if text is not None and not self._offset_warned:
            self._offset_warned = True
            log.warning("QuickBooks Desktop: %s", text)

    def _write_job(self, requests: list[str], key: str) -> Job:
        """The write job of ``key``: a first attempt's, unless it failed (then a new one)."""
        for attempt in range(100):
            job_key = f"write:{_digest(key, attempt)}"
            job = self.queue.job(job_key)
            if job is None:
                return self.queue.enqueue_writes(requests, job_key, on_error="continueOnError")
            if (
                job.requests
                == [etree.tostring(qbxml.request_element(r), encoding="unicode") for r in requests]
                and job.state != FAILED
            ):
                return job
        raise ValueError(f"QuickBooks Desktop: too many write jobs under {key}")

    def _outcome(self, op: BatchOp, answer: etree._Element | BatchResult) -> BatchResult:
        if isinstance(answer, BatchResult):
            return BatchResult(op.key, answer.ok, entity=answer.entity, error=answer.error)
        code = int(answer.get("statusCode", "0"))
        message = answer.get("statusMessage", "")
        if code < qbxml.ERROR_FROM:
            rets = [r for r in answer if isinstance(r.tag, str)]
            return BatchResult(op.key, True, entity=n.normalise(rets[0]) if rets else None)
        if code == STALE:
            return BatchResult(op.key, False, error=StaleObjectError(message, code=code))
        if code == NAME_IN_USE and op.operation == "create":
            return self._link_name(op, message)
        if code in NOT_FOUND_CODES:
            return BatchResult(op.key, False, error=NotFoundError(message, code=code))
        return BatchResult(op.key, False, error=ValidationError(message, code=code))

    def _link_name(self, op: BatchOp, message: str) -> BatchResult:
        """3100: the name is taken. Our own earlier add (same ExternalGUID) is linked; another
        record is a duplicate name (a WARNING for the step, R-QBD-4)."""
        record = self._lookup_create(op, since=None)
        if record is not None:
            log.info(
                "QuickBooks Desktop: %s %s exists already (our add); linked", op.entity, op.key
            )
            return BatchResult(op.key, True, entity=record)
        log.warning("QuickBooks Desktop: %s %s: %s", op.entity, op.key, message)
        return BatchResult(op.key, False, error=DuplicateNameError(message, code=NAME_IN_USE))

    def _retry_stale(self, ops: list[BatchOp], key: str) -> dict[str, BatchResult]:
        """3200: read each record again and send the change once more on its EditSequence."""
        fresh = {
            r["Id"]: r
            for e in {op.entity for op in ops}
            for r in self.query_in(
                e,
                "Id",
                [op.payload.get("Id") for op in ops if op.entity == e],
                include_inactive=True,
            )
        }
        retry = []
        results: dict[str, BatchResult] = {}
        for op in ops:
            record = fresh.get(str(op.payload.get("Id")))
            if record is None:
                results[op.key] = BatchResult(
                    op.key,
                    False,
                    error=NotFoundError(
                        f"QuickBooks Desktop: {op.entity} {op.payload.get('Id')} is gone"
                    ),
                )
                continue
            log.info(
                "QuickBooks Desktop: %s %s was stale; applying it once more", op.entity, op.key
            )
            retry.append(
                BatchOp(op.key, op.operation, op.entity, stale_retry(op.entity, op.payload, record))
            )
        if retry:
            requests = [
                t.write_request(o.entity, o.operation, o.payload, identity(o)) for o in retry
            ]
            for op, answer in zip(retry, self._run_writes(requests, f"{key}:stale"), strict=True):
                results[op.key] = self._outcome(op, answer)
        return results

    # -- in doubt (R-QBD-4) ----------------------------------------------------------------
    def settle_in_doubt(self) -> dict[str, dict]:
        """Look up the records of every write job in doubt and resolve it: ``done`` when every
        write was applied, ``failed`` otherwise (nothing is sent again by the queue: the next
        batch sends what is still missing, and adds found are linked, not repeated). The
        records found, by ExternalGUID."""
        self.queue.expire_sessions()
        found: dict[str, dict] = {}
        for job in self.queue.in_doubt():
            found.update(self._settle_job(job))
        return found

    def _settle_job(self, job: Job) -> dict[str, dict]:
        found: dict[str, dict] = {}
        applied, missing = [], []
        since = dt.datetime.fromisoformat(job.created_at) - LOOKBACK
        for text in job.requests:
            element = qbxml.request_element(text)
            body = element[0]
            tag = body.tag
            guid = body.findtext("ExternalGUID")
            if tag.endswith("Add") and guid:
                entity_name = tag[:-3]
                record = self._lookup_add(entity_name, body, guid, since)
                if record is not None:
                    found[guid] = record
                    applied.append(f"{entity_name} {record['Id']}")
                else:
                    missing.append(f"{entity_name} {guid}")
            elif tag.endswith("Mod"):
                entity_name = tag[:-3]
                id_ = body.findtext("ListID") or body.findtext("TxnID") or ""
                try:
                    current = self.read(entity_name, id_)
                except NotFoundError:
                    missing.append(f"{entity_name} {id_}")
                    continue
                # A Mod applied moved the EditSequence on.
                if current.get("SyncToken") != body.findtext("EditSequence"):
                    applied.append(f"{entity_name} {id_}")
                    found[_write_identity(element)] = current
                else:
                    missing.append(f"{entity_name} {id_}")
            else:
                missing.append(tag)
        outcome = "done" if not missing else "failed"
        note = f"looked up: applied {applied or 'none'}; not applied {missing or 'none'}"
        log.warning(
            "QuickBooks Desktop: write job %s was in doubt; %s -> %s", job.id, note, outcome
        )
        self.queue.resolve(job.id, outcome, note)
        return found

    def _lookup_add(
        self, entity_name: str, body: etree._Element, guid: str, since: dt.datetime | None
    ) -> dict | None:
        if entity_name == "Customer":
            name = body.findtext("Name") or ""
            parent = body.findtext("ParentRef/ListID")
            if parent:
                name = f"{self.read('Customer', parent)['FullyQualifiedName']}:{name}"
            candidates = list(
                self.query_in("Customer", "FullyQualifiedName", [name], include_inactive=True)
            )
        else:
            customer = body.findtext("CustomerRef/ListID")
            where = [q.condition(q.LAST_UPDATED, ">=", since)] if since else []
            if customer:
                where.append(q.in_("CustomerRef", [customer]))
            candidates = list(self.query_all(entity_name, where))
        return next((r for r in candidates if r.get("ExternalGUID") == guid), None)

    def _lookup_create(self, op: BatchOp, since: dt.datetime | None) -> dict | None:
        element = qbxml.request_element(
            t.write_request(op.entity, op.operation, op.payload, identity(op))
        )
        return self._lookup_add(op.entity, element[0], identity(op), since)


def stale_retry(entity: str, payload: dict, fresh: dict) -> dict:
    """The change refused for a stale EditSequence (3200), to send once more on the record as
    QuickBooks has it now (``fresh``). A Sales Order's change lists its lines, and QuickBooks
    deletes the lines a SalesOrderMod leaves out: so the lines a QuickBooks user added since the
    sync read the order are named too (kept as they are), and changes to lines the user deleted
    since are dropped (QuickBooks wins); new lines stay last."""
    out = {**payload, "SyncToken": fresh["SyncToken"]}
    if entity != "SalesOrder" or payload.get("Line") is None:
        return out
    sent = {str(line["Id"]): line for line in payload["Line"] if line.get("Id")}
    now = [
        str(line["Id"])
        for line in fresh.get("Line") or []
        if line.get("Id") and line.get("DetailType", "SalesItemLineDetail") == "SalesItemLineDetail"
    ]
    added = [line for line in payload["Line"] if not line.get("Id")]
    out["Line"] = [sent.get(line_id, {"Id": line_id}) for line_id in now] + added
    return out


def identity(op: BatchOp) -> str:
    """An add's ExternalGUID: the same for the same entity, operation and key (R-QBD-4)."""
    return t.identity(op.entity, op.operation, op.key)


def _write_identity(element: etree._Element) -> str:
    """What identifies one queued write: an add's ExternalGUID, a Mod's record and
    EditSequence."""
    body = element[0]
    guid = body.findtext("ExternalGUID")
    if guid:
        return guid
    id_ = body.findtext("ListID") or body.findtext("TxnID") or ""
    return f"mod:{id_}:{body.findtext('EditSequence')}"


def _unique(records: list[dict]) -> list[dict]:
    """Each record once (the first time its ``Id`` comes), in order."""
    seen: set[str] = set()
    out = []
    for record in records:
        if record["Id"] not in seen:
            seen.add(record["Id"])
            out.append(record)
    return out


def _ordered(records: list[dict], order_by: str) -> list[dict]:
    prop = "MetaData.LastUpdatedTime" if order_by.lower() == q.DEFAULT_ORDER.lower() else order_by
    descending = prop.endswith(" DESC")
    prop = prop.removesuffix(" DESC")

    def key(record: dict) -> Any:
        value: Any = record
        for part in prop.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return (value is None, str(value) if value is not None else "")

    return sorted(records, key=key, reverse=descending)
