"""Items -> Products on QuickBooks Desktop, end to end: sfqb_sync through the Web Connector
(docs/rules.md sections 4 and 10): Desktop's item types, inventory quantities, first-run
matching by the item's full name."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sfqb import soql
from sfqb.hooks.quickbooks.batch import BatchOp
from sfqb.outcomes import CREATED, SF_PRODUCT, count
from tests.integration.conftest import report_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXT = "External_Item_ID__c"
ON_HAND, ALLOCATED = "Quantity_On_Hand__c", "Quantity_Allocated__c"
SYNCED = {
    "ItemService",
    "ItemInventory",
    "ItemNonInventory",
    "ItemOtherCharge",
    "ItemDiscount",
    "ItemFixedAsset",
    "ItemInventoryAssembly",
}


def products(env) -> dict[str, dict]:
    """Linked Products by item Id, with their quantities and standard price."""
    sf = env.sf()
    fields = ["Id", "Name", "ProductCode", "IsActive", EXT, ON_HAND, ALLOCATED]
    rows = {
        r[EXT]: r
        for r in sf.query(soql.select("Product2", fields, where=soql.compare(EXT, "!=", None)))
    }
    book = sf.standard_pricebook()["Id"]
    prices = {
        r["Product2Id"]: r
        for r in sf.query(
            soql.select(
                "PricebookEntry", ["Product2Id", "UnitPrice"], where=soql.eq("Pricebook2Id", book)
            )
        )
    }
    for row in rows.values():
        row["entry"] = prices.get(row["Id"])
    return rows


def qty(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def synced(env, **prefs) -> tuple[dict, dict]:
    """One sfqb_sync run on Desktop: (the items report, the whole summary)."""
    env.set_preferences(quickbooks_edition="desktop", **prefs)
    dag_run, states, summary = env.run(task_retries=0)
    assert dag_run.state == "success", states
    report = report_of(summary, "items")
    assert report["failed"] == 0, report
    return report, summary


def test_given_every_desktop_item_type_when_synced_with_quantities_then_products_follow_the_items(
    desktop_env,
):
    """R-ITM-3 (Desktop): Service, Inventory Part, Non-Inventory Part, Other Charge, Discount,
    Fixed Asset and Assembly items become priced Products, the Item Group does not.
    R-ITM-4, R-QBD-7: Inventory Parts' Quantity On Hand and Quantity Allocated (on pending
    sales orders) reach their Products on the first run; an unchanged second run writes nothing;
    a new sales order moves the allocated quantity of an item that did not itself change, and the
    next run updates only that Product (R-GEN-4)."""
    report, _ = synced(desktop_env, sync_inventory_quantities=True)
    qb = desktop_env.qb()
    items = list(qb.query_all("Item", include_inactive=True))
    linked = products(desktop_env)
    assert {i["DesktopType"] for i in items} == SYNCED | {"ItemGroup"}
    for item in items:
        wanted = item["DesktopType"] in SYNCED and item.get("Active", True)
        assert (item["Id"] in linked) == wanted, (item["DesktopType"], item["Name"])
        if not wanted:
            continue
        product = linked[item["Id"]]
        assert product["ProductCode"] == item["FullyQualifiedName"]
        assert qty(product["entry"]["UnitPrice"]) == Decimal(str(item.get("UnitPrice") or 0))
        if item["DesktopType"] == "ItemInventory":
            assert qty(product[ON_HAND]) == item["QtyOnHand"], item["Name"]
            assert qty(product[ALLOCATED]) == item["QtyOnSalesOrder"], item["Name"]
        else:  # only Inventory Parts carry quantities (an Assembly too has them in QuickBooks)
            assert product[ON_HAND] is None and product[ALLOCATED] is None, item["Name"]
    assert any(i["QtyOnSalesOrder"] for i in items if i["DesktopType"] == "ItemInventory")
    assert count(report, CREATED, SF_PRODUCT) == sum(1 for i in items if i["DesktopType"] in SYNCED)

    desktop_env.sandbox.clear_counters()
    report, _ = synced(desktop_env, sync_inventory_quantities=True)
    assert report["created"] == report["updated"] == 0
    assert desktop_env.writes() == {"quickbooks": 0, "salesforce": 0}

    widget = next(i for i in items if i["Name"] == "Widget 0012")
    customer = next(iter(qb.query_all("Customer")))
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 140,
        "SalesItemLineDetail": {"ItemRef": {"value": widget["Id"]}, "Qty": 7, "UnitPrice": 20},
    }
    (added,) = qb.batch(
        [
            BatchOp(
                "so", "create", "SalesOrder", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]}
            )
        ]
    )  # fmt: skip
    assert added.ok, added.error
    moved = qb.read("Item", widget["Id"])
    assert moved["QtyOnSalesOrder"] == widget["QtyOnSalesOrder"] + 7
    assert moved["MetaData"] == widget["MetaData"]  # the item itself did not change

    report, _ = synced(desktop_env, sync_inventory_quantities=True)
    after = products(desktop_env)
    assert qty(after[widget["Id"]][ALLOCATED]) == moved["QtyOnSalesOrder"]
    assert qty(after[widget["Id"]][ON_HAND]) == widget["QtyOnHand"]
    assert report["updated"] == 1 and report["created"] == 0


def test_given_unlinked_products_and_quantities_off_when_synced_then_they_are_linked_and_quantities_untouched(
    desktop_env,
):
    """R-PRE-2 (Desktop): Products whose ProductCode is a Desktop item's full name (a sub-item
    "Shipping Box:Small Box", an Other Charge "Freight") are linked on the first run, not
    duplicated. R-ITM-4: with sync_inventory_quantities off the quantity fields stay empty."""
    desktop_env.in_quickbooks(
        "<ItemNonInventoryAddRq><ItemNonInventoryAdd><Name>Small Box</Name>"
        "<ParentRef><FullName>Shipping Box</FullName></ParentRef>"
        "<SalesOrPurchase><Desc>Small box</Desc><Price>1.25</Price>"
        "<AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase>"
        "</ItemNonInventoryAdd></ItemNonInventoryAddRq>",
    )
    sf = desktop_env.sf()
    made = sf.create(
        "Product2",
        [
            {"Name": "Small box (ours)", "ProductCode": "Shipping Box:Small Box"},
            {"Name": "Freight (ours)", "ProductCode": "Freight"},
        ],
        key_field="ProductCode",
    )
    assert all(r.ok for r in made)
    ours = {str(r.key): str(r.id) for r in made}

    report, _ = synced(desktop_env)
    qb = desktop_env.qb()
    by_name = {i["FullyQualifiedName"]: i for i in qb.query_all("Item")}
    linked = products(desktop_env)
    for code in ("Shipping Box:Small Box", "Freight"):
        item = by_name[code]
        assert linked[item["Id"]]["Id"] == ours[code], code
        assert linked[item["Id"]]["Name"] == item["Name"]  # the item's values, taken over
        assert qty(linked[item["Id"]]["entry"]["UnitPrice"]) == item["UnitPrice"]
    codes = [
        p["ProductCode"]
        for p in sf.query(soql.select("Product2", ["ProductCode"]))
        if p["ProductCode"]
    ]
    assert len(codes) == len(set(codes))
    assert not [w for w in report["warnings"] if "linked to no QuickBooks item" in w]
    inventory = [i for i in by_name.values() if i["DesktopType"] == "ItemInventory"]
    assert inventory and all(
        linked[i["Id"]][ON_HAND] is None and linked[i["Id"]][ALLOCATED] is None for i in inventory
    )


def mod_item(env, kind: str, item_id: str, body: str) -> None:
    """A QuickBooks user's sparse item Mod, with the EditSequence just read."""
    current = env.qb().read("Item", item_id)
    env.in_quickbooks(
        f"<{kind}ModRq><{kind}Mod><ListID>{item_id}</ListID>"
        f"<EditSequence>{current['SyncToken']}</EditSequence>{body}</{kind}Mod></{kind}ModRq>"
    )


