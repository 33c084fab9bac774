"""The Desktop adapter through sfqb's Web Connector service over real HTTP, with the Web
Connector emulator polling on a short schedule in a thread and the Desktop company emulator
behind it (R-QBD-2, R-QBD-3, R-QBD-4)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sfqb import qbo_queries as q
from sfqb.hooks.desktop import DesktopQuickBooks, WebConnectorNotPolling, WrongCompany
from sfqb.hooks.quickbooks import BatchOp
from sfqb.qbwc import DONE, FAILED, JobQueue
from sfqb_sandbox.webconnector import Scheduler
from tests.sandbox.qbd.conftest import make_company
from tests.sandbox.qbwc.test_service import GOOD, Rig, start, with_creds

pytestmark = pytest.mark.sandbox


class Polling:
    """The rig with its Web Connector running sessions every 0.2 s in a thread."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=Scheduler(rig.connector(), every_seconds=0.2).run, args=(self.stop,)
        )

    def __enter__(self) -> Polling:
        # Postponing after "none" (60 s by default) would stall a test: poll on schedule.
        self.rig.service.settings = replace(self.rig.service.settings, none_wait_seconds=0)
        self.thread.start()
        # The adapter queues nothing before the Web Connector's first poll (R-QBD-2).
        deadline = time.monotonic() + 30
        while self.rig.queue.last_poll() is None:
            assert time.monotonic() < deadline, "the Web Connector never polled"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(30)


@pytest.fixture
def rig(tmp_path: Path, queue: JobQueue) -> Iterator[Rig]:
    company = make_company(tmp_path, seed="small")
    served = start(queue, GOOD)
    yield Rig(
        queue,
        served.service,
        served,
        company,
        f"http://localhost:{served.port}/qbwc",
        GOOD,  # type: ignore[attr-defined]
    )
    served.__exit__(None, None, None)


def adapter(rig: Rig, **kw) -> DesktopQuickBooks:
    return DesktopQuickBooks(rig.queue, timeout=60, poll_interval=0.05, page_size=50, **kw)


def test_given_a_company_when_every_entity_is_read_then_qbo_shaped_records_across_pages(rig):
    """Customers (200, iterator pages of 50 over several requests), items, terms, classes,
    invoices, sales receipts, sales orders, payments and preferences read through the queue
    and normalised; a window, a read by ids and by names, a count (R-QBD-3)."""
    qb = adapter(rig)
    with Polling(rig):
        customers = list(qb.query_all("Customer", include_inactive=True))
        assert len(customers) >= 200 and all(c["Id"] and c["SyncToken"] for c in customers)
        items = list(qb.query_all("Item", include_inactive=True))
        assert {i["Type"] for i in items} >= {"Service", "Inventory"}
        assert all("UnitPrice" in i for i in items if i["Type"] == "Service")
        terms = list(qb.query_all("Term"))
        assert terms and all(t["Name"] for t in terms)
        list(qb.query_all("Class"))
        for entity in ("Invoice", "SalesReceipt", "SalesOrder", "Payment"):
            records = list(qb.query_all(entity))
            assert all(r["Id"] and r["TxnDate"] for r in records), entity
        invoices = list(qb.query_all("Invoice"))
        assert invoices and invoices[0]["Line"] and "TotalAmt" in invoices[0]
        picked = [c["Id"] for c in customers[:3]]
        assert sorted(c["Id"] for c in qb.query_in("Customer", "Id", picked)) == sorted(
            c["Id"] for c in customers[:3] if c["Active"]
        )
        names = [c["FullyQualifiedName"] for c in customers[:2]]
        by_name = list(qb.query_in("Customer", "FullyQualifiedName", names, include_inactive=True))
        assert {c["FullyQualifiedName"] for c in by_name} == set(names)
        assert qb.count("Customer") == sum(1 for c in customers if c["Active"])
        window = list(qb.query_window("Customer", dt.datetime(2000, 1, 1, tzinfo=dt.UTC), None))
        assert window
        assert "SalesFormsPrefs" in qb.preferences()
    reads = [j for j in rig.queue.jobs(DONE) if j.kind == "read"]
    assert max(j.attempts for j in reads) >= 1 and len(rig.queue.sessions(100)) >= 2


