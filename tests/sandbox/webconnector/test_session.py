"""One Web Connector session against a QBWC service written in the tests (api-notes 9.1-9.4).

Each test starts the minimal service of conftest.py on a free port, runs one session of the
emulator against it with a fake company, and checks the calls the service received, call by
call, and the session record the emulator returns.
"""

from __future__ import annotations

import time

import pytest

from sfqb_sandbox.webconnector import (
    ConnectorSettings,
    SessionRecord,
    WebConnector,
    parse_qwc,
)

from .conftest import COMPANY_PATH, HCP_ANSWER, NOT_RUNNING, TWO_REQUESTS, Script, qwc_text

pytestmark = pytest.mark.sandbox

HANDSHAKE = ["serverVersion", "clientVersion", "authenticate"]


def run(service, company, settings: ConnectorSettings, script: Script | None = None):
    svc = service(script)
    connector = WebConnector(parse_qwc(qwc_text(svc.url)), "secret", company, settings)
    record = connector.run_session()
    return svc, record


def test_given_two_queued_requests_when_a_session_runs_then_the_calls_follow_intuits_order(
    service, company, fast
):
    """serverVersion, clientVersion, authenticate, then sendRequestXML / receiveResponseXML
    twice (50 then 100 percent), then closeConnection: the service sees exactly that."""
    svc, record = run(service, company, fast)
    expected = [
        *HANDSHAKE,
        "sendRequestXML",
        "receiveResponseXML",
        "sendRequestXML",
        "receiveResponseXML",
        "closeConnection",
    ]
    assert svc.methods == expected
    assert record.methods == expected
    assert record.outcome == "done"
    assert record.error_code is None
    assert record.percent_done == [50, 100]
    assert record.close_message == "OK"
    assert record.company_file == COMPANY_PATH


def test_given_a_session_when_the_service_reads_the_calls_then_parameters_are_as_qbwc_sends(
    service, company, fast
):
    """clientVersion carries the QBWC version; authenticate the .qwc user and the password;
    every later call the ticket authenticate returned."""
    svc, record = run(service, company, fast)
    assert svc.calls("serverVersion")[0].params == {}
    assert svc.calls("clientVersion")[0].params == {"strVersion": fast.qbwc_version}
    assert svc.calls("authenticate")[0].params == {"strUserName": "sfqb", "strPassword": "secret"}
    ticket = record.ticket
    assert ticket
    later = [r for r in svc.received if r.method not in HANDSHAKE]
    assert {r.params["ticket"] for r in later} == {ticket}
    # The password never reaches the session record or the log.
    assert record.calls[2].params["strPassword"] == "<MaskedForSecurity>"
    assert not any("secret" in line for line in record.log_lines)


def test_given_a_session_when_requests_are_sent_then_only_the_first_carries_the_hcp_response(
    service, company, fast
):
    """strHCPResponse holds the Host/Company/Preferences answer on the first sendRequestXML
    only; every call names the company file, the country and the qbXML version QuickBooks
    supports best (16.0 in the fake's HostRet)."""
    svc, _ = run(service, company, fast)
    first, second = svc.calls("sendRequestXML")
    assert first.params["strHCPResponse"] == HCP_ANSWER
    assert second.params["strHCPResponse"] == ""
    for call in (first, second):
        assert call.params["strCompanyFileName"] == COMPANY_PATH
        assert call.params["qbXMLCountry"] == "US"
        assert (call.params["qbXMLMajorVers"], call.params["qbXMLMinorVers"]) == ("16", "0")
    # The company saw the HCP query first, then the two requests, and was closed once.
    assert "HostQueryRq" in company.processed[0]
    assert company.processed[1:] == TWO_REQUESTS
    assert company.opened == [""]
    assert company.closed == 1


def test_given_responses_when_passed_back_then_receive_response_xml_carries_the_companys_answer(
    service, company, fast
):
    """receiveResponseXML gets the company's response for each request, with empty hresult and
    message."""
    svc, _ = run(service, company, fast)
    first, second = svc.calls("receiveResponseXML")
    assert 'CustomerQueryRs requestID="1"' in first.params["response"]
    assert 'ItemQueryRs requestID="2"' in second.params["response"]
    assert first.params["hresult"] == first.params["message"] == ""


