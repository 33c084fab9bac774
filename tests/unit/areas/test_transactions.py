"""The pure rules of QuickBooks transactions back to Opportunities (R-OPP-7)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from sfqb.areas import transactions as rules
from sfqb.areas.transactions import (
    EXT_LINE,
    LINE_INDEX,
    TransactionInputs,
    line_amounts,
    line_external_id,
    line_ids_of,
    own_type_candidates,
    plan_transactions,
)
from sfqb.mapping.same import DATE, NUMBER, TEXT, same
from sfqb.outcomes import WARNING
from sfqb.steps.transactions import transaction_frames

pytestmark = pytest.mark.unit

BOOK = "01sSTD"
OPP = "006A"


def txn(entity="Invoice", id_="130", **fields) -> dict:
    base = {
        "entity": entity,
        "Id": id_,
        "SyncToken": "0",
        "TotalAmt": "45.50",
        "MetaData.LastUpdatedTime": "2026-01-15T10:00:00-08:00",
        "DocNumber": "1001",
        "TxnDate": "2026-01-15",
        "DueDate": "2026-02-14",
        "ShipDate": None,
        "SalesTermRef.name": "Net 30",
        "ClassRef.name": None,
        "ShipMethodRef.value": "UPS",
        "BillAddr.Block": "1 Main St\nSpringfield, IL 62701",
        "ShipAddr.Block": None,
        "CustomField.PO Number": None,
        "CustomField.Sales Rep": None,
    }
    return {**base, **fields}


def line(
    id_,
    item,
    qty,
    price,
    amount=None,
    *,
    txn_id="130",
    entity="Invoice",
    kind="SalesItemLineDetail",
    description=None,
    name=None,
) -> dict:
    amount = (
        amount if amount is not None else str(Decimal(str(qty or 0)) * Decimal(str(price or 0)))
    )
    return {
        "entity": entity,
        "TxnId": txn_id,
        "Id": id_,
        "LineNum": int(id_) if id_ else None,
        "DetailType": kind,
        "Amount": amount,
        "Description": description,
        rules.ITEM: item,
        rules.ITEM_NAME: name,
        rules.QTY: qty,
        rules.UNIT_PRICE: price,
    }


def opp(**fields) -> dict:
    base = {
        "Id": OPP,
        "Name": "Acme - Deal 1",
        "Transaction_Type__c": "Invoice",
        rules.EXT_TXN: "130",
        "Pricebook2Id": BOOK,
        "External_Transaction_Number__c": "1001",
        "Transaction_Date__c": "2026-01-15",
        "Due_Date__c": "2026-02-14",
        "Ship_Date__c": None,
        "Terms__c": "Net 30",
        "Class__c": None,
        "Shipping_Method__c": "UPS",
        "Billing_Address_Block__c": "1 Main St\r\nSpringfield, IL 62701",
        "Shipping_Address_Block__c": None,
        "PO_Number__c": "PO-7",
        "Sales_Rep__c": None,
    }
    return {**base, **fields}


def product(id_, ext, product_id, qty, price, index, description=None, opportunity=OPP) -> dict:
    return {
        "Id": id_,
        "OpportunityId": opportunity,
        "Product2Id": product_id,
        rules.ITEM_EXT: None,
        "Quantity": qty,
        "UnitPrice": price,
        "Description": description,
        EXT_LINE: ext,
        LINE_INDEX: index,
        "SortOrder": None,
    }


ITEMS = pd.DataFrame(
    [
        {"item_id": "21", "Product2Id": "01tA", "PricebookEntryId": "01uA"},
        {"item_id": "22", "Product2Id": "01tB", "PricebookEntryId": "01uB"},
        {"item_id": "23", "Product2Id": "01tC", "PricebookEntryId": "01uC"},
        {"item_id": "24", "Product2Id": "01tD", "PricebookEntryId": None},
    ]
)
LINES = [line("1", "21", 2, "10"), line("2", "22", 1, "25.50")]
# As Salesforce returns them: Decimal("2.0"), floats, an index that reads 1.0.
PRODUCTS = [
    product("00k1", "Invoice:130:1", "01tA", Decimal("2.0"), 10.0, Decimal("1.0")),
    product("00k2", "Invoice:130:2", "01tB", Decimal("1"), Decimal("25.5"), 2),
]


def frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns).astype("object")


def planned(transactions=None, lines=None, opportunities=None, products=None, items=ITEMS, **kw):
    inputs = TransactionInputs(
        transactions=frame(
            transactions if transactions is not None else [txn()], rules.TRANSACTION_COLUMNS
        ),
        lines=frame(lines if lines is not None else LINES, rules.LINE_COLUMNS),
        opportunities=frame(
            opportunities if opportunities is not None else [opp()], rules.OPPORTUNITY_COLUMNS
        ),
        products=frame(products if products is not None else PRODUCTS, rules.PRODUCT_COLUMNS),
        item_products=items,
        standard_pricebook=BOOK,
        **kw,
    )
    return plan_transactions(inputs)


def warnings_of(plan) -> list[tuple[str, str]]:
    rows = plan.skips[plan.skips["level"] == WARNING]
    return list(zip(rows["key"], rows["reason"], strict=True))


def nothing_written(plan) -> bool:
    return not (plan.opportunities or plan.line_updates or plan.line_creates or plan.line_deletes)


# --- values ------------------------------------------------------------------------------------


def test_given_values_in_each_systems_form_when_compared_then_equal_values_are_the_same():
    """R-GEN-4: Decimal 10 == 10.0, dates as ISO text, missing == empty, CRLF == LF."""
    assert same(Decimal("10"), 10.0, NUMBER) and same("2.00", Decimal("2.0"), NUMBER)
    assert same("2026-01-15", "2026-01-15T00:00:00Z", DATE)
    assert same(None, "", TEXT) and same(float("nan"), None, TEXT) and same(pd.NA, " ", TEXT)
    assert same("a\nb", "a\r\nb", TEXT)
    assert not same("10.01", "10", NUMBER) and not same(None, "x", TEXT)


def test_given_line_ids_when_qualified_then_they_are_unique_per_transaction_and_read_back():
    """R-OPP-7, R-OPP-3: External_Line_ID__c is unique in the org while QBO numbers lines per
    transaction (and Invoice and Sales Receipt Ids meet): one qualified format both ways."""
    assert line_external_id("Invoice", "130", "2") == "Invoice:130:2"
    values = [
        "Invoice:130:2",
        "2",
        "SalesReceipt:130:2",
        "Invoice:1300:2",
        None,
        "",
        float("nan"),
        7,
    ]
    prefix = line_external_id("Invoice", "130", "")

    got = line_ids_of(values, [prefix] * len(values))

    # A bare line Id is understood; another transaction's line matches no line here; no value
    # (missing of any sort, or empty) is no line; a number is read as its text.
    assert got == ["2", "2", "SalesReceipt:130:2", "Invoice:1300:2", None, None, None, "7"]


def test_given_an_amount_only_line_when_converted_then_it_is_one_unit_at_the_amount():
    """R-OPP-7: Salesforce needs a non-zero Quantity; QuickBooks lines may carry only an amount.
    Values are rounded as Salesforce keeps them (2 decimals)."""
    assert line_amounts(0, 0, "99.95") == (Decimal("1.00"), Decimal("99.95"))
    assert line_amounts(None, None, "10") == (Decimal("1.00"), Decimal("10.00"))
    assert line_amounts(3, None, "10") == (Decimal("3.00"), Decimal("3.33"))
    assert line_amounts("1.5", "12.3456", "18.52") == (Decimal("1.50"), Decimal("12.35"))


# --- header --------------------------------------------------------------------------------------


def test_given_a_synced_transaction_with_no_change_when_planned_then_nothing_is_written():
    """R-GEN-4, R-OPP-7: values equal after normalising write nothing (no echo)."""
    plan = planned()
    assert nothing_written(plan)
    assert plan.skips.empty and plan.notes.empty and plan.retry == []


def test_given_changed_header_fields_when_planned_then_only_they_and_the_sync_stamp_are_written():
    """R-OPP-7, R-GEN-7: a new number, date and ship address reach the Opportunity; unchanged
    fields are not sent; Last_Sync_Date__c is left for the load to stamp."""
    plan = planned(
        [txn(DocNumber="1001-A", TxnDate="2026-01-20", **{"ShipAddr.Block": "9 Dock Rd\nPortland"})]
    )
    assert plan.opportunities == [
        {
            "key": "QB:Invoice:130",
            "Id": OPP,
            "External_Transaction_Number__c": "1001-A",
            "Transaction_Date__c": "2026-01-20",
            "Shipping_Address_Block__c": "9 Dock Rd\nPortland",
            "Last_Sync_Date__c": None,
        }
    ]
    assert plan.line_updates == plan.line_creates == plan.line_deletes == []


def test_given_a_field_cleared_in_quickbooks_when_planned_then_it_is_cleared_in_salesforce():
    """R-OPP-7: the linked transaction is the truth; missing in QuickBooks clears the field."""
    plan = planned([txn(**{"ShipMethodRef.value": None})])
    assert plan.opportunities[0]["Shipping_Method__c"] is None


def test_given_a_sales_receipt_when_planned_then_due_date_and_terms_are_left_alone():
    """R-OPP-7, R-OPP-2: Sales Receipts have no due date or terms; the Opportunity keeps its own."""
    receipt = txn("SalesReceipt", DueDate=None, **{"SalesTermRef.name": None})
    plan = planned(
        [receipt],
        [
            line(i["Id"], i[rules.ITEM], i[rules.QTY], i[rules.UNIT_PRICE], entity="SalesReceipt")
            for i in LINES
        ],
        [opp(Transaction_Type__c="Sales Receipt")],
        [{**p, EXT_LINE: p[EXT_LINE].replace("Invoice", "SalesReceipt")} for p in PRODUCTS],
    )
    assert nothing_written(plan) and plan.skips.empty


def test_given_custom_fields_when_framed_and_planned_then_carried_values_map_and_absent_ones_are_left():
    """R-OPP-7, R-OPP-4: CustomField[] is flattened by name; Sales Rep (carried) is written,
    PO Number (not carried: the company may not define it) keeps its Salesforce value."""
    record = {
        "Id": "130",
        "SyncToken": "0",
        "TotalAmt": Decimal("45.50"),
        "DocNumber": "1001",
        "TxnDate": "2026-01-15",
        "DueDate": "2026-02-14",
        "SalesTermRef": {"value": "3", "name": "Net 30"},
        "ShipMethodRef": {"value": "UPS", "name": "UPS"},
        "BillAddr": {
            "Line1": "1 Main St",
            "City": "Springfield",
            "CountrySubDivisionCode": "IL",
            "PostalCode": "62701",
        },
        "CustomField": [
            {"DefinitionId": "1", "Name": "Sales Rep", "Type": "StringType", "StringValue": "JD"}
        ],
        "Line": [
            {
                "Id": "1",
                "LineNum": 1,
                "Amount": Decimal("20.00"),
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "21"},
                    "Qty": 2,
                    "UnitPrice": Decimal("10"),
                },
            },
            {
                "Id": "2",
                "LineNum": 2,
                "Amount": Decimal("25.50"),
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "22"},
                    "Qty": 1,
                    "UnitPrice": Decimal("25.5"),
                },
            },
            {
                "Amount": Decimal("45.50"),
                "DetailType": "SubTotalLineDetail",
                "SubTotalLineDetail": {},
            },
        ],
    }
    transactions, lines = transaction_frames([("Invoice", record)])
    assert transactions.at[0, "CustomField.Sales Rep"] == "JD"
    assert transactions.at[0, "BillAddr.Block"] == "1 Main St\nSpringfield, IL 62701"
    assert transactions.at[0, "TotalAmt"] == "45.50" and lines[rules.UNIT_PRICE].tolist()[:2] == [
        "10",
        "25.5",
    ]
    assert list(lines["DetailType"]) == [
        "SalesItemLineDetail",
        "SalesItemLineDetail",
        "SubTotalLineDetail",
    ]
    plan = planned(transactions.to_dict("records"), lines.to_dict("records"))
    assert plan.opportunities == [
        {"key": "QB:Invoice:130", "Id": OPP, "Sales_Rep__c": "JD", "Last_Sync_Date__c": None}
    ]


# --- lines ---------------------------------------------------------------------------------------


def test_given_a_changed_quantity_and_price_when_planned_then_only_that_product_is_updated():
    """R-OPP-7: only the changed Quantity/UnitPrice are sent; the Opportunity is stamped."""
    plan = planned(
        lines=[line("1", "21", 3, "9.99"), LINES[1]], transactions=[txn(TotalAmt="55.47")]
    )
    assert plan.line_updates == [
        {
            "key": "QB:Invoice:130 line 1",
            "Id": "00k1",
            "opportunity": OPP,
            "Quantity": "3.00",
            "UnitPrice": "9.99",
        }
    ]
    assert plan.opportunities == [{"key": "QB:Invoice:130", "Id": OPP, "Last_Sync_Date__c": None}]
    assert plan.notes.empty


def test_given_a_new_line_when_planned_then_a_product_is_created_from_the_items_standard_price():
    """R-OPP-7: a new QuickBooks line becomes an Opportunity Product with the standard entry of
    the Product whose External Item ID is the line's item, and its qualified line id/index."""
    plan = planned(
        lines=[*LINES, line("3", "23", 4, "5", description="Bolts")],
        transactions=[txn(TotalAmt="65.50")],
    )
    assert plan.line_creates == [
        {
            "key": "QB:Invoice:130 line 3",
            "opportunity": OPP,
            "replaces": None,
            "OpportunityId": OPP,
            "PricebookEntryId": "01uC",
            "Quantity": "4.00",
            "UnitPrice": "5.00",
            "Description": "Bolts",
            EXT_LINE: "Invoice:130:3",
            LINE_INDEX: 3,
        }
    ]
    assert [o["Id"] for o in plan.opportunities] == [OPP]
    assert plan.line_deletes == [] and plan.line_updates == []


