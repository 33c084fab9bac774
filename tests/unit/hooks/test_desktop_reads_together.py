"""The Desktop adapter's reads asked together (``query_all_together``) over the real SQLite
job queue, a fake Web Connector answering in the adapter's wait (R-QBD-2, R-QBD-3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfqb.hooks.desktop import DesktopQuickBooks
from sfqb.hooks.errors import TransientError
from sfqb.hooks.interface import Read
from sfqb.qbwc import QUEUED, JobQueue
from sfqb.qbwc.qbxml import request_element

pytestmark = pytest.mark.unit

RETS = {
    "StandardTermsQueryRq": (
        "StandardTermsRet",
        [
            ("T2", "Net 30", "2026-05-02T09:00:00+00:00"),
            ("T1", "Net 15", "2026-05-01T09:00:00+00:00"),
        ],
    ),
    "ClassQueryRq": ("ClassRet", [("C1", "East", "2026-05-01T10:00:00+00:00")]),
    "SalesRepQueryRq": ("SalesRepRet", [("R1", "AB", "2026-05-01T11:00:00+00:00")]),
}
"""What the company answers each query: (Ret tag, [(ListID, Name, TimeModified)]),
newest first (QuickBooks' order; the adapter answers oldest first, as ``query_all`` does)."""


def answer(job_id: int, request: str, refuse: set[str]) -> str:
    tag = request_element(request).tag
    rs_tag = tag.removesuffix("Rq") + "Rs"
    if tag in refuse:
        rs = f'<{rs_tag} requestID="{job_id}" statusCode="3000" statusMessage="refused"/>'
    else:
        ret, rows = RETS[tag]
        body = "".join(
            f"<{ret}><ListID>{id_}</ListID><EditSequence>1</EditSequence><Name>{name}</Name>"
            f"<FullName>{name}</FullName><IsActive>true</IsActive>"
            f"<TimeCreated>2026-04-01T00:00:00+00:00</TimeCreated>"
            f"<TimeModified>{stamp}</TimeModified></{ret}>"
            for id_, name, stamp in rows
        )
        rs = (
            f'<{rs_tag} requestID="{job_id}" statusCode="0" statusMessage="Status OK" '
            f'iteratorRemainingCount="0" iteratorID="it-{job_id}">{body}</{rs_tag}>'
        )
    return f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>{rs}</QBXMLMsgsRs></QBXML>'


class WebConnector:
    """The adapter's wait: at each wait, the jobs still queued are noted, then one session
    takes every queued job back to back and QuickBooks answers each (``refuse``: the query
    tags it refuses)."""

    def __init__(self, refuse: set[str] = frozenset()) -> None:
        self.refuse = refuse
        self.queued_at_waits: list[int] = []
        self.sessions = 0

    def __call__(self, queue: JobQueue, job_id: int, deadline: float):
        self.queued_at_waits.append(len(queue.jobs(QUEUED)))
        if queue.has_work():
            self.sessions += 1
            session = queue.start_session(f"ticket-{self.sessions}", "sfqb", "open", 600).id
            while (job := queue.claim(session)) is not None:
                queue.store_answer(job.id, session, answer(job.id, job.requests[0], self.refuse))
        return queue.get(job_id)


def adapter(tmp_path: Path, connector: WebConnector) -> DesktopQuickBooks:
    queue = JobQueue.from_url(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    queue.record_poll()  # the Web Connector polled just now (R-QBD-2)
    return DesktopQuickBooks(queue, wait=connector, timeout=30)


def test_given_four_reads_when_asked_together_then_all_queued_before_the_first_wait(tmp_path):
    """R-QBD-2, R-QBD-3: a step's independent reads (Terms, Classes, sales reps, classes by
    name) are all queued before the first is waited on, so one Web Connector session takes
    them back to back; each read answers its own records, oldest first (by name: each record
    once), and the requests are those ``query_all`` / ``query_in`` send (no request more)."""
    connector = WebConnector()
    qb = adapter(tmp_path, connector)
    by_name = ("FullyQualifiedName", ["East", " ", None, "East"])
    reads = [
        Read("Term"),
        Read("Class"),
        Read("SalesRep", include_inactive=True),
        Read("Class", among=by_name),
    ]

    terms, classes, reps, east = (list(found) for found in qb.query_all_together(reads))

    assert connector.queued_at_waits[0] == 4 and connector.sessions == 1
    assert [t["Name"] for t in terms] == ["Net 15", "Net 30"]
    assert [c["FullyQualifiedName"] for c in classes] == ["East"] and east == classes
    assert [r["Id"] for r in reps] == ["R1"]
    together = [job.requests for job in qb.queue.jobs()]
    for read in reads[:3]:
        list(qb.query_all(read.entity, read.where, include_inactive=read.include_inactive))
    list(qb.query_in("Class", *by_name))
    one_by_one = [job.requests for job in qb.queue.jobs()][len(together) :]
    assert together == one_by_one and len(together) == 4
    assert connector.sessions == 5  # one by one: a session (a queue round trip) each


def test_given_no_reads_when_asked_together_then_nothing_is_queued(tmp_path):
    """R-QBD-3: no reads, or a read among no values, queue no job (and the Web Connector is
    not checked for nothing)."""
    connector = WebConnector()
    qb = adapter(tmp_path, connector)
    assert qb.query_all_together([]) == [] and qb.queue.jobs() == []
    (found,) = qb.query_all_together([Read("Class", among=("Id", [None, ""]))])
    assert list(found) == [] and qb.queue.jobs() == [] and connector.queued_at_waits == []


def test_given_a_refused_read_when_asked_together_then_it_raises_as_query_all_does(tmp_path):
    """R-QBD-3: QuickBooks refuses the Class query. Asked together with the Terms, the read
    fails with the error ``query_all`` raises for it alone."""
    connector = WebConnector(refuse={"ClassQueryRq"})
    qb = adapter(tmp_path, connector)

    with pytest.raises(TransientError, match="ClassQueryRs 3000") as together:
        qb.query_all_together([Read("Term"), Read("Class")])
    with pytest.raises(TransientError, match="ClassQueryRs 3000") as alone:
        list(qb.query_all("Class"))
    assert type(together.value) is type(alone.value)
