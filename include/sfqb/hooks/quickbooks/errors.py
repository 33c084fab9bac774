"""QuickBooks faults and exceptions -> the hooks' error taxonomy (``sfqb.hooks.errors``).

``map_fault`` decides by a fault's ``code`` (api-notes 2.3) and the HTTP status, ``map_error``
maps a python-quickbooks or requests exception; ``_fault_error`` reads one batch item's
``Fault`` and ``_retry_after`` a response's ``Retry-After``.
"""

from __future__ import annotations

import requests
from quickbooks.exceptions import AuthorizationException, QuickbooksException

from ..errors import (
    AuthError,
    DuplicateNameError,
    NotFoundError,
    StaleObjectError,
    SyncServiceError,
    ThrottledError,
    TransientError,
    ValidationError,
)


def _int_code(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def map_fault(
    code: object,
    message: str = "",
    detail: str = "",
    *,
    status: int | None = None,
    retry_after: float | None = None,
) -> SyncServiceError:
    """A QBO fault (code, Message, Detail; the HTTP status when known) -> the taxonomy."""
    n = _int_code(code)
    text = message or "QuickBooks error"
    if status == 401 or n in (401, 3200) or (n is not None and 0 < n < 500 and n != 429):
        return AuthError(f"QuickBooks refused the credentials: {text}", code=n, detail="")
    if n in (3001, 429) or status == 429 or "ThrottleExceeded" in f"{message} {detail}":
        return ThrottledError(
            f"QuickBooks throttled the request: {text}", code=3001, retry_after=retry_after
        )
    if n == 3100 or status == 403:
        return AuthError(f"QuickBooks refused access: {text}", code=n, detail=detail)
    if n == 5010:
        return StaleObjectError(text, code=n, detail=detail)
    if n == 6240:
        return DuplicateNameError(text, code=n, detail=detail)
    if n == 610:
        return NotFoundError(text, code=n, detail=detail)
    if (n is not None and n >= 10000) or (status is not None and status >= 500):
        return TransientError(
            f"QuickBooks server error: {_short(text)}", code=n, detail=_short(detail)
        )
    return ValidationError(text, code=n, detail=detail)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def map_error(
    exc: Exception, *, status: int | None = None, retry_after: float | None = None
) -> SyncServiceError:
    """A python-quickbooks or requests exception -> the taxonomy (api-notes 2.3, 4.2).

    python-quickbooks raises ``QuickbooksException(..., 10000)`` for a non-JSON body (the XML
    429) and for a non-200 without a ``Fault`` (a bare 429/500/503), so the HTTP status and
    the message decide those."""
    if isinstance(exc, SyncServiceError):
        return exc
    if isinstance(exc, AuthorizationException) and exc.error_code == 401:
        # The body of a 401 is not worth showing (and is never a secret, but keep logs short).
        return AuthError("QuickBooks refused the access token (HTTP 401)", code=401)
    if isinstance(exc, QuickbooksException):
        return map_fault(
            exc.error_code,
            str(exc.message),
            str(exc.detail or ""),
            status=status,
            retry_after=retry_after,
        )
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return TransientError(f"QuickBooks connection failed: {type(exc).__name__}")
    if isinstance(exc, requests.RequestException):
        return TransientError(f"QuickBooks request failed: {type(exc).__name__}")
    raise TypeError(f"not a QuickBooks error: {exc!r}")


def _retry_after(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _fault_error(fault: dict) -> SyncServiceError:
    errors = fault.get("Error") or [{}]
    first = errors[0]
    return map_fault(first.get("code"), first.get("Message", ""), first.get("Detail", ""))