def test_given_a_removed_line_when_planned_then_its_product_is_deleted():
    """R-OPP-7: an Opportunity Product whose line is no longer on the transaction is deleted."""
    plan = planned(lines=[LINES[0]], transactions=[txn(TotalAmt="20")])
    assert [(d["Id"], d["key"]) for d in plan.line_deletes] == [
        ("00k2", "QB:Invoice:130 Opportunity Product 00k2")
    ]
    assert "line 2 is no longer on QB:Invoice:130" in plan.line_deletes[0]["reason"]
    assert plan.line_creates == [] and plan.line_updates == []


def test_given_a_line_whose_item_changed_when_planned_then_its_product_is_replaced():
    """R-OPP-7: Product2Id cannot change on an Opportunity Product: the old one is deleted and
    a new one created for the line (same External Line ID, freed by the delete first)."""
    plan = planned(lines=[LINES[0], line("2", "23", 1, "25.50", name="Bolts")])
    assert [d["Id"] for d in plan.line_deletes] == ["00k2"]
    assert [(c["PricebookEntryId"], c[EXT_LINE], c["replaces"]) for c in plan.line_creates] == [
        ("01uC", "Invoice:130:2", "00k2")
    ]
    assert "item 23 (Bolts)" in plan.line_deletes[0]["reason"]


