"""The Web Connector's eight web methods, answered from the job queue (api-notes 9.3).

One update session: ``authenticate`` checks the user and password of the
``quickbooks_desktop_default`` connection in constant time and answers ``nvu`` (not a valid
user), ``none`` with the seconds to wait (nothing queued) or the company file to open; a random
ticket names the session, which lives in the queue DB (so a restarted service carries on) and
expires when idle. The first ``sendRequestXML`` carries QuickBooks' Host/Company/Preferences
answer: the company file and the edition are checked against the connection, and a mismatch
ends the session with the error recorded. Then each ``sendRequestXML`` hands out one message
set (a read's next iterator page, or the next queued job), ``receiveResponseXML`` stores its
answer and says how far along the session is (100 when nothing is left). An answer that never
comes leaves a write in doubt (``sfqb.qbwc.queue``). Every session is logged, start to end,
each request's type and each answer's statusCode and statusMessage, on the ``sfqb.qbwc``
logger and in the queue's events (R-QBD-1, R-QBD-8).

A session whose queue is empty stays open ``linger_seconds`` after its last job: the percentage
stays below 100, ``sendRequestXML`` answers "" and ``getLastError`` "NoOp", so the Web Connector
pauses 5 s and asks again. Before answering "", a lingering session's request for work waits up
to ``hold_seconds`` (never past the linger) for a job, looking at the queue after 10 ms, then
after pauses 1.2 times longer each, up to 0.1 s (a read; a job is claimed only once one is
queued): a job the run's next task queues meanwhile goes out at once, not after the pause. A
sync run queues its jobs task after task, seconds apart; lingering, the session takes each
task's jobs within seconds, where a closed one would leave them for the Web Connector's next
scheduled update (minutes). When the linger is over the session gets one
last request, a ``HostQueryRq`` (no company data), whose answer is told 100: the Web Connector
ends the session as done, where an empty request would show the user an error. Every request
for work counts as a poll.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import logging
import ntpath
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import qbxml
from .queue import IDLE, SENT, WRONG_COMPANY, Job, JobQueue, Session, iso
from .settings import DesktopSettings

log = logging.getLogger("sfqb.qbwc")

SERVER_VERSION = "sfqb QBWC service 1.0"
NO_MORE_WORK = "sfqb: nothing more to do in this session."
NOOP = "NoOp"  # getLastError's answer that makes the Web Connector pause 5 s and ask again
CLOSING_REQUEST = "<HostQueryRq/>"  # the last request of a session whose linger is over


@dataclass(frozen=True)
class ServiceSettings:
    # A session with no call for this long is over (its writes in doubt, its reads restarted).
    ticket_ttl: float = 600.0
    # authRet[2] with "none": the seconds the Web Connector postpones its next update.
    none_wait_seconds: int = 60
    # An empty-handed session stays open this long after its last job ("NoOp" every 5 s), for
    # the next task of the same run; 0 closes a session as soon as its queue is empty.
    linger_seconds: float = 120.0
    # A lingering session's request for work waits this long for a job before answering "" (then
    # NoOp and the Web Connector's 5 s pause); never past the linger. 0: answer at once.
    hold_seconds: float = 20.0


# A held request for work first looks at the queue after HOLD_FIRST_LOOK seconds (a run's next
# job is often queued within milliseconds of the answer before it), then after pauses
# HOLD_BACKOFF times longer each, up to HOLD_INTERVAL.
HOLD_FIRST_LOOK = 0.01
HOLD_BACKOFF = 1.2
HOLD_INTERVAL = 0.1


def company_mismatch(expected: DesktopSettings, hcp: str, company_file: str) -> str | None:
    """Why the company the Web Connector opened is not the connection's, or None (R-QBD-1)."""
    problems = []
    if expected.company_file and ntpath.normcase(expected.company_file.strip()) != ntpath.normcase(
        company_file.strip()
    ):
        problems.append(
            f"the Web Connector opened the company file {company_file!r}, the connection "
            f"names {expected.company_file!r}"
        )
    if expected.edition:
        try:
            found = qbxml.host_company(hcp)
        except ValueError as exc:
            return f"QuickBooks' Host/Company/Preferences answer cannot be read: {exc}"
        if found.edition != expected.edition:
            problems.append(
                f"QuickBooks reports {found.product_name!r} (edition {found.edition or 'unknown'}),"
                f" the connection names edition {expected.edition!r}"
            )
    return "; ".join(problems) or None


