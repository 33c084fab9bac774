"""Injected faults and limits reach simple-salesforce as the real ones would."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

pytestmark = pytest.mark.sandbox


def _direct(sf_sandbox):
    from simple_salesforce import Salesforce

    info = sf_sandbox.connections["salesforce"]
    return Salesforce(instance_url=info["instance_url"], session_id=info["access_token"])


def test_given_an_expired_session_fault_when_calling_then_401_and_the_hook_recovers(sf, fresh):
    """api-notes 3.1.3: fault ``expired_session`` answers 401 INVALID_SESSION_ID; a direct
    session raises SalesforceExpiredSession; the hook's client logs in again and retries."""
    fresh.add_fault("salesforce", kind="expired_session", path="/query", times=1)
    direct = _direct(fresh)
    with pytest.raises(SalesforceExpiredSession) as caught:
        direct.query("SELECT Id FROM User")
    assert caught.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    fresh.add_fault("salesforce", kind="expired_session", path="/query", times=1)
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1
    counters = fresh.counters("salesforce")["by_operation"]
    assert counters.get("fault expired_session") == 2 and counters.get("oauth.token", 0) >= 1


def test_given_the_daily_limit_when_exhausted_then_403_request_limit_exceeded(sf, fresh):
    """api-notes 3.10, 3.13: a settable daily API maximum; Sforce-Limit-Info counts calls; at
    the limit every call is 403 REQUEST_LIMIT_EXCEEDED; the ``request_limit`` fault too."""
    fresh.call("salesforce", "POST", "limits", {"max": 5, "used": 0})
    sf.query("SELECT Id FROM User")
    assert sf.api_usage["api-usage"].used == 1 and sf.api_usage["api-usage"].total == 5
    for _ in range(4):
        sf.query("SELECT Id FROM User")
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM User")
    assert caught.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert caught.value.content[0]["message"] == "TotalRequests Limit exceeded."
    assert fresh.call("salesforce", "GET", "limits")["remaining"] == 0
    fresh.call("salesforce", "POST", "limits", {"max": 100_000, "used": 0})
    fresh.add_fault("salesforce", kind="request_limit", path="/sobjects/Account")
    with pytest.raises(SalesforceRefusedRequest):
        sf.Account.create({"Name": "Refused"})


def test_given_unable_to_lock_row_when_writing_then_per_record_or_400(sf, fresh):
    """Fault ``unable_to_lock_row``: a collections call answers 200 with UNABLE_TO_LOCK_ROW per
    record; a single-record call gets 400 with that errorCode."""
    fresh.add_fault("salesforce", kind="unable_to_lock_row", path="/composite/sobjects")
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {"attributes": {"type": "Account"}, "Name": "Locked A"},
                {"attributes": {"type": "Account"}, "Name": "Locked B"},
            ]
        },
    )
    assert [r["errors"][0]["statusCode"] for r in results] == ["UNABLE_TO_LOCK_ROW"] * 2
    assert sf.query("SELECT COUNT() FROM Account WHERE Name LIKE 'Locked%'")["totalSize"] == 0
    fresh.add_fault("salesforce", kind="unable_to_lock_row", path="/sobjects/Account")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Account.create({"Name": "Locked C"})
    assert caught.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"


def test_given_server_errors_when_calling_then_general_errors_surface(sf, fresh):
    """Faults ``server_error`` (500 UNKNOWN_EXCEPTION) and generic ``http_503`` reach the
    client as SalesforceGeneralError with the status; the next call succeeds."""
    fresh.add_fault("salesforce", kind="server_error", path="/query")
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.query("SELECT Id FROM User")
    assert caught.value.status == 500
    assert caught.value.content[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    fresh.add_fault("salesforce", kind="http_503", path="/query")
    with pytest.raises(SalesforceGeneralError) as unavailable:
        sf.query("SELECT Id FROM User")
    assert unavailable.value.status == 503
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1


def test_given_writes_when_counted_then_calls_and_records_are_separate(sf, fresh):
    """Admin counters: operations are named (collections.create, query) and records written are
    counted apart from calls."""
    fresh.clear_counters("salesforce")
    sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {"attributes": {"type": "Account"}, "Name": f"Counted {i}"} for i in range(3)
            ]
        },
    )
    sf.query("SELECT Id FROM Account LIMIT 1")
    counters = fresh.counters("salesforce")
    ops = counters["by_operation"]
    assert ops["collections.create"] == 1 and ops.get("query") == 1, ops
    assert ops["records.written"] == 3
    assert counters["writes"] == 1