def test_given_a_line_whose_item_has_no_product_when_planned_then_a_warning_names_the_item_and_the_rest_applies():
    """R-OPP-7, R-GEN-5: the line is a WARNING naming the item (retried next run, when a
    Product may exist); the other changes of the opportunity still go through."""
    plan = planned(
        lines=[line("1", "21", 5, "10"), LINES[1], line("3", "99", 1, "7", name="Gizmo")],
        transactions=[txn(TotalAmt="82.50", DocNumber="1002")],
    )
    assert warnings_of(plan) == [
        (
            "QB:Invoice:130 line 3",
            "item 99 (Gizmo) has no Product in Salesforce "
            "(External Item ID 99): this line is not added to the Opportunity",
        )
    ]
    assert [u["Quantity"] for u in plan.line_updates] == ["5.00"]
    assert plan.opportunities[0]["External_Transaction_Number__c"] == "1002"
    assert plan.line_creates == [] and plan.retry == ["Invoice:130"]


def test_given_an_existing_line_whose_new_item_has_no_product_when_planned_then_its_product_is_kept():
    """R-OPP-7, R-GEN-5: without a Product for the new item nothing is deleted; a WARNING."""
    plan = planned(lines=[LINES[0], line("2", "99", 1, "25.50")])
    assert plan.line_deletes == [] and plan.line_creates == []
    assert (
        warnings_of(plan)[0][0] == "QB:Invoice:130 line 2"
        and "00k2 is left as it is" in warnings_of(plan)[0][1]
    )


