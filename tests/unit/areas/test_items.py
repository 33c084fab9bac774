"""The pure item rules (docs/rules.md section 4)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from sfqb.areas.items import EXT_ID, ITEM_COLUMNS, items_by_fqn, items_to_sync, plan_items
from sfqb.outcomes import WARNING

pytestmark = pytest.mark.unit


def items(*rows) -> pd.DataFrame:
    return pd.DataFrame(
        [dict(zip(ITEM_COLUMNS, r, strict=True)) for r in rows], columns=ITEM_COLUMNS
    )


WIDGET = ("7", "Widget", "Hardware:Widgets:Widget", "NonInventory", True, "A widget", "12.50")
CONSULT = ("8", "Consulting", "Services:Consulting", "Service", True, None, "100")
NO_PRODUCTS = pd.DataFrame(columns=["Id", EXT_ID, "Name", "ProductCode", "Description", "IsActive"])
NO_ENTRIES = pd.DataFrame(columns=["Id", "Product2Id", "UnitPrice", "IsActive"])


def linked_widget(**changes) -> tuple[pd.DataFrame, pd.DataFrame]:
    product = {
        "Id": "01tW",
        EXT_ID: "7",
        "Name": "Widget",
        "ProductCode": "Hardware:Widgets:Widget",
        "Description": "A widget",
        "IsActive": True,
        **changes,
    }
    entry = {"Id": "01uW", "Product2Id": "01tW", "UnitPrice": "12.5", "IsActive": True}
    return pd.DataFrame([product]), pd.DataFrame([entry])


def test_given_new_items_when_planned_then_each_becomes_a_product_with_a_standard_price():
    """R-ITM-2: ProductCode = FullyQualifiedName, Name from the preference, entry at the price."""
    plan = plan_items(
        items(WIDGET, CONSULT), NO_PRODUCTS, NO_ENTRIES, product_name_field="FullyQualifiedName"
    )
    assert [p["ProductCode"] for p in plan.products] == [
        "Hardware:Widgets:Widget",
        "Services:Consulting",
    ]
    assert [p["Name"] for p in plan.products] == ["Hardware:Widgets:Widget", "Services:Consulting"]
    assert [(p["item_id"], Decimal(p["UnitPrice"]), p["entry_id"]) for p in plan.prices] == [
        ("7", Decimal("12.50"), None),
        ("8", Decimal("100"), None),
    ]
    assert plan.skips.empty


def test_given_category_and_group_items_when_planned_then_they_are_skipped_with_a_reason():
    """R-ITM-3: QBO Category and Group items are not synced; the reason names the type."""
    kept, skipped = items_to_sync(
        items(
            WIDGET,
            ("9", "Hardware", "Hardware", "Category", True, None, None),
            ("10", "Kit", "Kit", "Group", True, None, None),
        )
    )
    assert list(kept["Id"]) == ["7"]
    assert list(skipped["key"]) == ["QB:9", "QB:10"]
    assert "'Category'" in skipped["reason"].iloc[0] and "R-ITM-3" in skipped["reason"].iloc[0]


def test_given_a_synced_item_with_no_change_when_planned_then_nothing_is_written():
    """R-GEN-4: equal values (12.50 vs 12.5) write neither the Product nor its price."""
    product, entry = linked_widget()
    plan = plan_items(items(WIDGET), product, entry)
    assert plan.products == [] and plan.prices == []


def test_given_a_changed_price_when_planned_then_only_the_entry_is_updated():
    """R-ITM-1/2: a price change updates the existing standard entry."""
    product, entry = linked_widget()
    changed = WIDGET[:6] + ("13.00",)
    plan = plan_items(items(changed), product, entry)
    assert plan.products == []
    assert [(p["entry_id"], p["UnitPrice"]) for p in plan.prices] == [("01uW", "13.00")]


def test_given_an_item_made_inactive_when_planned_then_its_product_and_entry_are_deactivated():
    """R-ITM-1: an inactive item deactivates its Product (never deletes it)."""
    product, entry = linked_widget()
    inactive = WIDGET[:4] + (False,) + WIDGET[5:]
    plan = plan_items(items(inactive), product, entry)
    assert [(p[EXT_ID], p["IsActive"]) for p in plan.products] == [("7", False)]
    assert [(p["entry_id"], p["IsActive"]) for p in plan.prices] == [("01uW", False)]


def test_given_an_inactive_item_without_product_when_planned_then_it_is_not_synced():
    """R-ITM-1: inactive items are not exported."""
    inactive = WIDGET[:4] + (False,) + WIDGET[5:]
    plan = plan_items(items(inactive), NO_PRODUCTS, NO_ENTRIES)
    assert plan.products == [] and plan.prices == []
    assert list(plan.skips["key"]) == ["QB:7"]


def test_given_an_inactive_item_without_product_and_an_unreadable_price_then_it_is_only_skipped():
    """R-ITM-1: an item that is not exported has its price never read, so a price that is no
    number does not stop the plan (prices are read once per distinct value, when asked for)."""
    inactive = WIDGET[:4] + (False,) + WIDGET[5:6] + ("not a price",)
    plan = plan_items(items(inactive, CONSULT), NO_PRODUCTS, NO_ENTRIES)
    assert [p["item_id"] for p in plan.prices] == ["8"]
    assert list(plan.skips["key"]) == ["QB:7"]


def test_given_an_unlinked_product_with_the_items_code_when_planned_then_it_is_warned_not_duplicated():
    """R-PRE-2: a Product whose ProductCode equals the FullyQualifiedName is linked by a person."""
    plan = plan_items(
        items(WIDGET, CONSULT),
        NO_PRODUCTS,
        NO_ENTRIES,
        unlinked_codes=frozenset({"Hardware:Widgets:Widget"}),
    )
    assert [p[EXT_ID] for p in plan.products] == ["8"]
    assert list(plan.skips["key"]) == ["QB:7"] and list(plan.skips["level"]) == [WARNING]
    assert "External Item ID to 7" in plan.skips["reason"].iloc[0]


def test_given_products_with_codes_when_item_sync_is_off_then_they_resolve_by_fully_qualified_name():
    """R-ITM-5: ProductCode = FullyQualifiedName, exact; unmatched products are left out."""
    products = pd.DataFrame(
        {
            "Id": ["01tA", "01tB", "01tC"],
            "ProductCode": ["Hardware:Widgets:Widget", "hardware:widgets:widget", None],
        }
    )
    lookup = items_by_fqn(products, items(WIDGET, CONSULT))
    assert lookup == {"01tA": "7"}


def test_given_item_sync_off_when_the_area_runs_then_it_reads_and_writes_nothing():
    """R-ITM-5: with sync_items off no hook is touched, nothing is planned and no watermark moves."""
    import datetime as dt

    from sfqb.state import InMemoryVariables, SyncState
    from sfqb.steps import items as steps

    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC).isoformat()
    run = {
        "run_id": "r1",
        "upper_bound": now,
        "install_date": now,
        "preferences": {"sync_items": False},
    }
    state = SyncState(InMemoryVariables())
    extracted = steps.extract(run, sf=object(), qb=object(), state=state)
    plan = steps.plan(run, extracted)
    report = steps.load(run, plan, sf=object())
    assert plan["products"] == [] and plan["prices"] == []
    assert report["records"] == {}
    assert steps.commit(run, extracted, report, state=state) == {}
    assert state.first_run_done("items.export") is None


def test_given_many_items_when_planned_together_then_each_gets_what_it_gets_alone():
    """R-ITM-1/2/3, R-PRE-2, R-GEN-4: the plan of many items at once (new, unchanged, a changed
    price, renamed, made inactive, inactive and new, a Category, an unlinked code) is, item by
    item and in order, what each gets alone (pins the per-item loop)."""
    rows = [
        WIDGET,
        CONSULT,
        ("9", "Hardware", "Hardware", "Category", True, None, None),
        ("11", "Gear", "Hardware:Gear", "Inventory", True, "Gear", "3.333"),
        ("12", "Old", "Old", "Service", False, None, "1"),
        ("13", "Bolt", "Hardware:Bolt", "Inventory", True, "Bolt", "0.10"),
        ("14", "Nut", "Hardware:Nut", "Inventory", False, "Nut", "0.05"),
        ("15", "Dup", "Dup", "Service", True, None, "9"),
    ]
    products = pd.DataFrame(
        [
            {
                "Id": "01tW",
                EXT_ID: "7",
                "Name": "Widget",
                "ProductCode": "Hardware:Widgets:Widget",
                "Description": "A widget",
                "IsActive": True,
            },
            {
                "Id": "01tG",
                EXT_ID: "11",
                "Name": "Gears",
                "ProductCode": "Hardware:Gear",
                "Description": "Gear",
                "IsActive": True,
            },
            {
                "Id": "01tB",
                EXT_ID: "13",
                "Name": "Bolt",
                "ProductCode": "Hardware:Bolt",
                "Description": "Bolt",
                "IsActive": True,
            },
            {
                "Id": "01tN",
                EXT_ID: "14",
                "Name": "Nut",
                "ProductCode": "Hardware:Nut",
                "Description": "Nut",
                "IsActive": True,
            },
        ]
    )
    entries = pd.DataFrame(
        [
            {"Id": "01uW", "Product2Id": "01tW", "UnitPrice": "12.5", "IsActive": True},
            {"Id": "01uG", "Product2Id": "01tG", "UnitPrice": "3.33", "IsActive": True},
            {"Id": "01uB", "Product2Id": "01tB", "UnitPrice": "0.2", "IsActive": True},
        ]
    )
    codes = frozenset({"Dup"})
    together = plan_items(items(*rows), products, entries, unlinked_codes=codes)
    alone = [plan_items(items(r), products, entries, unlinked_codes=codes) for r in rows]
    assert together.products == [p for plan in alone for p in plan.products]
    assert together.prices == [p for plan in alone for p in plan.prices]
    skipped = pd.concat([plan.skips for plan in alone if len(plan.skips)], ignore_index=True)
    assert together.skips.to_dict("records") == skipped.to_dict("records")
    assert [p[EXT_ID] for p in together.products] == ["8", "11", "14"]
    assert [p["item_id"] for p in together.prices] == ["8", "13"]
    assert list(together.skips["key"]) == ["QB:9", "QB:12", "QB:15"]
