"""sfqb's Web Connector service over real HTTP, driven by the Web Connector emulator with the
QuickBooks Desktop company emulator behind it, and by zeep as a second, independent client
(R-QBD-1, R-QBD-8)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import requests
from lxml import etree

from sfqb.qbwc import DONE, IN_DOUBT, QUEUED, JobQueue
from sfqb.qbwc.app import create_app
from sfqb.qbwc.qwc import guids, qwc_text
from sfqb.qbwc.service import QbwcService, ServiceSettings, closing_key
from sfqb.qbwc.settings import DesktopSettings
from sfqb_sandbox.qbd.company import DEFAULT_FILE, DesktopCompany
from sfqb_sandbox.qbd.connector import LocalCompany
from sfqb_sandbox.webconnector import ConnectorSettings, WebConnector, parse_qwc
from tests.sandbox.qbd.conftest import make_company
from tests.sandbox.webconnector.conftest import Served

pytestmark = pytest.mark.sandbox

GOOD = DesktopSettings("sfqb", "s3cret-Passw0rd", DEFAULT_FILE, "enterprise")
ADD = "<CustomerAddRq><CustomerAdd><Name>{name}</Name></CustomerAdd></CustomerAddRq>"
FAST = ConnectorSettings(call_timeout=10.0, noop_wait=0.05)


@dataclass
class Rig:
    """The service on uvicorn, its queue, the company and a Web Connector pointed at it."""

    queue: JobQueue
    service: QbwcService
    served: Served
    company: DesktopCompany
    url: str
    creds: DesktopSettings

    def connector(self, password: str | None = None, company=None) -> WebConnector:
        owner, file_id = guids(self.queue)
        qwc = parse_qwc(qwc_text(self.url, self.creds.user_name, owner, file_id))
        return WebConnector(
            qwc,
            self.creds.password if password is None else password,
            company or LocalCompany(self.company),
            FAST,
        )

    def customers(self, name: str | None = None) -> list[etree._Element]:
        self.company.open("")
        body = f"<FullName>{name}</FullName>" if name else ""
        text = self.company.process(
            '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq '
            f'onError="stopOnError"><CustomerQueryRq requestID="t">{body}'
            "<ActiveStatus>All</ActiveStatus></CustomerQueryRq></QBXMLMsgsRq></QBXML>"
            if not name
            else '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq '
            f'onError="stopOnError"><CustomerQueryRq requestID="t">{body}'
            "</CustomerQueryRq></QBXMLMsgsRq></QBXML>"
        )
        return etree.fromstring(text.encode()).findall(".//CustomerRet")


def start(
    queue: JobQueue,
    creds: DesktopSettings,
    port: int | None = None,
    linger: float = 0.0,
    hold: float = 0.0,
) -> Served:
    """The service on uvicorn; ``linger`` 0 (most tests): a session ends once its queue is
    empty, so the emulator's ``run_session`` returns; ``hold``: how long a lingering session's
    request for work waits for a job."""
    settings = ServiceSettings(ticket_ttl=60, linger_seconds=linger, hold_seconds=hold)
    service = QbwcService(queue, lambda: creds, settings)
    served = Served(create_app(service))
    if port is not None:
        served.port = port
        served.server.config.port = port
    served.__enter__()
    served.service = service  # type: ignore[attr-defined]
    return served


@pytest.fixture
def rig(tmp_path: Path, queue: JobQueue) -> Iterator[Rig]:
    company = make_company(tmp_path)
    served = start(queue, GOOD)
    yield Rig(
        queue,
        served.service,  # type: ignore[attr-defined]
        served,
        company,
        f"http://localhost:{served.port}/qbwc",
        GOOD,
    )
    served.__exit__(None, None, None)


def with_creds(rig: Rig, creds: DesktopSettings) -> Rig:
    rig.service.credentials = lambda: creds
    return replace(rig, creds=creds)


# -- authentication ---------------------------------------------------------------------------


def test_given_a_wrong_password_when_the_web_connector_polls_then_nvu_and_the_refusal_is_kept(rig):
    """A bad password is answered "nvu", no request is handed out, the refused session is
    recorded, and it does not count as a poll (R-QBD-1, R-QBD-8)."""
    rig.queue.enqueue_read("<CustomerQueryRq><MaxReturned>5</MaxReturned></CustomerQueryRq>", "r")

    record = rig.connector(password="wrong").run_session()

    assert record.outcome == "invalid_user" and "sendRequestXML" not in record.methods
    (session,) = rig.queue.sessions()
    assert session.state == "refused" and "nvu" in session.error
    assert rig.queue.last_poll() is None and rig.queue.job("r").state == QUEUED


def test_given_nothing_queued_when_the_web_connector_polls_then_none_with_the_wait(rig):
    """Nothing queued: "none" with the seconds to wait; the poll time is kept (R-QBD-1)."""
    record = rig.connector().run_session()

    assert record.outcome == "no_work" and record.postpone_seconds == 60
    assert record.methods == ["serverVersion", "clientVersion", "authenticate"]
    assert rig.queue.last_poll() is not None


def test_given_another_company_file_when_the_session_opens_then_it_ends_with_the_error(rig):
    """The connection names another company file: the company cannot be opened on it, the
    service hears it through connectionError, and the session ends with the error recorded;
    the job waits (R-QBD-1, R-QBD-8)."""
    rig = with_creds(rig, replace(GOOD, company_file=r"C:\Company Files\Other.QBW"))
    rig.queue.enqueue_read("<CustomerQueryRq><MaxReturned>5</MaxReturned></CustomerQueryRq>", "r")

    record = rig.connector().run_session()

    assert "connectionError" in record.methods and "sendRequestXML" not in record.methods
    (session,) = rig.queue.sessions()
    assert session.state == "error" and "could not open the company file" in session.error
    assert rig.queue.job("r").state == QUEUED


def test_given_the_wrong_edition_when_the_first_request_is_asked_then_the_session_ends(rig):
    """The connection says Pro, QuickBooks reports Enterprise: the first sendRequestXML's HCP
    answer is checked, nothing is sent, the Web Connector is told why (getLastError) and the
    session's error is kept for the sync (R-QBD-1, R-QBD-8)."""
    rig = with_creds(rig, replace(GOOD, edition="pro"))
    rig.queue.enqueue_read("<CustomerQueryRq><MaxReturned>5</MaxReturned></CustomerQueryRq>", "r")

    record = rig.connector().run_session()

    assert record.methods[-3:] == ["sendRequestXML", "getLastError", "closeConnection"]
    assert "wrong company" in record.last_error and "Enterprise" in record.last_error
    (session,) = rig.queue.sessions()
    assert session.state == "error" and "edition 'pro'" in session.error
    assert rig.queue.job("r").state == QUEUED