class QbwcService:
    """The web methods; ``call(method, params)`` is what the ASGI app runs."""

    def __init__(
        self,
        queue: JobQueue,
        credentials: Callable[[], DesktopSettings],
        settings: ServiceSettings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queue = queue
        self.credentials = credentials
        self.settings = settings or ServiceSettings()
        self._sleep, self._monotonic = sleep, monotonic

    def call(self, method: str, params: dict[str, str]) -> Any:
        handler = getattr(self, method)
        return handler(**params)

    # -- logging ---------------------------------------------------------------------------
    def _log(self, session_id: str, event: str, detail: str, level: int = logging.INFO) -> None:
        log.log(level, "qbwc session %s: %s: %s", session_id, event, detail)
        self.queue.log_event(session_id, event, detail)

    def _live(self, ticket: str) -> Session | None:
        """The open session of ``ticket``; an open session past its expiry is ended first."""
        session = self.queue.session_for(ticket or "")
        if session is None or session.state != "open":
            return None
        if session.expires_at < iso(self.queue.clock()):
            self.queue.end_session(session.id, "error", "the session expired")
            self._log(session.id, "error", "the session expired", logging.WARNING)
            return None
        return session

    # -- the web methods -------------------------------------------------------------------
    def serverVersion(self) -> str:  # noqa: N802 - the Web Connector's names
        return SERVER_VERSION

    def clientVersion(self, strVersion: str = "") -> str:  # noqa: N802, N803
        log.info("qbwc: clientVersion %s", strVersion)
        return ""

    def authenticate(self, strUserName: str = "", strPassword: str = "") -> list[str]:  # noqa: N802, N803
        ticket = secrets.token_urlsafe(32)
        ttl = self.settings.ticket_ttl
        try:
            expected = self.credentials()
        except Exception as exc:  # noqa: BLE001 - the connection is missing or incomplete
            error = f"the service cannot read its connection: {exc}"
            session = self.queue.start_session(ticket, strUserName, "refused", ttl, error)
            self._log(session.id, "refused", error, logging.ERROR)
            return [ticket, "nvu"]
        user_ok = hmac.compare_digest(strUserName.encode(), expected.user_name.encode())
        password_ok = hmac.compare_digest(strPassword.encode(), expected.password.encode())
        if not (user_ok and password_ok):
            error = f"invalid user or password for user {strUserName!r} (nvu)"
            session = self.queue.start_session(ticket, strUserName, "refused", ttl, error)
            self._log(session.id, "refused", error, logging.WARNING)
            return [ticket, "nvu"]
        self.queue.record_poll()
        # The Web Connector runs one update at a time: a new one means any open session is
        # over (its writes awaiting an answer become in doubt, its reads are queued again).
        for stale in self.queue.expire_sessions(keep=""):
            self._log(
                stale, "error", "ended: the Web Connector started a new update", logging.WARNING
            )
        if not self.queue.has_work():
            session = self.queue.start_session(ticket, strUserName, IDLE, ttl)
            self._log(session.id, "start", f"user {strUserName!r}: nothing queued (none)")
            return [ticket, "none", str(self.settings.none_wait_seconds)]
        session = self.queue.start_session(ticket, strUserName, "open", ttl)
        self._log(
            session.id,
            "start",
            f"user {strUserName!r}: work queued, company file "
            f"{expected.company_file or '(the open one)'!r}",
        )
        return [ticket, expected.company_file]

    def sendRequestXML(  # noqa: N802
        self,
        ticket: str = "",
        strHCPResponse: str = "",  # noqa: N803
        strCompanyFileName: str = "",  # noqa: N803
        qbXMLCountry: str = "",  # noqa: N803
        qbXMLMajorVers: str = "",  # noqa: N803
        qbXMLMinorVers: str = "",  # noqa: N803
    ) -> str:
        session = self._live(ticket)
        if session is None:
            return ""
        ttl = self.settings.ticket_ttl
        first = session.requests == 0 and session.company_file is None
        if first and not self._check_company(session, strHCPResponse, strCompanyFileName):
            return ""
        if session.current_job_id is not None:
            # a second sendRequestXML before the answer: the exchange was lost (api-notes 9.4)
            lost = self.queue.lost_answer(
                session.current_job_id, session.id, "sendRequestXML came again before the answer"
            )
            self._log(
                session.id,
                "lost",
                f"job {lost.id} ({lost.key}): no answer came, now {lost.state}",
                logging.WARNING,
            )
            self.queue.touch(session.id, ttl, current_job_id=None)
        self.queue.record_poll()
        job = self.queue.continuing_read(session.id) or self.queue.claim(session.id)
        if job is None and self._lingering(session):
            job = self._held_claim(session)
        if job is None and self.settings.linger_seconds > 0 and not self._lingering(session):
            job = self._closing_job(session)
        if job is None:
            self.queue.touch(session.id, ttl, current_job_id=None)
            return ""  # getLastError then says "NoOp" (lingering) or that the work is done
        text = job.message_set()
        self.queue.touch(session.id, ttl, current_job_id=job.id, requests=session.requests + 1)
        types = " ".join(sorted({qbxml.request_element(r).tag for r in job.requests}))
        page = f", iterator {job.iterator_id}" if job.iterator_id else ""
        self._log(session.id, "request", f"job {job.id} ({job.key}): {types}{page}")
        return text

    def _held_claim(self, session: Session) -> Job | None:
        """A lingering session's request for work, held up to ``hold_seconds`` (never past the
        linger) until a job is queued: the run's next task's jobs go out at once rather than
        after the Web Connector's NoOp pause. The looks are reads (``has_work``), quick at
        first; a job is claimed (a write) only once one is queued."""
        # held to the linger's end, a little past it: the session then closes (no NoOp pause)
        left = self.settings.linger_seconds - self._idle_seconds(session) + HOLD_INTERVAL
        deadline = self._monotonic() + min(self.settings.hold_seconds, left)
        pause = HOLD_FIRST_LOOK
        while self._monotonic() < deadline:
            self._sleep(pause)
            pause = min(pause * HOLD_BACKOFF, HOLD_INTERVAL)
            if not self.queue.has_work():
                continue
            job = self.queue.claim(session.id)
            if job is not None:
                return job
        return None

    def _closing_job(self, session: Session) -> Job | None:
        """The linger is over: one harmless read whose answer ends the session as done."""
        self.queue.enqueue_read(CLOSING_REQUEST, closing_key(session.id), iterate=False)
        self._log(session.id, "linger", "no more work came: closing the session")
        return self.queue.claim(session.id)

    def _check_company(self, session: Session, hcp: str, company_file: str) -> bool:
        try:
            expected = self.credentials()
            problem = company_mismatch(expected, hcp, company_file)
        except Exception as exc:  # noqa: BLE001 - reported as the session's error
            problem = f"the company cannot be checked: {exc}"
        product = None
        with contextlib.suppress(ValueError):
            product = qbxml.host_company(hcp).product_name if hcp else None
        self.queue.touch(
            session.id, self.settings.ticket_ttl, company_file=company_file, product_name=product
        )
        if problem:
            error = f"{WRONG_COMPANY}{problem}"
            self.queue.end_session(session.id, "error", error)
            self._log(session.id, "error", error, logging.ERROR)
            return False
        self._log(session.id, "company", f"{company_file!r}, {product or 'product unknown'}")
        return True

    def receiveResponseXML(  # noqa: N802
        self, ticket: str = "", response: str = "", hresult: str = "", message: str = ""
    ) -> int:
        session = self._live(ticket)
        if session is None:
            return -1
        ttl = self.settings.ticket_ttl
        if session.current_job_id is None:
            self._log(session.id, "error", "an answer came for no request", logging.WARNING)
            return -1
        job_id = session.current_job_id
        if hresult or not response:
            why = f"QuickBooks could not answer: {hresult} {message}".strip()
            job = self.queue.lost_answer(job_id, session.id, why, hresult)
            self.queue.touch(session.id, ttl, current_job_id=None, error=why)
            self._log(session.id, "error", f"job {job_id}: {why}; now {job.state}", logging.ERROR)
            return -1
        job = self.queue.store_answer(job_id, session.id, response)
        try:
            statuses = ", ".join(
                f"{a.tag} {a.status_code} {a.message!r}" for a in qbxml.answers(response)
            )
        except ValueError:
            statuses = "unreadable"
        self.queue.touch(session.id, ttl, current_job_id=None, answered=session.answered + 1)
        self._log(session.id, "response", f"job {job.id} ({job.key}) {job.state}: {statuses}")
        if job.key == closing_key(session.id):
            return 100
        return self._percent(session, session.answered + 1, job.state == SENT)

    def _percent(self, session: Session, answered: int, continuing: bool) -> int:
        left = self.queue.count("queued") + (1 if continuing else 0)
        if not left:
            return (
                max(1, min(99, answered * 100 // (answered + 1)))
                if self._lingering(session)
                else 100
            )
        return max(1, min(99, answered * 100 // (answered + left)))

    def _lingering(self, session: Session) -> bool:
        """Whether a session with nothing to send stays open: no error, and its last job (or
        its start) at most ``linger_seconds`` ago."""
        if self.settings.linger_seconds <= 0 or session.error:
            return False
        return self._idle_seconds(session) <= self.settings.linger_seconds

    def _idle_seconds(self, session: Session) -> float:
        """Seconds since the session's last job (or its start)."""
        last = self.queue.last_work(session.id) or dt.datetime.fromisoformat(session.started_at)
        return (self.queue.clock() - last).total_seconds()

    def connectionError(  # noqa: N802
        self, ticket: str = "", hresult: str = "", message: str = ""
    ) -> str:
        session = self._live(ticket)
        if session is not None:
            error = f"QuickBooks could not open the company file: {hresult} {message}".strip()
            self.queue.end_session(session.id, "error", error)
            self._log(session.id, "error", error, logging.ERROR)
        return "done"

    def getLastError(self, ticket: str = "") -> str:  # noqa: N802
        session = self.queue.session_for(ticket or "")
        if session is None:
            return "sfqb: unknown or expired ticket."
        if session.error:
            return f"sfqb: {session.error}"
        if self.settings.linger_seconds > 0 and session.state == "open":
            # sendRequestXML answered "" to a healthy session only because it lingers (once the
            # linger is over it sends the closing request instead): the same verdict here, not
            # a second look at the clock that could end the session with an error message.
            return NOOP
        return NO_MORE_WORK

    def closeConnection(self, ticket: str = "") -> str:  # noqa: N802
        session = self.queue.session_for(ticket or "")
        if session is None:
            return "sfqb: unknown or expired ticket."
        if session.state == "open":
            jobs = self.queue.end_session(
                session.id, "error" if session.error else "ended", session.error
            )
            settled = ", ".join(f"job {j.id} {j.state}" for j in jobs)
            self._log(
                session.id,
                "end",
                f"{session.requests} requests, {session.answered} answers"
                + (f"; {settled}" if settled else ""),
            )
            self._prune(session.id)
        done = self.queue.session(session.id)
        if done is not None and done.error:
            return f"sfqb: {done.error}"
        return f"sfqb: done, {session.answered} answer(s) stored."

    def _prune(self, session_id: str) -> None:
        """The queue keeps only what the sync may still need (``JobQueue.prune``); a failure
        here is logged and never spoils the session's answer."""
        try:
            gone = self.queue.prune()
        except Exception:  # noqa: BLE001 - pruning is housekeeping
            log.exception("qbwc: pruning the queue failed")
            return
        if any(gone.values()):
            self._log(
                session_id,
                "prune",
                f"{gone['jobs']} finished jobs, {gone['sessions']} old sessions and "
                f"{gone['events']} events deleted",
            )


def closing_key(session_id: str) -> str:
    """The queue key of the read that ends a lingering session."""
    return f"session-end:{session_id}"


def poll_age(queue: JobQueue, now: dt.datetime | None = None) -> float | None:
    """Seconds since the Web Connector last polled with the right password, or None."""
    last = queue.last_poll()
    if last is None:
        return None
    return ((now or dt.datetime.now(dt.UTC)) - last).total_seconds()
