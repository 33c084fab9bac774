"""simple-salesforce and requests exceptions -> the hooks' error taxonomy (``sfqb.hooks.errors``).

``translate`` maps an exception by its ``errorCode`` (``error_code``) and HTTP status;
``OutcomeUnknownError`` is a create whose answer was lost, ``_SessionExpired`` an expired
session the hook logs in again for, ``LOCK_ERROR`` the code retried record by record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
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

from ..errors import (
    AuthError,
    NotFoundError,
    QuotaExceededError,
    SyncServiceError,
    ThrottledError,
    TransientError,
)

LOCK_ERROR = "UNABLE_TO_LOCK_ROW"


class OutcomeUnknownError(SyncServiceError):
    """A non-repeatable write (a create) lost its answer: it may or may not have been applied,
    so it is not retried (a retry could create duplicates). Check before writing again."""


class _SessionExpired(AuthError):
    """Internal: a 401 INVALID_SESSION_ID that simple-salesforce could not fix by itself."""


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