def test_given_a_company_file_named_differently_when_checked_then_the_hcp_check_refuses_it():
    """The HCP check compares the company file as Windows does (case-insensitive) and the
    edition from the product name (R-QBD-1)."""
    from sfqb.qbwc.service import company_mismatch

    hcp = (
        "<QBXML><QBXMLMsgsRs><HostQueryRs statusCode='0'><HostRet><ProductName>QuickBooks "
        "Premier Edition 2024 Release R1P</ProductName></HostRet></HostQueryRs></QBXMLMsgsRs>"
        "</QBXML>"
    )
    same = replace(GOOD, edition="premier")
    assert company_mismatch(same, hcp, DEFAULT_FILE.upper()) is None
    assert "opened the company file" in company_mismatch(same, hcp, r"C:\x.qbw")
    assert "edition 'enterprise'" in company_mismatch(GOOD, hcp, DEFAULT_FILE)


# -- reads and writes -------------------------------------------------------------------------


def test_given_a_read_when_sessions_run_then_it_is_walked_with_iterators_page_by_page(rig):
    """30 more customers, MaxReturned 4: the read is walked with iterator Start then Continue
    over one sendRequestXML/receiveResponseXML pair per page, in one session; its pages hold
    every customer once; the call sequence is the Web Connector's (R-QBD-1, R-QBD-8)."""
    from tests.sandbox.qbd.conftest import QB

    qb = QB(rig.company)
    for n in range(30):
        qb.customer(f"Iterated {n:02d}")
    expected = {c.findtext("ListID") for c in rig.customers() if c.findtext("IsActive") == "true"}
    job = rig.queue.enqueue_read(
        "<CustomerQueryRq><MaxReturned>4</MaxReturned></CustomerQueryRq>", "customers:all"
    )

    record = rig.connector().run_session()

    pages = -(-len(expected) // 4)
    assert record.outcome == "done"
    assert record.methods == [
        "serverVersion",
        "clientVersion",
        "authenticate",
        *["sendRequestXML", "receiveResponseXML"] * pages,
        "closeConnection",
    ]
    assert record.percent_done[-1] == 100 and all(0 < p < 100 for p in record.percent_done[:-1])
    done = rig.queue.get(job.id)
    assert done.state == DONE and len(rig.queue.pages(job.id)) == pages
    found = [
        ret.findtext("ListID")
        for text in rig.queue.pages(job.id)
        for ret in etree.fromstring(text.encode()).iter("CustomerRet")
    ]
    assert sorted(found) == sorted(expected)
    events = [e.event for e in rig.queue.events(rig.queue.sessions()[0].id)]
    assert events[:2] == ["start", "company"] and events[-1] == "end"
    assert events.count("request") == pages and events.count("response") == pages


def test_given_idle_polls_around_a_session_when_the_run_is_summed_up_then_they_are_counted_apart(
    rig,
):
    """A run's summary counts the sessions that had work and, apart, the polls that found
    nothing queued: with a Web Connector polling often, idle polls are not sessions (R-QBD-8)."""
    from sfqb.hooks.desktop.waiting import web_connector_status

    since = rig.queue.clock()
    rig.connector().run_session()
    rig.queue.enqueue_writes([ADD.format(name="Between Polls")], "adds")
    worked = rig.connector().run_session()
    rig.connector().run_session()

    status = web_connector_status(rig.queue, since)

    assert worked.outcome == "done"
    assert status["sessions"] == 1 and status["idle_polls"] == 2 and status["errors"] == []


def test_given_a_write_group_when_a_session_runs_then_it_is_applied_and_answered(rig):
    """Two CustomerAdd in one message set: applied, the job done with one page holding both
    answers (R-QBD-1)."""
    job = rig.queue.enqueue_writes(
        [ADD.format(name="Queued One"), ADD.format(name="Queued Two")], "adds"
    )

    record = rig.connector().run_session()

    assert record.outcome == "done" and record.percent_done == [100]
    done = rig.queue.get(job.id)
    (page,) = rig.queue.pages(job.id)
    assert done.state == DONE and done.error is None and page.count('statusCode="0"') == 2
    assert len(rig.customers("Queued One")) == 1 and len(rig.customers("Queued Two")) == 1


@pytest.mark.parametrize("hold", [0.0, 5.0], ids=["answered-at-once", "held"])
def test_given_a_lingering_session_when_a_job_comes_seconds_later_then_it_is_taken_at_once(
    tmp_path: Path, queue: JobQueue, hold: float
):
    """A session with nothing left stays open ``linger_seconds`` after its last job: the
    percentage stays below 100; a job queued meanwhile (the run's next task) goes out in the
    same session, each request for work counts as a poll, and the session ends once the linger
    is over with nothing more. Without a hold, the request for work is answered "" at once and
    getLastError "NoOp", so the Web Connector pauses and asks again; held, the request waits for
    the job (never past the linger), so no NoOp pause comes at all (R-QBD-1, R-QBD-2)."""
    company = make_company(tmp_path)
    served = start(queue, GOOD, linger=1.5, hold=hold)
    try:
        owner, file_id = guids(queue)
        qwc = parse_qwc(
            qwc_text(f"http://localhost:{served.port}/qbwc", GOOD.user_name, owner, file_id)
        )
        connector = WebConnector(qwc, GOOD.password, LocalCompany(company), FAST)
        first = queue.enqueue_writes([ADD.format(name="First Task")], "task-1")
        records = []
        thread = threading.Thread(target=lambda: records.append(connector.run_session()))
        thread.start()
        wait_for(lambda: queue.get(first.id).state == DONE)
        polled = queue.last_poll()
        time.sleep(0.5)
        second = queue.enqueue_writes([ADD.format(name="Second Task")], "task-2")
        wait_for(lambda: queue.get(second.id).state == DONE)
        thread.join(timeout=15)
    finally:
        served.__exit__(None, None, None)

    (record,) = records
    assert not thread.is_alive() and record.outcome == "done", (record.errors, record.percent_done)
    # two jobs answered below 100, then the closing HostQuery told 100: ended as done
    assert len(record.percent_done) == 3 and record.percent_done[-1] == 100
    assert max(record.percent_done[:2]) < 100 and record.errors == []
    if hold:
        assert "getLastError" not in record.methods  # held: no NoOp pause at all
    else:
        assert record.methods.count("getLastError") >= 2  # the NoOp pauses
    (session,) = queue.sessions()
    assert queue.get(first.id).session_id == queue.get(second.id).session_id == session.id
    assert session.state == "ended" and session.answered == 3 and session.error is None
    assert queue.job(closing_key(session.id)).state == DONE
    assert polled is not None and queue.last_poll() > polled


class CountingQueue(JobQueue):
    """The queue, counting the service's looks for work (reads) and its claims (writes)."""

    looks = claims = 0

    def has_work(self) -> bool:
        self.looks += 1
        return super().has_work()

    def claim(self, session_id: str):
        self.claims += 1
        return super().claim(session_id)


class FakeClock:
    """The service's monotonic clock, moved on only by its sleeps; ``then`` runs once the clock
    has passed ``at`` (the run's next task queuing its job)."""

    def __init__(self, at: float = float("inf"), then=lambda: None) -> None:
        self.t, self.at, self.then, self.pauses = 0.0, at, then, []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.t += seconds
        if self.t >= self.at:
            self.at = float("inf")
            self.then()


def _lingering_session(service: QbwcService, queue: JobQueue, company) -> str:
    """A session that answered its one job and lingers: its ticket."""
    queue.enqueue_writes([ADD.format(name="First Task")], "task-1")
    ticket, _ = service.authenticate(GOOD.user_name, GOOD.password)
    company.open("")
    hcp = company.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="continueOnError">'
        '<HostQueryRq requestID="0"/><CompanyQueryRq requestID="1"/>'
        '<PreferencesQueryRq requestID="2"/></QBXMLMsgsRq></QBXML>'
    )
    request = service.sendRequestXML(ticket, hcp, DEFAULT_FILE, "US", "13", "0")
    assert "First Task" in request
    assert service.receiveResponseXML(ticket, company.process(request), "", "") < 100
    return ticket


