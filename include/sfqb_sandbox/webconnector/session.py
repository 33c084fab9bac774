"""One Web Connector update session, in Intuit's call order (api-notes 9.1, 9.3, 9.4).

serverVersion, clientVersion, authenticate; then, when the service has work, the company is
opened (a failure goes to connectionError, whose answer may name another file to try), the
HostQuery/CompanyQuery/PreferencesQuery answer is gathered, and the loop runs: sendRequestXML
(the HCP answer on the first call only) -> the request to the company -> receiveResponseXML ->
percent done, until 100 (closeConnection), a negative percent or an empty request (getLastError,
then closeConnection; "NoOp" from getLastError waits and asks again). A web method that fails
(timeout, dropped connection, SOAP Fault, malformed answer) ends the update with QBWC's code
for that method, and nothing more is sent to the service.

Every call is logged in the shape of QBWC's own log (``YYYYMMDD.HH:MM:SS UTC : where() :
text``), appended to ``ConnectorSettings.log_path`` as it happens, and returned in the
``SessionRecord`` with the calls made, their results, the percentages and the errors.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from .company import Company, CompanyProtocolError, CompanyUnavailable
from .qwc import QwcFile
from .soap import CallError, SoapClient, SoapFault

# What QBWC says when a web method fails (api-notes 9.4); {error} is the failure.
CALL_FAILURES = {
    "clientVersion": ("QBWC1036", "Error countered during version check: {error}."),
    "authenticate": ("QBWC1012", "Authentication failed due to following error message. {error}"),
    "sendRequestXML": ("QBWC1041", "SendRequestXML failed due to error message: {error}."),
    "receiveResponseXML": ("QBWC1042", "ReceiveResponseXML failed due to error message: {error}."),
    "getLastError": ("QBWC1043", "getLastError failed due to error message: {error}."),
    "closeConnection": ("QBWC1044", "CloseConnection failed due to error message: {error}."),
    "connectionError": ("QBWC1045", "ConnectionError failed due to error message: {error}."),
}
PASSWORD_MASK = "<MaskedForSecurity>"
NOOP = "NoOp"
INTERACTIVE = "Interactive mode"


@dataclass
class ConnectorSettings:
    """How the emulated Web Connector behaves; the defaults are QBWC's where known."""

    # Seconds to wait for each SOAP answer. QBWC is a .NET SOAP client, whose default is 100 s;
    # QBWC's own value is not documented (api-notes 9.4).
    call_timeout: float = 100.0
    # The pause after getLastError answers "NoOp" (5 s in QBWC; tests shorten it).
    noop_wait: float = 5.0
    # TLS verification for the service: True, False or a CA bundle path.
    verify: bool | str = True
    # The version QBWC reports to clientVersion.
    qbwc_version: str = "2.3.0.215"
    # A "W:" (or "O:") answer to clientVersion asks the user whether to go on; True = go on.
    accept_version_warning: bool = True
    # connectionError may name another company file to try: at most this many retries.
    max_company_retries: int = 3
    # The qbXML version of the Host/Company/Preferences query QBWC sends first.
    hcp_qbxml_version: str = "13.0"
    # Where the QWCLog-style lines go (appended); None = only in the SessionRecord.
    log_path: Path | None = None


@dataclass
class CallRecord:
    method: str
    params: dict[str, Any]
    result: Any = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class SessionRecord:
    app_name: str
    started_at: str
    ended_at: str = ""
    calls: list[CallRecord] = field(default_factory=list)
    # done | no_work | invalid_user | busy | version_refused | connection_error |
    # service_error | call_failed | hcp_failed | company_error | stopped
    outcome: str = ""
    error_code: str | None = None  # the QBWC10xx code QBWC would show, if any
    errors: list[str] = field(default_factory=list)
    percent_done: list[int] = field(default_factory=list)
    last_error: str | None = None  # what getLastError answered
    close_message: str | None = None  # what closeConnection answered
    ticket: str | None = None
    company_file: str | None = None
    postpone_seconds: int | None = None  # authenticate's third element
    min_run_seconds: int | None = None  # authenticate's fourth element
    log_lines: list[str] = field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        return [call.method for call in self.calls]


