"""What the steps ask of QuickBooks, whatever the edition: the ``QuickBooks`` protocol.

The steps never name a QuickBooks client: they receive a ``QuickBooks`` from
``sfqb.steps.common.quickbooks_hook`` and use only what this protocol lists. Two editions
implement it (docs/architecture.md section 7):

- **online**: ``sfqb.hooks.quickbooks.QuickBooksHook`` (REST through python-quickbooks and
  intuit-oauth; queries, ``/batch``, Change Data Capture);
- **desktop**: ``sfqb.hooks.desktop.DesktopQuickBooks``, which queues qbXML jobs for sfqb's Web
  Connector service (``sfqb.qbwc``); the sync's areas do not use it yet.

The common language is QuickBooks Online's: records are the JSON objects of the QBO API
(``Id``, ``SyncToken``, ``FullyQualifiedName``, ``MetaData.LastUpdatedTime``, ...), writes are
``BatchOp`` payloads in that shape, and conditions are ``sfqb.qbo_queries.Condition`` values,
which keep their parts. The Desktop adapter translates both ways: ``Id`` is a ListID or TxnID,
``SyncToken`` an EditSequence, ``FullyQualifiedName`` a FullName; a condition on ``Id`` or
``FullyQualifiedName`` with ``IN`` becomes a ListID/TxnID or FullName filter, ``Active``
an ActiveStatus, ``MetaData.LastUpdatedTime`` a modified-date range, ``TxnDate`` a
transaction-date range (api-notes 7). A condition it cannot translate is refused when the
query is made, naming it: a new query in a step has to work on both editions.

Every call may raise the errors of ``sfqb.hooks.errors`` (``ThrottledError``,
``TransientError``, ``NotFoundError``, ...); write calls check the run lease first (R-GEN-10).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sfqb.hooks.quickbooks.batch import BatchOp, BatchResult


class Clock(Protocol):
    """QuickBooks' clock as its answers show it (R-GEN-7 stamps are on it, not the worker's)."""

    @property
    def seen(self) -> Sequence[dt.datetime | None]:
        """QuickBooks' time at each answer seen, in order (None: not known at that answer)."""
        ...

    def now(self) -> dt.datetime:
        """QuickBooks' time now (UTC), never ahead of it."""
        ...

    def first_since(self, mark: int) -> dt.datetime | None:
        """QuickBooks' time at the first answer after ``mark`` (``len(clock.seen)`` taken
        before), never ahead of it; None when unknown. What that read returned is stamped
        (R-ACC-5) and its window's watermark committed (R-GEN-2) on it."""
        ...


@dataclass(frozen=True)
class Read:
    """One read of several asked at once (``QuickBooks.query_all_together``): every ``entity``
    record matching all of ``where`` (``query_all``), or with ``among`` = ``(prop, values)``
    only those whose ``prop`` is one of ``values`` (``query_in``); name lists: active ones only
    unless ``include_inactive``."""

    entity: str
    where: Sequence[str] = ()
    include_inactive: bool = False
    among: tuple[str, Iterable[object]] | None = None


def each_in_turn(qb: QuickBooks, reads: Sequence[Read]) -> list[Iterator[dict]]:
    """``query_all_together`` where every read is a call of its own anyway (Online's REST
    queries): each read's ``query_all`` (``query_in``), its pages asked as it is gone through
    (the same requests as the reads asked one by one, and no more records held than before)."""
    return [
        qb.query_in(read.entity, *read.among, read.where, include_inactive=read.include_inactive)
        if read.among is not None
        else qb.query_all(read.entity, read.where, include_inactive=read.include_inactive)
        for read in reads
    ]


class QuickBooks(Protocol):
    """One QuickBooks company, as the steps use it."""

    @property
    def quickbooks_conn_id(self) -> str:
        """The Airflow connection it reads (warnings about the connection are keyed by it)."""
        ...

    @property
    def clock(self) -> Clock:
        """QuickBooks' clock, as this company's answers so far show it."""
        ...

    def query_all(
        self,
        entity: str,
        where: Sequence[str] = (),
        *,
        include_inactive: bool = False,
        page_size: int = ...,
        order_by: str = ...,
        start_position: int = 1,
    ) -> Iterator[dict]:
        """Every ``entity`` record matching all of ``where``, page by page, in ``order_by``
        order, from ``start_position`` (1-based). Name lists answer active records only unless
        ``include_inactive``."""
        ...

    def query_all_together(self, reads: Sequence[Read]) -> list[Iterator[dict]]:
        """Each read's records, as its ``query_all`` (``query_in`` for a read ``among`` values)
        answers them, one iterator per read, in order; go through each once, in order. For reads
        that do not depend on each other: on Desktop every read's job is queued before the
        first answer is awaited, so one Web Connector session takes them back to back instead
        of a queue round trip each. A read that fails raises as its ``query_all`` would."""
        ...

    def query_in(
        self,
        entity: str,
        prop: str,
        values: Iterable[object],
        where: Sequence[str] = (),
        *,
        include_inactive: bool = False,
    ) -> Iterator[dict]:
        """The records whose ``prop`` (``Id``, ``FullyQualifiedName``, a reference) is one of
        ``values``; each value asked once, blanks ignored."""
        ...

    def query_window(
        self,
        entity: str,
        start: dt.datetime | None,
        end: dt.datetime | None,
        *,
        include_inactive: bool = False,
        where: Sequence[str] = (),
        page_size: int = ...,
    ) -> Iterator[dict]:
        """The records last changed in ``[start, end)``, oldest first (an open side: no
        bound)."""
        ...

    def count(
        self, entity: str, where: Sequence[str] = (), *, include_inactive: bool = False
    ) -> int:
        """How many records ``query_all`` would answer."""
        ...

    def changes(
        self, entities: Sequence[str], since: dt.datetime, *, now: dt.datetime | None = None
    ) -> dict[str, list[dict]]:
        """Per entity, the records changed since ``since``, deleted ones included as
        ``{"status": "Deleted", "Id": ...}``."""
        ...

    def preferences(self) -> dict:
        """The company's preferences (custom transaction fields among them)."""
        ...

    def batch(
        self,
        operations: Sequence[BatchOp],
        *,
        request_id: str | None = None,
        batch_size: int = ...,
    ) -> list[BatchResult]:
        """Apply the writes; one result per operation, in input order; one failing does not
        stop the others. ``request_id`` makes a repeat of the same call a replay, not a second
        write (R-GEN-3)."""
        ...

    def refresh_token_warning(self) -> str | None:
        """A warning while the connection's credentials lapse soon (an Online refresh token's
        expiry), saying how to reconnect; None otherwise."""
        ...


def by_entity(qb: QuickBooks, reads: Sequence[Read]) -> dict[str, Iterator[dict]]:
    """``qb.query_all_together(reads)`` keyed by each read's entity (one read per entity)."""
    if len({read.entity for read in reads}) != len(reads):
        raise ValueError("one read per entity")
    return dict(zip((read.entity for read in reads), qb.query_all_together(reads), strict=True))
