"""The opportunity rules as pure functions (docs/rules.md section 3)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pandas as pd
import pytest

from sfqb.areas import opportunities as rules
from sfqb.frames import records_frame

pytestmark = pytest.mark.unit

TODAY = dt.date(2026, 11, 25)


def opp(id_: str, **fields) -> dict:
    base = {
        "Id": id_,
        "Name": f"Deal {id_}",
        "AccountId": "001A",
        "Account.External_Account_ID__c": "58",
        "IsWon": True,
        "Transaction_Type__c": "Invoice",
        "External_Transaction_ID__c": None,
    }
    return {**base, **fields}


def line(id_: str, opp_id: str, *, item=None, code=None, qty=1, price=10, sort=1, **fields) -> dict:
    return {
        "Id": id_,
        "OpportunityId": opp_id,
        "Product2Id": f"01t{id_}",
        "Product2.Name": f"Product {id_}",
        "Product2.ProductCode": code,
        "Product2.External_Item_ID__c": item,
        "Quantity": qty,
        "UnitPrice": price,
        "Description": None,
        "SortOrder": sort,
        **fields,
    }


ITEMS = records_frame(
    [
        {"Id": "5", "FullyQualifiedName": "Services:Setup", "Active": True, "Type": "Service"},
        {"Id": "6", "FullyQualifiedName": "Hardware:Widget", "Active": True, "Type": "Inventory"},
        {"Id": "7", "FullyQualifiedName": "Old:Thing", "Active": False, "Type": "Service"},
    ],
    ["Id", "FullyQualifiedName", "Active", "Type"],
)


def plan(opps, lines, contacts=(), **inputs):
    data = rules.OpportunityInputs(
        opportunities=records_frame(opps, rules.OPPORTUNITY_FIELDS),
        lines=records_frame(lines, rules.LINE_FIELDS),
        contacts=records_frame(list(contacts), rules.CONTACT_FIELDS),
        items=inputs.pop("items", ITEMS),
        **inputs,
    )
    return rules.plan_opportunities(data, online=True, today=TODAY)


def reasons(result) -> dict[str, tuple[str, str]]:
    return {
        k: (r, lvl)
        for k, r, lvl in result.skips[["key", "reason", "level"]].itertuples(index=False)
    }


def test_given_opportunities_failing_each_condition_when_planned_then_each_is_skipped_with_its_reason():
    """R-OPP-1, R-OPP-2, R-OPP-6: not won, already synced, no type, None, Sales Order (a WARNING
    in QBO), no products and an Account not synced are skipped, each with its own reason; only
    the Account case is retried (it syncs once the Account does)."""
    opps = [
        opp("o1", IsWon=False),
        opp("o2", External_Transaction_ID__c="130"),
        opp("o3", Transaction_Type__c=None),
        opp("o4", Transaction_Type__c="None"),
        opp("o5", Transaction_Type__c="Sales Order"),
        opp("o6"),
        opp("o7", **{"Account.External_Account_ID__c": None}),
        opp("ok"),
    ]
    lines = [line(f"l{n}", o["Id"], item="5") for n, o in enumerate(opps) if o["Id"] != "o6"]
    result = plan(opps, lines)
    got = reasons(result)
    assert got["o1"] == ("is not closed/won (R-OPP-1)", "INFO")
    assert got["o2"][0].startswith("already has QuickBooks transaction 130")
    assert got["o3"][0].startswith("has no Transaction Type")
    assert got["o4"] == (
        'its Transaction Type is "None", which means it is never synced: choose Invoice or '
        "Sales Receipt to sync it",
        "INFO",
    )
    assert got["o5"][1] == "WARNING" and "QuickBooks Desktop only" in got["o5"][0]
    assert got["o6"] == ("has no Opportunity Products (R-OPP-1)", "INFO")
    assert got["o7"][0].startswith("its Account 001A is not synced")
    assert list(result.creates["key"]) == ["ok"]
    assert result.retry == ["o7"]


def test_given_lines_when_items_are_resolved_then_external_id_wins_and_codes_fall_back():
    """R-OPP-3, R-ITM-5: the Product's External Item ID when that item is active, else the item
    whose FullyQualifiedName equals the ProductCode; inactive or unknown items resolve to none."""
    lines = records_frame(
        [
            line("a", "o", item="6", code="Services:Setup"),
            line("b", "o", item="99", code="Services:Setup"),
            line("c", "o", item="7"),
            line("d", "o", code="services:setup"),
        ],
        rules.LINE_FIELDS,
    )
    resolved = rules.resolve_items(lines, ITEMS)
    assert list(resolved[:2]) == ["6", "5"] and resolved[2:].isna().all()


def test_given_an_opportunity_when_planned_then_the_invoice_payload_has_lines_refs_and_defaults():
    """R-OPP-3, R-OPP-4, R-GEN-3: lines in product order with item, Qty, UnitPrice and an Amount
    rounded half up to the cent; dates default to the sync date; terms and class become
    references; custom fields only where QuickBooks defines them; the marker in PrivateNote."""
    result = plan(
        [
            opp(
                "o1",
                Terms__c="Net 30",
                Class__c="East",
                PO_Number__c="PO-1",
                Sales_Rep__c="JD",
                Ship_Date__c="2026-12-01",
            )
        ],
        [
            line("l2", "o1", item="6", qty=1.5, price=99.99, sort=2),
            line("l1", "o1", code="Services:Setup", sort=1),
        ],
        terms={"Net 30": "3"},
        classes={"East": "9"},
        custom_fields={"PO Number": "2"},
    )
    (row,) = result.creates.itertuples()
    payload = json.loads(row.payload)
    assert (row.entity, row.customer_id, json.loads(row.line_ids)) == (
        "Invoice",
        "58",
        ["l1", "l2"],
    )
    assert [ln["SalesItemLineDetail"]["ItemRef"]["value"] for ln in payload["Line"]] == ["5", "6"]
    assert Decimal(payload["Line"][1]["Amount"]) == Decimal("149.99")  # 149.985 rounds half up
    assert (payload["TxnDate"], payload["DueDate"], payload["ShipDate"]) == (
        "2026-11-25",
        "2026-11-25",
        "2026-12-01",
    )
    assert payload["SalesTermRef"] == {"value": "3"} and payload["ClassRef"] == {"value": "9"}
    assert payload["CustomField"] == [
        {"DefinitionId": "2", "Name": "PO Number", "Type": "StringType", "StringValue": "PO-1"}
    ]
    assert payload["PrivateNote"] == "Salesforce Opportunity o1"
    assert any("Sales Rep" in n for n in result.notes)


def test_given_a_sales_receipt_when_planned_then_it_has_no_due_date_or_terms():
    """R-OPP-2: a Sales Receipt is paid at once: no DueDate, no SalesTermRef."""
    result = plan(
        [opp("o1", Transaction_Type__c="Sales Receipt", Terms__c="Net 30")],
        [line("l1", "o1", item="5")],
        terms={"Net 30": "3"},
    )
    payload = json.loads(result.creates.iloc[0]["payload"])
    assert result.creates.iloc[0]["entity"] == "SalesReceipt"
    assert "DueDate" not in payload and "SalesTermRef" not in payload


def test_given_no_quickbooks_item_found_at_all_when_planned_then_the_opportunity_waits_and_the_run_goes_on():
    """R-OPP-3, R-GEN-5 (30-day soak, seed 1, run 111): when QuickBooks answers none of the items
    the lines name (the only product's item was made inactive: QuickBooks' queries leave inactive
    items out), the items frame is empty. The opportunity waits with its R-OPP-3 WARNING and the
    others are planned; the plan used to fail with KeyError 'Id' (an empty mask selected no
    columns), which failed the whole run and every area after it, every hour."""
    no_items = records_frame([], ["Id", "FullyQualifiedName", "Active", "Type"])

    result = plan(
        [opp("o1"), opp("o2", Transaction_Type__c="None")],
        [line("l1", "o1", item="7", code="Old:Thing"), line("l2", "o2", item="7")],
        items=no_items,
    )

    got = reasons(result)
    assert (
        got["o1"][1] == "WARNING"
        and "no QuickBooks item: l1 (Product l1, code 'Old:Thing')" in got["o1"][0]
    )
    assert result.retry == ["o1"] and result.creates.empty
    assert (
        rules.resolve_items(
            records_frame([line("l1", "o1", item="7")], rules.LINE_FIELDS), no_items
        )
        .isna()
        .all()
    )


def test_given_blocking_problems_when_planned_then_each_is_a_warning_and_retried():
    """R-OPP-3, R-OPP-4, R-GEN-5: a product with no item, an unknown term or class, and a
    description too long for the memo each block their opportunity with a WARNING and a retry."""
    result = plan(
        [
            opp("o1"),
            opp("o2", Terms__c="Net 99"),
            opp("o3", Class__c="West"),
            opp("o4", Description="x" * 1001),
        ],
        [
            line("l1", "o1", code="Nope"),
            line("l2", "o2", item="5"),
            line("l3", "o3", item="5"),
            line("l4", "o4", item="5"),
        ],
        terms={"Net 30": "3"},
    )
    got = reasons(result)
    assert all(level == "WARNING" for _, level in got.values())
    assert "no QuickBooks item: l1 (Product l1, code 'Nope')" in got["o1"][0]
    assert got["o2"][0].startswith("Terms 'Net 99' is not a QuickBooks term (Net 30)")
    assert got["o3"][0] == "Class 'West' is not a QuickBooks class (R-OPP-4)"
    assert "1001 characters" in got["o4"][0]
    assert result.retry == ["o1", "o2", "o3", "o4"] and result.creates.empty


def test_given_a_primary_contact_with_one_address_when_planned_then_only_that_block_is_sent():
    """R-OPP-5: Mailing -> Bill To and Other -> Ship To, each only when filled."""
    contact = {
        "OpportunityId": "o1",
        "ContactId": "003",
        "Contact.MailingStreet": "1 Main St",
        "Contact.MailingCity": "Austin",
    }
    result = plan([opp("o1")], [line("l1", "o1", item="5")], contacts=[contact])
    payload = json.loads(result.creates.iloc[0]["payload"])
    assert payload["BillAddr"] == {"Line1": "1 Main St", "City": "Austin"}
    assert "ShipAddr" not in payload


def test_given_many_opportunities_when_eligibility_is_checked_then_it_is_vectorised():
    """R-OPP-1 at scale: 100k opportunities are sorted into reasons without a Python loop per row."""
    n = 100_000
    opps = pd.DataFrame(
        {
            "Id": [f"o{i}" for i in range(n)],
            "IsWon": True,
            "Transaction_Type__c": ["Invoice", "None", None, "Sales Order"] * (n // 4),
            rules.EXT_TXN: None,
            rules.ACCOUNT_EXT: "58",
            "AccountId": "001",
        }
    )
    lines = pd.DataFrame({"OpportunityId": opps["Id"]})
    blocked = rules.eligibility(opps, lines, online=True)
    assert len(blocked) == 3 * n // 4


def test_given_interleaved_opportunities_when_planned_together_then_each_gets_what_it_gets_alone():
    """R-OPP-1..4, R-GEN-5: the plan of many opportunities (lines, contacts and problems mixed in
    any order) is, per opportunity, exactly the plan of that opportunity alone: the same payload,
    line order and Ids, skip reason and retry (pins the per-opportunity grouping)."""
    opps = [
        opp("o1", Terms__c="Net 30", PO_Number__c="PO-1"),
        opp("o2", Transaction_Type__c="Sales Receipt"),
        opp("o3"),
        opp("o4", Class__c="West"),
        opp("o5", IsWon=False),
        opp("o6", Description="x" * 1001),
        opp("o7", **{"Account.External_Account_ID__c": "61"}),
        opp("o8"),
    ]
    lines = [
        line("l9", "o7", item="6", qty=2, price=3.335, sort=2),
        line("l1", "o1", item="6", sort=2),
        line("l3", "o3", code="Nope"),
        line("l2", "o1", code="Services:Setup", sort=1),
        line("l5", "o2", item="5", qty=-1),
        line("l4", "o4", item="5"),
        line("l6", "o5", item="5"),
        line("l7", "o6", item="5"),
        line("l8", "o7", code="Hardware:Widget", sort=1),
        line("l10", "o8", item="5", sort=None),
        line("l11", "o8", item="6", sort=None),
        line("l12", "o2", item="6", qty=3),
    ]
    for ln in lines:  # one type per column, as a frame of many has
        ln["Quantity"], ln["UnitPrice"] = float(ln["Quantity"]), float(ln["UnitPrice"])
    contacts = [
        {"OpportunityId": "o7", "ContactId": "003", "Contact.MailingCity": "Austin"},
        {"OpportunityId": "o1", "ContactId": "004", "Contact.OtherCity": "Boston"},
    ]
    inputs = {"terms": {"Net 30": "3"}, "custom_fields": {"PO Number": "2"}}
    together = plan(opps, lines, contacts, **inputs)
    creates, skipped, retry = [], {}, []
    for o in opps:
        alone = plan(
            [o],
            [ln for ln in lines if ln["OpportunityId"] == o["Id"]],
            [c for c in contacts if c["OpportunityId"] == o["Id"]],
            **inputs,
        )
        creates += alone.creates.to_dict("records")
        skipped |= reasons(alone)
        retry += alone.retry
    assert together.creates.to_dict("records") == creates
    assert reasons(together) == skipped and together.retry == sorted(retry)
    assert [c["key"] for c in creates] == ["o1", "o2", "o7", "o8"]
    assert json.loads(together.creates.iloc[2]["line_ids"]) == ["l8", "l9"]
