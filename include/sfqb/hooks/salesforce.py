"""The Salesforce hook: the provider's SalesforceHook plus thin, typed, retried operations.

The client comes from the Airflow connection alone (``salesforce_default``, conn type
``salesforce``, the provider's fields: see docs/connections.md). On top of the provider's hook
this adds what a sync needs and nothing more:

- reads: ``query`` (queryMore paging, page by page, each page retried on its own),
  ``query_window`` on SystemModstamp (queryAll for deletes), ``query_bulk`` (Bulk API 2.0),
  ``describe``, ``describe_layouts``, ``standard_pricebook``, ``limits``;
- writes: sObject Collections of 200 with ``allOrNone: false`` and one ``CollectionResult``
  per input record (in input order), the calls of an update, upsert or delete four at a time
  (``parallel_calls``), Bulk API 2.0 above a threshold;
- errors mapped to ``sfqb.hooks.errors``: 5xx, dropped connections, timeouts and
  UNABLE_TO_LOCK_ROW are retried (lock errors inside a collection: only those records);
  an expired session logs in again once; REQUEST_LIMIT_EXCEEDED stops the run
  (``QuotaExceededError``) and is never retried;
- ``hook.calls``: a CallCounter per endpoint, one count per attempt of an operation (a Bulk
  API job counts once, under ``bulk2.*``); ``hook.http_requests`` counts every HTTP request
  made through the hook's session (logins, Bulk API polls and library re-logins included).

Tokens never reach a log line: the session id is registered with Airflow's secrets masker,
and the hook itself logs only endpoints, counts and error codes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, NamedTuple, TypeVar, cast

import requests
from airflow.providers.salesforce.hooks.salesforce import SalesforceHook
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sfqb import soql

from .counters import CallCounter
from .errors import (
    AuthError,
    NotFoundError,
    QuotaExceededError,
    SyncServiceError,
    ThrottledError,
    TransientError,
)
from .parallel import ordered
from .progress import Progress
from .retry import RetryPolicy, call_with_retries

log = logging.getLogger(__name__)
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

LOCK_ERROR = "UNABLE_TO_LOCK_ROW"


class RecordIssue(NamedTuple):
    """One error Salesforce reported for one record (``statusCode``, ``message``, ``fields``)."""

    status_code: str
    message: str
    fields: list[str]


@dataclass(frozen=True)
class CollectionResult:
    """The outcome of one input record of a write, keyed by the caller's key.

    ``created`` is True/False for upserts (and True for creates), None when not known.
    """

    key: Any
    ok: bool
    id: str | None = None
    created: bool | None = None
    errors: list[RecordIssue] = field(default_factory=list)

    @property
    def error_codes(self) -> list[str]:
        return [e.status_code for e in self.errors]


class OutcomeUnknownError(SyncServiceError):
    """A non-repeatable write (a create) lost its answer: it may or may not have been applied,
    so it is not retried (a retry could create duplicates). Check before writing again."""


class _SessionExpired(AuthError):
    """Internal: a 401 INVALID_SESSION_ID that simple-salesforce could not fix by itself."""


# --- pure helpers (unit-tested without a network) -----------------------------------------


def error_code(content: Any) -> str | None:
    """The ``errorCode`` of a Salesforce error body (a JSON list of errors), if any; other
    bodies (a proxy's error page, a gateway's JSON) have none and the HTTP status is used."""
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        return content[0].get("errorCode") or content[0].get("statusCode")
    if isinstance(content, Mapping):
        return content.get("errorCode")
    return None


def _error_message(content: Any) -> str:
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        return str(content[0].get("message", ""))[:500]
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return str(content)[:500]


def translate(exc: BaseException, *, conn_id: str, idempotent: bool = True) -> BaseException:
    """Map a simple-salesforce / requests exception onto the hooks' error taxonomy.

    Returns ``exc`` itself when it is not a service error (a bug should surface as it is).
    ``idempotent=False`` (creates) turns ambiguous transport failures (the request may have
    been applied) into ``OutcomeUnknownError`` instead of a retryable ``TransientError``.
    """
    if isinstance(exc, SyncServiceError):
        return exc
    if isinstance(exc, SalesforceAuthenticationFailed):
        return AuthError(
            f"Salesforce login failed for connection '{conn_id}'",
            code=exc.code,
            detail=exc.auth_message[:200],
        )
    if isinstance(exc, SalesforceError):
        code = error_code(exc.content)
        message = _error_message(exc.content)
        if isinstance(exc, SalesforceExpiredSession):
            return _SessionExpired(
                f"Salesforce session expired or invalid (connection '{conn_id}')",
                code=code or "INVALID_SESSION_ID",
            )
        if isinstance(exc, SalesforceRefusedRequest):
            if code == "REQUEST_LIMIT_EXCEEDED":
                return QuotaExceededError(
                    f"Salesforce API request limit exceeded (connection '{conn_id}'): the run "
                    "stops here. The watermark is kept, so the next run resumes from it once "
                    "the org's 24-hour API quota frees up.",
                    code=code,
                    detail=message,
                )
            return AuthError(
                f"Salesforce refused the request (connection '{conn_id}')",
                code=code or 403,
                detail=message,
            )
        if code == LOCK_ERROR:
            return TransientError(
                "Salesforce record locked by another transaction", code=code, detail=message
            )
        if isinstance(exc, SalesforceResourceNotFound):
            return NotFoundError("Salesforce resource not found", code=code or 404, detail=message)
        if isinstance(exc, SalesforceMalformedRequest | SalesforceMoreThanOneRecord):
            return SyncServiceError(
                f"Salesforce rejected the request ({exc.resource_name or 'call'})",
                code=code or exc.status,
                detail=message,
            )
        if isinstance(exc, SalesforceGeneralError):
            if exc.status == 429:
                return ThrottledError("Salesforce asked us to slow down", code=429, detail=message)
            if exc.status >= 500:
                return TransientError(
                    f"Salesforce server error {exc.status}", code=code or exc.status, detail=message
                )
        return SyncServiceError(
            "Salesforce request failed", code=code or exc.status, detail=message
        )
    if isinstance(exc, SalesforceOperationError):  # a Bulk API job failed or was aborted
        return SyncServiceError(
            "Salesforce Bulk API job failed", code="BULK_JOB_FAILED", detail=str(exc)[:500]
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TransientError(
            "Salesforce did not accept the connection in time", code="CONNECT_TIMEOUT"
        )
    if isinstance(
        exc,
        requests.exceptions.Timeout
        | requests.exceptions.ConnectionError
        | requests.exceptions.ChunkedEncodingError,
    ):
        kind = type(exc).__name__
        if not idempotent:
            return OutcomeUnknownError(
                "Salesforce connection failed during a create; it may have been applied", code=kind
            )
        return TransientError("Salesforce connection failed or timed out", code=kind)
    return exc


def parse_collection_results(
    items: Sequence[Mapping] | None, keys: Sequence[Any]
) -> list[CollectionResult]:
    """sObject Collections SaveResults (in request order) -> one CollectionResult per key."""
    items = list(items or [])
    if len(items) != len(keys):
        raise SyncServiceError(
            "Salesforce returned a result list of the wrong length",
            code="RESULT_MISMATCH",
            detail=f"{len(items)} for {len(keys)}",
        )
    out = []
    for key, item in zip(keys, items, strict=True):
        errors = [
            RecordIssue(
                str(e.get("statusCode") or e.get("errorCode") or "UNKNOWN"),
                str(e.get("message") or ""),
                list(e.get("fields") or []),
            )
            for e in item.get("errors") or []
        ]
        ok = bool(item.get("success"))
        out.append(
            CollectionResult(
                key=key, ok=ok, id=item.get("id"), created=item.get("created"), errors=errors
            )
        )
    return out


def strip_attributes(record: Any) -> Any:
    """A query record without the ``attributes`` entries SF adds to every (nested) record."""
    if isinstance(record, dict):
        return {k: strip_attributes(v) for k, v in record.items() if k != "attributes"}
    if isinstance(record, list):
        return [strip_attributes(v) for v in record]
    return record


def _json_value(value: Any) -> Any:
    """JSON default for record values: Decimal as an exact JSON number, dates ISO, datetimes
    UTC. A Decimal that a JSON number cannot carry exactly is refused rather than rounded."""
    if isinstance(value, Decimal):
        number = float(value)
        if Decimal(repr(number)) != value:
            raise ValueError(f"{value} cannot be sent as an exact JSON number")
        return number
    if isinstance(value, dt.datetime):
        return soql.sf_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if callable(getattr(value, "item", None)):  # numpy scalars from pandas frames
        return value.item()
    raise TypeError(f"cannot send {type(value).__name__} to Salesforce")


def _csv_value(value: Any) -> str:
    """A Bulk API 2.0 CSV cell: empty means "not set"; ``#N/A`` would null a field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return _csv_value(_json_value(value))


