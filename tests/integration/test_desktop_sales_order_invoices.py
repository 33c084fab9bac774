"""Invoices made in QuickBooks Desktop from Sales Orders that came from Opportunities: partial
invoicing (several invoices per order) and consolidated invoicing (several orders per invoice)
link every Invoice__c to its Opportunities (R-INV-2, R-QBD-6); a partly invoiced line that
Salesforce lowers below what was invoiced is refused by QuickBooks, a warning (R-OPP-6)."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from sfqb import soql
from tests.integration.conftest import report_of
from tests.integration.test_desktop_opportunities import order_of, synced
from tests.integration.test_opportunities_sync import (
    lines_of,
    linked_account,
    priced_products,
    won_opportunity,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def in_quickbooks(env, body: str) -> str:
    """A QuickBooks user's invoice (``body``: the InvoiceAdd's elements); its TxnID."""
    answer = env.in_quickbooks(f"<InvoiceAddRq><InvoiceAdd>{body}</InvoiceAdd></InvoiceAddRq>")
    return re.search(r"<TxnID>([^<]+)</TxnID>", answer).group(1)


def part_of(order: dict, line: dict, qty: int) -> str:
    """An invoice line taking ``qty`` of one Sales Order line (LinkToTxn)."""
    item = line["SalesItemLineDetail"]["ItemRef"]["value"]
    return (
        f"<InvoiceLineAdd><ItemRef><ListID>{item}</ListID></ItemRef><Quantity>{qty}</Quantity>"
        f"<LinkToTxn><TxnID>{order['Id']}</TxnID><TxnLineID>{line['Id']}</TxnLineID></LinkToTxn>"
        "</InvoiceLineAdd>"
    )


def links(env) -> dict[str, set[str]]:
    """External Invoice ID -> the Opportunities its Invoice__c links (Invoice_Opportunity_Link__c)."""
    sf = env.sf()
    invoices = {
        r["Id"]: r["External_Invoice_ID__c"]
        for r in sf.query(soql.select("Invoice__c", ["Id", "External_Invoice_ID__c"]))
    }
    out: dict[str, set[str]] = defaultdict(set)
    for row in sf.query(
        soql.select("Invoice_Opportunity_Link__c", ["Invoice__c", "Opportunity__c"])
    ):
        out[invoices[row["Invoice__c"]]].add(row["Opportunity__c"])
    return dict(out)


def test_given_sales_orders_invoiced_in_parts_and_together_when_synced_then_each_invoice_links_its_opportunities(
    desktop_env,
):
    """R-INV-2, R-QBD-6: a Sales Order invoiced in two parts gives two Invoice__c, each linked
    to the Opportunity; one invoice made from two Sales Orders links both Opportunities; the
    next run writes nothing."""
    env = desktop_env
    synced(env)
    account = linked_account(env)
    a, b = priced_products(env, 2)
    first = won_opportunity(env, account["Id"], "Sales Order", [(a, 4, 10, "a")])
    second = won_opportunity(env, account["Id"], "Sales Order", [(b, 1, 40, "b")])
    third = won_opportunity(env, account["Id"], "Sales Order", [(a, 2, 10, "a2")])
    synced(env)
    order = order_of(env, first)
    customer = f"<CustomerRef><ListID>{order['CustomerRef']['value']}</ListID></CustomerRef>"
    (line,) = order["Line"]
    half = in_quickbooks(env, customer + part_of(order, line, 2))
    synced(env)
    rest = in_quickbooks(env, customer + part_of(order, line, 2))
    both = in_quickbooks(
        env,
        customer
        + f"<LinkToTxnID>{order_of(env, second)['Id']}</LinkToTxnID>"
        + f"<LinkToTxnID>{order_of(env, third)['Id']}</LinkToTxnID>",
    )

    synced(env)

    found = links(env)
    assert found[half] == {first} and found[rest] == {first}
    assert found[both] == {second, third}
    assert order_of(env, first)["IsFullyInvoiced"] is True
    env.sandbox.clear_counters()
    synced(env)
    assert env.writes() == {"quickbooks": 0, "salesforce": 0}


def test_given_a_partly_invoiced_line_when_salesforce_lowers_it_below_the_invoiced_quantity_then_a_warning_and_a_retry(
    desktop_env,
):
    """R-OPP-6, R-OPP-7, R-QBD-6, R-GEN-5: a QuickBooks user invoiced 3 of a Sales Order
    line's 4; in Salesforce that line drops to 2 while another Sales Order Opportunity gets a
    valid change. QuickBooks refuses the first SalesOrderMod (an invoiced line cannot drop
    below what was invoiced): a WARNING naming the Opportunity and QuickBooks' reason, the
    order unchanged, the other change applied. QuickBooks wins: the order as it stands comes
    back onto the Opportunity Product (4), so the next run sends nothing; once Salesforce asks
    for 3, it goes through."""
    env = desktop_env
    allowed = {"allow_salesforce_to_modify_quickbooks": True}
    synced(env, **allowed)
    sf = env.sf()
    account = linked_account(env)
    a, b = priced_products(env, 2)
    refused = won_opportunity(env, account["Id"], "Sales Order", [(a, 4, 10, "a")])
    fine = won_opportunity(env, account["Id"], "Sales Order", [(b, 1, 40, "b")])
    synced(env, **allowed)
    order = order_of(env, refused)
    (line,) = order["Line"]
    customer = f"<CustomerRef><ListID>{order['CustomerRef']['value']}</ListID></CustomerRef>"
    in_quickbooks(env, customer + part_of(order, line, 3))
    (refused_line,) = lines_of(env, refused)
    (fine_line,) = lines_of(env, fine)
    sf.update(
        "OpportunityLineItem",
        [{"Id": refused_line["Id"], "Quantity": 2}, {"Id": fine_line["Id"], "Quantity": 5}],
    )

    report = report_of(synced(env, **allowed), "opportunities")

    assert report["updated"] == 1 and report["failed"] == 1, report
    assert any(refused in w and "below the quantity invoiced" in w for w in report["warnings"]), (
        report["warnings"]
    )
    assert quantity(order_of(env, refused)) == 4
    assert quantity(order_of(env, fine)) == 5

    (back,) = lines_of(env, refused)
    assert back["Quantity"] == 4  # the Sales Order as QuickBooks keeps it (R-OPP-7)
    env.sandbox.clear_counters()
    synced(env, **allowed)
    assert env.writes()["quickbooks"] == 0 and quantity(order_of(env, refused)) == 4

    sf.update("OpportunityLineItem", [{"Id": refused_line["Id"], "Quantity": 3}])
    last = report_of(synced(env, **allowed), "opportunities")
    assert last["updated"] == 1 and last["failed"] == 0, last
    assert quantity(order_of(env, refused)) == 3


def quantity(order: dict) -> int:
    (line,) = order["Line"]
    return int(line["SalesItemLineDetail"]["Qty"])
