"""The transactions area's I/O steps: extract, plan, load, commit (R-OPP-7).

QuickBooks Invoices and Sales Receipts changed since their stream's watermark (and those a
previous run left undone) are read back into the Opportunities linked to them; the rules are
``sfqb.areas.transactions``. Only Salesforce is written.

Keys in outcomes and log lines: ``QB:<entity>:<Id>`` for the Opportunity of a transaction,
``QB:<entity>:<Id> line <line Id>`` for the Opportunity Product of a line, and
``QB:<entity>:<Id> Opportunity Product <Salesforce Id>`` for one deleted, so every WARNING names
a record a person can find in both systems.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from decimal import Decimal
from typing import NotRequired, TypedDict

import pandas as pd

from sfqb import soql
from sfqb.areas import transactions as rules
from sfqb.frames import add_address_columns, as_text, isin, records_frame, text_numbers
from sfqb.hooks.interface import QuickBooks
from sfqb.mapping.coerce import limits_for
from sfqb.outcomes import (
    CREATED,
    DELETED,
    FAILED,
    NOTE_KIND,
    SF_OPPORTUNITY_PRODUCT,
    UPDATED,
    AreaReport,
    add_warnings,
    area_report,
    count,
    log_problems,
    outcome,
    outcomes,
    warning_line,
    warnings_of,
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

STREAMS = rules.STREAMS
# Plan entries carry these for the load's bookkeeping; they are not Salesforce fields.
BOOKKEEPING = ("key", "opportunity", "replaces", "reason")
TEXT_MONEY_SF = ("Quantity", "UnitPrice")
ENTRY_COLUMNS = ["Id", "Product2Id"]


def transaction_frames(
    records: list[tuple[str, dict]],
    columns: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(transactions, lines) of QuickBooks sales transactions given as (entity, record).

    Sales-form custom fields are flattened by name (``CustomField.PO Number``); the address
    blocks are derived as the Address Block fields show them; money stays exact (text).
    ``columns``: the transaction columns to keep (``rules.read_columns``; the defaults')."""
    columns = columns or rules.TRANSACTION_COLUMNS
    headers, lines = [], []
    for entity, record in records:
        head = {k: v for k, v in record.items() if k not in ("Line", "CustomField", "LinkedTxn")}
        head["entity"] = entity
        for custom in record.get("CustomField") or []:
            if custom.get("Name"):
                head[f"{rules.CUSTOM_FIELD}{custom['Name']}"] = custom.get("StringValue")
        headers.append(head)
        lines += [
            {**line, "entity": entity, "TxnId": str(record["Id"])}
            for line in record.get("Line") or []
        ]
    transactions = records_frame(headers, columns)
    for prefix in ("BillAddr", "ShipAddr"):
        transactions = add_address_columns(transactions, prefix)
    transactions = transactions[columns].copy()
    transactions["Id"] = transactions["Id"].astype(str)
    line_frame = records_frame(lines, rules.LINE_COLUMNS)[rules.LINE_COLUMNS].copy()
    line_frame["Id"] = as_text(line_frame["Id"])
    return (
        text_numbers(transactions, ["TotalAmt"]),
        text_numbers(line_frame, ["Amount", rules.QTY, rules.UNIT_PRICE]),
    )


class Extract(AreaExtract):
    """The changed transactions linked to Opportunities and what the plan compares them with
    (the fields of ``rules.TransactionInputs``)."""

    ran: bool
    """False when the area is switched off (R-OPP-7, R-OPP-8): nothing was read."""
    transactions: pd.DataFrame
    lines: pd.DataFrame
    opportunities: pd.DataFrame
    """The Opportunities linked to them (External Transaction ID)."""
    products: pd.DataFrame
    """Those Opportunities' Opportunity Products."""
    item_products: pd.DataFrame
    """Per QuickBooks item on their lines: its Product and standard price entry."""
    standard_pricebook: str | None
    own_type_exists: list[str]
    """``entity:Id`` of the Opportunities' own-type transactions that still exist."""
    limits: NotRequired[dict]
    """Target field -> its length limit, per map pair (``limits_for``); absent when not run."""


class Plan(TypedDict):
    """The Opportunity and Opportunity Product writes (``rules.TransactionPlan``), the skips."""

    opportunities: list[dict]
    line_updates: list[dict]
    line_creates: list[dict]
    line_deletes: list[dict]
    skips: pd.DataFrame
    notes: pd.DataFrame
    retry: list[str]
    considered: list[str]
    """The keys of the transactions read (R-OPS-3)."""
    names: NotRequired[dict[str, str]]
    """Key -> the record's name, for the load's log lines."""


