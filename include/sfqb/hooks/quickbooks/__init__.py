"""QuickBooksHook: the Airflow connection ``quickbooks`` -> python-quickbooks, thin typed calls.

Everything goes through the real libraries' sessions (intuit-oauth for tokens, the
``OAuth2Session`` of python-quickbooks for API calls, via ``QuickBooks.make_request``); the
hook adds what they lack:

- tokens: shared, rotated and persisted by ``TokenManager`` (``token_store.py``: the Variable
  and an encrypted local copy, a claim before each refresh, the refresh token's expiry);
  python-quickbooks fixes the access token for the life of a client, so a new client is built
  after every refresh (api-notes 1.2);
- errors: python-quickbooks raises one exception class for most faults; ``map_error`` decides
  by ``error_code`` (api-notes 2.3) and the HTTP status;
- retries (``call_with_retries``) for throttling, 5xx and dropped connections, never for
  record errors; a client-side ``RateLimiter`` keeps under 500/min, 10 concurrent, 40 batches,
  and batch calls are cut to fill its minute (``chunk_sizes``); the pages of a long read and
  the ``IN`` lists of a read by ids go four at a time (``parallel_reads``);
- per-endpoint counters (``hook.calls``) for logs and the benchmark;
- Intuit's clock (``hook.clock``): every answer's ``time`` shows it, so times the sync compares
  with QuickBooks' ``LastUpdatedTime`` need not trust the worker's clock.

Reads return plain dicts (``use_decimal``: amounts are ``Decimal``); writes return the
entity dicts or per-record ``BatchResult``s. DataFrames and business rules live elsewhere.

The modules, from the bottom up: ``clock`` (``ServerClock``), ``errors`` (faults -> the
taxonomy), ``encoding`` (``dumps``), ``client`` (the python-quickbooks client), ``batch``
(``BatchOp``, ``BatchResult``, ``chunk_sizes``, ``request_id_for``, ``ops``) and ``hook``
(``QuickBooksHook``). Import the names from here (``sfqb.hooks.quickbooks``); the connection
type names ``sfqb.hooks.quickbooks.QuickBooksHook``.
"""

from __future__ import annotations

from .batch import (
    BATCH_SIZE,
    REQUEST_ID_NAMESPACE,
    BatchOp,
    BatchResult,
    Operation,
    chunk_sizes,
    ops,
    request_id_for,
)
from .clock import ServerClock
from .encoding import dumps
from .errors import map_error, map_fault
from .hook import (
    CDC_CAP,
    CDC_MAX_AGE,
    DEFAULT_REDIRECT_URI,
    HARD_EXPIRY_HEADER,
    IN_CHUNK,
    NAME_LISTS,
    PARALLEL_READS,
    VOID_BY_OPERATION,
    QuickBooksHook,
)

__all__ = [
    "BATCH_SIZE",
    "CDC_CAP",
    "CDC_MAX_AGE",
    "DEFAULT_REDIRECT_URI",
    "HARD_EXPIRY_HEADER",
    "IN_CHUNK",
    "NAME_LISTS",
    "PARALLEL_READS",
    "REQUEST_ID_NAMESPACE",
    "VOID_BY_OPERATION",
    "BatchOp",
    "BatchResult",
    "Operation",
    "QuickBooksHook",
    "ServerClock",
    "chunk_sizes",
    "dumps",
    "map_error",
    "map_fault",
    "ops",
    "request_id_for",
]