def test_given_a_product_without_a_standard_price_when_a_line_is_added_then_it_is_a_warning():
    """R-OPP-7, R-PRE-4: a line needs the Product's active standard PricebookEntry."""
    plan = planned(lines=[*LINES, line("3", "24", 1, "5")], transactions=[txn(TotalAmt="50.50")])
    assert plan.line_creates == []
    assert warnings_of(plan) == [
        (
            "QB:Invoice:130 line 3",
            "item 24: its Product 01tD has no active standard "
            "price: this line is not added to the Opportunity",
        )
    ]


def test_given_an_opportunity_on_a_custom_price_book_when_a_line_is_added_then_it_is_a_warning():
    """R-OPP-7: new lines take the standard entry, which another price book cannot use."""
    plan = planned(
        lines=[*LINES, line("3", "23", 1, "5")],
        opportunities=[opp(Pricebook2Id="01sOTHER")],
        transactions=[txn(TotalAmt="50.50")],
    )
    assert plan.line_creates == []
    assert "price book 01sOTHER" in warnings_of(plan)[0][1]


def test_given_subtotal_and_discount_lines_when_planned_then_only_item_lines_count_and_totals_are_compared():
    """R-OPP-7 and the money rule: only SalesItemLineDetail lines are products; lines adding up
    to less than TotalAmt (a discount, tax) is a WARNING naming the opportunity and both sums."""
    extra = [
        line(None, None, None, None, "45.50", kind="SubTotalLineDetail"),
        line("3", None, None, None, "-5.00", kind="DiscountLineDetail"),
    ]
    plan = planned(lines=[*LINES, *extra], transactions=[txn(TotalAmt="40.50")])
    assert nothing_written(plan) and plan.skips.empty
    assert list(plan.notes["key"]) == ["QB:Invoice:130"]
    reason = plan.notes["reason"].iloc[0]
    assert "Opportunity 006A (Acme - Deal 1)" in reason and "45.50" in reason and "40.50" in reason
    assert plan.notes["level"].iloc[0] == WARNING


