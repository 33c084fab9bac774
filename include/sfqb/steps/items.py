"""The item area's I/O steps: extract, plan, load, commit (docs/rules.md section 4).

Keys in outcomes: ``QB:<Item Id>`` for the Product, ``QB:<Item Id> price`` for its standard
PricebookEntry, so every WARNING names an item a person can find.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import NotRequired, TypedDict

import pandas as pd

from sfqb import soql
from sfqb.areas import items as rules
from sfqb.checks.quality import item_warnings
from sfqb.frames import as_text, missing, records_frame
from sfqb.hooks.interface import QuickBooks
from sfqb.mapping.same import money
from sfqb.outcomes import (
    CREATED,
    FAILED,
    RECOVERED,
    SF_PRICE,
    SF_PRODUCT,
    UPDATED,
    AreaReport,
    add_warnings,
    area_report,
    count,
    empty_skips,
    log_problems,
    outcome,
    outcomes,
)
from sfqb.run_params import RunContext
from sfqb.steps.common import (
    AreaExtract,
    due_retries,
    names_of,
    plan_names,
    preferences,
    quickbooks_hook,
    read_on_quickbooks_clock,
    run_windows,
    salesforce_hook,
    sync_state,
)
from sfqb.steps.load import now_stamp, sf_outcomes
from sfqb.windows import Window

log = logging.getLogger(__name__)

QB_STREAM = rules.QB_STREAM
PRODUCT_COLUMNS = ["Id", rules.EXT_ID, *rules.PRODUCT_FIELDS]
QUANTITY_COLUMNS = list(rules.QUANTITY_FIELDS.values())
ENTRY_COLUMNS = ["Id", "Product2Id", "UnitPrice", "IsActive"]


class Extract(AreaExtract):
    """The items to consider and what they meet in Salesforce."""

    first_export: bool
    """The area's first run: every active item, whatever its date (R-ITM-1)."""
    items: pd.DataFrame
    """QuickBooks items (``item_frame``)."""
    products: pd.DataFrame
    """The Products linked to them (PRODUCT_COLUMNS)."""
    entries: pd.DataFrame
    """Those Products' standard PricebookEntries (ENTRY_COLUMNS)."""
    unlinked_codes: list[str]
    """Product codes of unlinked Products an item's full name would clash with."""
    standard_pricebook: str | None
    inventory: NotRequired[pd.DataFrame | None]
    """With ``sync_inventory_quantities`` (Desktop): every Inventory Part item's quantities
    (``inventory_frame``), changed or not (R-ITM-4, R-QBD-7); None when the preference is off."""


class Plan(TypedDict):
    """The Products and standard prices to write (``rules.ItemPlan``), the skips and warnings."""

    products: list[dict]
    prices: list[dict]
    skips: pd.DataFrame
    quality: list
    """Data-quality warnings about the items (``sfqb.checks.quality``)."""
    standard_pricebook: str | None
    considered: list[str]
    """The keys of the items read (R-OPS-3)."""
    names: NotRequired[dict[str, str]]
    """Key -> the record's name, for the load's log lines."""


def item_frame(records) -> pd.DataFrame:
    """QuickBooks items as ITEM_COLUMNS (and DESKTOP_COLUMNS, blank on Online), the price as
    text (exact through XCom)."""
    frame = records_frame(records, [*rules.ITEM_COLUMNS, *rules.DESKTOP_COLUMNS])
    frame["Id"] = frame["Id"].astype(str)
    frame["UnitPrice"] = as_text(frame["UnitPrice"])
    frame["Active"] = (
        frame["Active"].map(lambda v: bool(v) if not missing(v) else True).astype(bool)
    )
    return frame


def inventory_frame(records) -> pd.DataFrame:
    """Inventory Part items' quantities as INVENTORY_COLUMNS, as text (exact through XCom)."""
    frame = records_frame(records, rules.INVENTORY_COLUMNS)
    frame["Id"] = frame["Id"].astype(str)
    for column in rules.QUANTITY_FIELDS:
        frame[column] = as_text(frame[column])
    return frame


def _inventory(qb: QuickBooks, first_records: list[dict] | None) -> pd.DataFrame:
    """Every Inventory Part item (R-QBD-7: read in full each run, quantities change without
    the item's TimeModified changing): one ItemInventoryQuery iterator, not every item type.
    On the first export the items read already hold them."""
    if first_records is not None:
        rows = [r for r in first_records if r.get("DesktopType") == "ItemInventory"]
    else:
        rows = list(qb.query_all("ItemInventory", include_inactive=True))
    return inventory_frame(rows)