@pytest.mark.parametrize("queued_after", [0.05, None], ids=["job-queued", "nothing-queued"])
def test_given_a_held_request_for_work_when_waiting_then_quick_reads_and_one_claim_per_job(
    tmp_path: Path, queue_url: str, queued_after: float | None
):
    """A lingering session's request for work, held (clock and sleep injected): the service looks
    at the queue after 10 ms, then a little later each time up to every 0.1 s, with a read; a
    job the run's next task queues 50 ms in is handed out within a few tens of milliseconds and
    claimed once (a write only when there is a job), and with nothing queued the request is
    answered "" at the hold's end having claimed nothing (R-QBD-1)."""
    queue = CountingQueue.from_url(queue_url)
    company = make_company(tmp_path)
    clock = FakeClock()
    settings = ServiceSettings(ticket_ttl=60, linger_seconds=120, hold_seconds=3)
    service = QbwcService(
        queue, lambda: GOOD, settings, sleep=clock.sleep, monotonic=clock.monotonic
    )
    ticket = _lingering_session(service, queue, company)
    if queued_after is not None:
        clock.at = queued_after
        clock.then = lambda: queue.enqueue_writes([ADD.format(name="Next Task")], "task-2")
    queue.looks = queue.claims = 0

    request = service.sendRequestXML(ticket, "", DEFAULT_FILE, "US", "13", "0")

    assert clock.pauses[0] == pytest.approx(0.01) and max(clock.pauses) <= 0.1 + 1e-9
    if queued_after is not None:
        assert "Next Task" in request
        assert queued_after <= clock.t < queued_after + 0.03
        assert queue.claims == 2  # the request's own claim, then the held one that took the job
    else:
        assert request == ""
        assert 3.0 <= clock.t < 3.0 + 0.1 + 1e-9
        assert clock.pauses[-5:] == [pytest.approx(0.1)] * 5
        # one read a pause, and the one of the request's own claim that found nothing
        assert queue.claims == 1 and queue.looks == len(clock.pauses) + 1
    queue.close()


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_given_a_lost_answer_after_a_write_when_the_next_session_runs_then_no_duplicate(rig):
    """The company applies the add, then the answer is lost (HRESULT 0x80040402): the job is
    in doubt, the next session does not send it again, and the customer exists once
    (R-QBD-1)."""
    rig.company.add_fault(kind="lose_response", request="CustomerAddRq")
    job = rig.queue.enqueue_writes([ADD.format(name="Lost Answer")], "lost")

    first = rig.connector().run_session()
    second = rig.connector().run_session()

    assert first.outcome != "done" or first.percent_done == [-1]
    assert rig.queue.get(job.id).state == IN_DOUBT
    assert second.outcome == "no_work"
    assert len(rig.customers("Lost Answer")) == 1
    assert "0x80040402" in rig.queue.sessions()[1].error


