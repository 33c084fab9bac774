"""Injected faults, throttling, latency and counters (api-notes 2.3, 2.4; admin surface)."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from quickbooks.batch import batch_create
from quickbooks.exceptions import (
    AuthorizationException,
    QuickbooksException,
    SevereException,
    ValidationException,
)
from quickbooks.objects.customer import Customer
from quickbooks.objects.term import Term

pytestmark = pytest.mark.sandbox

QUERY_PATH = r"/query$"


def test_given_throttle_fault_when_querying_then_3001_and_retry_after(qbo, qb):
    """api-notes 2.3/2.4: 429 with JSON Fault 3001 -> ValidationException(3001), Retry-After."""
    qbo.admin.add_fault("quickbooks", kind="throttle", path=QUERY_PATH, times=2, retry_after=7)
    with pytest.raises(ValidationException) as excinfo:
        Customer.count(qb=qb)
    assert excinfo.value.error_code == 3001
    raw = qbo.http(
        "POST",
        "query",
        qb.auth_client.access_token,
        data="SELECT * FROM Term",
        headers={"Content-Type": "application/text"},
    )
    assert raw.status_code == 429 and raw.headers["Retry-After"] == "7"
    assert Customer.count(qb=qb) > 0  # times=2 used up


def test_given_throttle_xml_fault_when_querying_then_unparseable_body_10000(qbo, qb):
    """api-notes 2.3: the historical XML 429 raises QuickbooksException(10000) with ThrottleExceeded."""
    qbo.admin.add_fault("quickbooks", kind="throttle_xml", path=QUERY_PATH)
    with pytest.raises(QuickbooksException) as excinfo:
        Customer.count(qb=qb)
    assert excinfo.value.error_code == 10000
    assert "ThrottleExceeded" in excinfo.value.message


@pytest.mark.parametrize(
    ("kind", "exc_type", "code"),
    [
        ("server_error", SevereException, 10000),
        ("stale_object", QuickbooksException, 5010),
        ("duplicate_name", QuickbooksException, 6240),
        ("http_503", QuickbooksException, 10000),
        ("http_500", QuickbooksException, 10000),
        ("http_429", QuickbooksException, 10000),
    ],
)
def test_given_fault_rule_when_creating_then_library_raises_matching_exception(
    qbo, qb, kind, exc_type, code
):
    """Each QBO-specific and generic fault kind as python-quickbooks sees it."""
    qbo.admin.add_fault("quickbooks", kind=kind, path=r"/customer$", method="POST")
    new = Customer()
    new.DisplayName = f"Fault {uuid.uuid4().hex[:6]}"
    with pytest.raises(exc_type) as excinfo:
        new.save(qb=qb)
    assert excinfo.value.error_code == code
    assert new.save(qb=qb).Id  # the rule fired once


def test_given_expired_token_fault_when_reading_then_authorization_exception(qbo, qb):
    """expired_token renders the 401 lower-case body for matching requests only."""
    qbo.admin.add_fault("quickbooks", kind="expired_token", path=r"/customer/1$")
    with pytest.raises(AuthorizationException) as excinfo:
        Customer.get(1, qb=qb)
    assert excinfo.value.error_code == 401
    assert Customer.get(1, qb=qb).Id == "1"


def test_given_drop_fault_when_querying_then_connection_error(qbo, qb):
    """drop aborts the connection: the client sees a transport error, not an HTTP answer."""
    qbo.admin.add_fault("quickbooks", kind="drop", path=QUERY_PATH)
    with pytest.raises(requests.exceptions.ConnectionError):
        Customer.count(qb=qb)
    assert Customer.count(qb=qb) > 0


def test_given_slow_fault_and_latency_when_querying_then_answers_are_delayed(qbo, qb):
    """slow delays one answer; latency delays all of them."""
    qbo.admin.add_fault("quickbooks", kind="slow", path=QUERY_PATH, delay_ms=400)
    started = time.monotonic()
    Term.all(qb=qb)
    assert time.monotonic() - started >= 0.4
    qbo.admin.set_latency("quickbooks", 250)
    started = time.monotonic()
    Term.all(qb=qb)
    assert time.monotonic() - started >= 0.25


def test_given_probability_rule_when_many_requests_then_some_fail(qbo, qb):
    """Fault rules by probability (seeded) and count."""
    qbo.admin.add_fault(
        "quickbooks", kind="server_error", path=QUERY_PATH, times=None, probability=0.5
    )
    failures = 0
    for _ in range(20):
        try:
            Term.all(qb=qb)
        except SevereException:
            failures += 1
    assert 0 < failures < 20


def test_given_per_minute_limit_when_exceeded_then_429_until_window_slides(qbo, qb):
    """api-notes 2.4: requests per minute per realm (settable); sliding window on the clock."""
    qbo.call("POST", "throttle", {"per_minute": 5, "reset_windows": True})
    try:
        for _ in range(5):
            Term.all(qb=qb)
        with pytest.raises(ValidationException) as excinfo:
            Term.all(qb=qb)
        assert excinfo.value.error_code == 3001
        assert qbo.call("GET", "throttle")["rejected"] >= 1
        qbo.admin.set_clock("quickbooks", advance_seconds=61)
        assert Term.all(qb=qb)
    finally:
        qbo.admin.set_clock("quickbooks", reset=True)


def test_given_concurrency_limit_when_parallel_requests_then_some_429(qbo):
    """api-notes 2.4: at most N requests in flight per realm (work_ms holds each slot)."""
    qbo.call("POST", "throttle", {"concurrent": 2, "work_ms": 400, "reset_windows": True})
    clients = [qbo.client() for _ in range(5)]

    def call(client) -> str:
        try:
            Term.all(qb=client)
            return "ok"
        except ValidationException as exc:
            return str(exc.error_code)

    with ThreadPoolExecutor(max_workers=5) as pool:
        outcomes = list(pool.map(call, clients))
    assert outcomes.count("ok") >= 1
    assert outcomes.count("3001") >= 1


def test_given_batch_limit_when_exceeded_then_batch_throttled(qbo, qb):
    """api-notes 2.4: batch calls per minute are limited separately (40 by default)."""
    qbo.call("POST", "throttle", {"batch_per_minute": 2, "reset_windows": True})
    tag = uuid.uuid4().hex[:6]
    for i in range(2):
        c = Customer()
        c.DisplayName = f"BL {tag} {i}"
        batch_create([c], qb=qb)
    c = Customer()
    c.DisplayName = f"BL {tag} x"
    with pytest.raises(ValidationException) as excinfo:
        batch_create([c], qb=qb)
    assert excinfo.value.error_code == 3001


def test_given_requests_when_counters_read_then_per_operation_and_writes(qbo, qb):
    """Admin counters: per operation (query.X, create.X, read.X) and the write total."""
    qbo.admin.clear_counters("quickbooks")
    Customer.count(qb=qb)
    Customer.get(1, qb=qb)
    c = Customer()
    c.DisplayName = f"Counted {uuid.uuid4().hex[:6]}"
    c.save(qb=qb)
    counters = qbo.admin.counters("quickbooks")
    ops = counters["by_operation"]
    assert ops["query.Customer"] == 1 and ops["read.Customer"] == 1
    assert ops["create.Customer"] == 1
    assert counters["writes"] == 1
