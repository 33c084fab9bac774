"""The pure rules of QuickBooks Invoices and payments -> Salesforce (docs/rules.md section 5)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from sfqb.areas import invoices as rules
from sfqb.areas.invoices import (
    EXT_INVOICE,
    EXT_ITEM,
    EXT_LINK,
    EXT_TXN,
    InvoiceInputs,
    invoice_status,
    opportunity_links,
    plan_invoices,
)
from sfqb.frames import records_frame
from sfqb.outcomes import INFO, WARNING
from sfqb.steps.invoices import invoice_frames, paid_invoice_ids

pytestmark = pytest.mark.unit

ACCOUNT = "001ACC"
PRODUCT = "01tWIDGET"


def qb_invoice(id_="130", *, balance="45.50", total="45.50", lines=None, **fields) -> dict:
    record = {
        "Id": id_,
        "SyncToken": "0",
        "DocNumber": "1001",
        "TxnDate": "2026-01-15",
        "DueDate": "2026-02-14",
        "SalesTermRef": {"value": "3", "name": "Net 30"},
        "ClassRef": {"value": "5", "name": "East"},
        "ShipMethodRef": {"value": "UPS", "name": "UPS"},
        "CustomerRef": {"value": "58", "name": "Acme"},
        "BillAddr": {
            "Line1": "1 Main St",
            "City": "Springfield",
            "CountrySubDivisionCode": "IL",
            "PostalCode": "62701",
        },
        "CustomField": [
            {"DefinitionId": "1", "Name": "Sales Rep", "Type": "StringType", "StringValue": "JD"},
            {"DefinitionId": "2", "Name": "PO Number", "Type": "StringType", "StringValue": "PO-9"},
        ],
        "TotalAmt": Decimal(total),
        "Balance": Decimal(balance),
        "MetaData": {"LastUpdatedTime": "2026-01-15T10:00:00-08:00"},
        "Line": lines
        if lines is not None
        else [
            sales_line("1", "Widget", 2, "10", "20.00", "Widgets"),
            sales_line("2", "Gadget", 1, "25.5", "25.50"),
            {
                "Amount": Decimal("45.50"),
                "DetailType": "SubTotalLineDetail",
                "SubTotalLineDetail": {},
            },
        ],
    }
    return {**record, **fields}


def sales_line(id_, item, qty, price, amount, description=None) -> dict:
    return {
        "Id": id_,
        "LineNum": int(id_),
        "Description": description,
        "Amount": Decimal(amount),
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {
            "ItemRef": {"value": f"i{item}", "name": item},
            "Qty": qty,
            "UnitPrice": Decimal(price),
        },
    }


def inputs(
    records,
    *,
    sf_invoices=(),
    sf_items=(),
    sf_links=(),
    accounts=None,
    products=None,
    opportunities=(),
    customers=(),
) -> InvoiceInputs:
    invoices, lines, orders = invoice_frames(list(records))
    return InvoiceInputs(
        invoices=invoices,
        lines=lines,
        sales_orders=orders,
        sf_invoices=records_frame(list(sf_invoices), rules.SF_INVOICE_COLUMNS),
        sf_items=records_frame(list(sf_items), rules.SF_ITEM_COLUMNS),
        sf_links=records_frame(list(sf_links), rules.SF_LINK_COLUMNS),
        accounts=records_frame(
            [{"Id": ACCOUNT, "External_Account_ID__c": "58"}] if accounts is None else accounts,
            rules.ACCOUNT_COLUMNS,
        ),
        products=records_frame(
            [{"Id": PRODUCT, "ProductCode": "Widget"}, {"Id": "01tGADGET", "ProductCode": "Gadget"}]
            if products is None
            else products,
            rules.PRODUCT_COLUMNS,
        ),
        opportunities=records_frame(list(opportunities), rules.OPPORTUNITY_COLUMNS),
        customers=records_frame(list(customers), rules.CUSTOMER_COLUMNS)[rules.CUSTOMER_COLUMNS],
    )


def salesforce_state(plan, sf_id="a00INV"):
    """The Invoice__c and items Salesforce would hold after ``plan`` was loaded, as SF answers
    them (numbers as floats)."""
    invoices = []
    for entry in plan.invoices:
        record = {k: v for k, v in entry.items() if k not in ("key", "Last_Sync_Date__c")}
        for name in ("Subtotal__c", "Outstanding_Balance__c"):
            record[name] = float(record[name]) if record[name] is not None else None
        invoices.append({"Id": sf_id, **record})
    items = []
    for n, entry in enumerate(plan.item_creates):
        record = {k: v for k, v in entry.items() if k not in ("key", "invoice_id", "Invoice__r")}
        for name in ("Amount__c", "Quantity__c", "Rate__c"):
            record[name] = float(record[name]) if record[name] is not None else None
        items.append({"Id": f"a01ITEM{n}", "Invoice__c": sf_id, **record})
    return invoices, items


def test_given_a_new_invoice_when_planned_then_every_header_field_and_item_is_written():
    """R-INV-1: number, dates, terms, class, sales rep, PO, ship method, address block,
    subtotal, balance, Is Paid and the Account lookup; one item per sales line (the subtotal line
    is not an item) with amount, description, quantity, rate and the Product by Product Code."""
    plan = plan_invoices(inputs([qb_invoice()]))
    assert len(plan.invoices) == 1
    header = plan.invoices[0]
    assert header["key"] == "QB:Invoice:130"
    assert header[EXT_INVOICE] == "130"
    assert header["Name"] == "Invoice 1001"
    assert header["Invoice_Number__c"] == "1001"
    assert header["Invoice_Date__c"] == "2026-01-15"
    assert header["Due_Date__c"] == "2026-02-14"
    assert header["Ship_Date__c"] is None
    assert header["Terms__c"] == "Net 30"
    assert header["Class__c"] == "East"
    assert header["Shipping_Method__c"] == "UPS"
    assert header["Sales_Rep__c"] == "JD"
    assert header["PO_Number__c"] == "PO-9"
    assert header["Billing_Address_Block__c"] == "1 Main St\nSpringfield, IL 62701"
    assert header["Subtotal__c"] == "45.50"
    assert header["Outstanding_Balance__c"] == "45.50"
    assert header["Is_Paid__c"] is False
    assert header["Status__c"] == "Open"
    assert header["Account__c"] == ACCOUNT
    assert header["Last_Sync_Date__c"] is None
    items = {i[EXT_ITEM]: i for i in plan.item_creates}
    assert set(items) == {"Invoice:130:1", "Invoice:130:2"}
    widget = items["Invoice:130:1"]
    assert widget["Amount__c"] == "20.00"
    assert widget["Quantity__c"] == "2.00"
    assert widget["Rate__c"] == "10.0000"
    assert widget["Description__c"] == "Widgets"
    assert widget["Product__c"] == PRODUCT
    assert widget["Invoice__r"] == {EXT_INVOICE: "130"}
    assert widget["key"] == "QB:Invoice:130 line 1"
    assert plan.item_updates == [] and plan.item_deletes == []
    assert plan.skips.empty and plan.notes.empty and plan.retry == []


def test_given_the_same_line_ids_on_two_invoices_when_planned_then_item_external_ids_differ():
    """R-INV-1: QuickBooks numbers lines per invoice, External Invoice Line ID is unique in the
    org: it names the invoice too."""
    plan = plan_invoices(inputs([qb_invoice("130"), qb_invoice("131", DocNumber="1002")]))
    ext = [i[EXT_ITEM] for i in plan.item_creates]
    assert sorted(ext) == ["Invoice:130:1", "Invoice:130:2", "Invoice:131:1", "Invoice:131:2"]


@pytest.mark.parametrize(
    ("deleted", "total", "balance", "note", "status"),
    [
        (False, "45.50", "45.50", None, "Open"),
        (False, "45.50", "20.00", None, "Open"),
        (False, "45.50", "0", None, "Paid"),
        (False, "0", "0", "Voided", "Voided"),
        (False, "0", "0", "Voided - wrong customer", "Voided"),
        (False, "0", "0", None, "Paid"),
        (False, "45.50", "45.50", "Voided later?", "Open"),
        (False, "0.00", "0.00", "VOID: Spring order", "Voided"),
        (False, "0.00", "0.00", "VOID:", "Voided"),
        (False, "45.50", "45.50", "VOID: not yet", "Open"),
        (True, None, None, None, "Deleted"),
    ],
)
def test_given_balances_voids_and_deletes_when_classified_then_the_status_follows(
    deleted, total, balance, note, status
):
    """R-INV-4, R-INV-1: Paid when the balance is 0, Voided when QuickBooks zeroed the amounts
    and noted "Voided" (Online) or put "VOID:" before the memo (Desktop), Deleted when CDC
    says so, else Open."""
    assert invoice_status(deleted, total, balance, note) == status


def test_given_a_synced_invoice_with_no_change_when_planned_again_then_nothing_is_written():
    """R-GEN-4: values equal to Salesforce's (numbers as Salesforce answers them) write
    nothing."""
    first = plan_invoices(inputs([qb_invoice()]))
    sf_invoices, sf_items = salesforce_state(first)
    again = plan_invoices(inputs([qb_invoice()], sf_invoices=sf_invoices, sf_items=sf_items))
    assert again.invoices == [] and again.item_creates == [] and again.item_updates == []
    assert again.item_deletes == [] and again.links == [] and again.placeholders == []


def test_given_a_partial_then_a_full_payment_when_planned_then_balance_and_is_paid_follow():
    """R-INV-4: a payment moves the balance; the full payment makes the invoice Paid."""
    first = plan_invoices(inputs([qb_invoice()]))
    sf_invoices, sf_items = salesforce_state(first)
    partial = plan_invoices(
        inputs([qb_invoice(balance="20.00")], sf_invoices=sf_invoices, sf_items=sf_items)
    )
    assert [
        (i["Outstanding_Balance__c"], i["Is_Paid__c"], i["Status__c"]) for i in partial.invoices
    ] == [("20.00", False, "Open")]
    assert partial.item_creates == [] and partial.item_updates == []
    full = plan_invoices(
        inputs([qb_invoice(balance="0")], sf_invoices=sf_invoices, sf_items=sf_items)
    )
    assert [
        (i["Outstanding_Balance__c"], i["Is_Paid__c"], i["Status__c"]) for i in full.invoices
    ] == [("0.00", True, "Paid")]


def test_given_a_field_edited_in_salesforce_when_planned_then_quickbooks_value_is_written_back():
    """R-INV-6: the compare is against Salesforce's current values, so an edit there is
    overwritten by QuickBooks' value."""
    first = plan_invoices(inputs([qb_invoice()]))
    sf_invoices, sf_items = salesforce_state(first)
    sf_invoices[0]["PO_Number__c"] = "edited in Salesforce"
    sf_items[0]["Rate__c"] = 99.0
    again = plan_invoices(inputs([qb_invoice()], sf_invoices=sf_invoices, sf_items=sf_items))
    assert [i["PO_Number__c"] for i in again.invoices] == ["PO-9"]
    assert [(i[EXT_ITEM], i["Rate__c"]) for i in again.item_updates] == [
        (sf_items[0][EXT_ITEM], "10.0000" if sf_items[0][EXT_ITEM].endswith(":1") else "25.5000")
    ]
    assert "Invoice__r" not in again.item_updates[0]