def test_given_a_service_restart_mid_session_when_the_web_connector_goes_on_then_the_read_ends(
    rig,
):
    """The service is stopped and started again (a new process would do the same: the state is
    in the queue DB) between a request and its answer: the Web Connector's next call reaches
    the new service, which knows the ticket and the job, and the read finishes with every
    page (R-QBD-1)."""
    job = rig.queue.enqueue_read(
        "<CustomerQueryRq><MaxReturned>3</MaxReturned></CustomerQueryRq>", "restart"
    )
    url = rig.queue.engine.url.render_as_string(hide_password=False)
    holder = {"served": rig.served, "restarted": 0}

    class RestartingCompany(LocalCompany):
        def process(self, request: str) -> str:
            answer = super().process(request)
            if "CustomerQueryRq" in request and not holder["restarted"]:
                port = holder["served"].port
                holder["served"].__exit__(None, None, None)
                holder["served"] = start(JobQueue.from_url(url), GOOD, port=port)
                holder["restarted"] = 1
            return answer

    try:
        record = rig.connector(company=RestartingCompany(rig.company)).run_session()
    finally:
        holder["served"].__exit__(None, None, None)

    assert holder["restarted"] == 1 and record.outcome == "done"
    assert rig.queue.get(job.id).state == DONE and len(rig.queue.pages(job.id)) > 1


