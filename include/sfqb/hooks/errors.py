"""The small error taxonomy both hooks raise, so callers branch on meaning, not on libraries.

- ``AuthError``: credentials are wrong, revoked or expired beyond refresh: stop the run.
- ``ThrottledError`` / ``TransientError``: retried by the hooks; raised only when retries ran out.
- ``QuotaExceededError``: the service's daily quota is spent (Salesforce REQUEST_LIMIT_EXCEEDED):
  stop the run, keep the watermark.
- ``RecordError`` and its kinds: one record was refused (validation, duplicate name, stale
  object): a WARNING for that record; the rest of the batch goes on.
"""

from __future__ import annotations


class SyncServiceError(Exception):
    """Base of every error a hook raises. ``code`` is the service's own code, when it has one."""

    partial_results: list  # set on a QuickBooks batch's error (QuickBooksHook.batch)

    def __init__(self, message: str, *, code: str | int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        text = super().__str__()
        if self.code is not None:
            text = f"{text} [{self.code}]"
        if self.detail:
            text = f"{text}: {self.detail}"
        return text


class AuthError(SyncServiceError):
    """Authentication or authorisation failed and cannot be fixed by a retry."""


class ThrottledError(SyncServiceError):
    """The service asked us to slow down (HTTP 429 / QBO 3001). ``retry_after`` in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TransientError(SyncServiceError):
    """A 5xx, a dropped connection or a timeout, or a lock held elsewhere: worth retrying."""


class QuotaExceededError(SyncServiceError):
    """The service's API quota is used up; nothing will work until it resets."""


class RecordError(SyncServiceError):
    """One record was refused by the service; other records are unaffected."""


class ValidationError(RecordError):
    """The service's validation refused the record (QBO 2xxx/6000, SF FIELD_* errors...)."""


class DuplicateNameError(RecordError):
    """QBO 6240: the name is taken by another customer, vendor, employee or item."""


class StaleObjectError(RecordError):
    """QBO 5010: the record changed since it was read (SyncToken mismatch)."""


class NotFoundError(RecordError):
    """The record (or a record it refers to) does not exist."""


RETRYABLE = (ThrottledError, TransientError)
