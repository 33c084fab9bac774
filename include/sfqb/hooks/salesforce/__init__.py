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

The modules, from the bottom up: ``errors`` (exceptions -> the taxonomy, ``translate``),
``results`` (``CollectionResult``, ``RecordIssue``), ``encoding`` (records and values on the
wire: JSON, Bulk API 2.0 CSV), ``client`` (the HTTP session) and ``hook``
(``SfqbSalesforceHook``). Import the names from here (``sfqb.hooks.salesforce``).
"""

from __future__ import annotations

from .encoding import bulk_row, parse_bulk_csv, strip_attributes
from .errors import LOCK_ERROR, OutcomeUnknownError, error_code, translate
from .hook import (
    BULK_THRESHOLD,
    COLLECTION_SIZE,
    DEFAULT_TIMEOUT,
    PARALLEL_CALLS,
    QUERY_PAGE_SIZE,
    SfqbSalesforceHook,
)
from .results import CollectionResult, RecordIssue, parse_collection_results

__all__ = [
    "BULK_THRESHOLD",
    "COLLECTION_SIZE",
    "DEFAULT_TIMEOUT",
    "LOCK_ERROR",
    "PARALLEL_CALLS",
    "QUERY_PAGE_SIZE",
    "CollectionResult",
    "OutcomeUnknownError",
    "RecordIssue",
    "SfqbSalesforceHook",
    "bulk_row",
    "error_code",
    "parse_bulk_csv",
    "parse_collection_results",
    "strip_attributes",
    "translate",
]