# -- hostile input ----------------------------------------------------------------------------

ENVELOPE = (
    '<?xml version="1.0"?>{doctype}<soap:Envelope '
    'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    '<authenticate xmlns="http://developer.intuit.com/"><strUserName>{user}</strUserName>'
    "<strPassword>x</strPassword></authenticate></soap:Body></soap:Envelope>"
)
LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
        for n in range(1, 10)
    )
    + "]>"
)


def post(url: str, body: bytes, method: str = "authenticate") -> requests.Response:
    return requests.post(
        url,
        data=body,
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"http://developer.intuit.com/{method}"',
        },
        timeout=10,
    )


def server_version(url: str) -> str:
    body = (
        b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
        b'envelope/"><soap:Body><serverVersion xmlns="http://developer.intuit.com/"/>'
        b"</soap:Body></soap:Envelope>"
    )
    answer = post(url, body, "serverVersion")
    assert answer.status_code == 200
    return etree.fromstring(answer.content).findtext(".//{*}serverVersionResult")


@pytest.mark.parametrize(
    ("what", "body"),
    [
        (
            "external entity",
            ENVELOPE.format(
                doctype='<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', user="&xxe;"
            ),
        ),
        ("billion laughs", ENVELOPE.format(doctype=LAUGHS, user="&lol9;")),
        ("a DOCTYPE", ENVELOPE.format(doctype="<!DOCTYPE soap:Envelope>", user="sfqb")),
        ("broken XML", "<soap:Envelope><unclosed>"),
        ("an unknown method", ENVELOPE.format(doctype="", user="x").replace("authenticate", "x")),
    ],
)
def test_given_hostile_xml_when_posted_then_a_fault_and_the_service_keeps_serving(rig, what, body):
    """XXE, entity expansion, any DOCTYPE, broken XML, an unknown method: a SOAP Client Fault,
    nothing of /etc/passwd in it, no session started, and the next call is answered
    (R-QBD-1)."""
    answer = post(rig.url, body.encode())

    assert answer.status_code == 500 and b"<faultcode>soap:Client</faultcode>" in answer.content
    assert b"root:" not in answer.content and rig.queue.sessions() == []
    assert server_version(rig.url).startswith("sfqb")


def test_given_an_oversize_body_when_posted_then_413_and_the_service_keeps_serving(rig):
    """A body over the limit (16 MiB) is refused with 413 (R-QBD-1)."""
    big = ENVELOPE.format(doctype="", user="x" * (17 * 1024 * 1024)).encode()
    assert post(rig.url, big).status_code == 413
    assert server_version(rig.url).startswith("sfqb")