def run_streams(run: RunContext) -> dict[str, str]:
    """The run's streams: Sales Orders too on QuickBooks Desktop (R-OPP-7)."""
    return rules.streams(preferences(run).is_online)


def transaction_maps(run: RunContext) -> tuple:
    """The effective (header, line) maps of the area (defaults + custom rows)."""
    from sfqb.mapping.maps import effective_map

    prefs = preferences(run)
    return effective_map(rules.HEADER_MAP, prefs), effective_map(rules.LINE_MAP, prefs)


def _empty(windows: dict, columns=None) -> Extract:
    txn_columns, opp_columns, product_columns = columns or (
        rules.TRANSACTION_COLUMNS,
        rules.OPPORTUNITY_COLUMNS,
        rules.PRODUCT_COLUMNS,
    )
    transactions, lines = transaction_frames([], txn_columns)
    return {
        "windows": windows,
        "ran": False,
        "transactions": transactions,
        "lines": lines,
        "opportunities": records_frame([], opp_columns),
        "products": records_frame([], product_columns),
        "item_products": records_frame([], rules.ITEM_PRODUCT_COLUMNS),
        "standard_pricebook": None,
        "own_type_exists": [],
    }


def _changed(qb: QuickBooks, run: RunContext, state, windows: dict) -> list[tuple[str, dict]]:
    """Transactions changed in each stream's window, plus the ones left to retry."""
    records: list[tuple[str, dict]] = []
    for entity, stream in run_streams(run).items():
        got: list[dict] = []
        if windows.get(stream):
            window = Window.from_xcom(windows[stream])
            got = list(qb.query_window(entity, window.start, window.end))
        retry = set(due_retries(run, stream, state)) - {str(r["Id"]) for r in got}
        if retry:
            got += list(qb.query_in(entity, "Id", retry))
        records += [(entity, r) for r in got]
    return records


def _item_products(sf, item_ids) -> tuple[pd.DataFrame, str | None]:
    """Per QuickBooks item: its Product (External Item ID) and that Product's active entry in
    the standard price book (R-ITM-2 makes both). No item, no call."""
    if not item_ids:
        return records_frame([], rules.ITEM_PRODUCT_COLUMNS), None
    book = sf.standard_pricebook()
    products = records_frame(
        sf.query_in(
            "Product2", ["Id", "External_Item_ID__c"], "External_Item_ID__c", sorted(item_ids)
        ),
        ["Id", "External_Item_ID__c"],
    )
    entries = records_frame([], ENTRY_COLUMNS)
    if book and len(products):
        where = [soql.eq("Pricebook2Id", book["Id"]), soql.eq("IsActive", True)]
        entries = records_frame(
            sf.query_in("PricebookEntry", ENTRY_COLUMNS, "Product2Id", products["Id"], where=where),
            ENTRY_COLUMNS,
        )
    frame = products.rename(columns={"Id": "Product2Id", "External_Item_ID__c": "item_id"}).merge(
        entries.rename(columns={"Id": "PricebookEntryId"}).drop_duplicates("Product2Id"),
        on="Product2Id",
        how="left",
    )
    return frame.reindex(columns=rules.ITEM_PRODUCT_COLUMNS).astype("object"), (
        book["Id"] if book else None
    )


