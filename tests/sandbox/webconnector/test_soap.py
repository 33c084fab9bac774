"""The emulator's SOAP against an independent client and the service contract (api-notes 9.1).

qbwc.wsdl is the contract written from api-notes 9.1. zeep, a SOAP library that shares no code
with the emulator, reads it: zeep calling the test service gets the same answers the emulator
reads, zeep's own envelopes carry the same elements as the emulator's, and every request the
emulator sends in a session validates against the WSDL's schema. The strict reading of
answers, and HttpCompany against the company emulator's HTTP interface, are checked here too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from lxml import etree

from sfqb_sandbox.webconnector import (
    CompanyProtocolError,
    CompanyUnavailable,
    HttpCompany,
    WebConnector,
    parse_qwc,
)
from sfqb_sandbox.webconnector.soap import (
    INTUIT_NS,
    PARAMETERS,
    SOAP_ENV,
    MalformedAnswer,
    SoapFault,
    build_request,
    parse_answer,
)

from .conftest import COMPANY_PATH, HCP_ANSWER, NOT_RUNNING, Script, qwc_text

pytestmark = pytest.mark.sandbox

WSDL = Path(__file__).with_name("qbwc.wsdl")
SAMPLE = {
    "strVersion": "2.3.0.215",
    "strUserName": "sfqb",
    "strPassword": "p&ss<word>",
    "ticket": "t-1",
    "strHCPResponse": "<QBXML/>",
    "strCompanyFileName": COMPANY_PATH,
    "qbXMLCountry": "US",
    "qbXMLMajorVers": 16,
    "qbXMLMinorVers": 0,
    "response": "<QBXML><QBXMLMsgsRs/></QBXML>",
    "hresult": "",
    "message": "",
}


def zeep_client(url: str):
    import zeep
    from zeep.transports import Transport

    session = requests.Session()
    session.trust_env = False
    client = zeep.Client(str(WSDL), transport=Transport(session=session))
    return client, client.create_service("{http://developer.intuit.com/}QBWebConnectorSvcSoap", url)


def schema() -> etree.XMLSchema:
    wsdl = etree.parse(str(WSDL))
    xsd = wsdl.find(".//{http://www.w3.org/2001/XMLSchema}schema")
    return etree.XMLSchema(xsd)


def test_given_the_test_service_when_zeep_calls_it_then_answers_have_the_wsdls_types(service):
    """zeep reads the test service's answers as the WSDL types them: a string array for
    authenticate, an int for receiveResponseXML, strings elsewhere. The service the emulator is
    tested against is a correct one, by an independent client."""
    svc = service()
    _, proxy = zeep_client(svc.url)
    assert proxy.serverVersion() == "test QBWC service 1.0"
    assert proxy.clientVersion(strVersion="2.3.0.215") in ("", None)
    ticket, status = proxy.authenticate(strUserName="sfqb", strPassword="x")
    assert ticket and status in ("", None)
    assert proxy.sendRequestXML(ticket, "", COMPANY_PATH, "US", 16, 0).startswith("<?xml")
    assert proxy.receiveResponseXML(ticket, "<QBXML/>", "", "") == 50
    assert proxy.closeConnection(ticket) == "OK"


@pytest.mark.parametrize("method", sorted(PARAMETERS))
def test_given_a_method_when_built_then_zeeps_envelope_has_the_same_body(method):
    """The emulator's hand-written body and zeep's, for the same call, carry the same elements
    in the same order with the same text."""
    client, _ = zeep_client("http://localhost/qbwc")
    params = {name: SAMPLE[name] for name in PARAMETERS[method]}
    ours = etree.fromstring(build_request(method, params)).find(f"{{{SOAP_ENV}}}Body")[0]
    theirs = client.create_message(client.service, method, **params).find(f"{{{SOAP_ENV}}}Body")[0]

    def shape(element):
        return [(child.tag, child.text or "") for child in element]

    assert ours.tag == theirs.tag == f"{{{INTUIT_NS}}}{method}"
    assert shape(ours) == shape(theirs)


def test_given_a_session_when_the_requests_are_validated_then_each_fits_the_wsdl_schema(
    service, company, fast
):
    """Every request body the emulator sent in a whole session (NoOp and errors included)
    validates against the WSDL's schema."""
    svc = service(Script(noops=1, negative_at=2))
    WebConnector(parse_qwc(qwc_text(svc.url)), "secret", company, fast).run_session()
    xsd = schema()
    assert len(svc.received) >= 9
    for received in svc.received:
        call = etree.fromstring(received.body).find(f"{{{SOAP_ENV}}}Body")[0]
        assert xsd.validate(call), (received.method, xsd.error_log)


