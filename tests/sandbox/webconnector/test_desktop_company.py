"""The Web Connector emulator with the QuickBooks Desktop company emulator behind it: the two
sandbox halves a QBWC service will meet, together (in process, and the company over HTTP)."""

from __future__ import annotations

import pytest
from lxml import etree

from sfqb_sandbox.qbd.connector import LocalCompany
from sfqb_sandbox.webconnector import HttpCompany, WebConnector, parse_qwc
from tests.sandbox.qbd.conftest import make_company, message

from .conftest import Script, qwc_text

ADD = message(
    '<CustomerAddRq requestID="1"><CustomerAdd><Name>Web Connector Test</Name>'
    "</CustomerAdd></CustomerAddRq>",
    on_error="stopOnError",
)
QUERY = message(
    '<CustomerQueryRq requestID="2"><FullName>Web Connector Test</FullName></CustomerQueryRq>'
)
# CustomerAdd with Name after CompanyName: QuickBooks' schema wants Name first.
OUT_OF_ORDER = message(
    '<CustomerAddRq requestID="3"><CustomerAdd><CompanyName>Acme</CompanyName>'
    "<Name>Out Of Order</Name></CustomerAdd></CustomerAddRq>"
)


def responses(service) -> list[etree._Element]:
    return [
        etree.fromstring(call.params["response"].encode())
        for call in service.calls("receiveResponseXML")
        if call.params.get("response")
    ]


def test_given_the_desktop_company_when_a_session_adds_and_queries_then_the_service_gets_its_answers(
    service, fast, tmp_path
):
    """A service's two requests reach the company emulator through the Web Connector emulator:
    the first sendRequestXML carries the company's HostQuery/CompanyQuery/PreferencesQuery
    answer, the add is applied and the query finds it, each answer with statusCode 0."""
    company = make_company(tmp_path)
    svc = service(Script(requests=[ADD, QUERY]))

    record = WebConnector(
        parse_qwc(qwc_text(svc.url)), "secret", LocalCompany(company), fast
    ).run_session()

    assert record.outcome == "done" and record.percent_done == [50, 100]
    hcp = svc.calls("sendRequestXML")[0].params["strHCPResponse"]
    assert "<HostRet>" in hcp and "<CompanyRet>" in hcp and "<PreferencesRet>" in hcp
    added, found = responses(svc)
    assert added.find(".//CustomerAddRs").get("statusCode") == "0"
    assert found.find(".//CustomerQueryRs").get("statusCode") == "0"
    assert found.findtext(".//CustomerRet/FullName") == "Web Connector Test"
    assert added.findtext(".//ListID") == found.findtext(".//ListID")


def test_given_a_request_quickbooks_cannot_parse_when_sent_then_the_service_gets_the_hresult(
    service, fast, tmp_path
):
    """A message set out of schema order fails whole with 0x80040400: the Web Connector hands
    the service that HRESULT and no response, and nothing is written."""
    company = make_company(tmp_path)
    svc = service(Script(requests=[OUT_OF_ORDER]))

    WebConnector(parse_qwc(qwc_text(svc.url)), "secret", LocalCompany(company), fast).run_session()

    (call,) = svc.calls("receiveResponseXML")
    assert call.params["hresult"] == "0x80040400" and not call.params.get("response")
    company.open("")
    found = etree.fromstring(
        company.process(
            message(
                '<CustomerQueryRq requestID="4"><FullName>Out Of Order</FullName></CustomerQueryRq>'
            )
        ).encode()
    )
    # (a FullName filter that names no customer: 500, "could not be found", as QuickBooks says)
    assert found.find(".//CustomerQueryRs").get("statusCode") == "500"


@pytest.mark.parametrize(
    ("state", "hresult"),
    [
        # no company file named and QuickBooks not running: it cannot tell which file to open
        ("not_running", "0x80040416"),
        ("cannot_start", "0x80040408"),
    ],
)
def test_given_quickbooks_not_running_when_a_session_starts_then_the_service_gets_connection_error(
    service, fast, tmp_path, state, hresult
):
    """QuickBooks not running: the Web Connector cannot open the company and tells the service
    through connectionError, with the request processor's HRESULT; no request is asked for."""
    company = make_company(tmp_path)
    company.close()
    company.configure(state=state)
    svc = service()

    record = WebConnector(
        parse_qwc(qwc_text(svc.url)), "secret", LocalCompany(company), fast
    ).run_session()

    (call,) = svc.calls("connectionError")
    assert call.params["hresult"] == hresult
    assert not svc.calls("sendRequestXML") and record.outcome != "done"


@pytest.mark.sandbox
def test_given_the_company_server_when_a_session_runs_over_http_then_answers_and_hresults_pass(
    service, fast, desktop_server
):
    """Over HTTP (HttpCompany against the desktop server), a session's add is answered with
    statusCode 0 and a message set QuickBooks cannot parse reaches the service as the HRESULT
    0x80040400, as in process."""
    info = desktop_server.connections["quickbooks_desktop"]
    svc = service(Script(requests=[ADD.replace("Web Connector Test", "Over HTTP"), OUT_OF_ORDER]))
    http = HttpCompany(info["base_url"], verify=desktop_server.connections["ca_bundle"])
    try:
        record = WebConnector(parse_qwc(qwc_text(svc.url)), "secret", http, fast).run_session()
    finally:
        http.shutdown()

    added, bad = svc.calls("receiveResponseXML")
    assert 'statusCode="0"' in added.params["response"] and "Over HTTP" in added.params["response"]
    assert bad.params["hresult"] == "0x80040400" and not bad.params.get("response")
    assert record.outcome == "done"
