"""Sales orders, invoices, payments: linking, balances, inventory, editions, deletions
(api-notes 8.7, 8.8)."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytestmark = pytest.mark.sandbox


def _so(qb, customer: str, quantity: int = 10, item: str = "Widget 0003") -> tuple[str, str]:
    rs = qb.one(
        f"<SalesOrderAddRq><SalesOrderAdd><CustomerRef><FullName>{customer}</FullName></CustomerRef>"
        f"<SalesOrderLineAdd><ItemRef><FullName>{item}</FullName></ItemRef><Quantity>{quantity}</Quantity>"
        "<Rate>20.00</Rate></SalesOrderLineAdd></SalesOrderAdd></SalesOrderAddRq>"
    )
    assert rs.get("statusCode") == "0", rs.get("statusMessage")
    return rs.findtext("SalesOrderRet/TxnID"), rs.findtext(
        "SalesOrderRet/SalesOrderLineRet/TxnLineID"
    )


def _item(qb, name: str) -> dict:
    return qb.company.store.find_name("Item", name)


def _customer(qb, name: str) -> dict:
    return qb.company.store.find_name("Customer", name)


def test_given_a_sales_order_when_partly_invoiced_then_it_stays_open_and_links_both_ways(qb):
    qb.customer("Partial Co")
    on_so = Decimal(_item(qb, "Widget 0003")["QuantityOnSalesOrder"])
    on_hand = Decimal(_item(qb, "Widget 0003")["QuantityOnHand"])
    so_id, line_id = _so(qb, "Partial Co")
    assert Decimal(_item(qb, "Widget 0003")["QuantityOnSalesOrder"]) == on_so + 10
    inv = qb.one(
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Partial Co</FullName></CustomerRef>"
        f"<InvoiceLineAdd><Quantity>4</Quantity><LinkToTxn><TxnID>{so_id}</TxnID><TxnLineID>{line_id}</TxnLineID>"
        "</LinkToTxn></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>"
    )
    assert inv.get("statusCode") == "0", inv.get("statusMessage")
    assert inv.findtext("InvoiceRet/Subtotal") == "80.00"
    assert inv.findtext("InvoiceRet/LinkedTxn/TxnID") == so_id
    so = qb.one(
        f"<SalesOrderQueryRq><TxnID>{so_id}</TxnID><IncludeLineItems>true</IncludeLineItems><IncludeLinkedTxns>true</IncludeLinkedTxns></SalesOrderQueryRq>"
    ).find("SalesOrderRet")
    assert so.findtext("IsFullyInvoiced") == "false"
    assert so.findtext("SalesOrderLineRet/Invoiced") == "4"
    assert so.findtext("LinkedTxn/TxnType") == "Invoice"
    assert Decimal(_item(qb, "Widget 0003")["QuantityOnSalesOrder"]) == on_so + 6
    assert Decimal(_item(qb, "Widget 0003")["QuantityOnHand"]) == on_hand - 4
    # the rest, by linking the whole order
    rest = qb.one(
        f"<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Partial Co</FullName></CustomerRef><LinkToTxnID>{so_id}</LinkToTxnID></InvoiceAdd></InvoiceAddRq>"
    )
    assert rest.findtext("InvoiceRet/InvoiceLineRet/Quantity") == "6"
    so = qb.company.store.get("SalesOrder", so_id)
    assert so["IsFullyInvoiced"] is True
    assert Decimal(_item(qb, "Widget 0003")["QuantityOnSalesOrder"]) == on_so
    assert _customer(qb, "Partial Co")["Balance"] == "200.00"
    again = qb.one(
        f"<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Partial Co</FullName></CustomerRef><LinkToTxnID>{so_id}</LinkToTxnID></InvoiceAdd></InvoiceAddRq>"
    )
    assert again.get("statusCode") == "3180"


def test_given_two_sales_orders_when_invoiced_together_then_one_invoice_links_both(qb):
    qb.customer("Consolidated Co")
    first, _ = _so(qb, "Consolidated Co", 2)
    second, _ = _so(qb, "Consolidated Co", 3)
    inv = qb.one(
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Consolidated Co</FullName></CustomerRef>"
        f"<LinkToTxnID>{first}</LinkToTxnID><LinkToTxnID>{second}</LinkToTxnID></InvoiceAdd></InvoiceAddRq>"
    ).find("InvoiceRet")
    assert sorted(link.findtext("TxnID") for link in inv.findall("LinkedTxn")) == sorted(
        [first, second]
    )
    assert inv.findtext("Subtotal") == "100.00"
    assert all(qb.company.store.get("SalesOrder", t)["IsFullyInvoiced"] for t in (first, second))


def test_given_another_customers_sales_order_when_linked_then_refused(qb):
    qb.customer("Owner Co")
    qb.customer("Stranger Co")
    so_id, _ = _so(qb, "Owner Co")
    rs = qb.one(
        f"<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Stranger Co</FullName></CustomerRef><LinkToTxnID>{so_id}</LinkToTxnID></InvoiceAdd></InvoiceAddRq>"
    )
    assert rs.get("statusCode") == "3180"


def test_given_payments_when_applied_then_balances_and_paid_status_follow(qb):
    parent = qb.customer("Pay Co")
    qb.customer("Job P", f"<ParentRef><ListID>{parent.findtext('ListID')}</ListID></ParentRef>")
    inv = qb.one(
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Pay Co:Job P</FullName></CustomerRef>"
        "<InvoiceLineAdd><ItemRef><FullName>Consulting</FullName></ItemRef><Quantity>2</Quantity></InvoiceLineAdd>"
        "</InvoiceAdd></InvoiceAddRq>"
    ).find("InvoiceRet")
    assert inv.findtext("Subtotal") == "300.00"  # the item's price
    assert _customer(qb, "Pay Co:Job P")["Balance"] == "300.00"
    assert _customer(qb, "Pay Co")["TotalBalance"] == "300.00"
    txn = inv.findtext("TxnID")
    pay = qb.one(
        "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Pay Co:Job P</FullName></CustomerRef>"
        f"<TotalAmount>100.00</TotalAmount><AppliedToTxnAdd><TxnID>{txn}</TxnID><PaymentAmount>100.00</PaymentAmount>"
        "</AppliedToTxnAdd></ReceivePaymentAdd></ReceivePaymentAddRq>"
    )
    assert pay.get("statusCode") == "0", pay.get("statusMessage")
    assert pay.findtext("ReceivePaymentRet/AppliedToTxnRet/BalanceRemaining") == "200.00"
    ret = qb.one(
        f"<InvoiceQueryRq><TxnID>{txn}</TxnID><IncludeLinkedTxns>true</IncludeLinkedTxns></InvoiceQueryRq>"
    ).find("InvoiceRet")
    assert (
        ret.findtext("BalanceRemaining"),
        ret.findtext("AppliedAmount"),
        ret.findtext("IsPaid"),
    ) == ("200.00", "-100.00", "false")
    assert ret.findtext("LinkedTxn/TxnType") == "ReceivePayment"
    too_much = qb.one(
        "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Pay Co:Job P</FullName></CustomerRef>"
        f"<AppliedToTxnAdd><TxnID>{txn}</TxnID><PaymentAmount>250.00</PaymentAmount></AppliedToTxnAdd>"
        "</ReceivePaymentAdd></ReceivePaymentAddRq>"
    )
    assert too_much.get("statusCode") == "3180"
    qb.one(
        "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Pay Co:Job P</FullName></CustomerRef>"
        "<TotalAmount>200.00</TotalAmount><IsAutoApply>true</IsAutoApply></ReceivePaymentAdd></ReceivePaymentAddRq>"
    )
    assert qb.company.store.get("Invoice", txn)["IsPaid"] is True
    assert _customer(qb, "Pay Co")["TotalBalance"] == "0.00"
    paid = qb.one(
        "<InvoiceQueryRq><EntityFilter><FullNameWithChildren>Pay Co</FullNameWithChildren></EntityFilter><PaidStatus>PaidOnly</PaidStatus></InvoiceQueryRq>"
    )
    assert [r.findtext("TxnID") for r in paid.findall("InvoiceRet")] == [txn]


def test_given_a_sales_receipt_when_added_then_inventory_falls(qb):
    on_hand = Decimal(_item(qb, "Widget 0002")["QuantityOnHand"])
    rs = qb.one(
        "<SalesReceiptAddRq><SalesReceiptAdd><SalesReceiptLineAdd><ItemRef><FullName>Widget 0002</FullName></ItemRef><Quantity>3</Quantity></SalesReceiptLineAdd></SalesReceiptAdd></SalesReceiptAddRq>"
    )
    assert rs.get("statusCode") == "0"
    assert Decimal(_item(qb, "Widget 0002")["QuantityOnHand"]) == on_hand - 3


def test_given_a_sales_order_when_modified_then_edit_sequence_and_invoiced_lines_are_guarded(qb):
    qb.customer("Mod Co")
    so_id, line_id = _so(qb, "Mod Co", 5)
    so = qb.company.store.get("SalesOrder", so_id)
    ok = qb.one(
        f"<SalesOrderModRq><SalesOrderMod><TxnID>{so_id}</TxnID><EditSequence>{so['EditSequence']}</EditSequence><Memo>rush</Memo><SalesOrderLineMod><TxnLineID>{line_id}</TxnLineID><Quantity>8</Quantity></SalesOrderLineMod></SalesOrderMod></SalesOrderModRq>"
    )
    assert ok.get("statusCode") == "0", ok.get("statusMessage")
    assert ok.findtext("SalesOrderRet/TotalAmount") == "160.00"
    stale = qb.one(
        f"<SalesOrderModRq><SalesOrderMod><TxnID>{so_id}</TxnID><EditSequence>{so['EditSequence']}</EditSequence><Memo>x</Memo></SalesOrderMod></SalesOrderModRq>"
    )
    assert stale.get("statusCode") == "3200"


def test_given_the_pro_edition_when_sales_orders_are_used_then_status_3250(make):
    qb = make(edition="Pro")
    assert "Pro" in qb.one("<HostQueryRq/>").findtext("HostRet/ProductName")
    assert qb.one("<SalesOrderQueryRq/>").get("statusCode") == "3250"
    qb.customer("Pro Co")
    rs = qb.one(
        "<SalesOrderAddRq><SalesOrderAdd><CustomerRef><FullName>Pro Co</FullName></CustomerRef></SalesOrderAdd></SalesOrderAddRq>"
    )
    assert rs.get("statusCode") == "3250"
    assert not qb.company.store.objects["SalesOrder"]


def test_given_txn_date_filters_when_queried_then_local_dates_bound_them(qb):
    qb.customer("Dated Co")
    for day in ("2026-01-10", "2026-02-10"):
        qb.one(
            f"<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Dated Co</FullName></CustomerRef><TxnDate>{day}</TxnDate><InvoiceLineAdd><ItemRef><FullName>Consulting</FullName></ItemRef></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>"
        )
    rs = qb.one(
        "<InvoiceQueryRq><TxnDateRangeFilter><FromTxnDate>2026-02-01</FromTxnDate><ToTxnDate>2026-02-28</ToTxnDate></TxnDateRangeFilter><EntityFilter><FullName>Dated Co</FullName></EntityFilter></InvoiceQueryRq>"
    )
    assert [r.findtext("TxnDate") for r in rs.findall("InvoiceRet")] == ["2026-02-10"]


def test_given_deleted_records_when_queried_then_they_show_for_90_days(qb):
    c = qb.customer("Gone Co")
    inv = qb.one(
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Gone Co</FullName></CustomerRef><InvoiceLineAdd><ItemRef><FullName>Consulting</FullName></ItemRef></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>"
    )
    txn = inv.findtext("InvoiceRet/TxnID")
    in_use = qb.one(
        f"<ListDelRq><ListDelType>Customer</ListDelType><ListID>{c.findtext('ListID')}</ListID></ListDelRq>"
    )
    assert in_use.get("statusCode") == "3170"
    assert (
        qb.one(f"<TxnDelRq><TxnDelType>Invoice</TxnDelType><TxnID>{txn}</TxnID></TxnDelRq>").get(
            "statusCode"
        )
        == "0"
    )
    assert _customer(qb, "Gone Co")["Balance"] == "0.00"
    deleted = qb.one(
        f"<ListDelRq><ListDelType>Customer</ListDelType><ListID>{c.findtext('ListID')}</ListID></ListDelRq>"
    )
    assert deleted.findtext("FullName") == "Gone Co"
    lists = qb.one("<ListDeletedQueryRq><ListDelType>Customer</ListDelType></ListDeletedQueryRq>")
    assert lists.findtext("ListDeletedRet/ListID") == c.findtext("ListID")
    txns = qb.one("<TxnDeletedQueryRq><TxnDelType>Invoice</TxnDelType></TxnDeletedQueryRq>")
    assert txns.findtext("TxnDeletedRet/TxnID") == txn
    qb.advance(91 * 86400)
    assert (
        qb.one("<ListDeletedQueryRq><ListDelType>Customer</ListDelType></ListDeletedQueryRq>").get(
            "statusCode"
        )
        == "1"
    )