def bulk_row(record: Mapping, prefix: str = "") -> dict[str, str]:
    """A record as Bulk API 2.0 CSV cells. A nested relationship reference such as
    ``{"Parent": {"Ext__c": "42"}}`` (the REST form) becomes the ``Parent.Ext__c`` column."""
    row: dict[str, str] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, Mapping):
            row.update(bulk_row(value, f"{prefix}{key}."))
        else:
            row[f"{prefix}{key}"] = _csv_value(value)
    return row


def parse_bulk_csv(text: str) -> Iterator[dict]:
    """Bulk API 2.0 query CSV -> records shaped like REST ones: empty cells are None and dotted
    columns (``Account.Name``) become nested dicts. Values stay strings (CSV has no types)."""
    for row in csv.DictReader(io.StringIO(text)):
        record: dict = {}
        for column, value in row.items():
            target = record
            *parents, leaf = column.split(".")
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = value if value != "" else None
        yield record


_FROM = re.compile(r"\bFROM\s+([A-Za-z][A-Za-z0-9_]*)", re.IGNORECASE)


class _TimeoutSession(requests.Session):
    """A requests session with a default timeout, so every call the libraries make (REST,
    login, Bulk API polling) is bounded. Trust comes from REQUESTS_CA_BUNDLE as usual."""

    def __init__(self, timeout: float | tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.requests_made = 0
        self._count_lock = threading.Lock()  # collection calls run on several threads
        self.retry_after: float | None = None  # the last 429's Retry-After, in seconds

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self.default_timeout)
        with self._count_lock:
            self.requests_made += 1
        response = super().request(method, url, *args, **kwargs)
        # simple-salesforce's exceptions carry no headers: keep a 429's Retry-After here. (With
        # calls at once a neighbour's answer may clear it before it is read: that retry then
        # backs off by the policy alone.)
        self.retry_after = (
            _seconds(response.headers.get("Retry-After")) if response.status_code == 429 else None
        )
        return response


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _mask(secret: str | None) -> None:
    """Register a token with Airflow's secrets masker (task logs redact it)."""
    if not secret:
        return
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - only without the Task SDK
        return
    mask_secret(secret)


# --- the hook -------------------------------------------------------------------------------


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


def _bulk_issue(text: str) -> RecordIssue:
    """``REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --`` -> RecordIssue."""
    code, _, rest = text.partition(":")
    message, fields = rest, []
    head, sep, tail = rest.rpartition(":")
    if sep and tail.strip().endswith("--"):
        message = head
        fields = [f for f in tail.strip()[:-2].strip().split(",") if f]
    return RecordIssue(code.strip() or "UNKNOWN", message.strip(), fields)
