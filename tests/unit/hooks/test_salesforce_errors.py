"""Salesforce hook: library exceptions -> the hooks' error taxonomy, and the retry/re-login
loop, without a network (a fake client stands in for simple-salesforce)."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sfqb.hooks.errors import (
    AuthError,
    NotFoundError,
    QuotaExceededError,
    SyncServiceError,
    ThrottledError,
    TransientError,
)
from sfqb.hooks.retry import RetryPolicy
from sfqb.hooks.salesforce import OutcomeUnknownError, SfqbSalesforceHook, translate

pytestmark = pytest.mark.unit

URL = "https://127.0.0.1:1/services/data/v59.0/query/"


def _err(cls, status, code, message="boom"):
    return cls(URL, status, "query", [{"errorCode": code, "message": message}])


@pytest.mark.parametrize(
    ("exc", "expected", "code"),
    [
        (
            _err(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"),
            QuotaExceededError,
            "REQUEST_LIMIT_EXCEEDED",
        ),
        (
            _err(SalesforceRefusedRequest, 403, "INSUFFICIENT_ACCESS"),
            AuthError,
            "INSUFFICIENT_ACCESS",
        ),
        (
            _err(SalesforceMalformedRequest, 400, "UNABLE_TO_LOCK_ROW"),
            TransientError,
            "UNABLE_TO_LOCK_ROW",
        ),
        (
            _err(SalesforceMalformedRequest, 400, "MALFORMED_QUERY"),
            SyncServiceError,
            "MALFORMED_QUERY",
        ),
        (_err(SalesforceResourceNotFound, 404, "NOT_FOUND"), NotFoundError, "NOT_FOUND"),
        (
            _err(SalesforceGeneralError, 500, "UNKNOWN_EXCEPTION"),
            TransientError,
            "UNKNOWN_EXCEPTION",
        ),
        (SalesforceGeneralError(URL, 503, "query", {"error": "x"}), TransientError, 503),
        (SalesforceGeneralError(URL, 429, "query", "slow down"), ThrottledError, 429),
        (
            SalesforceAuthenticationFailed("invalid_grant", "authentication failure"),
            AuthError,
            "invalid_grant",
        ),
        (SalesforceOperationError("Job failure"), SyncServiceError, "BULK_JOB_FAILED"),
        (requests.exceptions.ConnectionError("reset"), TransientError, "ConnectionError"),
        (requests.exceptions.ReadTimeout("slow"), TransientError, "ReadTimeout"),
        (requests.exceptions.ConnectTimeout("no"), TransientError, "CONNECT_TIMEOUT"),
    ],
)
def test_given_a_library_error_when_translated_then_the_taxonomy_class_and_code_match(
    exc, expected, code
):
    """api-notes 3.2 (status -> exception), 3.5 (REQUEST_LIMIT_EXCEEDED 403, lock errors):
    retryable errors are Transient/Throttled, quota is QuotaExceeded, codes are kept."""
    mapped = translate(exc, conn_id="salesforce_default")
    assert type(mapped) is expected
    assert mapped.code == code


def test_given_the_quota_is_spent_when_translated_then_the_message_says_the_watermark_is_kept():
    """api-notes 3.10: REQUEST_LIMIT_EXCEEDED stops the run with a clear message (R-GEN-2)."""
    mapped = translate(
        _err(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"), conn_id="sf_prod"
    )
    assert "watermark is kept" in str(mapped) and "sf_prod" in str(mapped)


def test_given_a_create_when_the_connection_drops_then_the_outcome_is_unknown_not_retried():
    """R-GEN-3: a create whose answer was lost may have been applied: not retryable."""
    mapped = translate(requests.exceptions.ConnectionError("reset"), conn_id="c", idempotent=False)
    assert isinstance(mapped, OutcomeUnknownError)
    assert not isinstance(mapped, TransientError)
    assert isinstance(
        translate(requests.exceptions.ConnectTimeout("x"), conn_id="c", idempotent=False),
        TransientError,
    )


def test_given_a_programming_error_when_translated_then_it_surfaces_unchanged():
    """Only service errors are mapped; bugs keep their own type."""
    exc = KeyError("x")
    assert translate(exc, conn_id="c") is exc


class FakeClient:
    """Stands in for simple_salesforce.Salesforce: answers from a script of results."""

    def __init__(self, script, relogin=True):
        self.script = list(script)
        self._salesforce_login_partial = (lambda: ("t", "i")) if relogin else None
        self.session_id = "secret-session"

    def query(self, soql, include_deleted=False):
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step


def _hook(clients, **kwargs):
    hook = SfqbSalesforceHook(
        retry_policy=RetryPolicy(max_attempts=3, base_delay=0), sleep=lambda s: None, **kwargs
    )
    pool = list(clients)
    hook.__dict__["conn"] = pool.pop(0)
    hook._next_clients = pool
    return hook


PAGE = {"totalSize": 1, "done": True, "records": [{"attributes": {"type": "A"}, "Id": "1"}]}


def test_given_transient_failures_when_querying_then_the_call_is_retried_and_counted():
    """Retries: two 503s then success is three attempts, each counted."""
    client = FakeClient(
        [_err(SalesforceGeneralError, 503, "X"), requests.exceptions.ConnectionError("drop"), PAGE]
    )
    hook = _hook([client])
    assert list(hook.query("SELECT Id FROM A")) == [{"Id": "1"}]
    assert hook.calls.snapshot() == {"query": 3}


def test_given_retries_run_out_when_querying_then_the_transient_error_surfaces():
    """Retries stop at the policy's max_attempts and the last TransientError surfaces."""
    client = FakeClient([_err(SalesforceGeneralError, 500, "X")] * 3)
    hook = _hook([client])
    with pytest.raises(TransientError):
        list(hook.query("SELECT Id FROM A"))
    assert hook.calls.snapshot() == {"query": 3}