def test_given_a_line_removed_in_quickbooks_when_planned_then_its_item_is_deleted():
    """R-INV-1: lines removed in QuickBooks are removed in Salesforce."""
    first = plan_invoices(inputs([qb_invoice()]))
    sf_invoices, sf_items = salesforce_state(first)
    shorter = qb_invoice(
        lines=[sales_line("1", "Widget", 2, "10", "20.00", "Widgets")],
        total="20.00",
        balance="20.00",
    )
    again = plan_invoices(inputs([shorter], sf_invoices=sf_invoices, sf_items=sf_items))
    gone = next(i for i in sf_items if i[EXT_ITEM] == "Invoice:130:2")
    assert [(d["Id"], d["invoice_id"]) for d in again.item_deletes] == [(gone["Id"], "130")]
    assert again.item_updates == [] and again.item_creates == []


def test_given_an_item_with_no_product_when_planned_then_the_line_loads_without_it_and_warns():
    """R-INV-1, R-GEN-5: a line whose item has no Product (by Product Code) is still loaded,
    Product empty, with a WARNING naming the item; the invoice is read again next run."""
    plan = plan_invoices(
        inputs([qb_invoice()], products=[{"Id": PRODUCT, "ProductCode": "Widget"}])
    )
    items = {i[EXT_ITEM]: i for i in plan.item_creates}
    assert items["Invoice:130:2"]["Product__c"] is None
    assert items["Invoice:130:1"]["Product__c"] == PRODUCT
    assert list(plan.notes["key"]) == ["QB:Invoice:130 line 2"]
    assert "'Gadget'" in plan.notes["reason"].iloc[0]
    assert set(plan.notes["level"]) == {WARNING}
    assert plan.retry == ["130"]