def test_given_soap_requests_when_sent_then_headers_follow_soap_1_1_and_intuits_action(
    service, company, fast
):
    """Every call is SOAP 1.1: text/xml and SOAPAction "http://developer.intuit.com/<method>"."""
    svc, _ = run(service, company, fast)
    for received in svc.received:
        assert received.soap_action == f'"http://developer.intuit.com/{received.method}"'
        assert received.content_type.startswith("text/xml")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("none", "no_work"), ("nvu", "invalid_user"), ("busy", "busy"), ("NONE", "no_work")],
)
def test_given_authenticate_says_no_work_when_the_session_runs_then_it_stops_after_authenticate(
    service, company, fast, status, outcome
):
    """ "none", "nvu" and "busy" stop the update after authenticate: the company is never
    opened and nothing more is sent."""
    svc, record = run(service, company, fast, Script(auth_status=status))
    assert svc.methods == HANDSHAKE
    assert record.outcome == outcome
    assert company.opened == []


def test_given_authenticate_postpones_when_the_session_runs_then_the_record_keeps_the_seconds(
    service, company, fast
):
    """authenticate's third and fourth elements (postpone, minimum interval) are kept."""
    _, record = run(service, company, fast, Script(auth_status="busy", auth_extra=["60", "300"]))
    assert (record.postpone_seconds, record.min_run_seconds) == (60, 300)


def test_given_authenticate_names_a_company_file_when_opened_then_that_file_is_used(
    service, company, fast
):
    """A path from authenticate is the file the emulator opens and names in sendRequestXML."""
    svc, record = run(service, company, fast, Script(auth_status=COMPANY_PATH))
    assert company.opened == [COMPANY_PATH]
    assert record.outcome == "done"
    assert svc.calls("sendRequestXML")[0].params["strCompanyFileName"] == COMPANY_PATH


@pytest.mark.parametrize(
    ("answer", "outcome"), [("E:Upgrade the Web Connector", "version_refused")]
)
def test_given_client_version_refuses_when_the_session_runs_then_it_ends_before_authenticate(
    service, company, fast, answer, outcome
):
    """clientVersion "E:..." ends the update with QBWC1037; authenticate is never called."""
    svc, record = run(service, company, fast, Script(client_version=answer))
    assert svc.methods == ["serverVersion", "clientVersion"]
    assert record.outcome == outcome
    assert record.error_code == "QBWC1037"
    assert "Upgrade the Web Connector" in record.errors[0]


@pytest.mark.parametrize("answer", ["W:Please upgrade soon", None, "O:2.3"])
def test_given_client_version_warns_or_is_nil_when_accepted_then_the_session_goes_on(
    service, company, fast, answer
):
    """ "W:..." (and "O:...") warn and, accepted as the user would, the update goes on; a nil
    answer means go on."""
    svc, record = run(service, company, fast, Script(client_version=answer))
    assert record.outcome == "done"
    assert svc.methods[:3] == HANDSHAKE


def test_given_a_warning_when_the_user_declines_then_the_session_ends_with_qbwc1037(
    service, company
):
    """With accept_version_warning off, "W:..." ends the update as "E:" does."""
    settings = ConnectorSettings(call_timeout=5, noop_wait=0.05, accept_version_warning=False)
    svc, record = run(service, company, settings, Script(client_version="W:old"))
    assert svc.methods == ["serverVersion", "clientVersion"]
    assert record.error_code == "QBWC1037"


def test_given_quickbooks_not_running_when_opening_then_connection_error_reports_it(
    service, company, fast
):
    """The company cannot be opened: connectionError gets the HRESULT and message; "done"
    ends the update; no sendRequestXML, no closeConnection."""
    company.running = False
    svc, record = run(service, company, fast)
    assert svc.methods == [*HANDSHAKE, "connectionError"]
    call = svc.calls("connectionError")[0]
    assert (call.params["hresult"], call.params["message"]) == NOT_RUNNING
    assert call.params["ticket"] == record.ticket
    assert record.outcome == "connection_error"
    assert record.error_code == "QBWC1013"


