"""bench.desktop_sync's floor time: QuickBooks' assumed time for what a message set returns is
charged in the floor exactly as the emulated QuickBooks (``SlowCompany``) is charged it in the
wall time, a transaction's lines included; otherwise the wall holds QuickBooks time the floor
leaves out, and it reads as sfqb's overhead."""

from __future__ import annotations

import pytest

from bench.desktop_sync import desktop_detail, message_set
from bench.desktop_throughput import SlowCompany

pytestmark = pytest.mark.unit

LATENCY = (0.25, 0.002, 0.04)
REQUEST = (
    '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
    '<InvoiceQueryRq requestID="7.0" iterator="Start"><MaxReturned>100</MaxReturned>'
    "<IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq></QBXMLMsgsRq></QBXML>"
)
LINE = "<InvoiceLineRet><TxnLineID>{0}</TxnLineID><Amount>1.00</Amount></InvoiceLineRet>"
RESPONSE = (
    '<?xml version="1.0"?><QBXML><QBXMLMsgsRs><InvoiceQueryRs requestID="7.0" statusCode="0" '
    'statusSeverity="Info" statusMessage="Status OK" iteratorRemainingCount="0" '
    'iteratorID="{i-1}">'
    f"<InvoiceRet><TxnID>1</TxnID>{LINE.format('1-1')}{LINE.format('1-2')}</InvoiceRet>"
    f"<InvoiceRet><TxnID>2</TxnID>{LINE.format('2-1')}</InvoiceRet>"
    "</InvoiceQueryRs></QBXMLMsgsRs></QBXML>"
)


class Answering:
    def process(self, request: str) -> str:
        return RESPONSE


def test_given_invoices_with_lines_when_the_floor_is_timed_then_each_line_costs_as_in_the_wait(
    monkeypatch,
):
    """Two invoices with three lines in one message set: the floor reads two records but
    charges five Rets (250 ms + 5 x 2 ms), the time the emulated QuickBooks waits for the same
    answer; before, the floor charged the two records only and the 6 ms of the lines showed as
    sfqb's own time."""
    waited: list[float] = []
    monkeypatch.setattr("bench.desktop_throughput.time.sleep", waited.append)
    SlowCompany(Answering(), *LATENCY).process(REQUEST)

    detail = desktop_detail([{"seconds": 0.26, **message_set(REQUEST, RESPONSE)}], LATENCY)

    assert detail["records_read"] == 2 and detail["rets_returned"] == 5
    assert detail["floor_sets"] == 1
    assert detail["floor_seconds"] == pytest.approx(0.26)
    assert waited == [pytest.approx(detail["floor_seconds"])]