def test_given_writes_when_batched_then_per_record_results_a_stale_retry_and_a_name_link(rig):
    """Customer adds and an invoice add in one write job, a Mod on an old EditSequence
    retried once on a fresh read (3200), and an add repeated under its key linked to our
    earlier customer (3100) (R-QBD-4)."""
    qb = adapter(rig)
    with Polling(rig):
        item = next(i for i in qb.query_all("Item") if i["Type"] == "Service")
        ops = [
            BatchOp("001A", "create", "Customer", {"DisplayName": "Adapter One"}),
            BatchOp("001B", "create", "Customer", {"DisplayName": "Adapter Two"}),
        ]
        one, two = qb.batch(ops, request_id="run-1")
        assert one.ok and two.ok and one.record["DisplayName"] == "Adapter One"
        assert one.record["ExternalGUID"]
        line = {
            "DetailType": "SalesItemLineDetail",
            "Amount": 20,
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 2, "UnitPrice": 10},
        }
        (invoice,) = qb.batch(
            [
                BatchOp(
                    "006X",
                    "create",
                    "Invoice",
                    {
                        "CustomerRef": {"value": one.record["Id"]},
                        "PrivateNote": "Salesforce Opportunity 006X",
                        "Line": [line],
                    },
                )
            ],
            request_id="run-1-opps",
        )
        assert invoice.ok and invoice.record["TotalAmt"] == 20
        old = one.record["SyncToken"]
        (first,) = qb.batch(
            [
                BatchOp(
                    "001A",
                    "update",
                    "Customer",
                    {"Id": one.record["Id"], "SyncToken": old, "CompanyName": "One Inc"},
                )
            ],
            request_id="run-2",
        )
        assert first.ok
        (stale,) = qb.batch(
            [
                BatchOp(
                    "001A",
                    "update",
                    "Customer",
                    {"Id": one.record["Id"], "SyncToken": old, "CompanyName": "One Ltd"},
                )
            ],
            request_id="run-3",
        )
        assert stale.ok and stale.record["CompanyName"] == "One Ltd"
        (again,) = qb.batch(
            [BatchOp("001B", "create", "Customer", {"DisplayName": "Adapter Two"})],
            request_id="run-4",
        )
        assert again.ok and again.record["Id"] == two.record["Id"]
        (other,) = qb.batch(
            [BatchOp("001Z", "create", "Customer", {"DisplayName": "Adapter Two"})],
            request_id="run-5",
        )
        assert not other.ok and other.error.code == 3100


def test_given_a_sales_order_changed_in_quickbooks_when_a_stale_mod_is_retried_then_no_line_is_lost(
    rig,
):
    """A QuickBooks user adds a line to a Sales Order and deletes another after the sync read
    it: the sync's SalesOrderMod (a changed quantity, a new line) is refused as stale (3200),
    read again and sent once more naming the user's new line, so QuickBooks keeps it (a Mod
    deletes the lines it leaves out), and without the change to the deleted line (R-QBD-4,
    R-QBD-6)."""
    from tests.sandbox.qbd.conftest import message

    qb = adapter(rig)
    with Polling(rig):
        service, other, third = [i for i in qb.query_all("Item") if i["Type"] == "Service"][:3]
        customer = next(iter(qb.query_all("Customer")))

        def line(item: dict, qty: int, line_id: str | None = None) -> dict:
            out = {
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": item["Id"]},
                    "Qty": qty,
                    "UnitPrice": 5,
                },
            }
            return {**out, "Id": line_id} if line_id else out

        (made,) = qb.batch(
            [
                BatchOp(
                    "006S",
                    "create",
                    "SalesOrder",
                    {
                        "CustomerRef": {"value": customer["Id"]},
                        "Line": [line(service, 1), line(other, 1)],
                    },
                )
            ],
            request_id="run-1",
        )
        assert made.ok
        order = made.record
        first, second = (str(x["Id"]) for x in order["Line"])
    user_line = (
        f"<SalesOrderLineMod><TxnLineID>-1</TxnLineID><ItemRef><ListID>{third['Id']}</ListID>"
        "</ItemRef><Quantity>4</Quantity></SalesOrderLineMod>"
    )
    rig.company.open("")
    answer = rig.company.process(
        message(
            f"<SalesOrderModRq><SalesOrderMod><TxnID>{order['Id']}</TxnID>"
            f"<EditSequence>{order['SyncToken']}</EditSequence>"
            f"<SalesOrderLineMod><TxnLineID>{first}</TxnLineID></SalesOrderLineMod>"
            f"{user_line}</SalesOrderMod></SalesOrderModRq>"
        )
    )
    rig.company.close()
    assert 'statusCode="0"' in answer, answer  # the second line deleted, a third one added

    with Polling(rig):
        (retried,) = qb.batch(
            [
                BatchOp(
                    "006S",
                    "update",
                    "SalesOrder",
                    {
                        "Id": order["Id"],
                        "SyncToken": order["SyncToken"],
                        "Line": [
                            line(service, 3, first),
                            line(other, 2, second),
                            line(service, 7),
                        ],
                    },
                )
            ],
            request_id="run-2",
        )
        assert retried.ok, retried.error
        now = qb.read("SalesOrder", order["Id"])
    items = [
        (x["SalesItemLineDetail"]["ItemRef"]["value"], int(x["SalesItemLineDetail"]["Qty"]))
        for x in now["Line"]
    ]
    assert items == [(service["Id"], 3), (third["Id"], 4), (service["Id"], 7)]