def test_given_a_customer_with_no_account_when_planned_then_the_invoice_loads_and_warns():
    """R-INV-1, R-GEN-5, R-INV-7: no Account with the customer's External Account ID: the invoice
    is loaded without one, with a WARNING, and waits on its customer (read again once that
    customer has an Account, not retried every run)."""
    plan = plan_invoices(inputs([qb_invoice()], accounts=[]))
    assert [i["Account__c"] for i in plan.invoices] == [None]
    assert list(plan.notes["key"]) == ["QB:Invoice:130"]
    assert "External Account ID 58" in plan.notes["reason"].iloc[0]
    assert plan.retry == [] and plan.waiting == {"58": ["130"]}


def test_given_a_voided_invoice_when_planned_then_it_is_marked_voided_with_no_balance():
    """R-INV-4: a voided invoice (amounts 0, PrivateNote "Voided") is Voided, balance 0, not
    paid; its items follow QuickBooks' zeroed amounts."""
    first = plan_invoices(inputs([qb_invoice()]))
    sf_invoices, sf_items = salesforce_state(first)
    voided = qb_invoice(
        total="0",
        balance="0",
        PrivateNote="Voided",
        lines=[
            sales_line("1", "Widget", 0, "0", "0", "Widgets"),
            sales_line("2", "Gadget", 0, "0", "0"),
        ],
    )
    plan = plan_invoices(inputs([voided], sf_invoices=sf_invoices, sf_items=sf_items))
    header = plan.invoices[0]
    assert (header["Status__c"], header["Outstanding_Balance__c"], header["Is_Paid__c"]) == (
        "Voided",
        "0.00",
        False,
    )
    assert sorted(i["Amount__c"] for i in plan.item_updates) == ["0.00", "0.00"]


