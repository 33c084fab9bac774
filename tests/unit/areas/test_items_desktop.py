"""The pure item rules on QuickBooks Desktop: item types and inventory quantities (docs/rules.md
sections 4 and 10)."""

from __future__ import annotations

import pandas as pd
import pytest

from sfqb.areas.items import (
    DESKTOP_COLUMNS,
    EXT_ID,
    INVENTORY_COLUMNS,
    ITEM_COLUMNS,
    items_to_sync,
    plan_items,
)

pytestmark = pytest.mark.unit

COLUMNS = [*ITEM_COLUMNS, *DESKTOP_COLUMNS]
# (Id, Name, FullyQualifiedName, Type, Active, Description, UnitPrice, DesktopType): the QBO
# Type as the Desktop adapter gives it, and the qbXML element.
DESKTOP_ITEMS = {
    "ItemService": ("1", "Consulting", "Consulting", "Service", True, None, "150.00"),
    "ItemInventory": ("2", "Widget", "Parts:Widget", "Inventory", True, None, "20.00"),
    "ItemNonInventory": ("3", "Box", "Box", "NonInventory", True, None, "2.50"),
    "ItemOtherCharge": ("4", "Freight", "Freight", "OtherCharge", True, None, "25.00"),
    "ItemDiscount": ("5", "Loyalty", "Loyalty", "Discount", True, None, None),
    "ItemFixedAsset": ("6", "Van", "Van", "FixedAsset", True, None, None),
    "ItemInventoryAssembly": ("7", "Kit", "Kit", "Inventory", True, None, "55.00"),
}
GROUP = ("8", "Bundle", "Bundle", "Group", True, None, None, "ItemGroup")
Q_ON_HAND, Q_ALLOCATED = "Quantity_On_Hand__c", "Quantity_Allocated__c"


def items(*rows) -> pd.DataFrame:
    return pd.DataFrame([dict(zip(COLUMNS, r, strict=True)) for r in rows], columns=COLUMNS)


def desktop(kind: str) -> tuple:
    return (*DESKTOP_ITEMS[kind], kind)


def inventory(*rows) -> pd.DataFrame:
    return pd.DataFrame([dict(zip(INVENTORY_COLUMNS, r, strict=True)) for r in rows])


def products(*rows) -> pd.DataFrame:
    """Linked Products: (Id, item Id, Name, ProductCode, on hand, allocated)."""
    return pd.DataFrame(
        [
            {
                "Id": p,
                EXT_ID: i,
                "Name": name,
                "ProductCode": code,
                "Description": None,
                "IsActive": True,
                Q_ON_HAND: on_hand,
                Q_ALLOCATED: allocated,
            }
            for p, i, name, code, on_hand, allocated in rows
        ]
    )


NO_PRODUCTS = products()
NO_ENTRIES = pd.DataFrame(columns=["Id", "Product2Id", "UnitPrice", "IsActive"])
WIDGET_ENTRY = pd.DataFrame(
    [{"Id": "01uW", "Product2Id": "01tW", "UnitPrice": "20", "IsActive": True}]
)


@pytest.mark.parametrize("kind", sorted(DESKTOP_ITEMS))
def test_given_a_desktop_item_type_when_filtered_then_it_is_synced(kind):
    """R-ITM-3 (Desktop): Service, Inventory Part, Non-Inventory Part, Other Charge, Discount,
    Fixed Asset and Assembly items are synced, told apart by their qbXML element."""
    kept, skipped = items_to_sync(items(desktop(kind)), "desktop")
    assert list(kept["Id"]) == [DESKTOP_ITEMS[kind][0]] and skipped.empty


def test_given_an_item_group_on_desktop_when_filtered_then_it_is_skipped_naming_its_type():
    """R-ITM-3 (Desktop): Item Groups are never synced; the reason names the element."""
    kept, skipped = items_to_sync(items(desktop("ItemService"), GROUP), "desktop")
    assert list(kept["Id"]) == ["1"]
    assert list(skipped["key"]) == ["QB:8"]
    assert "'ItemGroup'" in skipped["reason"].iloc[0] and "R-ITM-3" in skipped["reason"].iloc[0]


