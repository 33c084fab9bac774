"""The ``drop_after`` fault: the request is handled, then its answer is lost."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.sandbox


def test_given_drop_after_when_creating_then_the_write_happens_and_the_client_sees_a_dropped_connection(
    qbo,
):
    """drop_after applies the write, then aborts the connection: the client gets a transport
    error though the customer exists (what a requestid retry must not duplicate)."""
    qbo.reset("tiny")
    token = qbo.client().session.access_token
    qbo.admin.add_fault("quickbooks", kind="drop_after", path="/customer$")
    with pytest.raises(requests.ConnectionError):
        qbo.http(
            "POST",
            "customer?requestid=lost-answer-1",
            token,
            json={"DisplayName": "Lost Answer Co"},
        )
    again = qbo.http(
        "POST", "customer?requestid=lost-answer-1", token, json={"DisplayName": "Lost Answer Co"}
    )
    assert again.status_code == 200
    found = qbo.http(
        "GET",
        "query",
        token,
        params={"query": "SELECT * FROM Customer WHERE DisplayName = 'Lost Answer Co'"},
    ).json()
    assert len(found["QueryResponse"]["Customer"]) == 1
    counters = qbo.admin.counters("quickbooks")["by_operation"]
    assert counters["fault drop_after"] == 1 and counters["replay"] == 1
