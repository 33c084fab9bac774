"""Items -> Products and the Standard Price Book: the pure rules of docs/rules.md section 4.

QuickBooks is the only source: each supported Item becomes a Product (upserted by
External_Item_ID__c) with a standard PricebookEntry at the item's price (R-ITM-1/2/3).
Salesforce Products are never sent to QuickBooks; the item hierarchy and price levels are not
synced. An item made inactive deactivates its Product (never deletes it). On QuickBooks
Desktop the item types are Desktop's (QBD_TYPES) and, with ``sync_inventory_quantities``, the
quantities of Inventory Part items update their Products (R-ITM-4, R-QBD-7).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from sfqb.frames import dict_rows, missing, per_distinct, plain_values, present_values, records
from sfqb.mapping.maps import apply_map, default_map
from sfqb.mapping.same import BOOLEAN, NUMBER, PLAIN_TEXT, Sameness, money, same
from sfqb.outcomes import INFO, SF_PRODUCT, SKIP_COLUMNS, WARNING, empty_skips, skips

AREA = "items"
QB_STREAM = "quickbooks.Item"
EXT_ID = "External_Item_ID__c"
FIRST_EXPORT = "items.export"
# R-ITM-3 for QuickBooks Online; Category and Group items are never synced.
QBO_TYPES = frozenset({"Service", "Inventory", "NonInventory"})
# R-ITM-3 for QuickBooks Desktop, by the item's qbXML element (the Desktop adapter's
# ``DesktopType``): Service, Inventory Part, Non-Inventory Part, Other Charge, Discount, Fixed
# Asset, Assembly. Item Groups (ItemGroup) are never synced.
QBD_TYPES = frozenset(
    {
        "ItemService",
        "ItemInventory",
        "ItemNonInventory",
        "ItemOtherCharge",
        "ItemDiscount",
        "ItemFixedAsset",
        "ItemInventoryAssembly",
    }
)
ITEM_COLUMNS = ["Id", "Name", "FullyQualifiedName", "Type", "Active", "Description", "UnitPrice"]
# What the Desktop adapter adds (blank on Online): the item's qbXML element.
DESKTOP_COLUMNS = ["DesktopType"]
# R-ITM-4 / R-QBD-7: an Inventory Part's quantities -> the Product's package fields.
QUANTITY_FIELDS = {"QtyOnHand": "Quantity_On_Hand__c", "QtyOnSalesOrder": "Quantity_Allocated__c"}
INVENTORY_COLUMNS = ["Id", *QUANTITY_FIELDS]
PRODUCT_FIELDS = ["Name", "ProductCode", "Description", "IsActive"]
# How each Product field is compared with the item's value (R-GEN-4, R-ITM-2).
PRODUCT_KINDS = {
    "Name": PLAIN_TEXT,
    "ProductCode": PLAIN_TEXT,
    "Description": PLAIN_TEXT,
    "IsActive": BOOLEAN,
}
# A PricebookEntry's UnitPrice is a currency field: Salesforce keeps 2 decimals (rounding half up).
PRICE_STEP = Decimal("0.01")


def type_column(edition: str = "online") -> str:
    """The column that names an item's type for R-ITM-3: Online's ``Type``; on Desktop the
    qbXML element (``DesktopType``), since Desktop's Inventory Part and Assembly share a QBO
    ``Type``."""
    return "Type" if edition == "online" else "DesktopType"


def synced_types(edition: str = "online") -> frozenset[str]:
    """The item types the sync carries on ``edition`` (R-ITM-3), as ``type_column`` names them."""
    return QBO_TYPES if edition == "online" else QBD_TYPES


def items_to_sync(
    items: pd.DataFrame, edition: str = "online"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off the item types of ``edition`` this sync does not carry (R-ITM-3)."""
    column = type_column(edition)
    types = items[column] if column in items.columns else pd.Series(pd.NA, index=items.index)
    supported = types.isin(synced_types(edition))
    bad = items[~supported]
    return items[supported], skips(
        "QB:" + bad["Id"].astype(str),
        "item type "
        + types[~supported].astype(str).map(repr)
        + " is not synced to Salesforce (R-ITM-3)",
        INFO,
        record=SF_PRODUCT,
    )


def _quantity(value) -> Decimal | None:
    """A quantity as the Product's Number(18,2) field keeps it (half up), None when blank."""
    amount = money(value)
    return None if amount is None else amount.quantize(PRICE_STEP, rounding=ROUND_HALF_UP)


def wanted_quantities(inventory: pd.DataFrame) -> dict[str, dict[str, str | None]]:
    """Item Id -> the Product's quantity fields (text, 2 decimals) of each Inventory Part item
    (INVENTORY_COLUMNS): Quantity On Hand, and Quantity Allocated = the quantity on pending sales
    orders (R-ITM-4, R-QBD-7)."""
    out = {}
    for row in records(inventory[INVENTORY_COLUMNS]):
        values = {}
        for qb_field, sf_field in QUANTITY_FIELDS.items():
            amount = _quantity(row[qb_field])
            values[sf_field] = None if amount is None else str(amount)
        out[str(row["Id"])] = values
    return out