def test_given_a_deleted_invoice_when_planned_then_it_is_marked_deleted_and_its_items_kept():
    """R-INV-4: CDC's deleted invoice is marked Deleted with balance 0 in Salesforce, never
    silently left; its items stay."""
    first = plan_invoices(inputs([qb_invoice()]))
    sf_invoices, sf_items = salesforce_state(first)
    deleted = {
        "domain": "QBO",
        "status": "Deleted",
        "Id": "130",
        "MetaData": {"LastUpdatedTime": "2026-01-16T10:00:00-08:00"},
    }
    plan = plan_invoices(inputs([deleted], sf_invoices=sf_invoices, sf_items=sf_items))
    assert plan.marks == [
        {
            "key": "QB:Invoice:130",
            EXT_INVOICE: "130",
            "Status__c": "Deleted",
            "Outstanding_Balance__c": "0.00",
            "Is_Paid__c": False,
            "Last_Sync_Date__c": None,
        }
    ]
    assert plan.invoices == [] and plan.item_deletes == [] and plan.item_updates == []
    marked = [
        {
            **sf_invoices[0],
            "Status__c": "Deleted",
            "Outstanding_Balance__c": 0.0,
            "Is_Paid__c": False,
        }
    ]
    again = plan_invoices(inputs([deleted], sf_invoices=marked, sf_items=sf_items))
    assert again.marks == []


