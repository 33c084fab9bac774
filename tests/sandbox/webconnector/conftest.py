"""Fixtures for the Web Connector emulator: a minimal QBWC service, a fake company, a .qwc.

``QbwcService`` is a QBWC service written here by hand (SOAP over HTTP on uvicorn, lxml, no
SOAP library), as small as a real one can be: it queues requests, answers authenticate,
sendRequestXML, receiveResponseXML and the rest, and records every call it receives (method,
parameters, raw body). A ``Script`` tells it how to behave: the authenticate status, a
clientVersion answer, NoOps, a negative percent, a slow or malformed answer, a SOAP Fault.

``FakeCompany`` stands in for the QuickBooks Desktop company emulator: it answers the
Host/Company/Preferences query, echoes simple queries with "no match", and can be told that
QuickBooks is not running, or to fail or slow down. ``company_server`` serves it over the HTTP
interface ``HttpCompany`` speaks.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from lxml import etree

from sfqb_sandbox.desktop_rig import Served, free_port  # noqa: F401 - the tests import them here
from sfqb_sandbox.webconnector import CompanyUnavailable, ConnectorSettings

INTUIT = "http://developer.intuit.com/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TWO_REQUESTS = [
    '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
    '<CustomerQueryRq requestID="1"><MaxReturned>10</MaxReturned></CustomerQueryRq>'
    "</QBXMLMsgsRq></QBXML>",
    '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
    '<ItemQueryRq requestID="2"><MaxReturned>10</MaxReturned></ItemQueryRq>'
    "</QBXMLMsgsRq></QBXML>",
]
COMPANY_PATH = r"C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\sandbox.qbw"


# -- the QBWC service ----------------------------------------------------------------------


@dataclass
class Script:
    """How the test service behaves."""

    server_version: str = "test QBWC service 1.0"
    client_version: str | None = ""
    auth_status: str = ""  # "", "none", "nvu", "busy" or a company file path
    auth_extra: list[str] = field(default_factory=list)  # authRet[2], authRet[3]
    requests: list[str] = field(default_factory=lambda: list(TWO_REQUESTS))
    noops: int = 0  # sendRequestXML answers "NoOp" (then getLastError "NoOp") this many times
    negative_at: int | None = None  # the n-th receiveResponseXML (1-based) answers -101
    last_error: str = "Something went wrong in the service"
    connection_error_answers: list[str] = field(default_factory=lambda: ["done"])
    slow: dict[str, float] = field(default_factory=dict)  # method -> seconds before answering
    raw: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)  # method -> answer
    faults: set[str] = field(default_factory=set)  # methods answering a SOAP Fault
    close_message: str = "OK"


@dataclass
class Received:
    method: str
    params: dict[str, str]
    soap_action: str
    content_type: str
    body: bytes


def _envelope(method: str, result: etree._Element | str | None) -> bytes:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    response = etree.SubElement(body, f"{{{INTUIT}}}{method}Response", nsmap={None: INTUIT})
    if isinstance(result, etree._Element):
        response.append(result)
    elif result is not None:
        etree.SubElement(response, f"{{{INTUIT}}}{method}Result").text = result
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def _fault(text: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}">'
        f"<soap:Body><soap:Fault><faultcode>soap:Server</faultcode>"
        f"<faultstring>{text}</faultstring></soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


class QbwcService:
    """The minimal QBWC service; ``url`` is its AppURL (http://localhost:PORT/qbwc)."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.received: list[Received] = []
        self.sent = 0
        self.answered = 0
        self.noops_left = self.script.noops
        self.last_send_noop = False
        self.connection_errors = list(self.script.connection_error_answers)
        self.app = FastAPI()
        self.app.add_api_route("/qbwc", self.handle, methods=["POST"])
        self.served = Served(self.app)
        self.url = f"http://localhost:{self.served.port}/qbwc"

    @property
    def methods(self) -> list[str]:
        return [r.method for r in self.received]

    def calls(self, method: str) -> list[Received]:
        return [r for r in self.received if r.method == method]

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
        call = root.find(f"{{{SOAP_ENV}}}Body")[0]
        method = etree.QName(call).localname
        params = {etree.QName(c).localname: c.text or "" for c in call}
        self.received.append(
            Received(
                method,
                params,
                request.headers.get("SOAPAction", ""),
                request.headers.get("Content-Type", ""),
                body,
            )
        )
        if method in self.script.slow:
            await asyncio.sleep(self.script.slow[method])
        if method in self.script.raw:
            status, content_type, raw = self.script.raw[method]
            return Response(raw, status_code=status, media_type=content_type)
        if method in self.script.faults:
            return Response(_fault(f"{method} failed"), status_code=500, media_type="text/xml")
        result = getattr(self, f"do_{method}")(params)
        return Response(_envelope(method, result), media_type="text/xml; charset=utf-8")

    def do_serverVersion(self, params: dict[str, str]) -> str:
        return self.script.server_version

    def do_clientVersion(self, params: dict[str, str]) -> str | None:
        return self.script.client_version

    def do_authenticate(self, params: dict[str, str]) -> etree._Element:
        result = etree.Element(f"{{{INTUIT}}}authenticateResult")
        ticket = str(uuid.uuid4())
        for value in (ticket, self.script.auth_status, *self.script.auth_extra):
            etree.SubElement(result, f"{{{INTUIT}}}string").text = value
        return result

    def do_sendRequestXML(self, params: dict[str, str]) -> str:
        self.last_send_noop = self.noops_left > 0
        if self.noops_left:
            self.noops_left -= 1
            return "NoOp"
        if self.sent >= len(self.script.requests):
            return ""
        self.sent += 1
        return self.script.requests[self.sent - 1]

    def do_receiveResponseXML(self, params: dict[str, str]) -> str:
        self.answered += 1
        if self.script.negative_at == self.answered:
            return "-101"
        return str(self.answered * 100 // len(self.script.requests))

    def do_getLastError(self, params: dict[str, str]) -> str:
        return "NoOp" if self.last_send_noop else self.script.last_error

    def do_connectionError(self, params: dict[str, str]) -> str:
        return self.connection_errors.pop(0) if self.connection_errors else "done"

    def do_closeConnection(self, params: dict[str, str]) -> str:
        return self.script.close_message


@pytest.fixture
def service() -> Iterator[Any]:
    """``service(script)`` starts a QbwcService; all are stopped after the test."""
    started: list[QbwcService] = []

    def start(script: Script | None = None) -> QbwcService:
        svc = QbwcService(script)
        svc.served.__enter__()
        started.append(svc)
        return svc

    yield start
    for svc in started:
        svc.served.__exit__(None, None, None)


# -- the company -----------------------------------------------------------------------------

HCP_ANSWER = """<?xml version="1.0" ?>
<QBXML><QBXMLMsgsRs>
<HostQueryRs requestID="0" statusCode="0" statusSeverity="Info" statusMessage="Status OK">
<HostRet><ProductName>QuickBooks Desktop Premier 2024</ProductName><MajorVersion>34</MajorVersion>
<MinorVersion>0</MinorVersion><Country>US</Country>
<SupportedQBXMLVersion>12.0</SupportedQBXMLVersion><SupportedQBXMLVersion>13.0</SupportedQBXMLVersion>
<SupportedQBXMLVersion>16.0</SupportedQBXMLVersion>
<IsAutomaticLogin>false</IsAutomaticLogin><QBFileMode>SingleUser</QBFileMode></HostRet>
</HostQueryRs>
<CompanyQueryRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="Status OK">
<CompanyRet><IsSampleCompany>false</IsSampleCompany><CompanyName>Sandbox Co</CompanyName></CompanyRet>
</CompanyQueryRs>
<PreferencesQueryRs requestID="2" statusCode="0" statusSeverity="Info" statusMessage="Status OK">
<PreferencesRet><SalesAndCustomersPreferences><IsTrackingSalesOrders>true</IsTrackingSalesOrders>
</SalesAndCustomersPreferences></PreferencesRet>
</PreferencesQueryRs>
</QBXMLMsgsRs></QBXML>"""
NOT_RUNNING = ("0x80040408", "Could not start QuickBooks.")
PARSE_ERROR = ("0x80040400", "QuickBooks found an error when parsing the provided XML text stream.")


class FakeCompany:
    """A stand-in QuickBooks Desktop company behind the ``Company`` protocol."""

    def __init__(self, path: str = COMPANY_PATH, running: bool = True, delay: float = 0.0):
        self.path = path
        self.running = running
        self.delay = delay
        self.fail_next: tuple[str, str] | None = None
        self.opened: list[str] = []
        self.processed: list[str] = []
        self.closed = 0

    def open(self, company_file: str) -> str:
        self.opened.append(company_file)
        if not self.running:
            raise CompanyUnavailable(*NOT_RUNNING)
        if company_file not in ("", self.path):
            raise CompanyUnavailable(
                "0x80040418", f"The company file {company_file} is not the file that is open."
            )
        return self.path

    def process(self, request: str) -> str:
        self.processed.append(request)
        time.sleep(self.delay)
        if not self.running:
            raise CompanyUnavailable(*NOT_RUNNING)
        if self.fail_next:
            failure, self.fail_next = self.fail_next, None
            raise CompanyUnavailable(*failure)
        try:
            root = etree.fromstring(
                request.encode(), etree.XMLParser(resolve_entities=False, no_network=True)
            )
        except etree.XMLSyntaxError:
            raise CompanyUnavailable(*PARSE_ERROR) from None
        requests = root.find("QBXMLMsgsRq")
        if requests is None:
            raise CompanyUnavailable(*PARSE_ERROR)
        if requests.find("HostQueryRq") is not None:
            return HCP_ANSWER
        answers = "".join(
            f'<{rq.tag[:-2]}Rs requestID="{rq.get("requestID", "")}" statusCode="1" '
            'statusSeverity="Info" statusMessage="A query request did not find a matching '
            'object in QuickBooks" />'
            for rq in requests
            if isinstance(rq.tag, str)
        )
        return f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>{answers}</QBXMLMsgsRs></QBXML>'

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def company() -> FakeCompany:
    return FakeCompany()


def company_app(fake: FakeCompany) -> FastAPI:
    """The company emulator's HTTP interface over ``fake``."""
    app = FastAPI()

    def unavailable(exc: CompanyUnavailable) -> Response:
        import json

        body = json.dumps({"hresult": exc.hresult, "message": exc.message})
        return Response(body, status_code=503, media_type="application/json")

    @app.post("/qbxml/open")
    async def open_(request: Request) -> Response:
        body = await request.json()
        try:
            path = fake.open(body["company_file"])
        except CompanyUnavailable as exc:
            return unavailable(exc)
        import json

        return Response(json.dumps({"company_file": path}), media_type="application/json")

    @app.post("/qbxml")
    async def process(request: Request) -> Response:
        text = (await request.body()).decode()
        try:
            answer = fake.process(text)
        except CompanyUnavailable as exc:
            return unavailable(exc)
        return Response(answer, media_type="text/xml")

    @app.post("/qbxml/close")
    async def close() -> Response:
        fake.close()
        return Response(status_code=200)

    return app


@pytest.fixture
def company_server(company: FakeCompany) -> Iterator[str]:
    """The base URL of ``company`` served over HTTP."""
    with Served(company_app(company)) as served:
        yield f"http://127.0.0.1:{served.port}"


# -- the .qwc --------------------------------------------------------------------------------

QWC = """<?xml version="1.0"?>
<QBWCXML>
  <AppName>{app_name}</AppName>
  <AppID></AppID>
  <AppURL>{url}</AppURL>
  <AppDescription>sfqb test service</AppDescription>
  <AppSupport>{support}</AppSupport>
  <UserName>sfqb</UserName>
  <OwnerID>{{57F3B9B1-86F1-4FCC-B1EE-566DE1813D20}}</OwnerID>
  <FileID>{{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}}</FileID>
  <QBType>QBFS</QBType>
  {scheduler}
</QBWCXML>
"""


def qwc_text(
    url: str = "https://qbwc.example.com/qbwc",
    support: str | None = None,
    app_name: str = "sfqb test",
    scheduler: str = "<Scheduler><RunEveryNMinutes>5</RunEveryNMinutes></Scheduler>",
) -> str:
    if support is None:
        support = url.rsplit("/", 1)[0] + "/support"
    return QWC.format(url=url, support=support, app_name=app_name, scheduler=scheduler)


@pytest.fixture
def fast() -> ConnectorSettings:
    """Settings for tests: short NoOp pause and call timeout."""
    return ConnectorSettings(call_timeout=5.0, noop_wait=0.05)


@pytest.fixture
def qwc_file(tmp_path: Path):
    """``qwc_file(url, **kw)`` writes a .qwc for ``url`` and returns its path."""

    def write(url: str, **kwargs: Any) -> Path:
        path = tmp_path / f"app-{uuid.uuid4().hex[:8]}.qwc"
        path.write_text(qwc_text(url, **kwargs))
        return path

    return write