def test_given_a_bare_line_id_when_planned_then_it_matches_and_is_rewritten_qualified():
    """R-OPP-7: an External Line ID holding the bare QuickBooks line Id is understood (not
    deleted and re-created) and rewritten in the org-unique form."""
    bare = [{**PRODUCTS[0], EXT_LINE: "1"}, PRODUCTS[1]]
    plan = planned(products=bare)
    assert plan.line_updates == [
        {
            "key": "QB:Invoice:130 line 1",
            "Id": "00k1",
            "opportunity": OPP,
            EXT_LINE: "Invoice:130:1",
        }
    ]
    assert plan.line_deletes == [] and plan.line_creates == []


def test_given_products_without_line_ids_when_planned_then_they_are_adopted_not_duplicated():
    """R-GEN-3, R-OPP-7: Opportunity Products whose link-back never happened (no External Line
    ID) are matched to lines of their Product, in order, instead of gaining duplicates; one
    that matches no line stays, with a WARNING."""
    unlinked = [
        product("00k1", None, "01tA", 2, 10, None),
        product("00k2", None, "01tB", 1, "25.50", None),
        product("00k9", None, "01tC", 1, 1, None),
    ]
    plan = planned(products=unlinked)
    assert sorted((u["Id"], u[EXT_LINE], u[LINE_INDEX]) for u in plan.line_updates) == [
        ("00k1", "Invoice:130:1", 1),
        ("00k2", "Invoice:130:2", 2),
    ]
    assert plan.line_creates == [] and plan.line_deletes == []
    assert [k for k, _ in warnings_of(plan)] == ["QB:Invoice:130 Opportunity Product 00k9"]


def test_given_a_price_with_four_decimals_when_planned_again_then_the_rounded_value_is_not_rewritten():
    """R-GEN-4: QuickBooks 12.3456 is kept by Salesforce as 12.35; the next run compares the
    rounded value and writes nothing."""
    lines = [line("1", "21", 2, "12.3456", "24.69"), LINES[1]]
    first = planned(lines=lines, transactions=[txn(TotalAmt="50.19")])
    assert first.line_updates[0]["UnitPrice"] == "12.35"
    again = planned(
        lines=lines,
        transactions=[txn(TotalAmt="50.19")],
        products=[{**PRODUCTS[0], "UnitPrice": 12.35}, PRODUCTS[1]],
    )
    assert nothing_written(again)