def test_given_an_invoice_deleted_before_it_was_synced_when_planned_then_it_is_skipped_with_info():
    """R-INV-4, R-GEN-5: nothing to mark: an INFO skip, not silence."""
    deleted = {"domain": "QBO", "status": "Deleted", "Id": "140"}
    plan = plan_invoices(inputs([deleted]))
    assert plan.marks == [] and plan.invoices == []
    assert list(plan.skips["key"]) == ["QB:Invoice:140"] and list(plan.skips["level"]) == [INFO]


# --- links (R-INV-2) and placeholders (R-INV-3) --------------------------------------------------


def opp(id_, kind, ext):
    return {"Id": id_, "Name": f"Deal {id_}", "Transaction_Type__c": kind, EXT_TXN: ext}


def test_given_an_invoice_type_opportunity_with_the_invoice_id_when_planned_then_they_are_linked():
    """R-INV-2: an invoice from an Invoice-type Opportunity's transaction is linked to it."""
    plan = plan_invoices(inputs([qb_invoice()], opportunities=[opp("006A", "Invoice", "130")]))
    assert [
        (link[EXT_LINK], link["Opportunity__c"], link["Invoice__r"]) for link in plan.links
    ] == [("130:006A", "006A", {EXT_INVOICE: "130"})]
    assert plan.placeholders == []


def test_given_an_existing_link_when_planned_again_then_it_is_not_rewritten():
    """R-INV-2, R-GEN-4: a link already in Salesforce is not written again."""
    first = plan_invoices(inputs([qb_invoice()], opportunities=[opp("006A", "Invoice", "130")]))
    sf_invoices, sf_items = salesforce_state(first)
    links = [{"Id": "a02L", EXT_LINK: "130:006A", "Invoice__c": "a00INV", "Opportunity__c": "006A"}]
    again = plan_invoices(
        inputs(
            [qb_invoice()],
            sf_invoices=sf_invoices,
            sf_items=sf_items,
            sf_links=links,
            opportunities=[opp("006A", "Invoice", "130")],
        ),
        create_missing_opportunities=True,
    )
    assert again.links == [] and again.placeholders == []


def test_given_an_opportunity_of_another_type_with_the_id_when_linked_then_it_is_not_linked():
    """R-INV-2: only an Invoice-type Opportunity is linked by the invoice's own Id (a Sales
    Receipt's Id can be the same number)."""
    links = opportunity_links(
        ["130"],
        pd.DataFrame(columns=rules.SALES_ORDER_COLUMNS),
        pd.DataFrame([opp("006R", "Sales Receipt", "130")]),
    )
    assert links.empty


def test_given_partial_invoicing_when_linked_then_every_invoice_of_the_sales_order_links_its_opportunity():
    """R-INV-2 (QuickBooks Desktop): several invoices made from one sales order each link the
    sales order's Opportunity (many invoices for one Opportunity)."""
    orders = pd.DataFrame(
        {"invoice_id": ["201", "202", "203"], "sales_order_id": ["SO-7", "SO-7", "SO-7"]}
    )
    links = opportunity_links(
        ["201", "202", "203"], orders, pd.DataFrame([opp("006S", "Sales Order", "SO-7")])
    )
    assert sorted(zip(links["invoice_id"], links["opportunity_id"], links["via"], strict=True)) == [
        ("201", "006S", "sales order SO-7"),
        ("202", "006S", "sales order SO-7"),
        ("203", "006S", "sales order SO-7"),
    ]


def test_given_consolidated_invoicing_when_linked_then_one_invoice_links_each_sales_orders_opportunity():
    """R-INV-2 (QuickBooks Desktop): one invoice made from several sales orders links each of
    their Opportunities once; a sales order with no Opportunity and an Invoice-type Opportunity
    with a sales order's Id add nothing."""
    orders = pd.DataFrame(
        {
            "invoice_id": ["301", "301", "301", "301"],
            "sales_order_id": ["SO-1", "SO-2", "SO-3", "SO-1"],
        }
    )
    opportunities = pd.DataFrame(
        [
            opp("006A", "Sales Order", "SO-1"),
            opp("006B", "Sales Order", "SO-2"),
            opp("006C", "Invoice", "SO-3"),
        ]
    )
    links = opportunity_links(["301"], orders, opportunities)
    assert sorted(zip(links["invoice_id"], links["opportunity_id"], strict=True)) == [
        ("301", "006A"),
        ("301", "006B"),
    ]