def _qb_items_by_id(qb: QuickBooks, ids) -> list[dict]:
    return list(qb.query_in("Item", "Id", ids, include_inactive=True))


def extract(run: RunContext, *, sf=None, qb: QuickBooks | None = None, state=None) -> Extract:
    """The items to consider, and the Products, standard entries and unlinked codes they meet.

    The first run exports every active item whatever its date (R-ITM-1); later runs read the
    items changed in the window, inactive ones included so deactivations reach Salesforce."""
    state = state or sync_state()
    windows = run_windows(run, [QB_STREAM], state)
    empty: Extract = {
        "windows": windows,
        "first_export": False,
        "items": item_frame([]),
        "products": records_frame([], PRODUCT_COLUMNS),
        "entries": records_frame([], ENTRY_COLUMNS),
        "unlinked_codes": [],
        "standard_pricebook": None,
        "inventory": None,
    }
    prefs = preferences(run)
    if not prefs.sync_items:
        log.info(
            "items: sync_items is off: nothing is written; opportunities resolve items by "
            "ProductCode = FullyQualifiedName (R-ITM-5)"
        )
        return {**empty, "windows": {}}
    sf, qb = sf or salesforce_hook(), qb or quickbooks_hook(run)
    first = state.first_run_done(rules.FIRST_EXPORT) is None
    mark = len(qb.clock.seen)  # the watermark moves no later than QuickBooks' time of the read
    if first:
        records = list(qb.query_all("Item"))
    elif qb_window := windows[QB_STREAM]:
        window = Window.from_xcom(qb_window)
        records = list(qb.query_window("Item", window.start, window.end, include_inactive=True))
    else:
        records = []
    records += _qb_items_by_id(
        qb, set(due_retries(run, QB_STREAM, state)) - {str(r["Id"]) for r in records}
    )
    windows = read_on_quickbooks_clock(windows, [QB_STREAM], qb.clock.first_since(mark))
    items = item_frame(records)
    # The preferences refuse sync_inventory_quantities on Online (R-ITM-4).
    inventory = (
        _inventory(qb, records if first else None) if prefs.sync_inventory_quantities else None
    )
    columns = PRODUCT_COLUMNS if inventory is None else [*PRODUCT_COLUMNS, *QUANTITY_COLUMNS]
    linked_ids = set(items["Id"]) | (set() if inventory is None else set(inventory["Id"]))
    products = records_frame(
        sf.query_in("Product2", columns, rules.EXT_ID, sorted(linked_ids)), columns
    )
    for column in QUANTITY_COLUMNS if inventory is not None else []:
        products[column] = as_text(products[column])
    book = sf.standard_pricebook()
    entries = records_frame([], ENTRY_COLUMNS)
    priced = products[products[rules.EXT_ID].astype(str).isin(set(items["Id"]))]
    if book and len(priced):
        entries = records_frame(
            sf.query_in(
                "PricebookEntry",
                ENTRY_COLUMNS,
                "Product2Id",
                priced["Id"],
                where=soql.eq("Pricebook2Id", book["Id"]),
            ),
            ENTRY_COLUMNS,
        )
        entries["UnitPrice"] = as_text(entries["UnitPrice"])
    linked = set(products[rules.EXT_ID].astype(str))
    codes = items.loc[~items["Id"].isin(linked), "FullyQualifiedName"].dropna()
    unlinked = {
        r["ProductCode"]
        for r in sf.query_in(
            "Product2",
            ["Id", "ProductCode"],
            "ProductCode",
            sorted(set(codes)),
            where=soql.eq(rules.EXT_ID, None),
        )
    }
    log.info(
        "items: %d QuickBooks items to consider (%s)%s",
        len(items),
        "first run: every active item" if first else "changed in the window",
        "" if inventory is None else f"; quantities of {len(inventory)} inventory part items",
    )
    return {
        "windows": windows,
        "first_export": first,
        "items": items,
        "products": products,
        "entries": entries,
        "unlinked_codes": sorted(unlinked),
        "standard_pricebook": book["Id"] if book else None,
        "inventory": inventory,
    }