def test_given_connection_error_names_another_file_when_retried_then_that_file_is_opened(
    service, company, fast
):
    """connectionError answering a path (here "" = the open file) makes the emulator try
    again with it, as QBWC does."""
    script = Script(auth_status=r"C:\elsewhere\other.qbw", connection_error_answers=[""])
    svc, record = run(service, company, fast, script)
    assert company.opened == [r"C:\elsewhere\other.qbw", ""]
    assert svc.methods[:5] == [*HANDSHAKE, "connectionError", "sendRequestXML"]
    assert record.outcome == "done"


def test_given_noop_when_the_service_is_not_ready_then_the_emulator_waits_and_asks_again(
    service, company
):
    """sendRequestXML "NoOp" -> getLastError "NoOp" -> a pause -> sendRequestXML again; the
    HCP answer still arrives with the first call only."""
    settings = ConnectorSettings(call_timeout=5, noop_wait=0.3)
    started = time.monotonic()
    svc, record = run(service, company, settings, Script(noops=1))
    elapsed = time.monotonic() - started
    assert svc.methods[3:6] == ["sendRequestXML", "getLastError", "sendRequestXML"]
    assert record.outcome == "done"
    assert elapsed >= 0.3
    sends = svc.calls("sendRequestXML")
    assert sends[0].params["strHCPResponse"] == HCP_ANSWER
    assert all(s.params["strHCPResponse"] == "" for s in sends[1:])


def test_given_a_negative_percent_when_received_then_get_last_error_then_close_connection(
    service, company, fast
):
    """receiveResponseXML answering -101 makes the emulator call getLastError, then
    closeConnection; the error is in the record."""
    svc, record = run(service, company, fast, Script(negative_at=1))
    assert svc.methods[3:] == [
        "sendRequestXML",
        "receiveResponseXML",
        "getLastError",
        "closeConnection",
    ]
    assert record.outcome == "service_error"
    assert record.percent_done == [-101]
    assert record.last_error == "Something went wrong in the service"


def test_given_no_more_requests_when_send_request_xml_is_empty_then_get_last_error_ends_it(
    service, company, fast
):
    """An empty request: getLastError, then closeConnection."""
    svc, record = run(service, company, fast, Script(requests=[]))
    assert svc.methods[3:] == ["sendRequestXML", "getLastError", "closeConnection"]
    assert record.outcome == "service_error"


def test_given_a_company_error_when_processing_then_receive_response_xml_carries_the_hresult(
    service, company, fast
):
    """QuickBooks failing a request: receiveResponseXML with an empty response and the HRESULT
    and message, as QBWC does."""
    svc = service(Script(requests=["this is not qbXML", TWO_REQUESTS[1]]))
    connector = WebConnector(parse_qwc(qwc_text(svc.url)), "secret", company, fast)
    record = connector.run_session()
    first = svc.calls("receiveResponseXML")[0]
    assert first.params["response"] == ""
    assert first.params["hresult"] == "0x80040400"
    assert "parsing" in first.params["message"]
    assert record.outcome == "done"


def test_given_a_slow_service_when_past_the_call_timeout_then_the_update_ends_with_its_code(
    service, company
):
    """sendRequestXML answering after the call timeout: the update ends with QBWC1041 and
    nothing more is sent to the service; the company is closed."""
    settings = ConnectorSettings(call_timeout=0.5, noop_wait=0.05)
    svc, record = run(service, company, settings, Script(slow={"sendRequestXML": 2.0}))
    assert record.outcome == "call_failed"
    assert record.error_code == "QBWC1041"
    assert "CallTimeout" in record.calls[-1].error
    assert record.methods[-1] == "sendRequestXML"
    time.sleep(1.6)  # the slow handler finishes; nothing else arrives
    assert svc.methods == [*HANDSHAKE, "sendRequestXML"]
    assert company.closed == 1