def test_given_sales_order_linked_txn_when_framed_and_planned_then_links_are_planned():
    """R-INV-2: LinkedTxn of TxnType SalesOrder on the QuickBooks invoice reaches the plan."""
    record = qb_invoice(
        LinkedTxn=[
            {"TxnId": "SO-7", "TxnType": "SalesOrder"},
            {"TxnId": "900", "TxnType": "Payment"},
        ]
    )
    plan = plan_invoices(
        inputs([record], opportunities=[opp("006S", "Sales Order", "SO-7")]),
        create_missing_opportunities=True,
    )
    assert [link[EXT_LINK] for link in plan.links] == ["130:006S"]
    assert plan.placeholders == []


def test_given_an_untraceable_invoice_when_placeholders_are_off_then_it_is_unlinked():
    """R-INV-3: with create_missing_opportunities off, an invoice nothing traces is loaded
    unlinked."""
    plan = plan_invoices(inputs([qb_invoice()]))
    assert plan.links == [] and plan.placeholders == [] and len(plan.invoices) == 1


def test_given_an_untraceable_invoice_when_placeholders_are_on_then_one_migrated_opportunity_is_planned():
    """R-INV-3: a placeholder Opportunity (Stage Migrated, Invoice type, External Transaction ID
    = the invoice Id, so its upsert can never make two) and its link."""
    plan = plan_invoices(inputs([qb_invoice()]), create_missing_opportunities=True)
    assert plan.placeholders == [
        {
            "key": "QB:Invoice:130",
            EXT_TXN: "130",
            "Name": "Invoice 1001",
            "StageName": "Migrated",
            "CloseDate": "2026-01-15",
            "AccountId": ACCOUNT,
            "Transaction_Type__c": "Invoice",
            "External_Transaction_Number__c": "1001",
            "Last_Sync_Date__c": None,
        }
    ]
    assert [(link["placeholder"], link["Invoice__r"]) for link in plan.links] == [
        ("130", {EXT_INVOICE: "130"})
    ]


def test_given_a_placeholder_made_by_an_earlier_run_when_planned_then_no_second_one_is_planned():
    """R-INV-3: the placeholder holds the invoice's Id, so the invoice now traces to it; with
    its link in place nothing is written."""
    placeholder = opp("006P", "Invoice", "130")
    plan = plan_invoices(
        inputs([qb_invoice()], opportunities=[placeholder]), create_missing_opportunities=True
    )
    assert plan.placeholders == []
    assert [link[EXT_LINK] for link in plan.links] == ["130:006P"]


def test_given_the_invoice_id_taken_by_another_type_when_placeholders_are_on_then_a_warning():
    """R-INV-3, R-GEN-5: External Transaction ID is unique: when a Sales Receipt-type
    Opportunity holds the invoice's Id, the placeholder upsert would overwrite it; it is not
    made and a WARNING says why."""
    plan = plan_invoices(
        inputs([qb_invoice()], opportunities=[opp("006R", "Sales Receipt", "130")]),
        create_missing_opportunities=True,
    )
    assert plan.placeholders == [] and plan.links == []
    assert list(plan.skips["key"]) == ["QB:Invoice:130"]
    assert list(plan.skips["level"]) == [WARNING] and "006R" in plan.skips["reason"].iloc[0]


def test_given_a_voided_untraceable_invoice_when_placeholders_are_on_then_none_is_made():
    """R-INV-3: a voided invoice gets no placeholder Opportunity (there is no sale to carry)."""
    voided = qb_invoice(total="0", balance="0", PrivateNote="Voided")
    plan = plan_invoices(inputs([voided]), create_missing_opportunities=True)
    assert plan.placeholders == [] and plan.links == []


def test_given_the_migration_when_planned_then_existing_opportunities_are_not_linked():
    """R-MIG-2 (the transform the migration reuses): no link to an existing Opportunity; a
    placeholder only where no Opportunity holds the invoice's Id."""
    plan = plan_invoices(
        inputs(
            [qb_invoice("130"), qb_invoice("131")], opportunities=[opp("006A", "Invoice", "130")]
        ),
        create_missing_opportunities=True,
        link_opportunities=False,
    )
    assert plan.links[0]["placeholder"] == "131" and len(plan.links) == 1
    assert [p[EXT_TXN] for p in plan.placeholders] == ["131"]
    assert list(plan.skips["key"]) == ["QB:Invoice:130"]