def test_given_desktop_items_repriced_and_made_inactive_when_synced_then_products_follow(
    desktop_env,
):
    """R-ITM-2: a new price on a service (SalesOrPurchaseMod) and on an inventory part
    (SalesPrice) reaches the standard PricebookEntry; R-ITM-1: an item made inactive
    (IsActive false) deactivates its Product, never deletes it. A further run writes
    nothing (R-GEN-4)."""
    synced(desktop_env, sync_inventory_quantities=True)
    qb = desktop_env.qb()
    items = list(qb.query_all("Item"))
    service = next(i for i in items if i["DesktopType"] == "ItemService")
    part = next(i for i in items if i["DesktopType"] == "ItemInventory")
    retired = next(
        i for i in items if i["DesktopType"] == "ItemService" and i["Id"] != service["Id"]
    )
    before = products(desktop_env)
    assert before[retired["Id"]]["IsActive"] is True

    mod_item(
        desktop_env,
        "ItemService",
        service["Id"],
        "<SalesOrPurchaseMod><Price>212.40</Price></SalesOrPurchaseMod>",
    )
    mod_item(desktop_env, "ItemInventory", part["Id"], "<SalesPrice>18.75</SalesPrice>")
    mod_item(desktop_env, "ItemService", retired["Id"], "<IsActive>false</IsActive>")
    report, _ = synced(desktop_env, sync_inventory_quantities=True)

    after = products(desktop_env)
    assert qty(after[service["Id"]]["entry"]["UnitPrice"]) == Decimal("212.40")
    assert qty(after[part["Id"]]["entry"]["UnitPrice"]) == Decimal("18.75")
    assert after[retired["Id"]]["IsActive"] is False
    assert after[retired["Id"]]["Id"] == before[retired["Id"]]["Id"]
    assert {k: v["Id"] for k, v in after.items()} == {k: v["Id"] for k, v in before.items()}

    desktop_env.sandbox.clear_counters()
    synced(desktop_env, sync_inventory_quantities=True)
    assert desktop_env.writes() == {"quickbooks": 0, "salesforce": 0}