# --- linking -------------------------------------------------------------------------------------


def test_given_a_transaction_linked_to_no_opportunity_when_planned_then_it_is_ignored_silently():
    """R-OPP-7: unlinked transactions are the invoices area's (R-INV-1), not a warning here."""
    plan = planned([txn(id_="131")], [line("1", "21", 1, "1", txn_id="131")])
    assert nothing_written(plan) and plan.skips.empty and plan.notes.empty


def test_given_a_type_mismatch_when_planned_then_it_is_a_warning_and_nothing_is_written():
    """R-OPP-7, R-OPP-2: an Invoice linked to a 'Sales Receipt' Opportunity is not synced."""
    plan = planned([txn(DocNumber="9")], opportunities=[opp(Transaction_Type__c="Sales Receipt")])
    assert nothing_written(plan)
    ((key, reason),) = warnings_of(plan)
    assert (
        key == "QB:Invoice:130" and "'Sales Receipt', not 'Invoice'" in reason and "006A" in reason
    )
    assert plan.retry == ["Invoice:130"]


def test_given_an_invoice_sharing_its_id_with_the_opportunitys_sales_receipt_when_planned_then_it_is_not_a_mismatch():
    """R-OPP-7: Invoice and Sales Receipt Ids can meet; when the Opportunity's own Sales
    Receipt exists, the changed Invoice with the same Id is simply not its transaction."""
    opportunities = [opp(Transaction_Type__c="Sales Receipt")]
    transactions = frame([txn()], rules.TRANSACTION_COLUMNS)
    assert own_type_candidates(transactions, frame(opportunities, rules.OPPORTUNITY_COLUMNS)) == {
        "SalesReceipt": {"130"}
    }
    plan = planned(
        [txn(DocNumber="9")],
        opportunities=opportunities,
        own_type_exists=frozenset({"SalesReceipt:130"}),
    )
    assert nothing_written(plan) and plan.skips.empty


def test_given_several_transactions_when_planned_together_then_each_gets_what_it_gets_alone():
    """R-OPP-7, R-GEN-4: the plan of many transactions at once (an unchanged one, a header and a
    quantity change, a removed, a new and a re-itemed line, lines not adding up to the total)
    is, per transaction, exactly its plan alone (pins the per-row loops over whole frames)."""
    cases = {
        "130": ([txn(id_="130")], LINES, [opp()], PRODUCTS),
        "131": (
            [txn(id_="131", **{"SalesTermRef.name": "Net 60"})],
            [line("1", "21", 3, "10", txn_id="131"), line("2", "22", 1, "25.50", txn_id="131")],
            [opp(Id="006B", **{rules.EXT_TXN: "131"})],
            [
                product("00k3", "Invoice:131:1", "01tA", 2, 10.0, 1, opportunity="006B"),
                product("00k4", "Invoice:131:2", "01tB", 1, 25.5, 2, opportunity="006B"),
            ],
        ),
        "132": (
            [txn(id_="132", TotalAmt="99.00")],
            [
                line("1", "23", 2, "10", txn_id="132"),
                line("3", "22", 1, "25.50", txn_id="132"),
                line("4", "24", 1, "5", txn_id="132"),
            ],
            [opp(Id="006C", **{rules.EXT_TXN: "132"})],
            [
                product("00k5", "Invoice:132:1", "01tA", 2, 10.0, 1, opportunity="006C"),
                product("00k6", "Invoice:132:2", "01tB", 1, 25.5, 2, opportunity="006C"),
            ],
        ),
    }
    together = planned(*([r for case in cases.values() for r in case[i]] for i in range(4)))
    alone = [planned(*case) for case in cases.values()]
    for name in ("opportunities", "line_updates", "line_creates", "line_deletes", "retry"):
        assert sorted(map(repr, getattr(together, name))) == sorted(
            repr(r) for plan in alone for r in getattr(plan, name)
        ), name
    for name in ("skips", "notes"):
        assert sorted(map(tuple, getattr(together, name).astype(str).values.tolist())) == sorted(
            tuple(r) for plan in alone for r in getattr(plan, name).astype(str).values.tolist()
        ), name
    assert [o["Id"] for o in together.opportunities] == ["006B", "006C"]
    assert (
        together.line_creates
        and together.line_deletes
        and together.line_updates
        and len(together.notes)
    )