# --- payments ------------------------------------------------------------------------------------


def test_given_changed_payments_when_read_then_only_their_invoices_are_named():
    """R-INV-4: a payment (also multi-invoice, voided with lines zeroed) names the invoices of
    its lines; a deleted payment from CDC carries no lines and names none."""
    payments = [
        {
            "Id": "900",
            "Line": [
                {"Amount": 10, "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]},
                {"Amount": 5, "LinkedTxn": [{"TxnId": "131", "TxnType": "Invoice"}]},
            ],
        },
        {
            "Id": "901",
            "PrivateNote": "Voided",
            "Line": [
                {"Amount": 0, "LinkedTxn": [{"TxnId": "132", "TxnType": "Invoice"}]},
            ],
        },
        {
            "Id": "902",
            "Line": [{"Amount": 5, "LinkedTxn": [{"TxnId": "77", "TxnType": "CreditMemo"}]}],
        },
        {"domain": "QBO", "status": "Deleted", "Id": "903"},
    ]
    assert paid_invoice_ids(payments) == {"130", "131", "132"}


def test_given_no_invoices_when_planned_then_nothing_is_written():
    """R-INV-5: an empty extract (the area off, or nothing changed) plans nothing."""
    plan = plan_invoices(inputs([]), create_missing_opportunities=True)
    assert plan.invoices == plan.marks == plan.item_creates == plan.links == []
    assert plan.placeholders == [] and plan.skips.empty and plan.notes.empty


class FakeQuickBooks:
    """Answers ``changes`` with given records and records every ``query_in``."""

    def __init__(self, changes: dict, invoices: dict):
        self._changes, self._invoices, self.asked = changes, invoices, []
        self.cdc_calls: list[list[str]] = []

    def changes(self, entities, since):
        self.since = since
        self.cdc_calls.append(list(entities))
        return {e: list(self._changes.get(e, [])) for e in entities}

    def query_in(self, entity, prop, values):
        values = sorted(values)
        self.asked.append((entity, prop, values))
        return [self._invoices[v] for v in values if v in self._invoices]


class FakeSalesforce:
    def __init__(self, ticked=()):
        self.ticked = list(ticked)

    def query(self, text):
        assert "Sync_Me__c" in text
        return [{EXT_INVOICE: i} for i in self.ticked]


def _windows(start="2026-01-15T00:00:00+00:00", end="2026-01-15T01:00:00+00:00"):
    window = {"start": start, "end": end, "mode": "incremental"}
    return {rules.INVOICE_STREAM: window, rules.PAYMENT_STREAM: window}


def test_given_only_a_payment_changed_when_read_then_its_invoices_are_reread_by_id():
    """R-INV-4: a payment change alone brings back the invoices its lines point to, re-read by
    Id (no full invoice read); an invoice CDC already returned is not read twice."""
    from sfqb.state import InMemoryVariables, SyncState
    from sfqb.steps.invoices import read_quickbooks

    payment = {
        "Id": "900",
        "Line": [
            {"Amount": 5, "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]},
            {"Amount": 5, "LinkedTxn": [{"TxnId": "131", "TxnType": "Invoice"}]},
        ],
    }
    qb = FakeQuickBooks(
        {"Payment": [payment], "Invoice": [qb_invoice("131")]},
        {"130": qb_invoice("130", balance="40.50")},
    )
    state = SyncState(InMemoryVariables())
    records = read_quickbooks(qb, FakeSalesforce(ticked=["150"]), state, _windows())
    assert sorted(r["Id"] for r in records) == ["130", "131"]
    assert qb.asked == [("Invoice", "Id", ["130", "150"])]
    assert qb.since.isoformat() == "2026-01-15T00:00:00+00:00"
    # One CDC call per entity: the 1000-object cap is shared by the entities of one call.
    assert qb.cdc_calls == [["Invoice"], ["Payment"]]


def test_given_nothing_changed_when_read_then_no_invoice_is_reread():
    """R-INV-4, R-GEN-2: no Invoice or Payment change, no retry, nothing ticked: no re-read."""
    from sfqb.state import InMemoryVariables, SyncState
    from sfqb.steps.invoices import read_quickbooks

    qb = FakeQuickBooks({}, {})
    assert read_quickbooks(qb, FakeSalesforce(), SyncState(InMemoryVariables()), _windows()) == []
    assert qb.asked == []


def test_given_several_invoices_without_account_or_product_when_planned_then_each_keeps_its_own_salesforce_value():
    """R-INV-1, R-GEN-5: with the customer's Account or the item's Product not found, each invoice
    keeps the Account__c its Invoice__c already has and each item the Product__c it has (the
    others stay empty), with one WARNING per invoice and line (pins the per-record look-up)."""
    first = plan_invoices(
        inputs(
            [qb_invoice("130"), qb_invoice("131", CustomerRef={"value": "59"})],
            accounts=[
                {"Id": ACCOUNT, "External_Account_ID__c": "58"},
                {"Id": "001OTHER", "External_Account_ID__c": "59"},
            ],
        )
    )
    invoices, items = salesforce_state(first)
    for n, record in enumerate(invoices):
        record["Id"] = f"a00INV{n}"
    for record in items:
        record["Invoice__c"] = "a00INV0" if ":130:" in record[EXT_ITEM] else "a00INV1"
    again = plan_invoices(
        inputs(
            [
                qb_invoice("130", balance="0.00"),
                qb_invoice("131", balance="0.00", CustomerRef={"value": "59"}),
                qb_invoice("132", CustomerRef={"value": "60"}),
            ],
            sf_invoices=invoices,
            sf_items=items,
            accounts=[],
            products=[],
        )
    )
    assert {i[EXT_INVOICE]: i["Account__c"] for i in again.invoices} == {
        "130": ACCOUNT,
        "131": "001OTHER",
        "132": None,
    }
    products = {i[EXT_ITEM]: i["Product__c"] for i in again.item_creates}
    assert products == {"Invoice:132:1": None, "Invoice:132:2": None} and not again.item_updates
    assert list(again.notes["key"]) == [
        "QB:Invoice:130",
        "QB:Invoice:131",
        "QB:Invoice:132",
        *(f"QB:Invoice:{i} line {n}" for i in (130, 131, 132) for n in (1, 2)),
    ]
    assert again.retry == ["130", "131", "132"]  # their Products
    assert again.waiting == {"58": ["130"], "59": ["131"], "60": ["132"]}


def test_given_unchanged_and_changed_invoices_when_planned_together_then_each_gets_what_it_gets_alone():
    """R-GEN-4, R-INV-4, R-INV-6: the plan compares a column at a time and turns only the
    changed rows into writes; planned together, an unchanged invoice writes nothing, a paid one
    writes its header, one whose item was edited in Salesforce writes that item back, exactly
    as each does when planned alone."""
    ids = ("130", "131", "132")
    sf_invoices, sf_items = [], []
    for n, invoice_id in enumerate(ids):
        state = salesforce_state(
            plan_invoices(inputs([qb_invoice(invoice_id)])), sf_id=f"a00INV{n}"
        )
        sf_invoices += state[0]
        sf_items += state[1]
    edited = next(i for i in sf_items if i[EXT_ITEM].startswith("Invoice:132:"))
    edited["Rate__c"] = 99.0
    now = [qb_invoice("130"), qb_invoice("131", balance="0"), qb_invoice("132")]

    together = plan_invoices(inputs(now, sf_invoices=sf_invoices, sf_items=sf_items))
    alone = [
        plan_invoices(inputs([record], sf_invoices=sf_invoices, sf_items=sf_items))
        for record in now
    ]

    assert [i[EXT_INVOICE] for i in together.invoices] == ["131"]
    assert [i[EXT_ITEM] for i in together.item_updates] == [edited[EXT_ITEM]]
    assert together.invoices == [i for p in alone for i in p.invoices]
    assert together.item_updates == [i for p in alone for i in p.item_updates]
    assert together.item_creates == [] and together.item_deletes == []
