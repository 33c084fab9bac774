"""The whole chain in dag.test() runs: a won opportunity becomes a QuickBooks invoice, the invoice
comes back as Invoice__c linked to that opportunity, and a payment in QuickBooks moves its
balance (SPEC sections 3 and 5, R-GEN-8: a later area works with what the earlier ones wrote)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sfqb.extract import soql
from tests.integration.conftest import SINCE_SEED, report_of
from tests.integration.test_opportunities_sync import (
    linked_account,
    opportunities,
    priced_products,
    won_opportunity,
)

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

INVOICE_FIELDS = ["Id", "External_Invoice_ID__c", "Invoice_Number__c", "Subtotal__c", "Outstanding_Balance__c",
                  "Is_Paid__c", "Status__c", "Account__c"]


def synced(env) -> dict:
    env.set_preferences(sync_start=SINCE_SEED)
    _, states, summary = env.run()
    assert set(states.values()) == {"success"}, states
    return summary


def salesforce_invoice(env, invoice_id: str) -> dict:
    (row,) = env.sf().query(soql.select("Invoice__c", INVOICE_FIELDS, where=soql.eq("External_Invoice_ID__c", invoice_id)))
    return row


def test_given_a_won_opportunity_when_invoiced_and_paid_then_salesforce_shows_the_linked_invoice_and_its_balance(sync_env):
    """R-GEN-8, R-OPP-1..4, R-INV-1, R-INV-2, R-INV-4, R-GEN-4: one run creates the QuickBooks
    invoice from the opportunity and the next brings it back as Invoice__c linked to that
    opportunity; a partial payment lowers the balance, the rest marks it paid; a rerun writes
    nothing to either system."""
    synced(sync_env)
    account = linked_account(sync_env)
    a, b = priced_products(sync_env, 2)
    opp = won_opportunity(sync_env, account["Id"], "Invoice", [(a, 2, 100, "Setup"), (b, 1, 50, "Support")])
    synced(sync_env)
    invoice_id = opportunities(sync_env, where=soql.eq("Id", opp))[opp]["External_Transaction_ID__c"]
    assert invoice_id

    synced(sync_env)  # the invoices area sees the invoice QuickBooks created in the last run
    record = salesforce_invoice(sync_env, invoice_id)
    assert Decimal(str(record["Subtotal__c"])) == Decimal("250")
    assert (record["Is_Paid__c"], record["Account__c"]) == (False, account["Id"])
    links = list(sync_env.sf().query(soql.select("Invoice_Opportunity_Link__c", ["Opportunity__c"],
                                                 where=soql.eq("Invoice__c", record["Id"]))))
    assert [link["Opportunity__c"] for link in links] == [opp]

    qb = sync_env.qb()
    customer = account["External_Account_ID__c"]
    for amount in ("100", "150"):
        qb.create("Payment", {"CustomerRef": {"value": customer}, "TotalAmt": Decimal(amount),
                              "Line": [{"Amount": Decimal(amount),
                                        "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}]}, None)
        summary = synced(sync_env)
        record = salesforce_invoice(sync_env, invoice_id)
        expected = Decimal("150") if amount == "100" else Decimal("0")
        assert Decimal(str(record["Outstanding_Balance__c"])) == expected
        assert record["Is_Paid__c"] is (expected == 0)
    assert report_of(summary, "invoices")["failed"] == 0

    sync_env.sandbox.clear_counters()
    synced(sync_env)
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}