# -- a second client, the WSDL and the .qwc ---------------------------------------------------


def test_given_the_wsdl_when_zeep_reads_it_then_it_calls_the_service_as_the_web_connector(rig):
    """zeep, an independent SOAP client, reads ``?wsdl`` and runs a session: authenticate's
    array, a request, the answer's percent, closeConnection (R-QBD-1)."""
    import zeep

    rig.queue.enqueue_read("<CustomerQueryRq><MaxReturned>2</MaxReturned></CustomerQueryRq>", "z")
    client = zeep.Client(f"{rig.url}?wsdl")
    assert client.service.serverVersion().startswith("sfqb")
    assert client.service.clientVersion("2.3.0.215") in (None, "")
    ticket, company_file, *_ = client.service.authenticate(GOOD.user_name, GOOD.password)
    assert company_file == DEFAULT_FILE
    rig.company.open("")
    hcp = rig.company.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="continueOnError">'
        '<HostQueryRq requestID="0"/><CompanyQueryRq requestID="1"/>'
        '<PreferencesQueryRq requestID="2"/></QBXMLMsgsRq></QBXML>'
    )
    request = client.service.sendRequestXML(ticket, hcp, DEFAULT_FILE, "US", 13, 0)
    assert 'iterator="Start"' in request
    percent = client.service.receiveResponseXML(ticket, rig.company.process(request), "", "")
    assert isinstance(percent, int) and 0 < percent <= 100
    assert client.service.closeConnection(ticket).startswith("sfqb")
    assert client.service.authenticate("sfqb", "nope")[1] == "nvu"


def test_given_the_qwc_command_when_run_twice_then_the_emulator_accepts_it_with_stable_ids(
    tmp_path, monkeypatch, capsys
):
    """``python -m sfqb qbwc qwc`` writes a .qwc the Web Connector emulator loads, with the
    OwnerID and FileID kept in the queue DB (the same on a second run); AppSupport is the support
    page beside the AppURL, under the prefix of a service mounted in Airflow's api-server too;
    plain HTTP to another host than localhost, and an IP address for a host, are refused as the
    Web Connector refuses them (R-QBD-1)."""
    from sfqb.__main__ import main

    monkeypatch.setenv("SFQB_QBWC_DIR", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CONN_SFQB_QBWC_QUEUE", raising=False)
    args = ["qbwc", "qwc", "--url", "https://qbwc.example.com/qbwc", "--user", "sfqb"]
    assert main([*args, "--minutes", "7"]) == 0
    first = parse_qwc(capsys.readouterr().out)
    assert main(args) == 0
    second = parse_qwc(capsys.readouterr().out)

    assert first.app_url == "https://qbwc.example.com/qbwc" and first.user_name == "sfqb"
    assert first.app_support == "https://qbwc.example.com/support"
    assert (first.owner_id, first.file_id) == (second.owner_id, second.file_id)
    assert first.run_every_seconds == 7 * 60 and first.is_read_only is False
    assert (tmp_path / "sfqb-qbwc-queue.sqlite3").exists()
    assert main(["qbwc", "qwc", "--url", "http://example.com/qbwc", "--user", "u"]) == 2
    for address in ("10.0.0.5", "[2001:db8::5]:8443"):
        assert main(["qbwc", "qwc", "--url", f"https://{address}/qbwc", "--user", "u"]) == 2
        assert "refuses an AppURL that is an IP address" in capsys.readouterr().err
    mounted = "https://airflow.example.com:8080/quickbooks-desktop/qbwc"
    assert main(["qbwc", "qwc", "--url", mounted, "--user", "sfqb"]) == 0
    third = parse_qwc(capsys.readouterr().out)
    assert third.app_url == mounted
    assert third.app_support == "https://airflow.example.com:8080/quickbooks-desktop/support"


def test_given_sessions_and_open_jobs_when_qbwc_status_runs_then_it_shows_them_and_changes_nothing(
    rig, tmp_path, monkeypatch, capsys
):
    """``python -m sfqb qbwc status`` reads the service's queue: the last poll, jobs per state,
    every unfinished job with its key, the latest sessions newest first with their errors (a
    refused password here), as text or JSON; it claims nothing. Pointed at a folder with no
    queue it says so and creates none; the QuickBooks PC's clock as the latest write showed it
    (R-QBD-8)."""
    from sfqb.__main__ import main

    rig.queue.enqueue_writes([ADD.format(name="Done Before")], "sync:done")
    rig.connector().run_session()
    rig.connector(password="wrong").run_session()
    waiting = rig.queue.enqueue_writes([ADD.format(name="Still Queued")], "sync:waiting")
    from sfqb.qbwc.status import OFFSET_KEY, offset_note

    measured = "2026-05-01T11:15:02+00:00"  # a write showed the PC's clock 15 min behind
    rig.queue.set_meta(OFFSET_KEY, offset_note(dt.timedelta(seconds=-902), measured))
    monkeypatch.delenv("AIRFLOW_CONN_SFQB_QBWC_QUEUE", raising=False)
    monkeypatch.setenv("SFQB_QBWC_DIR", str(tmp_path / "empty"))
    assert main(["qbwc", "status"]) == 2
    assert "no queue at" in capsys.readouterr().err
    assert list((tmp_path / "empty").iterdir()) == []
    url = rig.queue.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SFQB_QBWC_QUEUE", json.dumps({"conn_type": "generic", "extra": {"url": url}})
    )

    assert main(["qbwc", "status"]) == 0
    text = capsys.readouterr().out
    assert main(["qbwc", "status", "--json", "--sessions", "1"]) == 0
    status = json.loads(capsys.readouterr().out)

    assert "last poll: 20" in text and "jobs: 1 queued, 0 sent, 0 in_doubt, 1 done" in text
    assert f"job {waiting.id} queued write sync:waiting" in text and "sync:done" not in text
    refused, worked = text.split("latest sessions (newest first):\n")[1].splitlines()[:2]
    assert "refused" in refused and "nvu" in refused and "1/1 requests answered" in worked
    assert [job["key"] for job in status["open"]] == ["sync:waiting"]
    assert len(status["sessions"]) == 1 and status["sessions"][0]["state"] == "refused"
    assert rig.queue.get(waiting.id).state == QUEUED
    clock = next(line for line in text.splitlines() if line.startswith("QuickBooks PC's clock"))
    assert "902 s behind this service's (a write answered 2026-05-01 11:15:02 UTC)" in clock
    assert "about 15 minutes behind" in clock
    assert status["pc_clock"]["seconds"] == -902.0 and status["pc_clock"]["warning"]