def plan(run: RunContext, extracted: Extract) -> Plan:
    """The pure rules over the extracted frames (XCom-ready)."""
    result = rules.plan_items(
        extracted["items"],
        extracted["products"],
        extracted["entries"],
        product_name_field=preferences(run).product_name_field,
        unlinked_codes=frozenset(extracted["unlinked_codes"]),
        edition=preferences(run).quickbooks_edition,
        inventory=extracted.get("inventory"),
    )
    log.info(
        "items plan: %d products and %d standard prices to write; %d skipped",
        len(result.products),
        len(result.prices),
        len(result.skips),
    )
    quality = item_warnings(rules.AREA, extracted["items"])
    planned: Plan = {
        "products": result.products,
        "prices": result.prices,
        "skips": result.skips,
        "quality": quality,
        "standard_pricebook": extracted["standard_pricebook"],
        "considered": [f"QB:{i}" for i in extracted["items"]["Id"].astype(str).tolist()],
    }
    planned["names"] = plan_names(
        planned,
        lambda keys: names_of(extracted["items"], "FullyQualifiedName", prefix="QB:", keys=keys),
    )
    return planned


def _duplicate(result) -> bool:
    return not result.ok and any(
        getattr(e, "status_code", "") == "DUPLICATE_VALUE" for e in result.errors
    )


def _existing_entries(sf, book: str | None, product_ids: list[str]) -> dict[str, dict]:
    """The standard PricebookEntries of ``product_ids`` (a create refused as a duplicate: the
    entry exists), by Product Id; one query, only when a create was refused."""
    if not book or not product_ids:
        return {}
    rows = sf.query_in(
        "PricebookEntry",
        ENTRY_COLUMNS,
        "Product2Id",
        product_ids,
        where=soql.eq("Pricebook2Id", book),
    )
    return {str(r["Product2Id"]): r for r in rows}


def load(run: RunContext, plan: Plan, *, sf=None) -> AreaReport:
    """Products first (upsert by External Item ID, collections of 200), then the standard
    PricebookEntries of the products that need one or whose price changed."""
    done: list[dict] = []
    skipped = plan["skips"] if len(plan["skips"]) else empty_skips()
    if plan["products"] or plan["prices"]:
        sf = sf or salesforce_hook()
        stamp = now_stamp()
        product_ids, failed = _upsert_products(sf, plan["products"], stamp, done)
        book = plan["standard_pricebook"]
        creates, updates = _price_writes(plan["prices"], book, product_ids, failed, done)
        keyed = {c["Product2Id"]: c.pop("_item") for c in creates}
        by_entry = {p["entry_id"]: p["item_id"] for p in plan["prices"] if p["entry_id"]}
        _create_entries(sf, book, creates, keyed, updates, by_entry, done)
        _update_entries(sf, updates, by_entry, done)
    return _items_report(plan, skipped, done)


def _numbers(product: dict) -> dict:
    """A planned Product with its quantities (text through XCom) as exact numbers."""
    return {k: money(v) if k in QUANTITY_COLUMNS else v for k, v in product.items()}


def _upsert_products(
    sf, products: list[dict], stamp: str, done: list[dict]
) -> tuple[dict[str, str], set[str]]:
    """Upsert the Products by External Item ID (R-ITM-2, R-GEN-3); returns item Id -> Product Id
    of those written and the items whose Product failed."""
    product_ids: dict[str, str] = {}
    failed: set[str] = set()
    if products:
        records = [{**_numbers(p), "Last_Sync_Date__c": stamp} for p in products]
        for row in sf_outcomes(
            sf.upsert("Product2", records, ext_id_field=rules.EXT_ID), "Product2"
        ):
            if row["action"] == FAILED:
                failed.add(row["key"])
            else:
                product_ids[row["key"]] = row["target_id"]
            row["key"] = f"QB:{row['key']}"
            done.append(row)
    return product_ids, failed


