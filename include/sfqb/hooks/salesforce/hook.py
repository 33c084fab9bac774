"""``SfqbSalesforceHook``: the provider's SalesforceHook with the client built from the
connection, one retried, counted, re-logged-in API call (``_call``), the reads (queries paged,
by windows and ids, Bulk API 2.0, describes, limits) and the writes (sObject Collections, Bulk
API 2.0)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar, cast

import requests
from airflow.providers.salesforce.hooks.salesforce import SalesforceHook
from simple_salesforce import Salesforce

from sfqb import soql

from ..counters import CallCounter
from ..errors import AuthError, ThrottledError
from ..parallel import ordered
from ..progress import Progress
from ..retry import RetryPolicy, call_with_retries
from .client import _mask, _TimeoutSession
from .encoding import _json_value, bulk_row, parse_bulk_csv, strip_attributes
from .errors import LOCK_ERROR, _SessionExpired, translate
from .results import CollectionResult, RecordIssue, _bulk_issue, parse_collection_results

# The package's name, as before it was split: log lines keep naming ``sfqb.hooks.salesforce``.
log = logging.getLogger("sfqb.hooks.salesforce")
T = TypeVar("T")

COLLECTION_SIZE = 200
"""sObject Collections take at most 200 records per request (api-notes 3.6)."""

BULK_THRESHOLD = 10_000
"""Above this many records a write goes through Bulk API 2.0: 10k records are 50 collection
calls, while a bulk job is about 6 calls whatever its size (and counts against a separate
daily quota)."""
# Records per page of a REST query (the default batch size).
QUERY_PAGE_SIZE = 2000

PARALLEL_CALLS = 4
"""Calls of one operation in flight at once: the 200-record calls of an update, upsert or
delete, the ``IN`` queries of ``query_in``. Each is a round trip of its own; four at a time
take a quarter of the waiting and stay far from the org's limit on concurrent requests (25
long-running ones). Creates go one at a time (a create is not repeatable)."""

DEFAULT_TIMEOUT = (10.0, 120.0)
"""(connect, read) seconds for every HTTP call. Without one, a hung server hangs the task."""

_FROM = re.compile(r"\bFROM\s+([A-Za-z][A-Za-z0-9_]*)", re.IGNORECASE)


class SfqbSalesforceHook(SalesforceHook):
    """The provider's SalesforceHook with sfqb's typed, retried, counted operations.

    Args:
        salesforce_conn_id: Airflow connection id (conn type ``salesforce``).
        session_id: a direct session (access token) for the provider's direct-session mode;
            such a client cannot log in again, so an expired session raises ``AuthError``.
        session: a requests session to use instead of the hook's own (timeout-bounded) one.
        retry_policy: how often and how long to retry transient failures.
        timeout: (connect, read) seconds for every HTTP call made with the hook's session.
        bulk_threshold: writes of more records than this go through Bulk API 2.0.
        bulk_wait: seconds Bulk API polling waits first (and the base of its back-off:
            simple-salesforce waits ``bulk_wait + e**n / 1000`` before its n-th status
            call, so with 0.5 a job done at once costs half a second, not 2, and a job of
            30 s about 11 status calls, 2 more than with 2 s).
        collection_size: records per sObject Collections call (at most 200).
        parallel_calls: calls of one update, upsert or delete, or of one ``query_in``, sent
            at once (1: one after the other). Records locked by a neighbouring call are sent
            again (UNABLE_TO_LOCK_ROW).
        parse_float: how JSON numbers with a fraction are read; ``Decimal`` by default, so
            money read from Salesforce is exact (pass ``float`` for the library's behaviour).
        sleep: injectable for tests.
        before_call: called before every attempt of an API call with whether it writes
            (sObject Collections, Bulk API ingest); it may raise to stop the call. sfqb's run
            lease renews its heartbeat and checks the lease there (``sfqb.lease``).
    """

    session: requests.Session  # never None: __init__ always passes one

    hook_name = "Salesforce (sfqb)"

    def __init__(
        self,
        salesforce_conn_id: str = SalesforceHook.default_conn_name,
        session_id: str | None = None,
        session: requests.Session | None = None,
        *,
        retry_policy: RetryPolicy | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        bulk_threshold: int = BULK_THRESHOLD,
        bulk_wait: float = 0.5,
        collection_size: int = COLLECTION_SIZE,
        parallel_calls: int = PARALLEL_CALLS,
        parse_float: Callable[[str], Any] = Decimal,
        sleep: Callable[[float], None] = time.sleep,
        before_call: Callable[[bool], None] | None = None,
    ) -> None:
        if not 1 <= collection_size <= COLLECTION_SIZE:
            raise ValueError(f"collection_size must be 1..{COLLECTION_SIZE}")
        super().__init__(
            salesforce_conn_id=salesforce_conn_id,
            session_id=session_id,
            session=session or _TimeoutSession(timeout),
        )
        self.retry_policy = retry_policy or RetryPolicy()
        self.bulk_threshold = bulk_threshold
        self.bulk_wait = bulk_wait
        self.collection_size = collection_size
        self.parallel_calls = max(1, parallel_calls)
        self.parse_float = parse_float
        self.calls = CallCounter()
        self._sleep = sleep
        self.before_call = before_call

    # --- client ---------------------------------------------------------------------------
    def connect(self) -> Salesforce:
        """The client, built now: the connection is looked up and the session logged in on the
        calling thread (``hooks.parallel``)."""
        return self.conn

    @cached_property
    def conn(self) -> Salesforce:
        """The simple-salesforce client built from the connection (cached; dropped and built
        again when the session expires). Each login counts as the ``login`` endpoint (a direct
        session does not log in)."""
        extras = self.get_connection(self.conn_id).extra_dejson
        proxies = self._get_field(extras, "proxies")
        if proxies and not self.session.proxies:
            self.session.proxies.update(proxies)  # the provider would drop them (own session)
        client = SalesforceHook.conn.func(self)  # type: ignore[attr-defined]  # mypy types a cached_property as a plain property
        # simple-salesforce's own parse_float option, which the provider does not pass on.
        client._parse_float = self.parse_float
        _mask(client.session_id)
        partial = getattr(client, "_salesforce_login_partial", None)
        if partial is not None:
            self.calls.add("login")

            # simple-salesforce logs in again by itself on a 401; mask those tokens too.
            def login_and_mask():
                session_id, instance = partial()
                _mask(session_id)
                self.calls.add("login")
                return session_id, instance

            client._salesforce_login_partial = login_and_mask
        return client

    def get_conn(self) -> Salesforce:
        return self.conn

    @property
    def http_requests(self) -> int | None:
        """HTTP requests sent through the hook's own session (None with a caller's session)."""
        return getattr(self.session, "requests_made", None)

    @property
    def can_log_in_again(self) -> bool:
        """False for a direct session id (nothing to log in with)."""
        client = self.__dict__.get("conn")
        if client is not None:
            return getattr(client, "_salesforce_login_partial", None) is not None
        return self.session_id is None

    def _call(
        self,
        endpoint: str,
        fn: Callable[[Salesforce], T],
        *,
        idempotent: bool = True,
        policy: RetryPolicy | None = None,
        renew: bool = True,
        write: bool = False,
    ) -> T:
        """Run ``fn(client)`` with error mapping, retries, counting and (``renew``) one
        re-login when the session expired; ``before_call`` runs before each attempt (``write``:
        the call changes data)."""

        def attempt() -> T:
            if self.before_call is not None:
                self.before_call(write)
            self.calls.add(endpoint)
            try:
                return fn(self.conn)
            except Exception as exc:
                mapped = translate(exc, conn_id=self.conn_id, idempotent=idempotent)
                if mapped is exc:
                    raise
                if isinstance(mapped, ThrottledError) and mapped.retry_after is None:
                    mapped.retry_after = getattr(self.session, "retry_after", None)
                raise mapped from exc

        renewed = False
        while True:
            try:
                return call_with_retries(
                    attempt,
                    policy=policy or self.retry_policy,
                    what=f"Salesforce {endpoint}",
                    sleep=self._sleep,
                )
            except _SessionExpired as exc:
                if renewed or not renew or not self.can_log_in_again:
                    if not self.can_log_in_again:
                        how = (
                            "it is a direct session id: give the connection a login flow "
                            "or a fresh session"
                        )
                    elif not renew:
                        how = "not repeated: the call may have been partly applied"
                    else:
                        how = "logging in again did not help"
                    raise AuthError(
                        f"Salesforce session for connection '{self.conn_id}' "
                        f"expired or is invalid ({how})",
                        code=exc.code,
                    ) from None
                renewed = True
                log.warning(
                    "Salesforce session expired on %s; logging in again (connection %s)",
                    endpoint,
                    self.conn_id,
                )
                self.__dict__.pop("conn", None)

    # --- reads ----------------------------------------------------------------------------
    def query(self, query: str, *, include_deleted: bool = False) -> Iterator[dict]:
        """Every record of ``query`` (records without ``attributes``), page by page through
        queryMore; each page is fetched (and retried) on its own. api-notes 3.4."""
        endpoint = "queryAll" if include_deleted else "query"
        page = self._call(endpoint, lambda sf: sf.query(query, include_deleted=include_deleted))
        while True:
            for record in page.get("records") or []:
                yield strip_attributes(record)
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            url = page["nextRecordsUrl"]
            page = self._call(
                "queryMore",
                lambda sf, url=url: sf.query_more(url, identifier_is_url=True),  # type: ignore[misc]  # mypy cannot infer a default-argument lambda
            )

    def count(
        self,
        sobject: str,
        where: Sequence[str] | str | None = None,
        *,
        include_deleted: bool = False,
    ) -> int:
        """``SELECT COUNT() ...``: one call."""
        text = soql.count(sobject, where)
        endpoint = "queryAll" if include_deleted else "query"
        page = self._call(endpoint, lambda sf: sf.query(text, include_deleted=include_deleted))
        return int(page["totalSize"])

    def query_in(
        self,
        sobject: str,
        fields: Sequence[str],
        in_field: str,
        values: Iterable[Any],
        where: Sequence[str] | str | None = None,
    ) -> Iterator[dict]:
        """The records whose ``in_field`` is one of ``values`` (and match ``where``), in the
        fewest calls: ``IN (...)`` queries of about 500 ids each for a few values; for many, one
        ``COUNT()`` and, when it is cheaper, one paged read of every candidate filtered here
        (a first export of 50k items meets an org with few products: 2 calls, not 100)."""
        wanted = list(dict.fromkeys(str(v) for v in values if not soql.blank(v)))
        if not wanted:
            return
        chunks = list(soql.select_in_chunks(sobject, fields, in_field, wanted, where=where))
        if len(chunks) > 2:
            base = [where] if isinstance(where, str) else list(where or [])
            candidates = [*base, soql.compare(in_field, "!=", None)]
            pages = -(-self.count(sobject, candidates) // QUERY_PAGE_SIZE)
            if pages < len(chunks) - 1:
                keep = set(wanted)
                text = soql.select(
                    sobject, list(dict.fromkeys([*fields, in_field])), where=candidates
                )
                yield from (r for r in self.query(text) if str(r.get(in_field)) in keep)
                return
        for rows in ordered(
            lambda text: list(self.query(text)), chunks, self.parallel_calls, connect=(self,)
        ):
            yield from rows

    def query_window(
        self,
        sobject: str,
        fields: Sequence[str],
        start: dt.datetime,
        end: dt.datetime,
        *,
        where: Sequence[str] | str | None = None,
        include_deleted: bool = False,
        field_name: str = "SystemModstamp",
        order_by: Sequence[str] | None = None,
        count_first: bool = False,
    ) -> Iterator[dict]:
        """Records of ``sobject`` whose ``field_name`` is in ``[start, end)`` (R-GEN-2).

        ``include_deleted`` uses queryAll, so deleted records come back with IsDeleted=true.
        ``count_first`` spends one COUNT() call to choose Bulk API 2.0 above the bulk
        threshold (bulk rows are strings, see ``query_bulk``).
        """
        conditions = [soql.window(start, end, field_name)]
        conditions += [where] if isinstance(where, str) else list(where or [])
        order = list(order_by) if order_by is not None else [field_name, "Id"]
        text = soql.select(sobject, fields, where=conditions, order_by=order)
        log.info(
            "Salesforce %s window [%s, %s) on %s",
            sobject,
            start.isoformat(),
            end.isoformat(),
            field_name,
        )
        if (
            count_first
            and self.count(sobject, conditions, include_deleted=include_deleted)
            > self.bulk_threshold
        ):
            return self.query_bulk(text, include_deleted=include_deleted)
        return self.query(text, include_deleted=include_deleted)

    def query_bulk(self, query: str, *, include_deleted: bool = False) -> Iterator[dict]:
        """Every record of ``query`` through a Bulk API 2.0 query job (api-notes 3.12).

        The CSV answer is parsed into dicts shaped like REST records (dotted relationship
        columns nested), but values are strings (or None): Bulk CSV carries no types.
        Subqueries and aggregates are not allowed in bulk queries.
        """
        match = _FROM.search(query)
        if not match:
            raise ValueError("query has no FROM clause")
        sobject = match.group(1)

        def run(sf: Salesforce) -> list[str]:
            bulk = getattr(sf.bulk2, sobject)
            method = bulk.query_all if include_deleted else bulk.query
            return list(method(query, wait=self.bulk_wait))

        pages = self._call("bulk2.query", run)
        for page in pages:
            yield from parse_bulk_csv(page)

    def describe(self, sobject: str) -> dict:
        """``GET sobjects/{sobject}/describe`` (api-notes 3.8)."""
        name = soql.field(sobject)
        return cast(
            dict, self._call("describe", lambda sf: sf.restful(f"sobjects/{name}/describe"))
        )

    def describe_layouts(self, sobject: str) -> dict:
        """``GET sobjects/{sobject}/describe/layouts/`` (api-notes 3.8; R-PRE-3)."""
        name = soql.field(sobject)
        return cast(
            dict,
            self._call(
                "describe.layouts", lambda sf: sf.restful(f"sobjects/{name}/describe/layouts/")
            ),
        )

    def standard_pricebook(self) -> dict | None:
        """The org's standard price book (``Id``, ``Name``, ``IsActive``), or None (R-PRE-4)."""
        text = soql.select(
            "Pricebook2", ["Id", "Name", "IsActive"], where=soql.eq("IsStandard", True)
        )
        return next(iter(self.query(text)), None)

    def limits(self) -> dict:
        """``GET limits/`` (api-notes 3.10): DailyApiRequests and friends."""
        return self._call("limits", lambda sf: sf.limits())

    @property
    def api_usage(self) -> dict:
        """The last ``Sforce-Limit-Info`` simple-salesforce parsed (``{"api-usage": Usage}``)."""
        client = self.__dict__.get("conn")
        return dict(client.api_usage) if client is not None else {}

    # --- writes: sObject Collections ------------------------------------------------------
    def create(
        self,
        sobject: str,
        records: Sequence[Mapping],
        *,
        key_field: str | None = None,
        bulk: bool | None = None,
    ) -> list[CollectionResult]:
        """Create records; results keyed by ``record[key_field]`` (or the input index).
        A create whose answer is lost is not repeated (``OutcomeUnknownError``)."""
        if self._use_bulk(records, bulk):
            return self.bulk_insert(sobject, records, key_field=key_field)
        return self._collections("create", sobject, records, key_field)

    def update(
        self,
        sobject: str,
        records: Sequence[Mapping],
        *,
        key_field: str = "Id",
        bulk: bool | None = None,
    ) -> list[CollectionResult]:
        """Update records by ``Id`` (each record carries it)."""
        if self._use_bulk(records, bulk):
            return self.bulk_update(sobject, records, key_field=key_field)
        return self._collections("update", sobject, records, key_field)

    def upsert(
        self,
        sobject: str,
        records: Sequence[Mapping],
        *,
        ext_id_field: str,
        key_field: str | None = None,
        bulk: bool | None = None,
    ) -> list[CollectionResult]:
        """Upsert by the External ID ``ext_id_field`` (each record carries it); repeating an
        upsert is safe, which is why loads prefer it (R-GEN-3)."""
        key_field = key_field or ext_id_field
        if self._use_bulk(records, bulk):
            return self.bulk_upsert(
                sobject, records, ext_id_field=ext_id_field, key_field=key_field
            )
        return self._collections("upsert", sobject, records, key_field, ext_id_field)

    def delete(
        self, ids: Sequence[str], *, bulk_sobject: str | None = None
    ) -> list[CollectionResult]:
        """Delete by id (to the recycle bin), keyed by id. Above the bulk threshold and with
        ``bulk_sobject`` given, a Bulk API 2.0 delete job is used."""
        ids = list(ids)
        if bulk_sobject and len(ids) > self.bulk_threshold:
            return self.bulk_delete(bulk_sobject, ids)
        chunks = [
            ids[start : start + self.collection_size]
            for start in range(0, len(ids), self.collection_size)
        ]
        results: list[CollectionResult] = []
        for answered in ordered(
            lambda chunk: self._send_with_lock_retries(
                "collections.delete",
                chunk,
                chunk,
                lambda sf, part: sf.restful(
                    "composite/sobjects",
                    method="DELETE",
                    params={"ids": ",".join(part), "allOrNone": "false"},
                ),
            ),
            chunks,
            self.parallel_calls,
            connect=(self,),
        ):
            results += answered
        return results

    def _use_bulk(self, records: Sequence, bulk: bool | None) -> bool:
        return bulk if bulk is not None else len(records) > self.bulk_threshold

    def _collections(
        self,
        op: str,
        sobject: str,
        records: Sequence[Mapping],
        key_field: str | None,
        ext_id_field: str | None = None,
    ) -> list[CollectionResult]:
        name = soql.field(sobject)
        if op == "upsert":
            assert ext_id_field is not None  # upsert always passes one
            path, method = f"composite/sobjects/{name}/{soql.field(ext_id_field)}", "PATCH"
        else:
            path, method = "composite/sobjects", {"create": "POST", "update": "PATCH"}[op]
        keys = [r.get(key_field) if key_field else i for i, r in enumerate(records)]
        bodies = [
            {"attributes": {"type": name}, **{k: v for k, v in r.items() if k != "attributes"}}
            for r in records
        ]

        def send(sf: Salesforce, part: list[dict]) -> Any:
            data = json.dumps({"allOrNone": False, "records": part}, default=_json_value)
            return sf.restful(path, method=method, data=data)

        results: list[CollectionResult] = []
        progress = Progress(
            f"Salesforce collections.{op} {name}",
            records=len(records),
            batches=-(-len(records) // self.collection_size),
        )
        starts = range(0, len(records), self.collection_size)
        size = self.collection_size
        for part in ordered(
            lambda start: self._send_with_lock_retries(
                f"collections.{op}",
                bodies[start : start + size],
                keys[start : start + size],
                send,
                idempotent=op != "create",
            ),
            starts,
            1 if op == "create" else self.parallel_calls,
            connect=(self,),
        ):
            results += part
            progress.step(len(part))
        ok = sum(r.ok for r in results)
        log.info("Salesforce %s %s: %d ok, %d failed", op, name, ok, len(results) - ok)
        return results

    def _send_with_lock_retries(
        self,
        endpoint: str,
        items: list,
        keys: list,
        send: Callable[[Salesforce, list], Any],
        *,
        idempotent: bool = True,
    ) -> list[CollectionResult]:
        """One collection call; records refused with UNABLE_TO_LOCK_ROW are sent again (only
        those, with back-off) until the retry policy's attempts run out."""
        results: list[CollectionResult | None] = [None] * len(items)
        pending = list(range(len(items)))
        attempt = 1
        while True:
            part = [items[i] for i in pending]
            answer = self._call(
                endpoint,
                lambda sf, part=part: send(sf, part),  # type: ignore[misc]  # mypy cannot infer a default-argument lambda
                idempotent=idempotent,
                write=True,
            )
            parsed = parse_collection_results(answer, [keys[i] for i in pending])
            locked = []
            for i, result in zip(pending, parsed, strict=True):
                results[i] = result
                if not result.ok and LOCK_ERROR in result.error_codes:
                    locked.append(i)
            if not locked or attempt >= self.retry_policy.max_attempts:
                return results  # type: ignore[return-value]
            wait = self.retry_policy.delay(attempt)
            log.warning(
                "Salesforce %s: %d record(s) locked (attempt %d of %d); retrying them in %.1f s",
                endpoint,
                len(locked),
                attempt,
                self.retry_policy.max_attempts,
                wait,
            )
            self._sleep(wait)
            attempt += 1
            pending = locked

    # --- writes: Bulk API 2.0 -------------------------------------------------------------
    def bulk_insert(
        self, sobject: str, records: Sequence[Mapping], *, key_field: str | None = None
    ) -> list[CollectionResult]:
        """Bulk API 2.0 insert. Not retried once submitted (a retry could insert twice)."""
        return self._bulk("insert", sobject, records, key_field)

    def bulk_update(
        self, sobject: str, records: Sequence[Mapping], *, key_field: str = "Id"
    ) -> list[CollectionResult]:
        return self._bulk("update", sobject, records, key_field)

    def bulk_upsert(
        self,
        sobject: str,
        records: Sequence[Mapping],
        *,
        ext_id_field: str,
        key_field: str | None = None,
    ) -> list[CollectionResult]:
        return self._bulk("upsert", sobject, records, key_field or ext_id_field, ext_id_field)

    def bulk_delete(self, sobject: str, ids: Sequence[str]) -> list[CollectionResult]:
        return self._bulk("delete", sobject, [{"Id": i} for i in ids], "Id")

    def _bulk(
        self,
        op: str,
        sobject: str,
        records: Sequence[Mapping],
        key_field: str | None,
        ext_id_field: str | None = None,
    ) -> list[CollectionResult]:
        """Run one Bulk API 2.0 ingest and map its success/failed CSVs back to the inputs.

        Bulk results come back in no particular order and carry the input columns, so rows are
        matched on ``key_field`` (or, without one, on all their values)."""
        name = soql.field(sobject)
        if not records:
            return []
        rows = [bulk_row(r) for r in records]
        keys = [r.get(key_field) if key_field else i for i, r in enumerate(records)]
        columns = sorted({c for row in rows for c in row})

        def row_key(row: Mapping) -> Any:
            if key_field:
                return row.get(key_field)
            return tuple(row.get(c) or "" for c in columns)

        def run(sf: Salesforce) -> list[dict]:
            target = getattr(sf.bulk2, name)
            kwargs: dict[str, Any] = {"records": rows, "wait": self.bulk_wait}
            if op == "upsert":
                kwargs["external_id_field"] = ext_id_field
            return getattr(target, op)(**kwargs)

        started = time.monotonic()
        log.info("Salesforce bulk %s %s: %d records in a Bulk API 2.0 job", op, name, len(rows))
        if op == "insert":
            # An insert job is never repeated (it could insert twice), not even after a 401
            # half-way; so a REST call first lets simple-salesforce renew a stale session.
            self.limits()
            jobs = self._call(
                "bulk2.ingest.insert",
                run,
                idempotent=False,
                renew=False,
                policy=RetryPolicy(max_attempts=1),
                write=True,
            )
        else:
            jobs = self._call(f"bulk2.ingest.{op}", run, write=True)

        waiting: dict[Any, deque[int]] = defaultdict(deque)
        for i, row in enumerate(rows):
            waiting[row_key(row)].append(i)
        results: list[CollectionResult | None] = [None] * len(rows)
        for job in jobs:
            job_id = job["job_id"]
            ok_csv = self._call(
                "bulk2.ingest.results",
                lambda sf, j=job_id: getattr(sf.bulk2, name).get_successful_records(j),  # type: ignore[misc]  # mypy cannot infer a default-argument lambda
            )
            failed_csv = self._call(
                "bulk2.ingest.results",
                lambda sf, j=job_id: getattr(sf.bulk2, name).get_failed_records(j),  # type: ignore[misc]  # mypy cannot infer a default-argument lambda
            )
            for row in csv.DictReader(io.StringIO(ok_csv)):
                queue = waiting.get(row_key(row))
                if queue:
                    i = queue.popleft()
                    created = row.get("sf__Created")
                    results[i] = CollectionResult(
                        key=keys[i],
                        ok=True,
                        id=row.get("sf__Id") or None,
                        created=None if created is None else created.lower() == "true",
                    )
            for row in csv.DictReader(io.StringIO(failed_csv)):
                queue = waiting.get(row_key(row))
                if queue:
                    i = queue.popleft()
                    results[i] = CollectionResult(
                        key=keys[i],
                        ok=False,
                        id=row.get("sf__Id") or None,
                        errors=[_bulk_issue(row.get("sf__Error", ""))],
                    )
        missing = RecordIssue("UNPROCESSED", "Bulk API job did not process this record", [])
        out = [
            r if r is not None else CollectionResult(key=keys[i], ok=False, errors=[missing])
            for i, r in enumerate(results)
        ]
        ok = sum(r.ok for r in out)
        elapsed = time.monotonic() - started
        log.info(
            "Salesforce bulk %s %s: %d ok, %d failed in %.0f s (%.0f records/s)",
            op,
            name,
            ok,
            len(out) - ok,
            elapsed,
            len(out) / elapsed if elapsed > 0 else 0,
        )
        return out