def test_given_a_public_address_without_tls_when_serving_then_it_is_refused(capsys):
    """Plain HTTP is for localhost only: binding 0.0.0.0 without a certificate is refused
    (R-QBD-1)."""
    from sfqb.qbwc.app import check_bind

    check_bind("127.0.0.1", None, False)
    check_bind("0.0.0.0", None, True)
    with pytest.raises(ValueError, match="refusing plain HTTP"):
        check_bind("0.0.0.0", None, False)


def test_given_threads_calling_at_once_when_many_sessions_poll_then_each_gets_its_own_ticket(rig):
    """Several clients authenticating at once each get a distinct ticket (R-QBD-1)."""
    tickets: list[str] = []

    def auth() -> None:
        tickets.append(rig.service.authenticate(GOOD.user_name, GOOD.password)[0])

    threads = [threading.Thread(target=auth) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(set(tickets)) == 5


def test_given_a_session_cut_off_after_a_write_when_the_next_update_starts_then_it_is_in_doubt(
    rig,
):
    """The Web Connector sent a write and was never heard of again (no answer, no
    closeConnection): when its next update authenticates, the old session ends and the write
    is in doubt, even though nothing else is queued (R-QBD-1, R-QBD-8)."""
    job = rig.queue.enqueue_writes([ADD.format(name="Cut Off")], "cut")
    ticket, _ = rig.service.authenticate(GOOD.user_name, GOOD.password)
    rig.company.open("")
    hcp = rig.company.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="continueOnError">'
        '<HostQueryRq requestID="0"/><CompanyQueryRq requestID="1"/>'
        '<PreferencesQueryRq requestID="2"/></QBXMLMsgsRq></QBXML>'
    )
    assert "Cut Off" in rig.service.sendRequestXML(ticket, hcp, DEFAULT_FILE, "US", "13", "0")

    record = rig.connector().run_session()

    assert record.outcome == "no_work" and rig.queue.get(job.id).state == IN_DOUBT
    cut = [s for s in rig.queue.sessions() if s.state == "error"]
    assert len(cut) == 1 and "new update" in rig.queue.events(cut[0].id)[-1].detail