def _quantity_changes(wanted: dict[str, str | None], now: dict | None) -> dict[str, str | None]:
    """The quantity fields whose value differs from the Product's (all of them for a new one)."""
    return {f: v for f, v in wanted.items() if now is None or not same(v, now.get(f), NUMBER)}


@dataclass
class ItemPlan:
    """Product upserts (one dict per item, ready for Salesforce) and standard price writes.

    ``prices``: one dict per item whose entry must be created or changed:
    ``{item_id, product_id (None for a product created this run), entry_id (None: create),
    UnitPrice (text), IsActive}``.
    """

    products: list[dict] = field(default_factory=list)
    prices: list[dict] = field(default_factory=list)
    skips: pd.DataFrame = field(default_factory=empty_skips)


def _first_positions(
    frame: pd.DataFrame, column: str, keys: list
) -> tuple[pd.DataFrame, np.ndarray]:
    """The first row of ``frame`` per value of ``column``, and the position among those rows
    of each of ``keys`` (-1 where none has it), told apart as a dict tells its keys."""
    if not len(frame):
        return frame, np.full(len(keys), -1, dtype=np.intp)
    first = frame.drop_duplicates(column)
    index = pd.Index(first[column].tolist(), dtype=object)
    return first, index.get_indexer(pd.Index(keys, dtype=object))


def _entry_price(unit_price) -> Decimal:
    """An item's price as Salesforce will keep it: compared that way, a price with more decimals
    (12.34567) is written once (12.35), not again on every run that reads the item (R-GEN-4)."""
    return (money(unit_price) or Decimal("0")).quantize(PRICE_STEP, rounding=ROUND_HALF_UP)


def _products_differ(
    eligible: pd.DataFrame, wanted: pd.DataFrame, first: pd.DataFrame, at: np.ndarray
) -> np.ndarray:
    """Per eligible item, whether a PRODUCT_FIELDS value differs from its Product's (``first``:
    one Product per EXT_ID; ``at``: the item's row there, -1 for none; a field it lacks is
    None), compared a column at a time (``Sameness.differ``, R-GEN-4): the item's mapped
    ``wanted`` values, and its ``Active`` for IsActive. False where the item has no Product."""
    if not (at >= 0).any():
        return np.zeros(len(eligible), dtype=bool)
    compare, out = Sameness(), np.zeros(len(eligible), dtype=bool)
    for f in PRODUCT_FIELDS:
        ours = (
            [bool(a) for a in eligible["Active"].tolist()]
            if f == "IsActive"
            else plain_values(wanted[f])
        )
        cells = plain_values(first[f]) if f in first.columns else [None] * len(first)
        theirs = np.fromiter([*cells, None], dtype=object, count=len(cells) + 1)[at]
        out |= compare.differ(ours, theirs, PRODUCT_KINDS[f])
    return out & (at >= 0)


def _cells(frame: pd.DataFrame, column: str) -> list:
    """A column's plain values (None for every row when the frame lacks it)."""
    return plain_values(frame[column]) if column in frame.columns else [None] * len(frame)