class _End(Exception):
    """Ends the session (the record says why)."""


def hcp_request(version: str) -> str:
    """The HostQuery + CompanyQuery + PreferencesQuery message set QBWC sends first."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<?qbxml version="{version}"?>\n'
        '<QBXML><QBXMLMsgsRq onError="continueOnError">'
        '<HostQueryRq requestID="0"/><CompanyQueryRq requestID="1"/>'
        '<PreferencesQueryRq requestID="2"/>'
        "</QBXMLMsgsRq></QBXML>"
    )


def hcp_facts(response: str) -> tuple[str, int, int]:
    """Country and the highest qbXML version (major, minor) from the HCP answer."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(response.encode("utf-8"), parser)
    host_rs = root.find(".//HostQueryRs")
    if host_rs is None or host_rs.get("statusCode") != "0":
        raise ValueError("no HostQueryRs with statusCode 0")
    for name in ("CompanyQueryRs", "PreferencesQueryRs"):
        if root.find(f".//{name}") is None:
            raise ValueError(f"no {name}")
    host = host_rs.find("HostRet")
    if host is None:
        raise ValueError("no HostRet")
    country = (host.findtext("Country") or "US").strip()
    versions = []
    for text in host.findall("SupportedQBXMLVersion"):
        major, _, minor = (text.text or "").strip().partition(".")
        versions.append((int(major), int(minor or 0)))
    if not versions:
        raise ValueError("HostRet lists no SupportedQBXMLVersion")
    major, minor = max(versions)
    return country, major, minor