@pytest.mark.parametrize(
    ("method", "answer", "code"),
    [
        ("authenticate", (200, "text/xml", b"<not-soap/>"), "QBWC1012"),
        ("sendRequestXML", (200, "text/xml", b"<unclosed"), "QBWC1041"),
        (
            "receiveResponseXML",
            (
                200,
                "text/xml",
                b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
                b'<soap:Body><receiveResponseXMLResponse xmlns="http://developer.intuit.com/">'
                b"<receiveResponseXMLResult>fifty</receiveResponseXMLResult>"
                b"</receiveResponseXMLResponse></soap:Body></soap:Envelope>",
            ),
            "QBWC1042",
        ),
        ("closeConnection", (404, "text/html", b"not here"), "QBWC1044"),
    ],
)
def test_given_a_malformed_answer_when_read_then_the_log_names_it_and_the_code_is_qbwcs(
    service, company, fast, method, answer, code
):
    """A malformed or failed answer is an error the session record and log name, with
    QBWC's code for that method."""
    svc, record = run(service, company, fast, Script(raw={method: answer}))
    assert record.error_code == code
    failed = [c for c in record.calls if c.method == method][0]
    assert failed.error
    assert any(f"{method} call" in line for line in record.log_lines)
    assert svc.methods[-1] == method


def test_given_a_short_authenticate_array_when_read_then_it_fails_as_qbwc_does(
    service, company, fast
):
    """An authenticate array of one element is QBWC1012 (index out of range)."""
    raw = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<authenticateResponse xmlns="http://developer.intuit.com/"><authenticateResult>'
        b"<string>t</string></authenticateResult></authenticateResponse></soap:Body>"
        b"</soap:Envelope>"
    )
    svc, record = run(service, company, fast, Script(raw={"authenticate": (200, "text/xml", raw)}))
    assert record.error_code == "QBWC1012"
    assert svc.methods == HANDSHAKE


def test_given_a_service_without_client_version_when_faulted_then_authenticate_follows(
    service, company, fast
):
    """A SOAP Fault for clientVersion (not implemented) and for serverVersion: QBWC goes on."""
    svc, record = run(service, company, fast, Script(faults={"serverVersion", "clientVersion"}))
    assert record.outcome == "done"
    assert svc.methods[:3] == HANDSHAKE


def test_given_no_service_listening_when_the_session_runs_then_it_ends_with_qbwc1036(company, fast):
    """A refused connection: serverVersion is skipped, clientVersion fails with QBWC1036."""
    from .conftest import free_port

    url = f"http://localhost:{free_port()}/qbwc"
    connector = WebConnector(parse_qwc(qwc_text(url)), "secret", company, fast)
    record = connector.run_session()
    assert record.methods == ["serverVersion", "clientVersion"]
    assert record.outcome == "call_failed"
    assert record.error_code == "QBWC1036"
    assert company.opened == []


def test_given_a_log_file_when_a_session_runs_then_each_call_is_logged_like_qbwcs_log(
    service, company, tmp_path
):
    """Each call and its result is a line "YYYYMMDD.HH:MM:SS UTC : where() : text" in the log
    file, as in the record."""
    log = tmp_path / "QWCLog.txt"
    settings = ConnectorSettings(call_timeout=5, noop_wait=0.05, log_path=log)
    _, record = run(service, company, settings)
    lines = log.read_text().splitlines()
    assert lines == record.log_lines
    assert all(" UTC : sfqb_sandbox.webconnector." in line for line in lines)
    assert any(
        "<percentComplete" in line or 'receiveResponseXMLResult="100"' in line for line in lines
    )
    assert any("*** Calling authenticate()" in line for line in lines)
    assert any("has FINISHED: done" in line for line in lines)


def test_given_an_empty_password_when_the_connector_is_built_then_it_refuses_with_qbwc1030(company):
    """QBWC refuses to run an application that has no password."""
    with pytest.raises(ValueError, match="QBWC1030"):
        WebConnector(parse_qwc(qwc_text()), "", company)


def test_given_a_record_when_read_then_it_is_a_session_record(service, company, fast):
    """run_session returns a SessionRecord with start and end times."""
    _, record = run(service, company, fast)
    assert isinstance(record, SessionRecord)
    assert record.started_at and record.ended_at
