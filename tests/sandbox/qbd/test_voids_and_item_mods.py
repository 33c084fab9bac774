"""TxnVoid of invoices and sales receipts, and the sparse item Mods (price, active flag, name)
(api-notes 8.6, 8.7)."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytestmark = pytest.mark.sandbox


def _item(qb, name: str) -> dict:
    return qb.company.store.find_name("Item", name)


def _invoice(qb, customer: str, lines: str, memo: str = "") -> str:
    rs = qb.one(
        f"<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>{customer}</FullName></CustomerRef>"
        + (f"<Memo>{memo}</Memo>" if memo else "")
        + lines
        + "</InvoiceAdd></InvoiceAddRq>"
    )
    assert rs.get("statusCode") == "0", rs.get("statusMessage")
    return rs.findtext("InvoiceRet/TxnID")


def _line(item: str, quantity: int) -> str:
    return (
        f"<InvoiceLineAdd><ItemRef><FullName>{item}</FullName></ItemRef>"
        f"<Quantity>{quantity}</Quantity></InvoiceLineAdd>"
    )


def _void(qb, kind: str, txn_id: str):
    return qb.one(
        f"<TxnVoidRq><TxnVoidType>{kind}</TxnVoidType><TxnID>{txn_id}</TxnID></TxnVoidRq>"
    )


def _read(qb, kind: str, txn_id: str):
    return qb.one(
        f"<{kind}QueryRq><TxnID>{txn_id}</TxnID><IncludeLineItems>true</IncludeLineItems>"
        f"</{kind}QueryRq>"
    ).find(f"{kind}Ret")


def test_given_an_open_invoice_when_voided_then_it_stays_with_zero_amounts_and_a_void_memo(qb):
    qb.customer("Void Co")
    on_hand = Decimal(_item(qb, "Widget 0004")["QuantityOnHand"])
    txn = _invoice(qb, "Void Co", _line("Consulting", 2) + _line("Widget 0004", 3), memo="sfqb:x")
    before = _read(qb, "Invoice", txn)
    assert qb.company.store.find_name("Customer", "Void Co")["Balance"] != "0.00"
    qb.advance(60)
    rs = _void(qb, "Invoice", txn)
    assert rs.get("statusCode") == "0", rs.get("statusMessage")
    assert (rs.findtext("TxnVoidType"), rs.findtext("TxnID")) == ("Invoice", txn)
    assert rs.findtext("RefNumber") == before.findtext("RefNumber")
    after = _read(qb, "Invoice", txn)
    assert after.findtext("Memo") == "VOID: sfqb:x"
    assert (after.findtext("Subtotal"), after.findtext("BalanceRemaining")) == ("0.00", "0.00")
    assert [line.findtext("Amount") for line in after.findall("InvoiceLineRet")] == ["0.00"] * 2
    assert [line.findtext("Quantity") for line in after.findall("InvoiceLineRet")] == ["0"] * 2
    assert after.findtext("TimeModified") > before.findtext("TimeModified")
    assert after.findtext("EditSequence") != before.findtext("EditSequence")
    assert qb.company.store.find_name("Customer", "Void Co")["Balance"] == "0.00"
    assert Decimal(_item(qb, "Widget 0004")["QuantityOnHand"]) == on_hand
    # a second void and a payment are refused
    assert _void(qb, "Invoice", txn).get("statusCode") == "3170"
    pay = qb.one(
        "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Void Co</FullName>"
        f"</CustomerRef><AppliedToTxnAdd><TxnID>{txn}</TxnID><PaymentAmount>1.00</PaymentAmount>"
        "</AppliedToTxnAdd></ReceivePaymentAdd></ReceivePaymentAddRq>"
    )
    assert pay.get("statusCode") == "3180"


def test_given_a_paid_or_unknown_invoice_when_voided_then_refused_and_nothing_changes(qb):
    qb.customer("Paid Co")
    txn = _invoice(qb, "Paid Co", _line("Consulting", 1))
    qb.one(
        "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Paid Co</FullName>"
        f"</CustomerRef><AppliedToTxnAdd><TxnID>{txn}</TxnID><PaymentAmount>50.00</PaymentAmount>"
        "</AppliedToTxnAdd></ReceivePaymentAdd></ReceivePaymentAddRq>"
    )
    before = dict(qb.company.store.get("Invoice", txn))
    assert _void(qb, "Invoice", txn).get("statusCode") == "3170"
    assert qb.company.store.get("Invoice", txn)["BalanceRemaining"] == before["BalanceRemaining"]
    assert _void(qb, "Invoice", "FFFF-1").get("statusCode") == "3120"
    # a void type the OSR has but the emulator keeps no records of
    assert _void(qb, "Check", txn).get("statusCode") == "1030"


def test_given_a_payment_or_a_sales_order_when_voided_then_the_message_set_does_not_parse(qb):
    from sfqb_sandbox.qbd.errors import QbxmlParseError

    for kind in ("ReceivePayment", "SalesOrder"):
        with pytest.raises(QbxmlParseError):
            _void(qb, kind, "1-1")


def test_given_a_sales_receipt_when_voided_then_its_total_is_zero_and_stock_returns(qb):
    on_hand = Decimal(_item(qb, "Widget 0002")["QuantityOnHand"])
    rs = qb.one(
        "<SalesReceiptAddRq><SalesReceiptAdd><SalesReceiptLineAdd><ItemRef><FullName>Widget 0002"
        "</FullName></ItemRef><Quantity>3</Quantity></SalesReceiptLineAdd></SalesReceiptAdd>"
        "</SalesReceiptAddRq>"
    )
    txn = rs.findtext("SalesReceiptRet/TxnID")
    assert Decimal(_item(qb, "Widget 0002")["QuantityOnHand"]) == on_hand - 3
    assert _void(qb, "SalesReceipt", txn).get("statusCode") == "0"
    after = _read(qb, "SalesReceipt", txn)
    assert (after.findtext("TotalAmount"), after.findtext("Memo")) == ("0.00", "VOID:")
    assert Decimal(_item(qb, "Widget 0002")["QuantityOnHand"]) == on_hand


def _mod(qb, kind: str, item: dict, body: str, sequence: str | None = None):
    return qb.one(
        f"<{kind}ModRq><{kind}Mod><ListID>{item['ListID']}</ListID>"
        f"<EditSequence>{sequence or item['EditSequence']}</EditSequence>{body}"
        f"</{kind}Mod></{kind}ModRq>"
    )


def test_given_a_service_item_when_its_price_is_modified_then_only_the_price_changes(qb):
    item = _item(qb, "Consulting")
    qb.advance(60)
    rs = _mod(
        qb, "ItemService", item, "<SalesOrPurchaseMod><Price>175.50</Price></SalesOrPurchaseMod>"
    )
    assert rs.get("statusCode") == "0", rs.get("statusMessage")
    ret = rs.find("ItemServiceRet")
    assert ret.findtext("SalesOrPurchase/Price") == "175.50"
    assert ret.findtext("SalesOrPurchase/Desc") == "Consulting (per hour)"
    assert ret.findtext("SalesOrPurchase/AccountRef/FullName") == "Sales"
    assert (ret.findtext("Name"), ret.findtext("IsActive")) == ("Consulting", "true")
    assert ret.findtext("EditSequence") != item["EditSequence"]
    assert _item(qb, "Consulting")["TimeModified"] > item["TimeModified"]
    # a later invoice line takes the new price
    qb.customer("Price Co")
    inv = _read(qb, "Invoice", _invoice(qb, "Price Co", _line("Consulting", 2)))
    assert inv.findtext("Subtotal") == "351.00"
    # the EditSequence read before is stale now
    stale = _mod(qb, "ItemService", item, "<IsActive>false</IsActive>")
    assert stale.get("statusCode") == "3200"
    assert _item(qb, "Consulting")["IsActive"] is True


def test_given_an_inventory_item_when_deactivated_then_active_only_queries_leave_it_out(qb):
    item = _item(qb, "Widget 0005")
    rs = _mod(qb, "ItemInventory", item, "<IsActive>false</IsActive><SalesPrice>31.25</SalesPrice>")
    assert rs.get("statusCode") == "0", rs.get("statusMessage")
    ret = rs.find("ItemInventoryRet")
    assert (ret.findtext("IsActive"), ret.findtext("SalesPrice")) == ("false", "31.25")
    assert ret.findtext("QuantityOnHand") == item["QuantityOnHand"]
    active = qb.one(
        "<ItemInventoryQueryRq><NameFilter><MatchCriterion>StartsWith</MatchCriterion><Name>Widget 0005</Name></NameFilter></ItemInventoryQueryRq>"
    )
    assert active.find("ItemInventoryRet") is None
    every = qb.one(
        "<ItemQueryRq><ActiveStatus>All</ActiveStatus><NameFilter><MatchCriterion>StartsWith"
        "</MatchCriterion><Name>Widget 0005</Name></NameFilter></ItemQueryRq>"
    )
    assert every.findtext("ItemInventoryRet/IsActive") == "false"


def test_given_an_item_mod_when_out_of_order_or_of_another_type_then_refused(qb):
    from sfqb_sandbox.qbd.errors import QbxmlParseError

    item = _item(qb, "Consulting")
    with pytest.raises(QbxmlParseError):  # IsActive comes after Name, before the aggregates
        _mod(
            qb,
            "ItemService",
            item,
            "<SalesOrPurchaseMod><Price>1.00</Price></SalesOrPurchaseMod><IsActive>false</IsActive>",
        )
    assert _mod(qb, "ItemInventory", item, "<IsActive>false</IsActive>").get("statusCode") == "3120"
    wrong = _mod(
        qb,
        "ItemService",
        item,
        "<SalesAndPurchaseMod><SalesPrice>1.00</SalesPrice></SalesAndPurchaseMod>",
    )
    assert wrong.get("statusCode") == "3170"
    assert _item(qb, "Consulting")["EditSequence"] == item["EditSequence"]


def test_given_a_non_inventory_item_when_renamed_then_its_full_name_changes_and_names_stay_unique(
    qb,
):
    rs = qb.one(
        "<ItemNonInventoryAddRq><ItemNonInventoryAdd><Name>Cable</Name><SalesOrPurchase>"
        "<Price>4.00</Price><AccountRef><FullName>Sales</FullName></AccountRef>"
        "</SalesOrPurchase></ItemNonInventoryAdd></ItemNonInventoryAddRq>"
    )
    item = _item(qb, "Cable")
    assert rs.get("statusCode") == "0"
    taken = _mod(qb, "ItemNonInventory", item, "<Name>Consulting</Name>")
    assert taken.get("statusCode") == "3100"
    renamed = _mod(qb, "ItemNonInventory", item, "<Name>Cable 2m</Name>")
    assert renamed.findtext("ItemNonInventoryRet/FullName") == "Cable 2m"
    assert renamed.findtext("ItemNonInventoryRet/SalesOrPurchase/Price") == "4.00"
