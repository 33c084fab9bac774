"""The QuickBooks seed's ``,lines=N`` size option: every seeded invoice gets N sales lines, and
totals, balances and payments follow the lines (the invoices benchmark, bench/invoices.py, seeds
"6000,lines=5"). The default seed keeps its 1-3 lines per invoice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment

from sfqb_sandbox.quickbooks.seed import seed_line_count


def _all(entity, qb) -> list:
    return entity.query(f"SELECT * FROM {entity.qbo_object_name} MAXRESULTS 1000", qb=qb)


def _sales_lines(invoice) -> list:
    return [line for line in invoice.Line if line.DetailType == "SalesItemLineDetail"]


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@pytest.fixture
def reseed(qbo):
    """Reseed the session's sandbox for one test, and give the next test the usual "tiny"."""
    yield qbo.reset
    qbo.reset("tiny")


@pytest.mark.unit
def test_given_size_strings_when_line_count_read_then_only_lines_option_counts():
    """The seed size option ``lines=N``: absent gives None (the 1-3 default), any position among
    the options, and a count below 1 or not a number is refused."""
    assert seed_line_count("tiny") is None
    assert seed_line_count("tiny,items=40") is None
    assert seed_line_count("6000,lines=5") == 5
    assert seed_line_count("tiny,items=40, lines=2") == 2
    for bad in ("tiny,lines=0", "tiny,lines=x", "tiny,lines="):
        with pytest.raises(ValueError, match="lines=N"):
            seed_line_count(bad)


@pytest.mark.sandbox
def test_given_lines_option_when_seeded_then_every_invoice_has_n_lines_and_money_adds_up(
    qbo, reseed
):
    """``tiny,lines=5``: every invoice has 5 sales lines whose amounts are qty x price and sum to
    TotalAmt; Balance is TotalAmt less the payment applied to it; every customer's Balance is the
    sum of its invoices' balances."""
    reseed("tiny,lines=5")
    qb = qbo.client()
    invoices = _all(Invoice, qb)
    assert len(invoices) == Invoice.count(qb=qb) > 10
    paid: dict[str, Decimal] = {}
    for payment in _all(Payment, qb):
        for line in payment.Line:
            for link in line.LinkedTxn:
                paid[link.TxnId] = paid.get(link.TxnId, Decimal(0)) + _money(line.Amount)
    owed: dict[str, Decimal] = {}
    for invoice in invoices:
        lines = _sales_lines(invoice)
        assert len(lines) == 5, invoice.Id
        for line in lines:
            detail = line.SalesItemLineDetail
            assert _money(line.Amount) == _money(
                Decimal(str(detail.Qty)) * _money(detail.UnitPrice)
            )
        assert _money(invoice.TotalAmt) == sum(_money(line.Amount) for line in lines)
        assert _money(invoice.Balance) == _money(invoice.TotalAmt) - paid.get(invoice.Id, 0)
        customer = invoice.CustomerRef.value
        owed[customer] = owed.get(customer, Decimal(0)) + _money(invoice.Balance)
    balances = {c.Id: _money(c.Balance) for c in _all(Customer, qb)}
    assert owed and all(balances[cid] == amount for cid, amount in owed.items())
    assert any(0 < paid.get(i.Id, 0) < _money(i.TotalAmt) for i in invoices)  # partly paid too


@pytest.mark.sandbox
def test_given_no_lines_option_when_seeded_then_invoices_keep_one_to_three_lines(qbo, reseed):
    """The default seed is unchanged: invoice k (Id k + 1) has 1 + k % 3 sales lines; with
    ``items=N`` and ``lines=N`` together both options apply, in either order."""
    reseed("tiny")
    qb = qbo.client()
    counts = {int(i.Id): len(_sales_lines(i)) for i in _all(Invoice, qb)}
    assert counts and all(n == 1 + (id_ - 1) % 3 for id_, n in counts.items())
    default_items = Item.count(qb=qb)  # a catalogue of 24 leaves (tiny's minimum)
    reseed("tiny,lines=2,items=30")
    counts = {len(_sales_lines(i)) for i in _all(Invoice, qb)}
    assert counts == {2}
    assert Item.count(qb=qb) > default_items  # 30 leaves: items=30 still applies
