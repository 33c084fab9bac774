"""The opportunity rules on QuickBooks Desktop (docs/rules.md sections 3 and 10): Sales Orders,
the edition, Desktop header fields, and Sales Order updates after creation."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from sfqb.areas import opportunities as rules
from sfqb.frames import records_frame
from tests.unit.areas.test_opportunities import ITEMS, TODAY, line, opp, reasons

pytestmark = pytest.mark.unit


def plan(opps, lines, *, edition="enterprise", orders=None, modify=False, **inputs):
    data = rules.OpportunityInputs(
        opportunities=records_frame(opps, rules.OPPORTUNITY_FIELDS),
        lines=records_frame(lines, rules.LINE_FIELDS),
        contacts=records_frame([], rules.CONTACT_FIELDS),
        items=inputs.pop("items", ITEMS),
        **inputs,
    )
    return rules.plan_opportunities(
        data,
        online=False,
        today=TODAY,
        desktop_edition=edition,
        orders=orders,
        modify=modify,
    )


def test_given_each_transaction_type_on_desktop_when_planned_then_each_becomes_its_entity():
    """R-OPP-2: on Desktop Invoice, Sales Receipt and Sales Order make InvoiceAdd,
    SalesReceiptAdd and SalesOrderAdd payloads; a Sales Order keeps its due date and terms."""
    result = plan(
        [
            opp("o1"),
            opp("o2", Transaction_Type__c="Sales Receipt"),
            opp("o3", Transaction_Type__c="Sales Order", Terms__c="Net 30"),
        ],
        [line(f"l{n}", f"o{n}", item="5") for n in (1, 2, 3)],
        terms={"Net 30": "T3"},
    )
    entities = dict(zip(result.creates["key"], result.creates["entity"], strict=True))
    assert entities == {"o1": "Invoice", "o2": "SalesReceipt", "o3": "SalesOrder"}
    order = json.loads(result.creates.set_index("key").loc["o3", "payload"])
    assert order["SalesTermRef"] == {"value": "T3"} and order["DueDate"] == TODAY.isoformat()
    assert result.skips.empty


@pytest.mark.parametrize(
    ("online", "edition", "words"),
    [
        (True, None, "QuickBooks Online does not have"),
        (False, "pro", "QuickBooks Desktop Pro does not have"),
    ],
)
def test_given_an_edition_without_sales_orders_when_planned_then_a_sales_order_is_a_warning_naming_it(
    online, edition, words
):
    """R-OPP-2, R-QBD-5: Online and Desktop Pro have no Sales Orders: a Sales Order
    Opportunity is a WARNING naming the edition, not retried; Premier and Enterprise make it."""
    opps = [opp("o1", Transaction_Type__c="Sales Order")]
    lines = [line("l1", "o1", item="5")]
    data = rules.OpportunityInputs(
        opportunities=records_frame(opps, rules.OPPORTUNITY_FIELDS),
        lines=records_frame(lines, rules.LINE_FIELDS),
        contacts=records_frame([], rules.CONTACT_FIELDS),
        items=ITEMS,
    )
    result = rules.plan_opportunities(data, online=online, today=TODAY, desktop_edition=edition)
    reason, level = reasons(result)["o1"]
    assert words in reason and level == "WARNING" and result.creates.empty
    assert result.retry == []
    for other in ("premier", "enterprise"):
        assert list(plan(opps, lines, edition=other).creates["entity"]) == ["SalesOrder"]


def test_given_po_number_and_sales_rep_on_desktop_when_planned_then_they_are_transaction_fields():
    """R-OPP-4: on Desktop PO Number is PONumber and Sales Rep is SalesRepRef by initials (no
    custom fields, no note about them); a Sales Receipt has no PO number."""
    result = plan(
        [
            opp("o1", Transaction_Type__c="Sales Order", PO_Number__c="PO-1", Sales_Rep__c="JD"),
            opp("o2", Transaction_Type__c="Sales Receipt", PO_Number__c="PO-2", Sales_Rep__c="AK"),
        ],
        [line("l1", "o1", item="5"), line("l2", "o2", item="5")],
    )
    payloads = {r.key: json.loads(r.payload) for r in result.creates.itertuples()}
    assert payloads["o1"]["PONumber"] == "PO-1"
    assert payloads["o1"]["SalesRepRef"] == {"name": "JD"}
    assert "PONumber" not in payloads["o2"] and payloads["o2"]["SalesRepRef"] == {"name": "AK"}
    assert not any("CustomField" in p for p in payloads.values())
    assert result.notes == []


def sales_order(**fields) -> dict:
    base = {
        "Id": "SO-1",
        "SyncToken": "77",
        "DocNumber": "1001",
        "TxnDate": "2026-11-02",
        "PONumber": "PO-1",
        "IsFullyInvoiced": False,
        "Line": [
            {
                "Id": "L1",
                "DetailType": "SalesItemLineDetail",
                "Description": None,
                "SalesItemLineDetail": {"ItemRef": {"value": "5"}, "Qty": "2", "UnitPrice": "10"},
            },
            {
                "Id": "L9",
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "6"}, "Qty": "1", "UnitPrice": "4"},
            },
        ],
    }
    return {**base, **fields}


def linked_order_plan(order: dict, *, qty=2, modify=True, extra_lines=(), **fields):
    opportunity = opp(
        "o1",
        **{
            "Transaction_Type__c": "Sales Order",
            "External_Transaction_ID__c": "SO-1",
            "Transaction_Date__c": "2026-11-02",
            "PO_Number__c": "PO-1",
            **fields,
        },
    )
    lines = [line("l1", "o1", item="5", qty=qty, External_Line_ID__c="SalesOrder:SO-1:L1")]
    return plan([opportunity], [*lines, *extra_lines], orders={"SO-1": order}, modify=modify)


def test_given_a_linked_sales_order_that_agrees_when_planned_then_nothing_is_sent():
    """R-OPP-6: an Opportunity whose Sales Order already says the same (a QuickBooks
    line no product names counts as agreeing: it is kept) makes no update."""
    result = linked_order_plan(sales_order())
    assert result.updates.empty and result.creates.empty and result.skips.empty


def test_given_changes_to_a_linked_sales_order_when_planned_then_only_the_differences_are_sent():
    """R-OPP-6, R-QBD-6: a changed quantity modifies its line by TxnLineID, a new product is
    a new line (linked after), a new PO Number goes in the header; QuickBooks' own line is
    kept (its TxnLineID alone), addresses and unchanged fields are not sent."""
    result = linked_order_plan(
        sales_order(),
        qty=5,
        PO_Number__c="PO-9",
        extra_lines=[line("l2", "o1", item="6", qty=3, price=7, sort=2)],
    )
    (row,) = result.updates.itertuples()
    payload = json.loads(row.payload)
    assert (payload["Id"], payload["SyncToken"], payload["PONumber"]) == ("SO-1", "77", "PO-9")
    assert "TxnDate" not in payload and "BillAddr" not in payload
    changed, kept, new = payload["Line"]
    assert changed["Id"] == "L1" and Decimal(changed["SalesItemLineDetail"]["Qty"]) == 5
    assert kept == {"Id": "L9"}
    assert "Id" not in new and new["SalesItemLineDetail"]["ItemRef"] == {"value": "6"}
    assert json.loads(row.new_line_ids) == ["l2"]


@pytest.mark.parametrize(
    ("order", "modify", "words"),
    [
        (sales_order(), False, "allow_salesforce_to_modify_quickbooks is off"),
        (sales_order(IsFullyInvoiced=True), True, "is fully invoiced"),
        (sales_order(IsManuallyClosed=True), True, "is closed"),
    ],
)
def test_given_a_sales_order_not_to_change_when_planned_then_it_is_skipped_with_why(
    order, modify, words
):
    """R-OPP-6, R-QBD-6: with the preference off, or once the Sales Order is fully invoiced (or
    closed), a changed Opportunity is an INFO skip and nothing is sent."""
    result = linked_order_plan(order, qty=5, modify=modify)
    reason, level = reasons(result)["o1"]
    assert words in reason and level == "INFO"
    assert result.updates.empty and result.creates.empty


def test_given_linked_invoices_on_desktop_when_planned_then_they_are_never_updated():
    """R-OPP-6: Invoices and Sales Receipts are never changed from Salesforce, on Desktop too."""
    result = plan(
        [opp("o1", External_Transaction_ID__c="INV-1")],
        [line("l1", "o1", item="5", qty=9)],
        modify=True,
    )
    assert result.updates.empty and "never changed from Salesforce" in reasons(result)["o1"][0]