def _price_writes(
    prices: list[dict],
    book: str | None,
    product_ids: dict[str, str],
    failed: set[str],
    done: list[dict],
) -> tuple[list[dict], list[dict]]:
    """(creates, updates) of the standard PricebookEntries (R-ITM-2): none for an item whose
    Product failed; a failure for a price with no standard price book or product (R-PRE-4)."""
    creates, updates = [], []
    for p in prices:
        item_id = p["item_id"]
        if item_id in failed:
            continue
        key = f"QB:{item_id} price"
        if p["entry_id"]:
            updates.append(
                {
                    "Id": p["entry_id"],
                    "UnitPrice": money(p["UnitPrice"]),
                    "IsActive": p["IsActive"],
                }
            )
            continue
        product_id = p["product_id"] or product_ids.get(item_id)
        if not book or not product_id:
            done.append(
                outcome(
                    key,
                    FAILED,
                    record=SF_PRICE,
                    reason="no standard price book or product to price (R-PRE-4)",
                )
            )
            continue
        creates.append(
            {
                "Pricebook2Id": book,
                "Product2Id": product_id,
                "UnitPrice": money(p["UnitPrice"]),
                "IsActive": True,
                "_item": item_id,
            }
        )
    return creates, updates


def _create_entries(
    sf,
    book: str | None,
    creates: list[dict],
    keyed: dict[str, str],
    updates: list[dict],
    by_entry: dict[str, str],
    done: list[dict],
) -> None:
    """Create the new standard PricebookEntries; one refused as a duplicate exists already (an
    earlier attempt made it and its answer was lost, R-GEN-3): recovered when its price is the
    wanted one, else added to ``updates``."""
    results = sf.create("PricebookEntry", creates, key_field="Product2Id") if creates else []
    wanted = {c["Product2Id"]: c for c in creates}
    existing = _existing_entries(sf, book, [str(r.key) for r in results if _duplicate(r)])
    for row in sf_outcomes(results, "PricebookEntry"):
        product_id = row["key"]
        row["key"] = f"QB:{keyed.get(product_id, product_id)} price"
        entry = existing.get(product_id)
        if row["action"] == FAILED and entry is not None:
            # The entry exists: an earlier attempt made it and its answer was lost (R-GEN-3).
            if (
                money(entry["UnitPrice"]) == money(wanted[product_id]["UnitPrice"])
                and entry["IsActive"]
            ):
                row.update(
                    action=RECOVERED, target_id=entry["Id"], reason="made by an earlier attempt"
                )
            else:
                updates.append(
                    {
                        "Id": entry["Id"],
                        "UnitPrice": wanted[product_id]["UnitPrice"],
                        "IsActive": True,
                    }
                )
                by_entry[entry["Id"]] = keyed.get(product_id, product_id)
                continue
        elif row["action"] != FAILED:
            row["action"] = CREATED
        done.append(row)


def _update_entries(sf, updates: list[dict], by_entry: dict[str, str], done: list[dict]) -> None:
    """Update the standard PricebookEntries whose price changed (R-ITM-2), in one call per 200."""
    for row in sf_outcomes(
        sf.update("PricebookEntry", updates) if updates else [], "PricebookEntry"
    ):
        row["key"] = f"QB:{by_entry.get(row['key'], row['key'])} price"
        row["action"] = UPDATED if row["action"] != FAILED else FAILED
        done.append(row)


def _items_report(plan: Plan, skipped: pd.DataFrame, done: list[dict]) -> AreaReport:
    """The area report: problems logged, failed items to retry next run (R-GEN-5), one line of
    counts."""
    frame = outcomes(done)
    log_problems(log, rules.AREA, skipped, frame, names=plan.get("names"))
    report = add_warnings(
        area_report(rules.AREA, skipped, frame, considered=plan.get("considered")),
        plan.get("quality", []),
    )
    failed_keys = frame.loc[frame["action"] == FAILED, "key"].astype(str)
    report["retry"] = {QB_STREAM: sorted({k.split(":")[1].split()[0] for k in failed_keys})}
    log.info(
        "items: %d products created, %d updated, %d failed",
        count(report, CREATED, SF_PRODUCT),
        count(report, UPDATED, SF_PRODUCT),
        count(report, FAILED, SF_PRODUCT),
    )
    return report


def commit(
    run: RunContext, extracted: Extract, report: AreaReport, *, state=None
) -> dict[str, str]:
    """After a successful load: save the items to retry, mark the first export done, then move
    the watermark."""
    from sfqb.steps.common import commit_area

    state = state or sync_state()
    if extracted.get("first_export"):
        state.mark_first_run_done(
            rules.FIRST_EXPORT,
            run_id=run["run_id"],
            now=dt.datetime.now(dt.UTC),
            details={"items": len(extracted["items"])},
        )
    return commit_area(run, extracted, report, state)