def test_given_a_spent_quota_when_querying_then_it_is_raised_at_once_without_retry():
    """REQUEST_LIMIT_EXCEEDED is never retried."""
    client = FakeClient([_err(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"), PAGE])
    hook = _hook([client])
    with pytest.raises(QuotaExceededError):
        list(hook.query("SELECT Id FROM A"))
    assert hook.calls.snapshot() == {"query": 1}


def test_given_an_expired_direct_session_when_querying_then_auth_error_names_the_connection():
    """api-notes 1.3 (A): a direct session cannot log in again: AuthError naming the conn."""
    client = FakeClient([_err(SalesforceExpiredSession, 401, "INVALID_SESSION_ID")], relogin=False)
    hook = _hook([client])
    with pytest.raises(AuthError) as caught:
        list(hook.query("SELECT Id FROM A"))
    assert "salesforce_default" in str(caught.value)
    assert caught.value.code == "INVALID_SESSION_ID"
    assert "secret-session" not in str(caught.value)


def test_given_an_expired_session_with_a_login_flow_when_querying_then_it_logs_in_once_more(
    monkeypatch,
):
    """The cached client is dropped and rebuilt once; a second expiry is an AuthError."""
    expired = _err(SalesforceExpiredSession, 401, "INVALID_SESSION_ID")
    first = FakeClient([expired])
    second = FakeClient([PAGE])
    hook = _hook([first])
    built = []

    def rebuild(self):
        built.append(1)
        return second

    monkeypatch.setattr(
        SfqbSalesforceHook,
        "conn",
        property(lambda self: self.__dict__.get("conn") or rebuild(self)),
    )
    assert list(hook.query("SELECT Id FROM A")) == [{"Id": "1"}]
    assert built == [1]
    third = _hook([FakeClient([expired])])
    second.script = [expired]
    with pytest.raises(AuthError):
        list(third.query("SELECT Id FROM A"))