def extract(run: RunContext, *, sf=None, qb: QuickBooks | None = None, state=None) -> Extract:
    """The changed transactions that are linked to Opportunities, and what the plan compares
    them with: those Opportunities, their Opportunity Products, and the Products and standard
    price entries of the items on their lines."""
    prefs = preferences(run)
    if not (prefs.update_opportunities_from_quickbooks and prefs.sync_won_opportunities):
        off = (
            "update_opportunities_from_quickbooks"
            if prefs.sync_won_opportunities
            else "sync_won_opportunities"
        )
        log.info(
            "transactions: %s is off: QuickBooks invoices and sales receipts are not read back "
            "into opportunities (R-OPP-7, R-OPP-8)",
            off,
        )
        return _empty({})
    state = state or sync_state()
    windows = run_windows(run, list(run_streams(run).values()), state)
    sf, qb = sf or salesforce_hook(), qb or quickbooks_hook(run)
    mark = len(qb.clock.seen)  # the watermarks move no later than QuickBooks' time of the read
    records = _changed(qb, run, state, windows)
    windows = read_on_quickbooks_clock(
        windows, run_streams(run).values(), qb.clock.first_since(mark)
    )
    header_map, line_map = transaction_maps(run)
    txn_columns, opp_columns, product_columns = rules.read_columns(header_map, line_map)
    transactions, lines = transaction_frames(records, txn_columns)
    opportunities = records_frame(
        sf.query_in("Opportunity", opp_columns, rules.EXT_TXN, transactions["Id"]), opp_columns
    )
    linked = set(opportunities[rules.EXT_TXN].dropna().astype(str))
    transactions = transactions[isin(transactions["Id"], linked)].reset_index(drop=True)
    lines = lines[isin(lines["TxnId"], linked)].reset_index(drop=True)
    own_type_exists = set()
    for entity, ids in rules.own_type_candidates(transactions, opportunities).items():
        own_type_exists |= {f"{entity}:{r['Id']}" for r in qb.query_in(entity, "Id", ids)}
    products = records_frame(
        sf.query_in("OpportunityLineItem", product_columns, "OpportunityId", opportunities["Id"]),
        product_columns,
    )
    products = text_numbers(
        products[product_columns].copy(), ["Quantity", "UnitPrice", rules.LINE_INDEX]
    )
    sales = lines[lines["DetailType"] == rules.SALES_LINE]
    item_products, book = _item_products(sf, set(sales[rules.ITEM].dropna().astype(str)))
    log.info(
        "transactions: %d QuickBooks invoices and sales receipts changed, %d of them linked to "
        "opportunities",
        len(records),
        len(transactions),
    )
    return {
        "windows": windows,
        "ran": True,
        "transactions": transactions,
        "lines": lines,
        "opportunities": opportunities[opp_columns].copy(),
        "products": products,
        "item_products": item_products,
        "standard_pricebook": book,
        "own_type_exists": sorted(own_type_exists),
        "limits": limits_for((header_map, line_map), sf.describe),
    }


def plan(run: RunContext, extracted: Extract) -> Plan:
    """The pure rules over the extracted frames (XCom-ready dict of lists and frames)."""
    inputs = rules.TransactionInputs(
        transactions=extracted["transactions"],
        lines=extracted["lines"],
        opportunities=extracted["opportunities"],
        products=extracted["products"],
        item_products=extracted["item_products"],
        standard_pricebook=extracted["standard_pricebook"],
        own_type_exists=frozenset(extracted.get("own_type_exists") or []),
    )
    header_map, line_map = transaction_maps(run)
    result = rules.plan_transactions(inputs, header_map, line_map, extracted.get("limits"))
    log.info(
        "transactions plan: %d opportunities to update; %d opportunity products to update, %d to "
        "create, %d to delete; %d skipped",
        len(result.opportunities),
        len(result.line_updates),
        len(result.line_creates),
        len(result.line_deletes),
        len(result.skips),
    )
    planned: Plan = {
        "opportunities": result.opportunities,
        "line_updates": result.line_updates,
        "line_creates": result.line_creates,
        "line_deletes": result.line_deletes,
        "skips": result.skips,
        "notes": result.notes,
        "retry": result.retry,
        "considered": [
            rules.txn_key(e, i)
            for e, i in zip(
                extracted["transactions"]["entity"].tolist(),
                extracted["transactions"]["Id"].tolist(),
                strict=True,
            )
        ],
    }
    planned["names"] = plan_names(planned, lambda keys: transaction_names(extracted, keys))
    return planned


def transaction_names(extracted: Extract, keys: Collection[str] | None = None) -> dict[str, str]:
    """Key -> name of the transactions (``invoice 1061``) and their Opportunities (of ``keys``
    only, when given)."""
    known = names_of(extracted["opportunities"], "Name", keys=keys)
    txns = extracted["transactions"]
    for entity in txns["entity"].dropna().unique() if "entity" in txns.columns else ():
        label = rules.TYPE_BY_ENTITY.get(str(entity), str(entity)).lower() + " "
        known.update(
            names_of(
                txns[txns["entity"] == entity],
                "DocNumber",
                prefix=f"QB:{entity}:",
                label=label,
                keys=keys,
            )
        )
    return known


