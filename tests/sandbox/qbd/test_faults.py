"""QuickBooks unavailable, lost answers, slow answers, restarts (api-notes 8.2, 8.9)."""

from __future__ import annotations

import time

import pytest

from sfqb_sandbox.qbd.company import ResponseLost
from sfqb_sandbox.qbd.errors import CompanyUnavailable

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize(
    ("state", "path", "hresult"),
    [
        ("cannot_start", "", "0x80040408"),
        ("not_running", "", "0x80040416"),
        ("no_file", "", "0x80040417"),
    ],
)
def test_given_quickbooks_unavailable_when_opened_then_the_hresult_says_why(
    qb, state, path, hresult
):
    qb.company.configure(state=state)
    with pytest.raises(CompanyUnavailable) as caught:
        qb.company.open(path)
    assert caught.value.hresult == hresult
    assert caught.value.message


def test_given_quickbooks_not_running_when_opened_with_the_file_then_it_starts(qb):
    qb.company.configure(state="not_running")
    assert qb.company.open(qb.company.company_file) == qb.company.company_file
    assert qb.one("<HostQueryRq/>").get("statusCode") == "0"


def test_given_quickbooks_stopped_mid_session_when_processing_then_company_unavailable(qb):
    qb.company.configure(state="not_running")
    with pytest.raises(CompanyUnavailable) as caught:
        qb.send("<HostQueryRq/>")
    assert caught.value.hresult == "0x80040401"


def test_given_a_lost_answer_when_a_write_is_sent_then_it_was_applied(qb):
    """lose_response: QuickBooks applied the message set, the caller never sees the answer."""
    qb.company.add_fault(kind="lose_response", request="CustomerAddRq")
    with pytest.raises(ResponseLost):
        qb.send(
            "<CustomerAddRq><CustomerAdd><Name>Lost Answer Co</Name></CustomerAdd></CustomerAddRq>"
        )
    assert qb.company.store.find_name("Customer", "Lost Answer Co") is not None
    retry = qb.one(
        "<CustomerAddRq><CustomerAdd><Name>Lost Answer Co</Name></CustomerAdd></CustomerAddRq>"
    )
    assert retry.get("statusCode") == "3100"


def test_given_a_slow_fault_when_processing_then_the_answer_waits(qb):
    qb.company.add_fault(kind="slow", delay_ms=300)
    started = time.monotonic()
    qb.send("<HostQueryRq/>")
    assert time.monotonic() - started >= 0.3


def test_given_a_restart_mid_session_when_reopened_then_iterators_are_gone(qb):
    first = qb.one(
        '<CustomerQueryRq iterator="Start"><MaxReturned>2</MaxReturned></CustomerQueryRq>'
    )
    qb.company.add_fault(kind="restart")
    with pytest.raises(CompanyUnavailable):
        qb.send("<HostQueryRq/>")
    qb.company.open("")
    rs = qb.one(f'<CustomerQueryRq iterator="Continue" iteratorID="{first.get("iteratorID")}"/>')
    assert rs.get("statusCode") == "3391"
