"""The Desktop company over HTTP, as ``serve --quickbooks desktop`` runs it (api-notes 8.9):
open/process/close, the 503 and 400 answers, connections.json, the admin surface."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.sandbox

HOST = '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><HostQueryRq requestID="1"/></QBXMLMsgsRq></QBXML>'


@pytest.fixture(scope="module")
def desktop(desktop_server):
    return desktop_server


def _post(admin, path: str, **kwargs) -> requests.Response:
    base = admin.connections["quickbooks_desktop"]["base_url"]
    return admin.session.post(f"{base}{path}", timeout=30, **kwargs)


def test_given_the_desktop_server_when_started_then_connections_json_describes_it(desktop):
    info = desktop.connections["quickbooks_desktop"]
    assert info["qbxml_url"].endswith("/qbxml")
    assert info["company_file"].endswith(".QBW")
    assert info["edition"] == "Enterprise"
    assert "quickbooks" not in desktop.connections


def test_given_an_open_session_when_a_message_set_is_posted_then_the_response_comes_back(desktop):
    opened = _post(desktop, "/qbxml/open", json={"company_file": ""})
    assert opened.status_code == 200
    assert (
        opened.json()["company_file"] == desktop.connections["quickbooks_desktop"]["company_file"]
    )
    answer = _post(desktop, "/qbxml", data=HOST.encode(), headers={"Content-Type": "text/xml"})
    assert answer.status_code == 200
    assert 'statusCode="0"' in answer.text and "<HostRet>" in answer.text
    bad = _post(desktop, "/qbxml", data=b"<QBXML/>", headers={"Content-Type": "text/xml"})
    assert (bad.status_code, bad.json()["hresult"]) == (400, "0x80040400")
    assert _post(desktop, "/qbxml/close").json() == {}
    counters = desktop.call("quickbooks_desktop", "GET", "company/counters")
    assert counters["HostQueryRq"] >= 1


def test_given_queries_and_writes_when_posted_then_only_the_write_requests_count_as_writes(desktop):
    """The admin counters count a message set of queries as one ``qbxml`` call, and each add,
    mod, delete or void of a message set as a write (``qbxml.write``), so "the second run
    writes nothing" can fail on Desktop as it can on Online."""
    _post(desktop, "/qbxml/open", json={"company_file": ""})
    desktop.clear_counters("quickbooks_desktop")
    two_adds = (
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="continueOnError">'
        "<CustomerAddRq><CustomerAdd><Name>Counted One</Name></CustomerAdd></CustomerAddRq>"
        "<CustomerQueryRq><FullName>Counted One</FullName></CustomerQueryRq>"
        "<CustomerAddRq><CustomerAdd><Name>Counted Two</Name></CustomerAdd></CustomerAddRq>"
        "</QBXMLMsgsRq></QBXML>"
    )
    for body in (HOST, two_adds):
        _post(desktop, "/qbxml", data=body.encode(), headers={"Content-Type": "text/xml"})
    _post(desktop, "/qbxml/close")

    counters = desktop.counters("quickbooks_desktop")

    assert counters["writes"] == 2
    assert counters["by_operation"]["qbxml"] == 1 and counters["by_operation"]["qbxml.write"] == 2


def test_given_quickbooks_not_running_when_opened_then_503_with_the_hresult(desktop):
    desktop.call("quickbooks_desktop", "POST", "company", {"state": "cannot_start"})
    try:
        opened = _post(desktop, "/qbxml/open", json={"company_file": ""})
        assert opened.status_code == 503
        assert opened.json() == {"hresult": "0x80040408", "message": "Could not start QuickBooks."}
        answer = _post(desktop, "/qbxml", data=HOST.encode(), headers={"Content-Type": "text/xml"})
        assert answer.status_code == 503
    finally:
        desktop.call("quickbooks_desktop", "POST", "company", {"state": "file_open"})


def test_given_a_lost_answer_fault_when_posted_then_the_connection_drops_after_the_write(desktop):
    _post(desktop, "/qbxml/open", json={"company_file": ""})
    desktop.call("quickbooks_desktop", "POST", "company/faults", {"kind": "lose_response"})
    add = '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><CustomerAddRq><CustomerAdd><Name>HTTP Lost Co</Name></CustomerAdd></CustomerAddRq></QBXMLMsgsRq></QBXML>'
    with pytest.raises(requests.ConnectionError):
        _post(desktop, "/qbxml", data=add.encode(), headers={"Content-Type": "text/xml"})
    again = _post(desktop, "/qbxml", data=add.encode(), headers={"Content-Type": "text/xml"})
    assert 'statusCode="3100"' in again.text


def test_given_an_edition_change_and_reset_when_seeded_then_pro_has_no_sales_orders(desktop):
    desktop.call("quickbooks_desktop", "POST", "company", {"edition": "Pro"})
    desktop.reset("quickbooks_desktop", "small")
    described = desktop.call("quickbooks_desktop", "GET", "company")
    assert described["edition"] == "Pro"
    assert described["counts"]["Customer"] > 200
    assert described["counts"]["SalesOrder"] == 0
    desktop.call("quickbooks_desktop", "POST", "company", {"edition": "Enterprise"})