def _record(entry: dict) -> dict:
    """A plan entry as a Salesforce record: bookkeeping dropped, quantities and money Decimal,
    the line index an int."""
    record = {k: v for k, v in entry.items() if k not in BOOKKEEPING}
    for name in TEXT_MONEY_SF:
        if name in record and record[name] is not None:
            record[name] = Decimal(str(record[name]))
    if record.get(rules.LINE_INDEX) is not None:
        record[rules.LINE_INDEX] = int(Decimal(str(record[rules.LINE_INDEX])))
    return record


def _apply(
    results, entries: list[dict], by: str, action: str, done: list[dict], sobject: str
) -> set[str]:
    """Outcome rows for ``results`` (writes to ``sobject``, keyed by ``entry[by]``) under the
    entries' keys; returns the ``by`` values that failed."""
    key_of = {str(e[by]): e["key"] for e in entries}
    failed = set()
    for row in sf_outcomes(results, sobject):
        if row["action"] == FAILED:
            failed.add(row["key"])
        else:
            row["action"] = action
        row["key"] = key_of.get(row["key"], row["key"])
        done.append(row)
    return failed


def load(run: RunContext, plan: Plan, *, sf=None) -> AreaReport:
    """Write the plan: deletes first (a replaced product frees its External Line ID), then
    product updates and creates, then the Opportunities, stamped with Last_Sync_Date__c
    (R-GEN-7). One outcome per record; a failure is a WARNING and its transaction is read again
    next run (R-GEN-5)."""
    done: list[dict] = []
    deletes, updates, creates = plan["line_deletes"], plan["line_updates"], plan["line_creates"]
    if deletes or updates or creates or plan["opportunities"]:
        sf = sf or salesforce_hook()
        failed = _apply(
            sf.delete([d["Id"] for d in deletes]) if deletes else [],
            deletes,
            "Id",
            DELETED,
            done,
            "OpportunityLineItem",
        )
        for entry in deletes:
            if entry["Id"] not in failed:
                log.info("%s: deleted %s: %s", rules.AREA, entry["key"], entry["reason"])
        if updates:
            _apply(
                sf.update("OpportunityLineItem", [_record(u) for u in updates]),
                updates,
                "Id",
                UPDATED,
                done,
                "OpportunityLineItem",
            )
        blocked = [c for c in creates if c.get("replaces") in failed]
        done += [
            outcome(
                c["key"],
                FAILED,
                record=SF_OPPORTUNITY_PRODUCT,
                reason=(
                    f"not added: the Opportunity Product {c['replaces']} it replaces could not be "
                    "deleted"
                ),
            )
            for c in blocked
        ]
        creates = [c for c in creates if c not in blocked]
        if creates:
            _apply(
                sf.create(
                    "OpportunityLineItem", [_record(c) for c in creates], key_field=rules.EXT_LINE
                ),
                creates,
                rules.EXT_LINE,
                CREATED,
                done,
                "OpportunityLineItem",
            )
        if plan["opportunities"]:
            stamp = now_stamp()
            records = [{**_record(o), "Last_Sync_Date__c": stamp} for o in plan["opportunities"]]
            _apply(
                sf.update("Opportunity", records),
                plan["opportunities"],
                "Id",
                UPDATED,
                done,
                "Opportunity",
            )
    frame = outcomes(done)
    skipped = plan["skips"]
    log_problems(log, rules.AREA, skipped, frame, names=plan.get("names"))
    notes = warnings_of(rules.AREA, plan["notes"], NOTE_KIND)
    for note in notes:
        log.warning("%s", warning_line(note))
    report = add_warnings(
        area_report(rules.AREA, skipped, frame, considered=plan.get("considered")), notes
    )
    undone = set(plan.get("retry") or [])
    undone |= {rules.retry_id(k) for k in frame.loc[frame["action"] == FAILED, "key"].astype(str)}
    report["retry"] = {
        stream: sorted(i.split(":", 1)[1] for i in undone if i.split(":", 1)[0] == entity)
        for entity, stream in run_streams(run).items()
    }
    log.info(
        "transactions: %d opportunity products created, %d records updated, %d deleted, %d failed",
        count(report, CREATED, SF_OPPORTUNITY_PRODUCT),
        count(report, UPDATED),
        count(report, DELETED),
        count(report, FAILED),
    )
    return report


def commit(
    run: RunContext, extracted: Extract, report: AreaReport, *, state=None
) -> dict[str, str]:
    """After a successful load: save the transactions to read again, then move the watermarks.
    With the area off nothing moves (its retries wait for it to be on again)."""
    from sfqb.steps.common import commit_area

    if not extracted.get("ran"):
        return {}
    return commit_area(run, extracted, report, state)