def envelope(inner: str) -> bytes:
    return (f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body>{inner}</s:Body></s:Envelope>').encode()


def test_given_answers_when_parsed_then_values_nil_and_arrays_are_read():
    """A string result, a nil or missing one (None), an ArrayOfString with a nil item, an int."""
    ns = f'xmlns="{INTUIT_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'

    def read(method, inner):
        return parse_answer(method, 200, "text/xml; charset=utf-8", envelope(inner)).value

    assert (
        read(
            "getLastError",
            f"<getLastErrorResponse {ns}><getLastErrorResult>NoOp</getLastErrorResult></getLastErrorResponse>",
        )
        == "NoOp"
    )
    assert read("clientVersion", f"<clientVersionResponse {ns}/>") is None
    assert (
        read(
            "clientVersion",
            f'<clientVersionResponse {ns}><clientVersionResult xsi:nil="true"/></clientVersionResponse>',
        )
        is None
    )
    assert read(
        "authenticate",
        f'<authenticateResponse {ns}><authenticateResult><string>t</string><string xsi:nil="true"/></authenticateResult></authenticateResponse>',
    ) == ["t", None]
    assert (
        read(
            "receiveResponseXML",
            f"<receiveResponseXMLResponse {ns}><receiveResponseXMLResult> -5 </receiveResponseXMLResult></receiveResponseXMLResponse>",
        )
        == -5
    )


@pytest.mark.parametrize(
    ("method", "status", "content_type", "body", "error"),
    [
        ("getLastError", 200, "application/soap+xml", envelope(""), "SOAP 1.1"),
        ("getLastError", 200, "text/xml", b"<x/>", "SOAP 1.1 Envelope"),
        (
            "getLastError",
            200,
            "text/xml",
            envelope('<getLastErrorResponse xmlns="urn:other"/>'),
            "expected exactly",
        ),
        (
            "getLastError",
            200,
            "text/xml",
            envelope(f'<closeConnectionResponse xmlns="{INTUIT_NS}"/>'),
            "expected exactly",
        ),
        (
            "authenticate",
            200,
            "text/xml",
            envelope(
                f'<authenticateResponse xmlns="{INTUIT_NS}"><authenticateResult '
                'xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays">'
                "<a:string>t</a:string><a:string>nvu</a:string></authenticateResult></authenticateResponse>"
            ),
            "expected {http://developer.intuit.com/}string",
        ),
        (
            "receiveResponseXML",
            200,
            "text/xml",
            envelope(f'<receiveResponseXMLResponse xmlns="{INTUIT_NS}"/>'),
            "missing",
        ),
        (
            "getLastError",
            200,
            "text/xml",
            envelope(
                f'<getLastErrorResponse xmlns="{INTUIT_NS}"><getLastErrorResult><b>x</b></getLastErrorResult></getLastErrorResponse>'
            ),
            "elements where text",
        ),
        (
            "getLastError",
            200,
            "text/xml",
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>' + envelope("&e;"),
            "DOCTYPE",
        ),
    ],
)
def test_given_a_malformed_answer_when_parsed_then_it_is_refused_with_the_reason(
    method, status, content_type, body, error
):
    """SOAP 1.2, no envelope, another namespace or method, array items in another namespace
    (the WCF mistake QBWC fails on), a missing int, markup in a string, a DOCTYPE."""
    with pytest.raises(MalformedAnswer, match=error.replace("{", r"\{").replace("}", r"\}")):
        parse_answer(method, status, content_type, body)


def test_given_a_fault_when_parsed_then_its_code_and_text_are_kept():
    """An HTTP 500 with a SOAP Fault is a SoapFault with the faultcode and faultstring."""
    body = envelope(
        "<s:Fault><faultcode>s:Server</faultcode><faultstring>boom</faultstring></s:Fault>"
    )
    with pytest.raises(SoapFault) as fault:
        parse_answer("authenticate", 500, "text/xml", body)
    assert (fault.value.code, fault.value.text) == ("s:Server", "boom")


def test_given_the_company_server_when_used_over_http_then_open_process_and_close_work(
    company, company_server
):
    """HttpCompany speaks the agreed interface: open returns the path, process the answer,
    503 is CompanyUnavailable with the HRESULT and message, close reaches the company."""
    http = HttpCompany(company_server)
    try:
        assert http.open("") == COMPANY_PATH
        hcp = http.process(
            '<?qbxml version="13.0"?><QBXML><QBXMLMsgsRq><HostQueryRq/></QBXMLMsgsRq></QBXML>'
        )
        assert hcp == HCP_ANSWER
        with pytest.raises(CompanyUnavailable) as bad:
            http.process("not xml")
        assert bad.value.hresult == "0x80040400"
        http.close()
        assert company.closed == 1
        company.running = False
        with pytest.raises(CompanyUnavailable) as down:
            http.open("")
        assert (down.value.hresult, down.value.message) == NOT_RUNNING
    finally:
        http.shutdown()


def test_given_a_company_url_that_answers_404_when_opened_then_it_is_a_protocol_error(
    company_server,
):
    """An answer outside the interface is the emulator's fault, never passed off as QuickBooks'."""
    http = HttpCompany(company_server + "/nowhere")
    try:
        with pytest.raises(CompanyProtocolError, match="404"):
            http.open("")
    finally:
        http.shutdown()


def test_given_the_company_over_http_when_a_session_runs_then_it_completes(
    service, company, company_server, fast
):
    """A whole session with HttpCompany in place of the in-process company."""
    svc = service()
    http = HttpCompany(company_server)
    try:
        record = WebConnector(parse_qwc(qwc_text(svc.url)), "secret", http, fast).run_session()
    finally:
        http.shutdown()
    assert record.outcome == "done"
    assert record.percent_done == [50, 100]
    assert company.closed == 1