def plan_items(
    items: pd.DataFrame,
    products: pd.DataFrame,
    entries: pd.DataFrame,
    *,
    product_name_field: str = "Name",
    unlinked_codes: frozenset[str] = frozenset(),
    edition: str = "online",
    inventory: pd.DataFrame | None = None,
) -> ItemPlan:
    """What to write in Salesforce for the changed ``items``.

    Args:
        items: QuickBooks items (ITEM_COLUMNS; UnitPrice as text), active or not.
        products: current Products linked to them (Id, EXT_ID, PRODUCT_FIELDS).
        entries: their standard PricebookEntries (Id, Product2Id, UnitPrice, IsActive).
        product_name_field: the preference: the Product Name is the item's Name or its
            FullyQualifiedName (R-ITM-2).
        unlinked_codes: ProductCodes of Products linked to no item: an item with that
            FullyQualifiedName is not created again (a person links it, R-PRE-2).
        edition: ``online`` or ``desktop``: which item types are synced (R-ITM-3).
        inventory: with ``sync_inventory_quantities`` (Desktop), every Inventory Part item
            (INVENTORY_COLUMNS), changed or not: quantities move without the item changing.
            Their Products (in ``products``, with the QUANTITY_FIELDS columns) get the
            quantities that differ (R-ITM-4, R-QBD-7). None: the preference is off, the
            quantity fields are never written.
    Only differences are written, so a re-run with no change writes nothing (R-GEN-4).
    """
    plan = ItemPlan()
    quantities = wanted_quantities(inventory) if inventory is not None else {}
    eligible, type_skips = items_to_sync(items, edition)
    found = [type_skips]
    wanted = apply_map(eligible, default_map("item_to_product"))
    wanted["Name"] = eligible[product_name_field]
    # A column at a time: each item's Product and standard entry found by position, the
    # Products' values turned into plain cells once (a record per item and per Product, or a
    # Series per item, costs tens of seconds at 1M items).
    ids = [str(i) for i in plain_values(eligible["Id"])]
    active = [bool(a) for a in eligible["Active"].tolist()]
    first, at = _first_positions(products, EXT_ID, ids)
    differs = _products_differ(eligible, wanted, first, at).tolist()
    product_ids = [str(i) for i in _cells(first, "Id")]
    linked_ids = [product_ids[p] if p >= 0 else None for p in at.tolist()]
    book, entry_at = _first_positions(entries, "Product2Id", linked_ids)
    entry_at[at < 0] = -1  # an item with no Product has no entry
    entry_ids, entry_prices = _cells(book, "Id"), _cells(book, "UnitPrice")
    entry_active = _cells(book, "IsActive")
    fields = {f: present_values(wanted[f]).tolist() for f in PRODUCT_FIELDS}
    fields["IsActive"] = active
    unit_prices = plain_values(eligible["UnitPrice"])
    price_of, entry_money = per_distinct(_entry_price), per_distinct(money)

    held = {
        f: _cells(first, f) for f in QUANTITY_FIELDS.values() if f in first.columns and quantities
    }

    def now_at(position: int) -> dict:  # the Product's quantity fields (R-ITM-4)
        return {f: cells[position] for f, cells in held.items()}

    skipped: list[tuple[str, str, str]] = []
    written: list[int] = []
    counted: dict[int, dict] = {}
    for n, (item_id, position, is_active, differ, product_id, entry) in enumerate(
        zip(ids, at.tolist(), active, differs, linked_ids, entry_at.tolist(), strict=True)
    ):
        if position < 0:
            if not is_active:
                skipped.append(
                    (f"QB:{item_id}", "inactive item with no Product: not synced (R-ITM-1)", INFO)
                )
                continue
            code = fields["ProductCode"][n]
            if code in unlinked_codes:
                skipped.append(
                    (
                        f"QB:{item_id}",
                        "Salesforce already has a Product with ProductCode "
                        f"{code!r} that is linked to no QuickBooks item: link it "
                        f"(set its External Item ID to {item_id}) instead of creating a duplicate",
                        WARNING,
                    )
                )
                continue
        if item_id in quantities:
            now = now_at(position) if position >= 0 else None
            counts = _quantity_changes(quantities.pop(item_id), now)
            if counts:
                counted[n] = counts
        if position < 0 or differ or n in counted:
            written.append(n)
        amount = price_of(unit_prices[n])
        if entry < 0:
            if is_active:
                plan.prices.append(
                    {
                        "item_id": item_id,
                        "product_id": product_id,
                        "entry_id": None,
                        "UnitPrice": str(amount),
                        "IsActive": True,
                    }
                )
        elif entry_money(entry_prices[entry]) != amount or bool(entry_active[entry]) != is_active:
            plan.prices.append(
                {
                    "item_id": item_id,
                    "product_id": product_id,
                    "entry_id": str(entry_ids[entry]),
                    "UnitPrice": str(amount),
                    "IsActive": is_active,
                }
            )
    plan.products = dict_rows(
        [EXT_ID, *PRODUCT_FIELDS],
        [[ids[n] for n in written], *([column[n] for n in written] for column in fields.values())],
        len(written),
    )
    for row, n in zip(plan.products, written, strict=True):
        row.update(counted.get(n, {}))
    # Inventory items that did not change themselves: only their quantities, and only for a
    # Product that exists (an item with no Product gets one when the item itself is exported).
    left = list(quantities)
    for item_id, position in zip(
        left, _first_positions(products, EXT_ID, left)[1].tolist(), strict=True
    ):
        counts = _quantity_changes(quantities[item_id], now_at(position)) if position >= 0 else {}
        if counts:
            plan.products.append({EXT_ID: item_id, **counts})
    if skipped:
        found.append(
            pd.DataFrame(skipped, columns=SKIP_COLUMNS[:3])
            .assign(record=SF_PRODUCT)
            .astype("string")
        )
    frames = [f for f in found if len(f)]
    plan.skips = pd.concat(frames, ignore_index=True) if frames else empty_skips()
    return plan


def items_by_fqn(products: pd.DataFrame, qb_items: pd.DataFrame) -> dict[str, str]:
    """R-ITM-5, for the opportunity area when item sync is off: Product Id -> QuickBooks item Id,
    matching ProductCode to FullyQualifiedName exactly. Products without a matching item are
    left out (the caller warns about them)."""
    by_fqn = {
        str(f): str(i)
        for f, i in zip(qb_items["FullyQualifiedName"], qb_items["Id"], strict=True)
        if not missing(f)
    }
    return {
        str(p): by_fqn[str(c)]
        for p, c in zip(products["Id"], products["ProductCode"], strict=True)
        if not missing(c) and str(c) in by_fqn
    }
