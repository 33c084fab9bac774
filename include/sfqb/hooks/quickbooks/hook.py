"""``QuickBooksHook``: the connection, its tokens and client, and the typed calls: one API call
with limiter, counters, refresh-on-401 and retries (``_call``), the reads (queries paged and in
parallel, CDC), the writes and ``batch``."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property
from typing import Any, TypeVar

import requests
from airflow.sdk import BaseHook
from quickbooks.exceptions import AuthorizationException, QuickbooksException

from sfqb import qbo_queries as q
from sfqb import soql

from ..counters import CallCounter
from ..errors import (
    AuthError,
    DuplicateNameError,
    StaleObjectError,
    SyncServiceError,
    TransientError,
)
from ..interface import Read, each_in_turn
from ..limiter import ALL, QBO_ALLOWANCE, RateLimiter, shared_log_for
from ..parallel import ordered
from ..progress import Progress
from ..retry import RETRYABLE, RetryPolicy, call_with_retries
from ..token_store import (
    AirflowVariableTokenStore,
    EncryptedFileTokenStore,
    FileLock,
    InvalidGrant,
    TokenManager,
    Tokens,
    TokenStore,
)
from .batch import BATCH_SIZE, BatchOp, BatchResult, chunk_sizes, request_id_for
from .client import _Client, _mask
from .clock import ServerClock
from .encoding import dumps
from .errors import _fault_error, _retry_after, map_error

# The package's name, as before it was split: log lines keep naming ``sfqb.hooks.quickbooks``.
log = logging.getLogger("sfqb.hooks.quickbooks")
T = TypeVar("T")

# Values per ``IN (...)`` list of one query (the query text travels in a POST body).
IN_CHUNK = 200
PARALLEL_READS = 4
"""Queries of one read in flight at once (of Intuit's 10 concurrent requests per realm)."""
CDC_CAP = 1000
"""CDC returns at most 1000 objects per response (api-notes 2.9)."""
CDC_MAX_AGE = dt.timedelta(days=30)
DEFAULT_REDIRECT_URI = "https://developer.intuit.com/v2/OAuth2Playground/RedirectUrl"
HARD_EXPIRY_HEADER = {"x-include-refresh-token-hard-expires-in": "true"}
"""Asks the token endpoint for ``x_refresh_token_hard_expires_in`` (the 5-year cap)."""

NAME_LISTS = frozenset(
    {
        "Customer",
        "Item",
        "Class",
        "Term",
        "Vendor",
        "Employee",
        "Account",
        "PaymentMethod",
        "Department",
        "TaxCode",
    }
)
"""Entities with an ``Active`` flag: queries return only active ones unless asked."""
VOID_BY_OPERATION = frozenset({"Invoice"})
"""Voided with ``?operation=void``; SalesReceipt and Payment use
``operation=update&include=void``."""

_LIMITERS: dict[str, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


class QuickBooksHook(BaseHook):
    """QuickBooks Online through the connection ``quickbooks_default`` (docs/connections.md).

    :param quickbooks_conn_id: the Airflow connection id.
    :param token_store: where rotated tokens live (default: the Airflow Variable
        ``sfqb.<conn_id>.token_state``).
    :param token_dir: the directory of the refresh lock and the encrypted local copy of the
        token state (default ``token_store.token_dir()``: ``$SFQB_QBO_TOKEN_DIR``, else
        ``$SFQB_QBO_LIMITER_DIR``, else the temp directory); one per machine.
    :param retry_policy: retries for throttling and transient errors.
    :param limiter: the client-side rate limiter (share one between hooks on the same realm).
    :param timeout: (connect, read) seconds for every API request.
    :param parallel_reads: queries of one read in flight at once (the pages after a full first
        page, the ``IN`` lists of ``query_in``); 1 reads one at a time. The limiter still
        counts each against the realm's 500 a minute and 10 at once.
    :param before_call: called before every attempt of an API call with whether it writes
        (create, update, delete, void, batch); it may raise to stop the call. sfqb's run lease
        renews its heartbeat and checks the lease there (``sfqb.lease``).
    """

    conn_name_attr = "quickbooks_conn_id"
    default_conn_name = "quickbooks_default"
    conn_type = "quickbooks"
    hook_name = "QuickBooks Online"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["schema", "port", "host"],
            "relabeling": {"login": "Client ID", "password": "Client Secret"},
            "placeholders": {
                "extra": json.dumps(
                    {
                        "realm_id": "9130...",
                        "refresh_token": "AB11...",
                        "environment": "production",
                        "minor_version": 75,
                    }
                ),
            },
        }

    def __init__(
        self,
        quickbooks_conn_id: str = default_conn_name,
        *,
        token_store: TokenStore | None = None,
        token_dir: str | None = None,
        retry_policy: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        timeout: tuple[float, float] = (10.0, 120.0),
        parallel_reads: int = PARALLEL_READS,
        sleep: Callable[[float], None] = time.sleep,
        before_call: Callable[[bool], None] | None = None,
    ) -> None:
        super().__init__()
        self.before_call = before_call
        self.parallel_reads = max(1, parallel_reads)
        self.quickbooks_conn_id = quickbooks_conn_id
        self.retry_policy = retry_policy or RetryPolicy()
        self._limiter = limiter
        self.timeout = timeout
        self.calls = CallCounter()
        self.clock = ServerClock()
        self._sleep = sleep
        self._token_store = token_store
        self._token_dir = token_dir
        self._client_lock = threading.Lock()
        self._qb: _Client | None = None

    # -- connection and tokens -------------------------------------------------------------
    @cached_property
    def settings(self) -> dict[str, Any]:
        conn = self.get_connection(self.quickbooks_conn_id)
        # Form fields may be stored with the old "extra__quickbooks__" prefix: accept both.
        extra = {
            key.removeprefix("extra__quickbooks__"): value
            for key, value in conn.extra_dejson.items()
            if value not in (None, "")
        }
        missing = [
            name
            for name, value in (
                ("login (client id)", conn.login),
                ("password (client secret)", conn.password),
                ("extra.realm_id", extra.get("realm_id")),
            )
            if not value
        ]
        if missing:
            raise AuthError(f"connection {self.quickbooks_conn_id!r} lacks {', '.join(missing)}")
        _mask(conn.password)
        return {
            "client_id": conn.login,
            "client_secret": conn.password,
            "realm_id": str(extra["realm_id"]),
            "refresh_token": extra.get("refresh_token"),
            "environment": extra.get("environment") or "production",
            "base_url": extra.get("base_url"),
            "minor_version": int(extra.get("minor_version") or 75),
            "redirect_uri": extra.get("redirect_uri") or DEFAULT_REDIRECT_URI,
        }

    @property
    def realm_id(self) -> str:
        return self.settings["realm_id"]

    @cached_property
    def limiter(self) -> RateLimiter:
        """The limiter given, else one shared by every hook on this realm in this process, its
        windows shared with every process on this machine (``limiter.SharedLog``)."""
        if self._limiter is not None:
            return self._limiter
        with _LIMITERS_LOCK:
            if self.realm_id not in _LIMITERS:
                _LIMITERS[self.realm_id] = RateLimiter(
                    shared=shared_log_for(self.realm_id), allowance=QBO_ALLOWANCE
                )
            return _LIMITERS[self.realm_id]

    @cached_property
    def auth_client(self):
        """intuit-oauth's client (fetches the discovery document once)."""
        from intuitlib.client import AuthClient

        timeout = self.timeout

        class _AuthClient(AuthClient):
            """intuit-oauth sends without a timeout: a hung token endpoint would hang the task
            while it holds the refresh lock."""

            def request(self, method, url, *args, **kwargs):
                kwargs.setdefault("timeout", timeout)
                if url == getattr(self, "token_endpoint", None):  # the 5-year cap, please
                    kwargs["headers"] = {**(kwargs.get("headers") or {}), **HARD_EXPIRY_HEADER}
                return super().request(method, url, *args, **kwargs)

        s = self.settings
        try:
            return _AuthClient(
                s["client_id"], s["client_secret"], s["redirect_uri"], environment=s["environment"]
            )
        except requests.RequestException as exc:
            raise TransientError(
                f"QuickBooks discovery document unreachable: {type(exc).__name__}"
            ) from exc

    @cached_property
    def tokens(self) -> TokenManager:
        s = self.settings
        conn_id = self.quickbooks_conn_id
        store = self._token_store or AirflowVariableTokenStore(
            conn_id, seal_with=s["refresh_token"] or s["client_secret"]
        )
        journal = EncryptedFileTokenStore.for_connection(
            conn_id, s["realm_id"], s["client_secret"], directory=self._token_dir
        )
        return TokenManager(
            store,
            s["refresh_token"],
            self._refresh,
            journal=journal,
            lock=FileLock(conn_id, s["realm_id"], directory=self._token_dir),
            sleep=self._sleep,
            on_tokens=_mask,
            name=f"quickbooks ({conn_id})",
        )

    def refresh_token_warning(self) -> str | None:
        """The warning to show while the stored refresh token lapses within 30 days (Intuit's
        5-year limit, or 100 days unused), saying how to reconnect; None otherwise. Reads the
        token state only (no call to Intuit), so a run summary or check can call it."""
        return self.tokens.expiry_warning()

    def _refresh(self, refresh_token: str) -> Tokens:
        """One call to the token endpoint through intuit-oauth."""
        from intuitlib.exceptions import AuthClientError

        client = self.auth_client
        client.access_token = None
        # intuit-oauth copies each answer's keys onto the client: clear the last answer's
        client.x_refresh_token_expires_in = client.x_refresh_token_hard_expires_in = None
        self.calls.add("token.refresh")
        try:
            client.refresh(refresh_token=refresh_token)
        except AuthClientError as exc:
            try:
                error = json.loads(exc.content or b"{}").get("error", "")
            except ValueError:
                error = ""
            if exc.status_code == 400 and error == "invalid_grant":
                raise InvalidGrant(error) from None
            if exc.status_code == 429 or exc.status_code >= 500:
                raise TransientError(
                    f"QuickBooks token endpoint: HTTP {exc.status_code}", code=exc.status_code
                ) from None
            raise AuthError(
                f"QuickBooks token endpoint refused the refresh: HTTP "
                f"{exc.status_code} {error}".rstrip(),
                code=error or exc.status_code,
            ) from None
        except requests.RequestException as exc:
            raise TransientError(
                f"QuickBooks token endpoint unreachable: {type(exc).__name__}"
            ) from None
        return Tokens(
            client.access_token,
            client.refresh_token,
            float(client.expires_in or 3600),
            refresh_expires_in=client.x_refresh_token_expires_in,
            refresh_hard_expires_in=client.x_refresh_token_hard_expires_in,
        )

    def client(self) -> _Client:
        """A python-quickbooks client holding a usable access token (a new one after each
        refresh: the library fixes the token for the client's life)."""
        token = self.tokens.access_token()
        with self._client_lock:
            if self._qb is None or self._qb.session.access_token != token:
                if self._qb is not None and self._qb.session is not None:
                    self._qb.session.close()  # the old token's keep-alive connections
                self._qb = self._build_client(token)
            return self._qb

    def _build_client(self, access_token: str) -> _Client:
        s = self.settings
        auth = self.auth_client
        auth.access_token = access_token  # set: the constructor then does not refresh
        qb = _Client(
            auth_client=auth,
            company_id=s["realm_id"],
            minorversion=s["minor_version"],
            use_decimal=True,
        )
        qb.timeout = self.timeout
        if s["base_url"]:
            qb.api_url_v3 = qb.sandbox_api_url_v3 = s["base_url"].rstrip("/")
        return qb

    def connect(self) -> _Client:
        """The client, built now: the connection is looked up and a usable token obtained on
        the calling thread (``hooks.parallel``), not by several pool threads at once."""
        return self.client()

    def get_conn(self) -> _Client:
        """Airflow's hook convention: the client (python-quickbooks ``QuickBooks``)."""
        return self.client()

    def test_connection(self) -> tuple[bool, str]:
        """The UI's "Test" button: refresh (if needed) and read the company."""
        try:
            name = self.company_info().get("CompanyName", "")
        except SyncServiceError as exc:
            return False, str(exc)
        return True, f"Connected to QuickBooks company {name!r} (realm {self.realm_id})"

    def close(self) -> None:
        """Close the HTTP sessions (keep-alive connections would hold up a server shutdown),
        after one more try to save a rotated token the Variable missed."""
        if "tokens" in self.__dict__ and self.tokens.unsaved is not None:
            try:
                self.tokens.flush(force=True)
            except Exception as exc:  # noqa: BLE001 - closing must not fail; it is logged
                log.warning(
                    "QuickBooks: the rotated token could not be saved on close (%s)",
                    type(exc).__name__,
                )
        if self._qb is not None and self._qb.session is not None:
            self._qb.session.close()
        if "auth_client" in self.__dict__:
            self.auth_client.close()

    # -- calling -----------------------------------------------------------------------------
    def _call(
        self,
        endpoint: str,
        fn: Callable[[_Client], T],
        *,
        limit_key: str | None = None,
        units: int = 1,
        write: bool = False,
    ) -> T:
        """One API call with limiter, counters, refresh-on-401 and retries; ``before_call`` runs
        before each attempt (``write``: the call changes data)."""

        def attempt() -> T:
            if self.before_call is not None:
                self.before_call(write)
            # One rotation per attempt: a 401 right after our own refresh is final. A "refresh"
            # that adopted the token a parallel task stored may meet a token dead too (expired
            # or revoked since): then one rotation with the stored refresh token follows.
            rotated, adopted = False, False
            while True:
                qb = self.client()
                token = qb.session.access_token
                try:
                    with self.limiter.slot(limit_key, units):
                        self.calls.add(endpoint)
                        result = fn(qb)
                    if isinstance(result, dict):
                        self.clock.observe(result.get("time"))
                    return result
                except AuthorizationException as exc:
                    if exc.error_code == 401 and not rotated:
                        log.info(
                            "QuickBooks answered 401 to %s: refreshing the access token", endpoint
                        )
                        before = self.tokens.refreshes
                        self.tokens.refresh(failed_access_token=token)
                        rotated = self.tokens.refreshes > before or adopted
                        adopted = True
                        continue
                    raise self._mapped(exc, qb) from None
                except (QuickbooksException, requests.RequestException) as exc:
                    raise self._mapped(exc, qb) from None

        return call_with_retries(
            attempt, policy=self.retry_policy, what=f"QuickBooks {endpoint}", sleep=self._sleep
        )

    @staticmethod
    def _mapped(exc: Exception, qb: _Client) -> SyncServiceError:
        response = qb.last_response if not isinstance(exc, requests.RequestException) else None
        status = response.status_code if response is not None else None
        return map_error(exc, status=status, retry_after=_retry_after(response))

    def _url(self, qb: _Client, resource: str) -> str:
        return f"{qb.api_url}/company/{qb.company_id}/{resource}"

    # -- reads -------------------------------------------------------------------------------
    def query(self, select: str) -> dict:
        """One raw query (a string from ``sfqb.qbo_queries``); the QueryResponse."""
        result = self._call("query", lambda qb: qb.query(select))
        return result.get("QueryResponse") or {}

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
        """Every record matching ``where`` (condition strings from ``qbo_queries``), paging
        with STARTPOSITION/MAXRESULTS (from ``start_position``, 1-based) until a short page.
        ``include_inactive`` adds ``Active IN (true, false)`` for name-list entities (transactions
        have no Active flag: they always come back). After a full first page, a ``COUNT`` beside
        the second page and the pages after it ``parallel_reads`` at a time; the pages come back
        in order."""
        conditions = _conditions(entity, where, include_inactive)

        def page(position: int) -> list[dict]:
            text = q.select(
                entity,
                conditions,
                order_by=order_by,
                start_position=position,
                max_results=page_size,
            )
            return self.query(text).get(entity, [])

        rows = page(start_position)
        yield from rows
        position = start_position + len(rows)
        if len(rows) == page_size and self.parallel_reads > 1:
            # A full first page: a COUNT, sent beside the second page, tells how many pages
            # are left after that one, and they are read parallel_reads at a time (each page
            # is a round trip of its own).
            reads: list[Callable[[], Any]] = [
                lambda: self.query(q.count(entity, conditions)),
                lambda: page(position),
            ]
            counted, rows = ordered(lambda read: read(), reads, 2, connect=(self,))
            yield from rows
            position += len(rows)
            if len(rows) == page_size:
                total = int(counted.get("totalCount", 0))
                positions = range(position, start_position + total, page_size)
                for rows in ordered(page, positions, self.parallel_reads, connect=(self,)):
                    yield from rows
                if positions:
                    position = positions[-1] + len(rows)
        while len(rows) == page_size:  # one at a time (after the counted pages: records added)
            rows = page(position)
            yield from rows
            position += len(rows)

    def query_all_together(self, reads: Sequence[Read]) -> list[Iterator[dict]]:
        """Each read's ``query_all`` (``query_in`` for a read ``among`` values) in turn: REST
        queries are separate calls anyway, so the requests are those of the reads one by one."""
        return each_in_turn(self, reads)

    def query_in(
        self,
        entity: str,
        prop: str,
        values: Iterable[object],
        where: Sequence[str] = (),
        *,
        include_inactive: bool = False,
    ) -> Iterator[dict]:
        """Records whose ``prop`` is one of ``values`` (each value asked once), ``IN`` lists of
        ``IN_CHUNK`` values per query, paged, ``parallel_reads`` queries at a time."""
        wanted = sorted({str(v) for v in values if not soql.blank(v)})

        def chunk(start: int) -> list[dict]:
            condition = q.in_(prop, wanted[start : start + IN_CHUNK])
            return list(
                self.query_all(entity, [*where, condition], include_inactive=include_inactive)
            )

        for rows in ordered(
            chunk, range(0, len(wanted), IN_CHUNK), self.parallel_reads, connect=(self,)
        ):
            yield from rows

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
        """Records last updated in ``[start, end)``, oldest first."""
        return self.query_all(
            entity,
            [*q.window_conditions(start, end), *where],
            include_inactive=include_inactive,
            page_size=page_size,
        )

    def count(
        self, entity: str, where: Sequence[str] = (), *, include_inactive: bool = False
    ) -> int:
        conditions = _conditions(entity, where, include_inactive)
        return int(self.query(q.count(entity, conditions)).get("totalCount", 0))

    def read(self, entity: str, id_: str) -> dict:
        """One record by Id (``NotFoundError`` when missing)."""
        result = self._call(f"read.{entity}", lambda qb: qb.get_single_object(entity, id_))
        return result[entity]

    def company_info(self) -> dict:
        return self.read("CompanyInfo", self.realm_id)

    def preferences(self) -> dict:
        result = self._call("read.Preferences", lambda qb: qb.get(self._url(qb, "preferences")))
        return result["Preferences"]

    def changes(
        self, entities: Sequence[str], since: dt.datetime, *, now: dt.datetime | None = None
    ) -> dict[str, list[dict]]:
        """Changed records per entity since ``since`` through Change Data Capture, deleted ones
        included (``{"status": "Deleted", "Id": ...}``).

        CDC answers at most 1000 objects and looks back at most 30 days (api-notes 2.9). For an
        entity that hits the cap, and for every entity when ``since`` is too old, the live
        records come from a window query instead (inactive ones included); the deletions CDC
        did return are kept, and a WARNING says that older deletions may be missing."""
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        now = now or self.clock.now()
        out: dict[str, list[dict]] = {entity: [] for entity in entities}
        if now - since >= CDC_MAX_AGE - dt.timedelta(minutes=5):
            log.warning(
                "QuickBooks CDC looks back at most 30 days; reading %s changed since %s "
                "by window query (deletions in that span cannot be seen)",
                ", ".join(entities),
                since.isoformat(),
            )
            capped = list(entities)
        else:
            changed_since = q.format_datetime(since)
            result = self._call(
                "cdc", lambda qb: qb.change_data_capture(",".join(entities), changed_since)
            )
            for block in result.get("CDCResponse") or []:
                for response in block.get("QueryResponse") or []:
                    for entity in entities:
                        out[entity].extend(response.get(entity) or [])
            # The cap is per response, shared by every entity asked for (api-notes 2.9): 1000
            # invoice changes can hide every payment change, so all of them count as capped.
            capped = list(entities) if sum(len(v) for v in out.values()) >= CDC_CAP else []
            if capped:
                log.warning(
                    "QuickBooks CDC returned its cap of %d changes (%s); reading the live "
                    "records by window query (deletions beyond the cap may be missed)",
                    CDC_CAP,
                    ", ".join(entities),
                )
        for entity in capped:
            deleted = [r for r in out[entity] if r.get("status") == "Deleted"]
            live = list(
                self.query_window(entity, since, None, include_inactive=entity in NAME_LISTS)
            )
            seen = {r.get("Id") for r in live}
            out[entity] = live + [r for r in deleted if r.get("Id") not in seen]
        return out

    # -- writes ------------------------------------------------------------------------------
    def create(self, entity: str, payload: dict, request_id: str | None) -> dict:
        """Create one record. ``request_id`` (``request_id_for(...)``) makes a repeat return the
        first answer instead of a duplicate (api-notes 2.10)."""
        if payload.get("Id"):
            raise ValueError("create() payload must not carry an Id")
        body = dumps(payload)
        result = self._call(
            f"create.{entity}",
            lambda qb: qb.make_request(
                "POST", self._url(qb, entity.lower()), body, request_id=request_id
            ),
            write=True,
        )
        return result[entity]

    def update(
        self,
        entity: str,
        payload: dict,
        *,
        allow_stale_retry: bool = False,
        request_id: str | None = None,
    ) -> dict:
        """Update one record; ``payload`` carries ``Id`` and ``SyncToken`` and is sparse unless
        it says ``"sparse": false``. On a stale SyncToken (5010) with ``allow_stale_retry``, the
        record is read again and the caller's fields are applied onto the fresh SyncToken once."""
        if not payload.get("Id") or payload.get("SyncToken") is None:
            raise ValueError("update() payload needs Id and SyncToken")
        payload = {"sparse": True, **payload}
        try:
            return self._post(f"update.{entity}", entity, payload, request_id=request_id)
        except StaleObjectError:
            if not allow_stale_retry:
                raise
            fresh = self.read(entity, str(payload["Id"]))
            log.info(
                "QuickBooks %s %s was stale (SyncToken %s, now %s): applying the update once more",
                entity,
                payload["Id"],
                payload["SyncToken"],
                fresh["SyncToken"],
            )
            base = {} if payload["sparse"] else fresh
            retry = {**base, **payload, "SyncToken": fresh["SyncToken"]}
            return self._post(
                f"update.{entity}",
                entity,
                retry,
                request_id=request_id and request_id_for(request_id, "stale-retry"),
            )

    def _post(
        self,
        endpoint: str,
        entity: str,
        payload: dict,
        *,
        params: dict | None = None,
        request_id: str | None = None,
    ) -> dict:
        body = dumps(payload)
        result = self._call(
            endpoint,
            lambda qb: qb.make_request(
                "POST",
                self._url(qb, entity.lower()),
                body,
                params=dict(params or {}),
                request_id=request_id,
            ),
            write=True,
        )
        return result[entity]

    def delete(
        self, entity: str, id_: str, sync_token: str, *, request_id: str | None = None
    ) -> dict:
        """Delete a transaction (name-list records cannot be deleted: ``deactivate`` them)."""
        if entity in NAME_LISTS:
            raise ValueError(f"{entity} cannot be deleted in QuickBooks; use deactivate()")
        return self._post(
            f"delete.{entity}",
            entity,
            {"Id": id_, "SyncToken": sync_token},
            params={"operation": "delete"},
            request_id=request_id,
        )

    def deactivate(self, entity: str, id_: str, sync_token: str) -> dict:
        """Make a name-list record inactive (QBO's "delete" for customers, items, ...)."""
        return self.update(entity, {"Id": id_, "SyncToken": sync_token, "Active": False})

    def void(
        self, entity: str, id_: str, sync_token: str, *, request_id: str | None = None
    ) -> dict:
        """Void a transaction (api-notes 4.2: Invoice by ``operation=void``, SalesReceipt and
        Payment by a sparse ``operation=update&include=void``)."""
        if entity in VOID_BY_OPERATION:
            return self._post(
                f"void.{entity}",
                entity,
                {"Id": id_, "SyncToken": sync_token},
                params={"operation": "void"},
                request_id=request_id,
            )
        return self._post(
            f"void.{entity}",
            entity,
            {"Id": id_, "SyncToken": sync_token, "sparse": True},
            params={"operation": "update", "include": "void"},
            request_id=request_id,
        )

    # -- batch -------------------------------------------------------------------------------
    def batch(
        self,
        operations: Sequence[BatchOp],
        *,
        request_id: str | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> list[BatchResult]:
        """Apply writes 30 per ``/batch`` call (every 17th call 20, so that the calls fill the
        limiter's 500 units a minute: ``chunk_sizes``); one ``BatchResult`` per op, in input order.

        Items are independent (one failing does not stop the others). Each call carries a
        ``requestid`` (derived from ``request_id`` when given, else random per call) so a call
        retried after a lost answer is replayed, not applied twice; bIds are the item's index
        (at most 10 characters with a requestid: api-notes 2.8). Items refused for a retryable
        reason (throttled, server error) are sent again, up to the retry policy's attempts.
        A call refused as a whole for a record's reason (stale object 5010, duplicate name 6240)
        fails each of its records with that error. When a call still fails after its retries,
        its ``ThrottledError``/``TransientError`` is raised (nothing more is sent), carrying
        ``partial_results``: the results of the calls that did complete. The failed call's
        outcome is unknown (its requestid makes a repeat within the day a replay)."""
        if not 1 <= batch_size <= BATCH_SIZE:
            raise ValueError(f"batch_size must be 1..{BATCH_SIZE}")
        keys = [op.key for op in operations]
        if len(set(keys)) != len(keys):
            raise ValueError("BatchOp keys must be unique")
        results: dict[str, BatchResult] = {}
        pending = list(operations)
        base_id = request_id or str(uuid.uuid4())
        for round_ in range(1, self.retry_policy.max_attempts + 1):
            retry: list[BatchOp] = []
            sizes = chunk_sizes(len(pending), batch_size, self._window_units())
            progress = Progress(
                "QuickBooks batch" + (f" (round {round_})" if round_ > 1 else ""),
                batches=len(sizes),
                records=len(pending),
            )
            start = 0
            for size in sizes:
                chunk = pending[start : start + size]
                chunk_id = request_id_for(base_id, round_, *(op.key for op in chunk))
                try:
                    chunk_results = self._batch_call(chunk, chunk_id)
                except (StaleObjectError, DuplicateNameError) as exc:
                    # A record's refusal for the whole call (QBO answers these per item; a
                    # proxy or a one-item batch may not): its records fail, the load goes on.
                    log.warning(
                        "QuickBooks batch: the call was refused for a record's reason "
                        "(%s); its %d records fail and are retried next run",
                        exc,
                        len(chunk),
                    )
                    chunk_results = [BatchResult(op.key, False, error=exc) for op in chunk]
                except RETRYABLE as exc:
                    # Retries ran out: the service is down or saturated. Stop and raise (the
                    # run fails, watermarks stay); what earlier calls did rides on the error.
                    log.error(
                        "QuickBooks batch: giving up after retries (%s); %d of %d records "
                        "not confirmed",
                        exc,
                        len(pending) - start,
                        len(keys),
                    )
                    exc.partial_results = [results[k] for k in keys if k in results]
                    raise
                for result in chunk_results:
                    results[result.key] = result
                    if isinstance(result.error, RETRYABLE):
                        retry.append(next(op for op in chunk if op.key == result.key))
                progress.step(len(chunk))
                start += size
            if not retry or round_ == self.retry_policy.max_attempts:
                break
            log.warning(
                "QuickBooks batch: %d items refused for a retryable reason; sending them again",
                len(retry),
            )
            self._sleep(self.retry_policy.delay(round_))
            pending = retry
        return [results[key] for key in keys]

    def _window_units(self) -> int | None:
        """Request units the limiter allows per window (``chunk_sizes`` fills it)."""
        window = self.limiter.windows.get(ALL)
        return window.limit if window is not None else None

    def _batch_call(self, chunk: Sequence[BatchOp], request_id: str) -> list[BatchResult]:
        items = []
        for index, op in enumerate(chunk):
            item: dict[str, Any] = {"bId": str(index)}
            if op.operation == "void":
                item.update(operation="update", optionsData="void")
            else:
                item["operation"] = op.operation
            item[op.entity] = op.payload
            items.append(item)
        body = dumps({"BatchItemRequest": items})
        response = self._call(
            "batch",
            lambda qb: qb.make_request("POST", self._url(qb, "batch"), body, request_id=request_id),
            limit_key="batch",
            units=len(chunk),
            write=True,
        )
        by_bid = {str(r.get("bId")): r for r in response.get("BatchItemResponse") or []}
        out = []
        for index, op in enumerate(chunk):
            answer = by_bid.get(str(index))
            if answer is None:
                out.append(
                    BatchResult(
                        op.key,
                        False,
                        error=TransientError("QuickBooks batch answer has no result for this item"),
                    )
                )
            elif "Fault" in answer:
                out.append(BatchResult(op.key, False, error=_fault_error(answer["Fault"])))
            else:
                entity = answer.get(op.entity)
                if entity is None:
                    entity = next((v for k, v in answer.items() if k != "bId"), None)
                out.append(BatchResult(op.key, True, entity=entity))
        return out


def _conditions(entity: str, where: Sequence[str], include_inactive: bool) -> list[str]:
    """``where``, plus ``Active IN (true, false)`` when inactive records of a name list are
    wanted (name lists answer active ones only, api-notes 2.5)."""
    return list(where) + ([q.active_any()] if include_inactive and entity in NAME_LISTS else [])
