"""The QuickBooks seed's ``,invoices=N`` size option: a history of N invoices over a small
customer list (the migration benchmark, bench/migration.py, seeds "tiny,invoices=100000")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice

from sfqb_sandbox.quickbooks.seed import seed_invoice_count, seed_line_count


@pytest.fixture
def reseed(qbo):
    """Reseed the session's sandbox for one test, and give the next test the usual "tiny"."""
    yield qbo.reset
    qbo.reset("tiny")


@pytest.mark.unit
def test_given_size_strings_when_invoice_count_read_then_only_the_invoices_option_counts():
    """``invoices=N``: absent gives None (the default count), combines with ``lines=N``, and a
    count below 1 is refused."""
    assert seed_invoice_count("tiny") is None
    assert seed_invoice_count("tiny,lines=5,invoices=300") == 300
    assert seed_line_count("tiny,lines=5,invoices=300") == 5
    with pytest.raises(ValueError, match="invoices=N"):
        seed_invoice_count("tiny,invoices=0")


@pytest.mark.sandbox
def test_given_the_invoices_option_when_seeded_then_that_many_invoices_and_balances_add_up(
    qbo, reseed
):
    """``tiny,invoices=150``: 150 invoices for tiny's customers; every customer's Balance is still
    the sum of its invoices' balances."""
    reseed("tiny,invoices=150")
    qb = qbo.client()
    assert Invoice.count(qb=qb) == 150
    invoices = Invoice.query("SELECT * FROM Invoice MAXRESULTS 1000", qb=qb)
    customers = Customer.query(
        "SELECT * FROM Customer WHERE Active IN (true, false) MAXRESULTS 1000", qb=qb
    )
    open_by_customer: dict[str, Decimal] = {}
    for invoice in invoices:
        ref = invoice.CustomerRef.value
        open_by_customer[ref] = open_by_customer.get(ref, Decimal(0)) + Decimal(
            str(invoice.Balance)
        )
    for customer in customers:
        assert Decimal(str(customer.Balance)) == open_by_customer.get(customer.Id, Decimal(0))
