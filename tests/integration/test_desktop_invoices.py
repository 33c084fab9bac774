"""Invoices and payments, the historical migration and reconciliation on QuickBooks Desktop,
through sfqb's Web Connector service (R-INV-1, R-INV-4, R-MIG-1, R-MIG-3, R-QBD-3)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from sfqb import qbo_queries as q
from sfqb import soql
from sfqb.areas.invoices import EXT_INVOICE, EXT_ITEM, SALES_LINE
from sfqb.hooks.quickbooks import BatchOp
from tests.integration.conftest import report_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DESKTOP = {"quickbooks_edition": "desktop"}


def invoices_in_salesforce(env, fields: list[str]) -> dict[str, dict]:
    rows = env.sf().query(soql.select("Invoice__c", [EXT_INVOICE, *fields]))
    return {r[EXT_INVOICE]: r for r in rows}


def pay(env, customer_id: str, invoice_id: str, amount: str) -> None:
    """A payment received in QuickBooks, as a QuickBooks user would enter it."""
    env.in_quickbooks(
        "<ReceivePaymentAddRq><ReceivePaymentAdd>"
        f"<CustomerRef><ListID>{customer_id}</ListID></CustomerRef>"
        f"<TotalAmount>{amount}</TotalAmount>"
        f"<AppliedToTxnAdd><TxnID>{invoice_id}</TxnID>"
        f"<PaymentAmount>{amount}</PaymentAmount></AppliedToTxnAdd>"
        "</ReceivePaymentAdd></ReceivePaymentAddRq>"
    )


def first_synced(env) -> tuple:
    """A first Desktop run; then the Desktop adapter, a customer linked to an Account and a
    service item (what the invoice scenarios add invoices for)."""
    env.set_preferences(**DESKTOP)
    dag_run, states, _ = env.run(task_retries=0)
    assert dag_run.state == "success", states
    qb = env.qb()
    linked = {
        a["External_Account_ID__c"]
        for a in env.sf().query(soql.select("Account", ["External_Account_ID__c"]))
        if a["External_Account_ID__c"]
    }
    customer = next(c for c in qb.query_all("Customer") if c["Id"] in linked)
    item = next(i for i in qb.query_all("Item") if i["Type"] == "Service")
    return qb, customer, item


def test_given_desktop_history_when_migrated_then_each_invoice_once_and_a_second_trigger_does_nothing(
    desktop_env,
):
    """Every Desktop invoice dated on or after the migration date (a TxnDateRangeFilter read)
    becomes one Invoice__c with its item lines, none older; a second trigger writes nothing
    (R-MIG-1, R-MIG-3, R-QBD-3)."""
    desktop_env.set_preferences(**DESKTOP)
    qb = desktop_env.qb()
    everything = list(qb.query_all("Invoice"))
    dates = sorted(dt.date.fromisoformat(r["TxnDate"]) for r in everything)
    since = dates[len(dates) // 2]  # about half the seed's invoices are history to migrate
    wanted = {r["Id"]: r for r in qb.query_all("Invoice", [q.condition("TxnDate", ">=", since)])}
    assert wanted == {
        r["Id"]: r for r in everything if dt.date.fromisoformat(r["TxnDate"]) >= since
    }
    assert 2 <= len(wanted) < len(everything)

    _, states, summary = desktop_env.run(
        "sfqb_invoice_migration",
        run_conf={"migration_date": since.isoformat()},
        task_retries=0,
    )

    assert set(states.values()) == {"success"}, states
    report = report_of(summary, "migration")
    assert report["invoices_written"] == len(wanted), report
    sf = desktop_env.sf()
    invoices = Counter(r[EXT_INVOICE] for r in sf.query(soql.select("Invoice__c", [EXT_INVOICE])))
    assert invoices == Counter(dict.fromkeys(wanted, 1))
    items = Counter(r[EXT_ITEM] for r in sf.query(soql.select("Invoice_Item__c", [EXT_ITEM])))
    assert items == Counter(
        f"Invoice:{i}:{line['Id']}"
        for i, r in wanted.items()
        for line in r["Line"]
        if line["DetailType"] == SALES_LINE
    )

    desktop_env.sandbox.clear_counters()
    _, states, summary = desktop_env.run(
        "sfqb_invoice_migration",
        run_conf={"migration_date": since.isoformat()},
        task_retries=0,
    )
    assert set(states.values()) == {"success"}, states
    assert report_of(summary, "migration")["action"] == "skip"
    assert desktop_env.writes() == {"quickbooks": 0, "salesforce": 0}


def test_given_a_new_desktop_invoice_when_paid_then_its_invoice_c_follows_and_reconciles(
    desktop_env,
):
    """A Desktop invoice made after the install date becomes an Invoice__c with its lines and
    balance; a payment received in QuickBooks brings the balance to 0 and Is Paid on the next
    run; reconciliation then finds nothing to report, and a further run writes nothing
    (R-INV-1, R-INV-4, R-QBD-3)."""
    qb, customer, item = first_synced(desktop_env)
    line = {
        "DetailType": SALES_LINE,
        "Amount": 90,
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 3, "UnitPrice": 30},
    }
    (made,) = qb.batch(
        [
            BatchOp(
                "test-invoice",
                "create",
                "Invoice",
                {"CustomerRef": {"value": customer["Id"]}, "Line": [line]},
            )
        ],
        request_id="test-invoice",
    )
    assert made.ok, made
    invoice_id = made.record["Id"]

    dag_run, states, summary = desktop_env.run(task_retries=0)

    assert dag_run.state == "success", states
    assert report_of(summary, "invoices")["created"] >= 1
    found = invoices_in_salesforce(desktop_env, ["Outstanding_Balance__c", "Is_Paid__c"])
    assert Decimal(str(found[invoice_id]["Outstanding_Balance__c"])) == Decimal("90")
    assert found[invoice_id]["Is_Paid__c"] is False

    pay(desktop_env, customer["Id"], invoice_id, "90.00")
    dag_run, states, summary = desktop_env.run(task_retries=0)

    assert dag_run.state == "success", states
    found = invoices_in_salesforce(desktop_env, ["Outstanding_Balance__c", "Is_Paid__c"])
    assert Decimal(str(found[invoice_id]["Outstanding_Balance__c"])) == 0
    assert found[invoice_id]["Is_Paid__c"] is True
    reconcile = report_of(summary, "reconcile")
    assert reconcile["warnings"] == [], reconcile["warnings"]

    desktop_env.sandbox.clear_counters()
    dag_run, states, _ = desktop_env.run(task_retries=0)
    assert dag_run.state == "success", states
    assert desktop_env.writes() == {"quickbooks": 0, "salesforce": 0}


def add_invoice(env, customer_id: str, item_id: str, memo: str = "") -> str:
    """An invoice a QuickBooks user enters (one line of two at 45.00); its TxnID."""
    from lxml import etree

    answer = env.in_quickbooks(
        "<InvoiceAddRq><InvoiceAdd>"
        f"<CustomerRef><ListID>{customer_id}</ListID></CustomerRef>"
        + (f"<Memo>{memo}</Memo>" if memo else "")
        + f"<InvoiceLineAdd><ItemRef><ListID>{item_id}</ListID></ItemRef>"
        "<Quantity>2</Quantity><Rate>45.00</Rate></InvoiceLineAdd>"
        "</InvoiceAdd></InvoiceAddRq>"
    )
    return etree.fromstring(answer.split("?>", 1)[-1].strip().encode()).findtext(".//TxnID")


def void(env, invoice_id: str) -> None:
    env.in_quickbooks(
        f"<TxnVoidRq><TxnVoidType>Invoice</TxnVoidType><TxnID>{invoice_id}</TxnID></TxnVoidRq>"
    )


def test_given_desktop_invoices_voided_in_quickbooks_when_synced_then_invoice_c_says_voided(
    desktop_env,
):
    """QuickBooks Desktop voids an invoice by zeroing it and putting "VOID:" before its memo
    (TxnVoidRq): an Invoice__c synced before the void turns Voided, balance 0, not paid, its
    item at 0; an invoice voided before it was ever synced arrives Voided; neither is a
    reconciliation difference, and a further run writes nothing (R-INV-1, R-INV-4, R-QBD-3)."""
    qb, customer, item = first_synced(desktop_env)
    copied = add_invoice(desktop_env, customer["Id"], item["Id"], memo="Spring order")
    dag_run, states, _ = desktop_env.run(task_retries=0)
    assert dag_run.state == "success", states
    fields = ["Outstanding_Balance__c", "Is_Paid__c", "Status__c"]
    found = invoices_in_salesforce(desktop_env, fields)[copied]
    assert (found["Status__c"], Decimal(str(found["Outstanding_Balance__c"]))) == ("Open", 90)

    void(desktop_env, copied)
    never_copied = add_invoice(desktop_env, customer["Id"], item["Id"])
    void(desktop_env, never_copied)
    assert qb.read("Invoice", copied)["PrivateNote"] == "VOID: Spring order"
    dag_run, states, summary = desktop_env.run(task_retries=0)

    assert dag_run.state == "success", states
    found = invoices_in_salesforce(desktop_env, fields)
    for invoice_id in (copied, never_copied):
        got = found[invoice_id]
        assert (
            got["Status__c"],
            Decimal(str(got["Outstanding_Balance__c"])),
            got["Is_Paid__c"],
        ) == ("Voided", 0, False), invoice_id
    lines = desktop_env.sf().query(
        soql.select(
            "Invoice_Item__c",
            ["Amount__c"],
            where=soql.eq("Invoice__r.External_Invoice_ID__c", copied),
        )
    )
    assert [Decimal(str(r["Amount__c"])) for r in lines] == [0]
    reconcile = report_of(summary, "reconcile")
    assert reconcile["warnings"] == [], reconcile["warnings"]

    desktop_env.sandbox.clear_counters()
    dag_run, states, _ = desktop_env.run(task_retries=0)
    assert dag_run.state == "success", states
    assert desktop_env.writes() == {"quickbooks": 0, "salesforce": 0}
