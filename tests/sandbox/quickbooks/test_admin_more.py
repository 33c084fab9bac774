"""Admin reset/seed, the remaining generic fault kinds, and the other delete/void paths."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from quickbooks.exceptions import ObjectNotFoundException, QuickbooksException
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.estimate import Estimate
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.payment import Payment, PaymentLine
from quickbooks.objects.salesreceipt import SalesReceipt
from quickbooks.objects.term import Term

pytestmark = pytest.mark.sandbox


def _line(amount) -> SalesItemLine:
    line = SalesItemLine()
    line.Amount = amount
    line.SalesItemLineDetail = SalesItemLineDetail()
    return line


def test_given_reset_with_seed_when_called_then_company_replaced_and_tokens_survive(qbo):
    """POST /_sandbox/reset {"seed"} wipes and reseeds; /seed leaves a non-empty company alone."""
    qb = qbo.client()
    extra = Customer()
    extra.DisplayName = f"Doomed {uuid.uuid4().hex[:6]}"
    extra.save(qb=qb)
    before = Customer.count(qb=qb)
    qbo.reset("tiny")
    assert Customer.count(qb=qb) < before  # same access token still valid
    assert Customer.filter(DisplayName=extra.DisplayName, qb=qb) == []
    assert qbo.call("POST", "seed", {"size": "small"})["seeded"] is False
    qbo.reset(None)
    assert Customer.count(qb=qb) == 0 and Term.count(qb=qb) == 0
    qbo.reset("empty")
    assert Customer.count(qb=qb) == 0 and Term.count(qb=qb) == 4
    assert qbo.call("POST", "seed", {"size": "tiny"})["seeded"] is True
    assert Customer.count(qb=qb) > 12


def test_given_hang_and_status_faults_when_called_then_client_sees_them(qbo, qb):
    """hang holds then drops the connection; status answers with the given HTTP status."""
    qbo.admin.add_fault("quickbooks", kind="hang", path=r"/query$", delay_ms=300)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        Term.all(qb=qb)
    assert time.monotonic() - started >= 0.3
    qbo.admin.add_fault("quickbooks", kind="status", status=502, path=r"/query$")
    with pytest.raises(QuickbooksException) as excinfo:
        Term.all(qb=qb)
    assert "502" in excinfo.value.message


def test_given_payment_when_voided_then_invoice_balance_restored(qb):
    """api-notes 2.6.5: voiding a payment restores the invoice balance; the payment stays."""
    customer = Customer()
    customer.DisplayName = f"Voider {uuid.uuid4().hex[:6]}"
    customer = customer.save(qb=qb)
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line = [_line(90)]
    invoice = invoice.save(qb=qb)
    payment = Payment()
    payment.CustomerRef = customer.to_ref()
    payment.TotalAmt = 90
    line = PaymentLine()
    line.Amount = 90
    line.LinkedTxn = [invoice.to_linked_txn()]
    payment.Line = [line]
    payment = payment.save(qb=qb)
    assert Invoice.get(invoice.Id, qb=qb).Balance == 0
    payment.void(qb=qb)
    voided = Payment.get(payment.Id, qb=qb)
    assert voided.TotalAmt == 0 and voided.PrivateNote == "Voided"
    assert Invoice.get(invoice.Id, qb=qb).Balance == 90
    assert Customer.get(customer.Id, qb=qb).Balance == 90


def test_given_receipt_and_estimate_when_deleted_then_gone(qb):
    """Sales receipts and estimates can be deleted (with their SyncToken)."""
    customer = Customer.get(1, qb=qb)
    for cls in (SalesReceipt, Estimate):
        txn = cls()
        txn.CustomerRef = customer.to_ref()
        txn.Line = [_line(12)]
        txn = txn.save(qb=qb)
        txn.delete(qb=qb)
        with pytest.raises(ObjectNotFoundException):
            cls.get(txn.Id, qb=qb)


def test_given_invoice_when_sent_and_pdf_downloaded_then_email_status_and_pdf(qb):
    """api-notes 2.6.4 (optional): send sets EmailStatus EmailSent; pdf answers a PDF."""
    customer = Customer.get(1, qb=qb)
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line = [_line(20)]
    invoice = invoice.save(qb=qb)
    sent = invoice.send(qb=qb, send_to="billing@example.com")
    assert sent["Invoice"]["EmailStatus"] == "EmailSent"
    assert sent["Invoice"]["BillEmail"]["Address"] == "billing@example.com"
    pdf = invoice.download_pdf(qb=qb)
    assert pdf.startswith(b"%PDF")
