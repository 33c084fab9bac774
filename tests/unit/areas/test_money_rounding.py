"""Every money value is rounded the way the system that stores it rounds (docs/mapping.md,
"Money and rounding"): Salesforce currency and number fields round half up to their scale, and
QuickBooks Online rounds a line's Qty x UnitPrice half up to the cent. A half cent is where
half up and Python's default (half to even) part: 12.345 is 12.35 in both systems, never 12.34."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

pytestmark = pytest.mark.unit

HALF_CENT = "12.345"  # half to even would give 12.34; both systems store 12.35


def test_given_an_item_priced_on_a_half_cent_when_planned_then_the_price_entry_rounds_half_up():
    """R-ITM-2: the standard PricebookEntry's UnitPrice (a Salesforce currency field) is
    planned as Salesforce keeps it: 12.345 -> 12.35."""
    from sfqb.areas.items import EXT_ID, ITEM_COLUMNS, plan_items

    items = pd.DataFrame(
        [
            dict(
                zip(
                    ITEM_COLUMNS,
                    ("7", "Widget", "Widget", "Service", True, None, HALF_CENT),
                    strict=True,
                )
            )
        ],
        columns=ITEM_COLUMNS,
    )
    products = pd.DataFrame(
        columns=["Id", EXT_ID, "Name", "ProductCode", "Description", "IsActive"]
    )
    entries = pd.DataFrame(columns=["Id", "Product2Id", "UnitPrice", "IsActive"])
    plan = plan_items(items, products, entries)
    assert [p["UnitPrice"] for p in plan.prices] == ["12.35"]


def test_given_a_synced_half_cent_price_when_planned_again_then_nothing_is_written():
    """R-GEN-4: Salesforce holds 12.35 for QuickBooks' 12.345; the next run compares the
    rounded values and writes nothing (half to even would see 12.34 != 12.35 every run)."""
    from sfqb.areas.items import EXT_ID, ITEM_COLUMNS, plan_items

    items = pd.DataFrame(
        [
            dict(
                zip(
                    ITEM_COLUMNS,
                    ("7", "Widget", "Widget", "Service", True, None, HALF_CENT),
                    strict=True,
                )
            )
        ],
        columns=ITEM_COLUMNS,
    )
    products = pd.DataFrame(
        [
            {
                "Id": "01tW",
                EXT_ID: "7",
                "Name": "Widget",
                "ProductCode": "Widget",
                "Description": None,
                "IsActive": True,
            }
        ]
    )
    entries = pd.DataFrame(
        [{"Id": "01uW", "Product2Id": "01tW", "UnitPrice": "12.35", "IsActive": True}]
    )
    plan = plan_items(items, products, entries)
    assert plan.prices == [] and plan.products == []


def test_given_half_cent_amounts_when_reconciled_then_cents_round_as_salesforce_keeps_them():
    """R-OPS-2 (reconciliation): amounts are compared at the cent Salesforce stores, 12.345 ->
    12.35, so a QuickBooks value with a half cent matches the Salesforce copy of it."""
    from sfqb.areas.reconcile import cents

    assert list(cents(pd.Series([HALF_CENT, "-12.345", "0.005", None]))) == [
        Decimal("12.35"),
        Decimal("-12.35"),
        Decimal("0.01"),
        Decimal("0.00"),
    ]


def test_given_a_half_cent_line_when_sent_to_quickbooks_then_its_amount_rounds_half_up():
    """R-OPP-3: a line's Amount is Qty x UnitPrice as QuickBooks Online computes it, half up to
    the cent (QuickBooks refuses a line whose Amount differs: 6070)."""
    from sfqb.areas.opportunities import line_amount

    assert line_amount(Decimal("1"), Decimal(HALF_CENT)) == Decimal("12.35")
    assert line_amount(Decimal("3"), Decimal("4.115")) == Decimal("12.35")  # 12.345


def test_given_half_cent_lines_from_quickbooks_when_mapped_then_salesforce_fields_round_half_up():
    """R-OPP-7, R-INV-1: QuickBooks keeps UnitPrice and Qty with up to 7 decimals; the
    Opportunity Product and Invoice Item fields keep 2 (Rate__c 4), rounded half up."""
    from sfqb.areas.invoices import sf_value
    from sfqb.areas.transactions import line_amounts

    assert line_amounts("2.005", HALF_CENT, "24.75") == (Decimal("2.01"), Decimal("12.35"))
    assert line_amounts(None, None, HALF_CENT) == (Decimal("1.00"), Decimal("12.35"))
    assert sf_value(HALF_CENT, "Amount__c") == Decimal("12.35")
    assert sf_value("1.00005", "Rate__c") == Decimal("1.0001")