def test_given_desktop_only_types_on_online_when_filtered_then_online_keeps_its_own_list():
    """R-ITM-3: the Online list is unchanged (an OtherCharge type is not an Online item type)."""
    kept, skipped = items_to_sync(
        items(desktop("ItemService"), desktop("ItemOtherCharge"), GROUP), "online"
    )
    assert list(kept["Id"]) == ["1"] and list(skipped["key"]) == ["QB:4", "QB:8"]


def test_given_every_desktop_type_when_planned_then_each_gets_a_product_and_a_price():
    """R-ITM-2, R-ITM-3 (Desktop): a percent Discount and an unsold Fixed Asset have no price:
    their standard price is 0; the others' base price/rate."""
    plan = plan_items(
        items(*(desktop(k) for k in DESKTOP_ITEMS), GROUP), NO_PRODUCTS, NO_ENTRIES,
        edition="desktop",
    )  # fmt: skip
    assert sorted(p[EXT_ID] for p in plan.products) == ["1", "2", "3", "4", "5", "6", "7"]
    prices = {p["item_id"]: p["UnitPrice"] for p in plan.prices}
    assert prices == {
        "1": "150.00",
        "2": "20.00",
        "3": "2.50",
        "4": "25.00",
        "5": "0.00",
        "6": "0.00",
        "7": "55.00",
    }


def test_given_a_new_inventory_item_when_planned_then_its_product_carries_the_quantities():
    """R-ITM-4, R-QBD-7: quantities ride on the Product's create (2 decimals, half up)."""
    plan = plan_items(
        items(desktop("ItemInventory")),
        NO_PRODUCTS,
        NO_ENTRIES,
        edition="desktop",
        inventory=inventory(("2", "500", "12.345")),
    )
    assert plan.products[0][Q_ON_HAND] == "500.00"
    assert plan.products[0][Q_ALLOCATED] == "12.35"


def test_given_an_unchanged_item_whose_quantity_moved_when_planned_then_only_quantities_are_written():
    """R-QBD-7: the item is not among the changed ones, yet its Product's allocated quantity
    follows the sales orders; nothing else of it is written."""
    plan = plan_items(
        items(),
        products(("01tW", "2", "Widget", "Parts:Widget", "500", "0")),
        WIDGET_ENTRY,
        edition="desktop",
        inventory=inventory(("2", "500", "3")),
    )
    assert plan.products == [{EXT_ID: "2", Q_ALLOCATED: "3.00"}]
    assert plan.prices == []


def test_given_equal_quantities_when_planned_then_nothing_is_written():
    """R-GEN-4, R-QBD-7: 500 and 500.00 are one quantity; a re-run writes nothing."""
    plan = plan_items(
        items(desktop("ItemInventory")),
        products(("01tW", "2", "Widget", "Parts:Widget", "500.0", "0")),
        WIDGET_ENTRY,
        edition="desktop",
        inventory=inventory(("2", "500", "0.00")),
    )
    assert plan.products == [] and plan.prices == []


def test_given_a_changed_inventory_item_when_planned_then_quantities_join_its_product_update():
    """R-QBD-7: one Product write carries the item's changes and its quantities."""
    plan = plan_items(
        items(desktop("ItemInventory")),
        products(("01tW", "2", "Old name", "Parts:Widget", "1", "0")),
        WIDGET_ENTRY,
        edition="desktop",
        inventory=inventory(("2", "500", "0")),
    )
    assert len(plan.products) == 1
    assert plan.products[0]["Name"] == "Widget" and plan.products[0][Q_ON_HAND] == "500.00"
    assert Q_ALLOCATED not in plan.products[0]


def test_given_an_inventory_item_with_no_product_when_only_quantities_moved_then_nothing_is_written():
    """R-QBD-7: a quantity alone never creates a Product (the item export does, R-ITM-1)."""
    plan = plan_items(
        items(), NO_PRODUCTS, NO_ENTRIES, edition="desktop", inventory=inventory(("2", "7", "1"))
    )
    assert plan.products == []


def test_given_the_preference_off_when_planned_then_quantity_fields_are_never_written():
    """R-ITM-4: without sync_inventory_quantities the quantity fields are left alone."""
    plan = plan_items(
        items(desktop("ItemInventory")),
        products(("01tW", "2", "Old name", "Parts:Widget", "1", "0")),
        WIDGET_ENTRY,
        edition="desktop",
    )
    assert len(plan.products) == 1
    assert Q_ON_HAND not in plan.products[0] and Q_ALLOCATED not in plan.products[0]