def _quote(value: Any, limit: int = 200) -> str:
    """A value for one log line: newlines folded, long text cut (the record keeps it whole)."""
    text = " ".join(("" if value is None else str(value)).split("\n"))
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class WebConnector:
    """The Web Connector for one application (.qwc) and one company."""

    def __init__(
        self,
        qwc: QwcFile,
        password: str,
        company: Company,
        settings: ConnectorSettings | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        if not password:
            # QBWC1030: QBWC refuses to update an application without a password.
            raise ValueError(
                f"QBWC1030: Password is not available for application named {qwc.app_name}. "
                "Please set the password for this application."
            )
        self.qwc = qwc
        self.password = password
        self.company = company
        self.settings = settings or ConnectorSettings()
        self.clock = clock
        self._lock = threading.Lock()  # one update at a time, as QBWC's update lock

    # -- logging ---------------------------------------------------------------------------

    def _log(self, record: SessionRecord, where: str, text: str) -> None:
        stamp = self.clock().strftime("%Y%m%d.%H:%M:%S")
        line = f"{stamp} UTC : sfqb_sandbox.webconnector.{where}() : {text}"
        record.log_lines.append(line)
        if self.settings.log_path is not None:
            path = Path(self.settings.log_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    def _fail(self, record: SessionRecord, outcome: str, code: str | None, message: str) -> None:
        record.outcome = outcome
        record.error_code = code
        record.errors.append(f"{code}: {message}" if code else message)
        self._log(record, "session", f"{code}: {message}" if code else message)

    # -- one SOAP call ---------------------------------------------------------------------

    def _call(
        self, record: SessionRecord, client: SoapClient, method: str, **params: str | int
    ) -> Any:
        shown = {k: PASSWORD_MASK if k == "strPassword" else v for k, v in params.items()}
        call = CallRecord(method, shown)
        record.calls.append(call)
        text = "".join(f'<{k}="{_quote(v)}">' for k, v in shown.items())
        self._log(
            record,
            f"do_{method}",
            f"*** Calling {method}()" + (f" with following parameters:{text}" if text else "."),
        )
        started = time.monotonic()
        try:
            answer = client.call(method, **params)
        except CallError as exc:
            call.seconds = time.monotonic() - started
            call.error = f"{type(exc).__name__}: {exc}"
            self._log(
                record,
                f"do_{method}",
                f"Actual error received from web service for {method} call: <{call.error}>",
            )
            raise
        call.seconds = time.monotonic() - started
        call.result = answer.value
        if isinstance(answer.value, list):
            shown_result = "".join(
                f'<authRet[{i}]="{_quote(v)}">' for i, v in enumerate(answer.value)
            )
        else:
            shown_result = f'<{method}Result="{_quote(answer.value)}">'
        self._log(
            record, f"do_{method}", f"Received from {method}() following parameter:{shown_result}"
        )
        return answer.value

    def _call_or_end(
        self, record: SessionRecord, client: SoapClient, method: str, **params: str | int
    ) -> Any:
        """``_call``; a failure ends the session with QBWC's code for the method."""
        try:
            return self._call(record, client, method, **params)
        except CallError as exc:
            code, text = CALL_FAILURES[method]
            self._fail(record, "call_failed", code, text.format(error=exc))
            raise _End from exc

    # -- the session -----------------------------------------------------------------------

    def run_session(self, stop: threading.Event | None = None) -> SessionRecord:
        """One update session against the service; never raises for what QBWC would report."""
        stop = stop or threading.Event()
        record = SessionRecord(
            app_name=self.qwc.app_name, started_at=self.clock().isoformat(timespec="seconds")
        )
        with self._lock:
            self._log(
                record, "updateWS", f"Update for application = '{self.qwc.app_name}' has STARTED"
            )
            self._log(record, "updateWS", f"AppURL: {self.qwc.app_url}")
            client = SoapClient(
                self.qwc.app_url, self.settings.call_timeout, verify=self.settings.verify
            )
            try:
                self._session(record, client, stop)
            except _End:
                pass
            finally:
                client.close()
                if record.company_file is not None:  # opened: end the QuickBooks session
                    self._close_company(record)
                record.ended_at = self.clock().isoformat(timespec="seconds")
                self._log(
                    record,
                    "updateWS",
                    f"Update for application = '{self.qwc.app_name}' has FINISHED: "
                    f"{record.outcome}" + (f" ({record.error_code})" if record.error_code else ""),
                )
        return record

    def _close_company(self, record: SessionRecord) -> None:
        try:
            self.company.close()
        except (CompanyUnavailable, CompanyProtocolError) as exc:
            record.errors.append(f"QBWC1015: {exc}")
            self._log(record, "EndSession", f"QBWC1015: {exc}")
        else:
            self._log(record, "EndSession", "Closed the connection to QuickBooks.")

    def _session(self, record: SessionRecord, client: SoapClient, stop: threading.Event) -> None:
        """The calls; ``record.company_file`` is set once the company is open."""
        try:
            self._call(record, client, "serverVersion")
        except CallError:
            # An optional method: QBWC carries on without the server's version.
            self._log(record, "do_serverVersion", "Going on without the server version.")
        if not self._client_version(record, client):
            return
        ticket, company_file = self._authenticate(record, client)
        if company_file is None:
            return
        path = self._open_company(record, client, ticket, company_file)
        if path is None:
            return
        record.company_file = path
        try:
            hcp = self.company.process(hcp_request(self.settings.hcp_qbxml_version))
            country, major, minor = hcp_facts(hcp)
        except (CompanyUnavailable, CompanyProtocolError, ValueError, etree.XMLSyntaxError) as exc:
            self._fail(
                record,
                "hcp_failed",
                "QBWC1014",
                "Could not get Host/Company/Preference Query response from QuickBooks. "
                f"Job ending. {exc}",
            )
            return
        self._log(
            record, "do_sendRequestXML", f"qbXMLCountry={country} qbXMLVersion={major}.{minor}"
        )
        self._exchange(record, client, stop, ticket, hcp, path, country, major, minor)

    def _client_version(self, record: SessionRecord, client: SoapClient) -> bool:
        try:
            answer = self._call(
                record, client, "clientVersion", strVersion=self.settings.qbwc_version
            )
        except SoapFault:
            # A service without clientVersion: QBWC goes straight on to authenticate.
            self._log(record, "do_clientVersion", "The service has no clientVersion; going on.")
            return True
        except CallError as exc:
            code, text = CALL_FAILURES["clientVersion"]
            self._fail(record, "call_failed", code, text.format(error=exc))
            return False
        answer = answer or ""
        if answer == "":
            self._log(
                record,
                "do_clientVersion",
                "This application agrees with the current version of the Web Connector. "
                "Allowing update operation.",
            )
            return True
        kind, _, text = answer.partition(":")
        warning = (
            "QBWC1037",
            "Application sent following error or warning message when checking version of QB "
            f"web connector. Update aborted. {text}",
        )
        if kind == "E" and _:
            self._fail(record, "version_refused", *warning)
            return False
        if kind in ("W", "O") and _:
            if self.settings.accept_version_warning:
                self._log(
                    record, "do_clientVersion", f"Warning from the application: {text}; going on."
                )
                return True
            self._fail(record, "version_refused", *warning)
            return False
        self._fail(
            record,
            "call_failed",
            "QBWC1046",
            "Application sent incorrect syntax return value for clientVersion(). Error message: "
            f"{answer!r}. Update cannot continue.",
        )
        return False

    def _authenticate(self, record: SessionRecord, client: SoapClient) -> tuple[str, str | None]:
        """(ticket, company file to open: "" = the open one; None = no work this time)."""
        self._log(
            record,
            "do_authenticate",
            f"Authenticating to application '{self.qwc.app_name}', "
            f"username = '{self.qwc.user_name}'",
        )
        values = self._call_or_end(
            record,
            client,
            "authenticate",
            strUserName=self.qwc.user_name,
            strPassword=self.password,
        )
        code, text = CALL_FAILURES["authenticate"]
        if len(values) < 2:
            self._fail(
                record,
                "call_failed",
                code,
                text.format(error="Index was outside the bounds of the array."),
            )
            raise _End
        ticket, status = values[0] or "", values[1] or ""
        extras = []
        for index in (2, 3):
            raw = values[index] if len(values) > index else None
            if raw in (None, ""):
                extras.append(None)
                continue
            try:
                extras.append(int(str(raw).strip()))
            except ValueError:
                self._fail(
                    record,
                    "call_failed",
                    code,
                    text.format(error=f"authRet[{index}]={raw!r} is not a number"),
                )
                raise _End from None
        record.ticket = ticket
        record.postpone_seconds, record.min_run_seconds = extras
        if record.postpone_seconds:
            self._log(
                record,
                "do_authenticate",
                f"Update postponed by application: {record.postpone_seconds} s.",
            )
        if record.min_run_seconds:
            self._log(
                record,
                "do_authenticate",
                f"Minimum run interval set by application: {record.min_run_seconds} s.",
            )
        outcome = {"none": "no_work", "nvu": "invalid_user", "busy": "busy"}.get(status.lower())
        if outcome is not None:
            record.outcome = outcome
            shown = {
                "no_work": "No data exchange required",
                "invalid_user": "Invalid password for username",
                "busy": "Application Busy",
            }[outcome]
            self._log(
                record, "do_authenticate", f"{shown} (authRet[1]={status!r}). Update stopped."
            )
            return ticket, None
        self._log(
            record,
            "do_authenticate",
            "Work to do, "
            + (f"company file {status!r}." if status else "with the company file that is open."),
        )
        return ticket, status

    def _open_company(
        self, record: SessionRecord, client: SoapClient, ticket: str, company_file: str
    ) -> str | None:
        retries = 0
        while True:
            try:
                path = self.company.open(company_file)
            except CompanyProtocolError as exc:
                self._fail(record, "company_error", None, f"The company emulator failed: {exc}")
                return None
            except CompanyUnavailable as exc:
                self._log(
                    record,
                    "OpenConnection",
                    "QBWC1013: Error connecting to QuickBooks. Returning error message to "
                    f"application. {exc.hresult}: {exc.message}",
                )
                record.errors.append(f"QBWC1013: {exc.hresult}: {exc.message}")
                answer = self._call_or_end(
                    record,
                    client,
                    "connectionError",
                    ticket=ticket,
                    hresult=exc.hresult,
                    message=exc.message,
                )
                answer = answer or ""
                if answer.lower() == "done":
                    record.outcome, record.error_code = "connection_error", "QBWC1013"
                    return None
                retries += 1
                if retries > self.settings.max_company_retries:
                    self._fail(
                        record,
                        "connection_error",
                        "QBWC1013",
                        f"Gave up after {retries - 1} retries named by connectionError.",
                    )
                    return None
                company_file = answer
                continue
            self._log(record, "OpenConnection", f"Opened company file {path!r}.")
            return path

    def _exchange(
        self,
        record: SessionRecord,
        client: SoapClient,
        stop: threading.Event,
        ticket: str,
        hcp: str,
        path: str,
        country: str,
        major: int,
        minor: int,
    ) -> None:
        first = True
        while True:
            request = self._call_or_end(
                record,
                client,
                "sendRequestXML",
                ticket=ticket,
                strHCPResponse=hcp if first else "",
                strCompanyFileName=path,
                qbXMLCountry=country,
                qbXMLMajorVers=major,
                qbXMLMinorVers=minor,
            )
            first = False
            request = request or ""
            if request in ("", NOOP):
                message = self._call_or_end(record, client, "getLastError", ticket=ticket) or ""
                if message == NOOP:
                    self._log(
                        record, "do_getLastError", f"NoOp: pausing {self.settings.noop_wait:g} s."
                    )
                    if stop.wait(self.settings.noop_wait):
                        record.outcome = "stopped"
                        self._close_connection(record, client, ticket)
                        return
                    continue
                record.last_error = message
                record.outcome = "service_error" if message else "done"
                if message == INTERACTIVE:
                    record.errors.append("interactive mode is not emulated")
                elif message:
                    record.errors.append(f"getLastError: {message}")
                self._close_connection(record, client, ticket)
                return
            hresult = message = ""
            try:
                response = self.company.process(request)
            except CompanyUnavailable as exc:
                response, hresult, message = "", exc.hresult, exc.message
                self._log(record, "ProcessRequest", f"QuickBooks error {hresult}: {message}")
            except CompanyProtocolError as exc:
                self._fail(record, "company_error", None, f"The company emulator failed: {exc}")
                return
            percent = self._call_or_end(
                record,
                client,
                "receiveResponseXML",
                ticket=ticket,
                response=response,
                hresult=hresult,
                message=message,
            )
            record.percent_done.append(percent)
            if percent < 0:
                last = self._call_or_end(record, client, "getLastError", ticket=ticket) or ""
                record.last_error = last
                record.outcome = "service_error"
                record.errors.append(f"receiveResponseXML {percent}; getLastError: {last}")
                self._close_connection(record, client, ticket)
                return
            if percent >= 100:
                record.outcome = "done"
                self._close_connection(record, client, ticket)
                return

    def _close_connection(self, record: SessionRecord, client: SoapClient, ticket: str) -> None:
        try:
            record.close_message = (
                self._call(record, client, "closeConnection", ticket=ticket) or ""
            )
        except CallError as exc:
            code, text = CALL_FAILURES["closeConnection"]
            record.error_code = record.error_code or code
            record.errors.append(f"{code}: {text.format(error=exc)}")
            self._log(record, "do_closeConnection", f"{code}: {text.format(error=exc)}")