def test_given_a_lost_answer_when_retried_then_exactly_one_customer_and_the_job_settled(rig):
    """The company applies a CustomerAdd and its answer is lost: the write job is in doubt;
    the next batch looks it up by its ExternalGUID, settles the job as done and answers the
    customer found: exactly one customer (R-QBD-4)."""
    qb = adapter(rig)
    rig.company.add_fault(kind="lose_response", request="CustomerAdd", times=1)
    op = BatchOp("001L", "create", "Customer", {"DisplayName": "Lost Answer Co"})
    with Polling(rig):
        while rig.queue.last_poll() is None:
            time.sleep(0.05)
        (first,) = qb.batch([op], request_id="run-1")
        (second,) = qb.batch([op], request_id="run-2")
    assert first.ok and second.ok and first.record["Id"] == second.record["Id"]
    assert len(rig.customers("Lost Answer Co")) == 1
    (job,) = [j for j in rig.queue.jobs(DONE) if j.kind == "write" and j.note]
    assert "applied ['Customer" in job.note and rig.queue.in_doubt() == []


def test_given_the_web_connector_not_polling_when_writing_then_a_clear_error_and_no_job(rig):
    """No poll within the allowed time: the batch fails saying the Web Connector is not
    running and when it last polled; nothing is queued (R-QBD-2)."""
    qb = adapter(rig, max_poll_age=dt.timedelta(minutes=10))
    with pytest.raises(WebConnectorNotPolling, match="never polled"):
        qb.batch([BatchOp("001N", "create", "Customer", {"DisplayName": "Never Sent"})])
    rig.connector().run_session()  # one poll, then silence
    later = DesktopQuickBooks(
        rig.queue,
        max_poll_age=dt.timedelta(minutes=10),
        now=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    with pytest.raises(WebConnectorNotPolling, match="last polled at .* UTC, 60 min ago"):
        later.batch([BatchOp("001N", "create", "Customer", {"DisplayName": "Never Sent"})])
    assert rig.queue.count("queued") == 0 and rig.queue.jobs(FAILED) == []
    assert rig.customers("Never Sent") == []


def test_given_conditions_qbxml_applies_when_counted_then_one_message_set_answers_it(rig):
    """A count QuickBooks can filter itself is one request: an iterator of one record whose
    remaining count says the rest; a count needing the adapter's own filter reads the records
    (R-QBD-3)."""
    qb = adapter(rig)
    since = q.condition("TxnDate", ">=", dt.date(2000, 1, 1))
    with Polling(rig):
        invoices = list(qb.query_all("Invoice", [since]))
        customers = list(qb.query_all("Customer", include_inactive=True))
        before = {j.id for j in rig.queue.jobs(DONE)}
        assert qb.count("Invoice", [since]) == len(invoices) > 1
        assert qb.count("Customer", include_inactive=True) == len(customers) > 50
        counted = [j for j in rig.queue.jobs(DONE) if j.id not in before]
        assert len(counted) == 2 and all(len(rig.queue.pages(j.id)) == 1 for j in counted)
        first = customers[0]["Id"]
        assert qb.count("Customer", [q.in_("Id", [first])], include_inactive=True) == 1


def test_given_another_edition_open_when_reading_then_it_fails_at_once_naming_it(rig):
    """The Web Connector polls with a company of another edition than the connection names:
    the read does not wait for its deadline; it fails with the service's reason, and its job
    is cancelled so it is never handed out later (R-QBD-1)."""
    rig = with_creds(rig, replace(GOOD, edition="pro"))
    qb = adapter(rig)
    started = time.monotonic()
    with Polling(rig), pytest.raises(WrongCompany, match=r"edition 'pro'.*Nothing was sent"):
        list(qb.query_all("Customer"))
    assert time.monotonic() - started < 20
    (job,) = rig.queue.jobs()
    assert job.state == FAILED and "wrong company" in job.error
    assert not rig.queue.has_work()


def test_given_changes_and_a_deletion_when_asked_for_changes_then_both_come_per_entity(rig):
    """``changes`` reads each entity modified since the watermark (inactive ones too) and the
    deletions QuickBooks lists since then, in one queue round (R-QBD-3)."""
    qb = adapter(rig)
    with Polling(rig):
        # the Web Connector has polled once this read is answered; an unpaid invoice can go
        invoice = next(i for i in qb.query_all("Invoice") if not i.get("LinkedTxn"))
        (added,) = qb.batch(
            [BatchOp("001C", "create", "Customer", {"DisplayName": "Changed Lately"})],
            request_id="changes-1",
        )
        # the company's clock, not this machine's: a second before the add
        since = dt.datetime.fromisoformat(
            added.record["MetaData"]["LastUpdatedTime"]
        ) - dt.timedelta(seconds=1)
        rig.company.open("")
        answer = rig.company.process(
            '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq '
            'onError="stopOnError"><TxnDelRq><TxnDelType>Invoice</TxnDelType>'
            f"<TxnID>{invoice['Id']}</TxnID></TxnDelRq></QBXMLMsgsRq></QBXML>"
        )
        assert 'statusCode="0"' in answer, answer
        found = qb.changes(["Customer", "Invoice"], since)
    assert [c["Id"] for c in found["Customer"]] == [added.record["Id"]]
    assert {"status": "Deleted", "Id": invoice["Id"]}.items() <= found["Invoice"][-1].items()


def test_given_the_web_connector_stopping_while_a_read_waits_then_the_wait_ends_clearly(rig):
    """The Web Connector polled, then stopped: a read queued after that waits only until the
    allowed silence is over, not for the run's deadline; its job is cancelled, never sent
    later (R-QBD-2)."""
    rig.connector().run_session()  # one poll, then silence
    qb = adapter(rig, max_poll_age=dt.timedelta(seconds=1))
    started = time.monotonic()
    with pytest.raises(WebConnectorNotPolling, match="was never sent and is cancelled"):
        list(qb.query_all("Customer"))
    assert time.monotonic() - started < 10
    (job,) = rig.queue.jobs()
    assert job.state == FAILED and not rig.queue.has_work()


def test_given_an_hour_between_two_tasks_when_the_second_reads_then_its_time_moved_on_that_hour(
    rig,
):
    """R-GEN-2, R-ACC-5: a task adds a customer (QuickBooks stamps it on the PC's clock, months
    behind the service's here); an hour passes on both clocks and the Web Connector polls
    again. A new task's bound is the stamp moved on by that hour on the service's clock (its
    answer's and its last poll's stamps), less 1% and a minute: after the stamp by more than the
    lookback, never after the PC's time now. A read of records last edited long before answers
    at that bound, so a quiet company's next window does not reach back to the add."""
    from sfqb_sim.worker_clock import DESKTOP_MODULES, WorkerClock
    from tests.sandbox.qbd.conftest import START

    worker = WorkerClock(DESKTOP_MODULES)
    with worker.installed(), Polling(rig):
        (added,) = adapter(rig).batch(
            [BatchOp("001H", "create", "Customer", {"DisplayName": "An Hour Ago"})],
            request_id="hour-1",
        )
        stamped = dt.datetime.fromisoformat(added.record["MetaData"]["LastUpdatedTime"])
        assert stamped == START
        rig.company.clock.set(START + dt.timedelta(hours=1), frozen=True)
        worker.follow({"offset_seconds": 3600})
        moved_at = rig.queue.last_poll()
        deadline = time.monotonic() + 30
        while rig.queue.last_poll() == moved_at:  # the next poll, an hour later
            assert time.monotonic() < deadline, "the Web Connector never polled again"
            time.sleep(0.02)
        later = adapter(rig)
        bound = later.clock.bound()
        assert bound is not None
        assert START + dt.timedelta(minutes=58) < bound <= START + dt.timedelta(hours=1)
        mark = len(later.clock.seen)
        old = list(later.query_window("Customer", None, START - dt.timedelta(days=1)))
    assert old and all(c["Id"] != added.record["Id"] for c in old)
    assert bound <= later.clock.first_since(mark) <= START + dt.timedelta(hours=1)
