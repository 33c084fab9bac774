"""The invoices area's I/O steps: extract, plan, load, commit (docs/rules.md section 5, R-INV-1..7).

QuickBooks Invoices and Payments changed since their streams' watermarks are read through
Change Data Capture (deletions included); a changed payment (applied, edited, voided) brings
back the invoices its lines point to, re-read by Id: payments are found through the Payment
changes, never by rereading every invoice. For the invoices whose customer has no Account, the
customer and a project's ancestors are read (``read_billing``: a project's invoice takes its
nearest ancestor's Account, R-INV-7); an invoice still without one waits on those customers in
the sync state and is read again once one has an Account (``ready_waiting``, one query a run).
The rules are ``sfqb.areas.invoices``; only Salesforce is written.

The historical migration (docs/rules.md section 6, ``sfqb.steps.migration``) reuses the pieces for
any list of QuickBooks invoice records: ``invoice_frames``, ``read_salesforce``, ``read_billing``,
``plan_extracted`` (with ``link_opportunities=False``) and ``load``.

Keys in outcomes and log lines: ``QB:Invoice:<Id>`` for the Invoice__c (and a placeholder
Opportunity), ``QB:Invoice:<Id> line <line Id>`` for an Invoice_Item__c,
``QB:Invoice:<Id> Invoice Item <Salesforce Id>`` for one deleted and
``QB:Invoice:<Id> Opportunity <Id>`` for a link.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import NotRequired, TypedDict

import pandas as pd

from sfqb import soql
from sfqb.areas import invoices as rules
from sfqb.frames import add_address_columns, as_text, records_frame, text_numbers
from sfqb.hooks.interface import QuickBooks
from sfqb.outcomes import (
    CREATED,
    DELETED,
    FAILED,
    NOTE_KIND,
    SF_INVOICE,
    UPDATED,
    AreaReport,
    add_warnings,
    area_report,
    count,
    labelled,
    log_problems,
    outcome,
    outcomes,
    salesforce_record,
    warning_line,
    warnings_of,
)
from sfqb.run_params import RunContext
from sfqb.steps.common import (
    AreaExtract,
    commit_area,
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
BOOKKEEPING = ("key", "invoice_id", "reason", "placeholder")
MONEY_FIELDS = ("Subtotal__c", "Outstanding_Balance__c", "Amount__c", "Quantity__c", "Rate__c")
SF_NUMBERS = MONEY_FIELDS


def invoice_frames(records: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(invoices, lines, sales_orders) of QuickBooks invoice records (CDC's deleted ones too).

    Sales-form custom fields are flattened by name (``CustomField.PO Number``); the address
    blocks are derived as the Address Block fields show them; money stays exact (text);
    ``sales_orders`` holds the LinkedTxn of TxnType "SalesOrder" (QuickBooks Desktop)."""
    headers, lines, orders = [], [], []
    for record in records:
        head = {k: v for k, v in record.items() if k not in ("Line", "CustomField", "LinkedTxn")}
        for custom in record.get("CustomField") or []:
            if custom.get("Name"):
                head[f"CustomField.{custom['Name']}"] = custom.get("StringValue")
        headers.append(head)
        lines += [{**line, "TxnId": str(record["Id"])} for line in record.get("Line") or []]
        orders += [
            {"invoice_id": str(record["Id"]), "sales_order_id": str(link["TxnId"])}
            for link in record.get("LinkedTxn") or []
            if link.get("TxnType") == "SalesOrder" and link.get("TxnId")
        ]
    invoices = records_frame(headers, rules.INVOICE_COLUMNS)
    for prefix in ("BillAddr", "ShipAddr"):
        invoices = add_address_columns(invoices, prefix)
    invoices = invoices[rules.INVOICE_COLUMNS].copy()
    invoices["Id"] = invoices["Id"].astype(str)
    line_frame = records_frame(lines, rules.LINE_COLUMNS)[rules.LINE_COLUMNS].copy()
    line_frame["Id"] = as_text(line_frame["Id"])
    return (
        text_numbers(invoices, ["TotalAmt", "Balance"]),
        text_numbers(line_frame, ["Amount", rules.QTY, rules.UNIT_PRICE, "LineNum"]),
        records_frame(orders, rules.SALES_ORDER_COLUMNS)[rules.SALES_ORDER_COLUMNS].copy(),
    )


class SalesforceSide(TypedDict):
    """What the plan compares the invoices with in Salesforce (``read_salesforce``)."""

    sf_invoices: pd.DataFrame
    """Their Invoice__c records."""
    sf_items: pd.DataFrame
    """Those records' Invoice_Item__c."""
    sf_links: pd.DataFrame
    """Those records' Invoice_Opportunity_Link__c."""
    accounts: pd.DataFrame
    """The Accounts of their customers (and of those customers' ancestors, R-INV-7)."""
    products: pd.DataFrame
    """The Products of their items (by ProductCode)."""
    opportunities: pd.DataFrame
    """The Opportunities of their Ids and of their sales orders."""


class Inputs(SalesforceSide):
    """The frames the plan takes (the fields of ``rules.InvoiceInputs``): the extract's, and
    each chunk's of the migration."""

    invoices: pd.DataFrame
    lines: pd.DataFrame
    sales_orders: pd.DataFrame
    """The sales orders the invoices' lines link to."""
    customers: pd.DataFrame
    """The QuickBooks customers, and their ancestors, of invoices no Account has
    (``read_billing`` reads them; empty until it has)."""


class Extract(AreaExtract, Inputs):
    """The changed invoices and what the plan compares them with."""

    ran: bool
    """False when ``sync_invoices`` is off (R-INV-5): nothing was read."""
    waited: NotRequired[list[str]]
    """Invoices read again because their customer has an Account now (R-INV-7): the commit
    stops waiting for the ones QuickBooks no longer has."""


class Plan(TypedDict):
    """The Salesforce writes (``rules.InvoicePlan``), the skips and what waits."""

    placeholders: list[dict]
    invoices: list[dict]
    marks: list[dict]
    item_creates: list[dict]
    item_updates: list[dict]
    item_deletes: list[dict]
    links: list[dict]
    skips: pd.DataFrame
    notes: pd.DataFrame
    retry: list[str]
    considered: list[str]
    """The keys of the invoices read (R-OPS-3)."""
    waiting: dict[str, list[str]]
    """QuickBooks customer Id -> the invoices waiting for its Account (R-INV-7)."""
    names: NotRequired[dict[str, str]]
    """Key -> the invoice's number (``invoice 1061``), for the load's log lines."""


def _frame(records, columns: list[str]) -> pd.DataFrame:
    frame = records_frame(records, columns)[columns].copy()
    return text_numbers(frame, SF_NUMBERS)


def read_salesforce(
    sf, invoices: pd.DataFrame, lines: pd.DataFrame, sales_orders: pd.DataFrame
) -> SalesforceSide:
    """What the plan compares the invoices with, in the fewest calls (``query_in``): their
    Invoice__c, those records' items and links, the Accounts of their customers, the Products of
    their items (by ProductCode) and the Opportunities of their Ids and sales orders."""
    ids = list(invoices["Id"].astype(str))
    sf_invoices = _frame(
        sf.query_in("Invoice__c", rules.SF_INVOICE_COLUMNS, rules.EXT_INVOICE, ids),
        rules.SF_INVOICE_COLUMNS,
    )
    parents = list(sf_invoices["Id"].dropna())
    sf_items = _frame(
        sf.query_in("Invoice_Item__c", rules.SF_ITEM_COLUMNS, "Invoice__c", parents),
        rules.SF_ITEM_COLUMNS,
    )
    sf_links = _frame(
        sf.query_in("Invoice_Opportunity_Link__c", rules.SF_LINK_COLUMNS, "Invoice__c", parents),
        rules.SF_LINK_COLUMNS,
    )
    accounts = _frame(
        sf.query_in(
            "Account",
            rules.ACCOUNT_COLUMNS,
            "External_Account_ID__c",
            invoices["CustomerRef.value"].dropna().astype(str),
        ),
        rules.ACCOUNT_COLUMNS,
    )
    sales = lines[lines["DetailType"] == rules.SALES_LINE]
    products = _frame(
        sf.query_in(
            "Product2", rules.PRODUCT_COLUMNS, "ProductCode", sales[rules.ITEM_NAME].dropna()
        ),
        rules.PRODUCT_COLUMNS,
    )
    txn_ids = ids + list(sales_orders["sales_order_id"].dropna().astype(str))
    opportunities = _frame(
        sf.query_in("Opportunity", rules.OPPORTUNITY_COLUMNS, rules.EXT_TXN, txn_ids),
        rules.OPPORTUNITY_COLUMNS,
    )
    return {
        "sf_invoices": sf_invoices,
        "sf_items": sf_items,
        "sf_links": sf_links,
        "accounts": accounts,
        "products": products,
        "opportunities": opportunities,
    }


def read_billing(qb: QuickBooks, sf, extracted: Inputs) -> Inputs:
    """``extracted`` with what tells whose Account an invoice without one takes (R-INV-7,
    ``rules.billing``): for the invoices whose customer no Account has, that customer and its
    ancestors in QuickBooks (one ``query_in`` per level, inactive ones included: a project is
    nested at most MAX_LEVELS deep, its chain is read only when its invoices need it) as
    ``customers``, and the Accounts of those ancestors added to ``accounts``. No invoice
    without an Account, no call."""
    invoices, accounts = extracted["invoices"], extracted["accounts"]
    linked = set(accounts["External_Account_ID__c"].dropna().astype(str))
    alive = invoices[invoices["status"].astype(str) != rules.DELETED]
    unbilled = sorted(set(alive["CustomerRef.value"].dropna().astype(str)) - linked)
    found: dict[str, dict] = {}
    level = unbilled
    for depth in range(rules.MAX_LEVELS + 1):
        level = [c for c in level if c not in found and c not in linked]
        if not level:
            break
        records = [*qb.query_in("Customer", "Id", level, include_inactive=True)]
        found.update((str(r["Id"]), r) for r in records)
        # Only a project is billed through its parents; above it, every ancestor counts.
        level = sorted(
            {
                str(r["ParentRef"]["value"])
                for r in records
                if (r.get("ParentRef") or {}).get("value") and (depth or rules.is_project(r))
            }
        )
    customers = records_frame(list(found.values()), rules.CUSTOMER_COLUMNS)[
        rules.CUSTOMER_COLUMNS
    ].copy()
    above = sorted(set(found) - set(unbilled))
    more = _frame(
        sf.query_in("Account", rules.ACCOUNT_COLUMNS, "External_Account_ID__c", above)
        if above
        else [],
        rules.ACCOUNT_COLUMNS,
    )
    if unbilled:
        log.info(
            "invoices: no Account has the Id of %d of the invoices' customers: %d QuickBooks "
            "customers read (theirs and a project's ancestors), %d Accounts of ancestors found",
            len(unbilled),
            len(found),
            len(more),
        )
    return {
        **extracted,
        "customers": customers,
        "accounts": pd.concat([accounts, more], ignore_index=True) if len(more) else accounts,
    }


def _empty(windows: dict) -> Extract:
    invoices, lines, orders = invoice_frames([])
    return {
        "windows": windows,
        "ran": False,
        "invoices": invoices,
        "lines": lines,
        "sales_orders": orders,
        "sf_invoices": records_frame([], rules.SF_INVOICE_COLUMNS),
        "sf_items": records_frame([], rules.SF_ITEM_COLUMNS),
        "sf_links": records_frame([], rules.SF_LINK_COLUMNS),
        "accounts": records_frame([], rules.ACCOUNT_COLUMNS),
        "products": records_frame([], rules.PRODUCT_COLUMNS),
        "opportunities": records_frame([], rules.OPPORTUNITY_COLUMNS),
        "customers": records_frame([], rules.CUSTOMER_COLUMNS),
    }


def paid_invoice_ids(payments: list[dict]) -> set[str]:
    """The invoices the lines of changed payments point to (``LinkedTxn`` of TxnType Invoice).
    A deleted payment comes back from CDC without lines: the invoices it was applied to change
    themselves (balance, LinkedTxn) and come through the Invoice changes."""
    ids = set()
    for payment in payments:
        for line in payment.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                if link.get("TxnType") == "Invoice" and link.get("TxnId"):
                    ids.add(str(link["TxnId"]))
    return ids


def ready_waiting(sf, state) -> set[str]:
    """The invoices waiting for an Account (``state.waiting``) whose customer now has one: one
    Salesforce query for all the customers waited on (nothing when none is), whatever the
    number of invoices waiting (R-INV-7)."""
    waiting = state.waiting(rules.INVOICE_STREAM)
    if not waiting:
        return set()
    found = {
        str(r["External_Account_ID__c"])
        for r in sf.query_in(
            "Account", ["External_Account_ID__c"], "External_Account_ID__c", sorted(waiting)
        )
    }
    ready = {i for c in found & set(waiting) for i in waiting[c]}
    log.info(
        "invoices: %d invoices wait for their customer's Account (%d customers); %d of those "
        "customers have one now: their %d invoices are read again",
        len({i for ids in waiting.values() for i in ids}),
        len(waiting),
        len(found & set(waiting)),
        len(ready),
    )
    return ready


def read_quickbooks(
    qb: QuickBooks,
    sf,
    state,
    windows: dict,
    *,
    at: dt.datetime | None = None,
    ready: set[str] | None = None,
) -> list[dict]:
    """The invoices to sync: Invoice changes (CDC, deletions included) since the earliest window
    start, the invoices of the changed payments, those a previous run left to retry (due at
    ``at``, the run's upper bound), those waiting for an Account whose customer has one now
    (``ready``; by default ``ready_waiting``), and those a user ticked Sync_Me__c on in
    Salesforce (R-GEN-9)."""
    entities = [e for e, stream in STREAMS.items() if windows.get(stream)]
    changed: dict[str, list[dict]] = {e: [] for e in STREAMS}
    if entities:
        since = min(Window.from_xcom(windows[STREAMS[e]]).start for e in entities)
        # One CDC call per entity: CDC answers at most 1000 objects in all, and the hook can
        # only tell that an entity hit the cap (and read it by window query) when it is alone.
        for entity in entities:
            changed.update(qb.changes([entity], since))
    invoices = {str(r["Id"]): r for r in changed["Invoice"]}
    payments = changed["Payment"]
    wanted = paid_invoice_ids(payments)
    due = set(state.retries(rules.INVOICE_STREAM, at=at))
    wanted |= due
    wanted |= ready_waiting(sf, state) if ready is None else ready
    ticked = sf.query(
        soql.select("Invoice__c", [rules.EXT_INVOICE], where=soql.eq("Sync_Me__c", True))
    )
    # A ticked invoice that failed several runs in a row waits for its retry (R-GEN-9), unless it
    # changed in QuickBooks.
    held = (
        (set(state.retries(rules.INVOICE_STREAM)) - due - set(invoices))
        if at is not None
        else set()
    )
    wanted |= {str(r[rules.EXT_INVOICE]) for r in ticked if r.get(rules.EXT_INVOICE)} - held
    reread = sorted(wanted - set(invoices))
    if reread:
        invoices.update({str(r["Id"]): r for r in qb.query_in("Invoice", "Id", reread)})
    log.info(
        "invoices: %d QuickBooks invoices changed (%d deleted), %d payments changed (%d deleted); "
        "%d invoices re-read for payments, retries, Accounts now found and Sync Me",
        len(changed["Invoice"]),
        sum(r.get("status") == rules.DELETED for r in changed["Invoice"]),
        len(payments),
        sum(r.get("status") == rules.DELETED for r in payments),
        len(reread),
    )
    return list(invoices.values())


def inputs(records: list[dict], sf) -> Inputs:
    """The frames of ``records`` and the Salesforce side read for them: what the plan takes
    (the extract's and the migration's chunks')."""
    invoices, lines, orders = invoice_frames(records)
    return {
        "invoices": invoices,
        "lines": lines,
        "sales_orders": orders,
        "customers": records_frame([], rules.CUSTOMER_COLUMNS),
        **read_salesforce(sf, invoices, lines, orders),
    }


def extract(run: RunContext, *, sf=None, qb: QuickBooks | None = None, state=None) -> Extract:
    """The changed invoices (and those of changed payments) and what the plan compares them
    with. With ``sync_invoices`` off (R-INV-5) nothing is read."""
    prefs = preferences(run)
    if not prefs.sync_invoices:
        log.info("invoices: sync_invoices is off: QuickBooks invoices are not read (R-INV-5)")
        return _empty({})
    state = state or sync_state()
    windows = run_windows(run, list(STREAMS.values()), state)
    sf, qb = sf or salesforce_hook(), qb or quickbooks_hook(run)
    ready = ready_waiting(sf, state)
    mark = len(qb.clock.seen)  # the watermarks move no later than QuickBooks' time of the read
    records = read_quickbooks(
        qb, sf, state, windows, at=dt.datetime.fromisoformat(run["upper_bound"]), ready=ready
    )
    windows = read_on_quickbooks_clock(windows, STREAMS.values(), qb.clock.first_since(mark))
    gone = ready - {str(r["Id"]) for r in records}
    if gone:
        log.info(
            "invoices: %d invoices waiting for an Account are gone from QuickBooks: they wait "
            "no more (%s)",
            len(gone),
            ", ".join(sorted(gone)[:10]),
        )
    # ``waited``: read again for their Account; the commit drops them from the waiting list
    # when QuickBooks no longer has them.
    return {
        "windows": windows,
        "ran": True,
        "waited": sorted(ready),
        **read_billing(qb, sf, inputs(records, sf)),
    }


def plan_extracted(
    extracted: Inputs, *, create_missing_opportunities: bool, link_opportunities: bool = True
) -> Plan:
    """The pure rules over extracted frames; an XCom-ready dict."""
    inputs = rules.InvoiceInputs(
        invoices=extracted["invoices"],
        lines=extracted["lines"],
        sales_orders=extracted["sales_orders"],
        sf_invoices=extracted["sf_invoices"],
        sf_items=extracted["sf_items"],
        sf_links=extracted["sf_links"],
        accounts=extracted["accounts"],
        products=extracted["products"],
        opportunities=extracted["opportunities"],
        customers=extracted["customers"],
    )
    result = rules.plan_invoices(
        inputs,
        create_missing_opportunities=create_missing_opportunities,
        link_opportunities=link_opportunities,
    )
    log.info(
        "invoices plan: %d invoices to write, %d deleted to mark; items: %d to create, %d to "
        "update, %d to delete; %d links, %d placeholder opportunities; %d skipped",
        len(result.invoices),
        len(result.marks),
        len(result.item_creates),
        len(result.item_updates),
        len(result.item_deletes),
        len(result.links),
        len(result.placeholders),
        len(result.skips),
    )
    planned: Plan = {
        "placeholders": result.placeholders,
        "invoices": result.invoices,
        "marks": result.marks,
        "item_creates": result.item_creates,
        "item_updates": result.item_updates,
        "item_deletes": result.item_deletes,
        "links": result.links,
        "skips": result.skips,
        "notes": result.notes,
        "retry": result.retry,
        "considered": [
            rules.invoice_key(i) for i in extracted["invoices"]["Id"].astype(str).tolist()
        ],
        "waiting": result.waiting,
    }
    planned["names"] = plan_names(
        planned,
        lambda keys: names_of(
            extracted["invoices"],
            "DocNumber",
            prefix=f"QB:{rules.ENTITY}:",
            label="invoice ",
            keys=keys,
        ),
    )
    return planned


def plan(run: RunContext, extracted: Extract) -> Plan:
    """The plan for the run's preferences (``create_missing_opportunities``, R-INV-3)."""
    return plan_extracted(
        extracted, create_missing_opportunities=preferences(run).create_missing_opportunities
    )


def _record(entry: dict, stamp: str | None = None) -> dict:
    """A plan entry as a Salesforce record: bookkeeping dropped, money Decimal, stamped."""
    record = {k: v for k, v in entry.items() if k not in BOOKKEEPING}
    for name in MONEY_FIELDS:
        if record.get(name) is not None:
            record[name] = Decimal(str(record[name]))
    if "Last_Sync_Date__c" in record:
        record["Last_Sync_Date__c"] = stamp
    return record


def _apply(
    results, entries: list[dict], by: str, done: list[dict], sobject: str
) -> dict[str, object]:
    """Outcome rows for ``results`` (writes to ``sobject``, keyed by ``entry[by]``) under the
    entries' keys; returns ``entry[by]`` -> the result (failed ones included)."""
    key_of = {str(e[by]): e["key"] for e in entries}
    by_value = {str(r.key): r for r in results}
    for row in sf_outcomes(results, sobject):
        row["key"] = key_of.get(row["key"], row["key"])
        done.append(row)
    return by_value


def _upsert(sf, sobject: str, entries: list[dict], ext: str, done: list[dict], stamp=None) -> dict:
    """Upsert ``entries`` by ``ext``; outcome rows into ``done``; returns ``entry[ext]`` ->
    result."""
    return _apply(
        sf.upsert(sobject, [_record(e, stamp) for e in entries], ext_id_field=ext),
        entries,
        ext,
        done,
        sobject,
    )


def _blocked(
    entries: list[dict], failed: set[str], what: str, done: list[dict], sobject: str
) -> list[dict]:
    """Entries (of ``sobject``) of invoices that failed are not sent: a FAILED outcome each; the
    rest returned."""
    kept = []
    for entry in entries:
        if entry["invoice_id"] in failed:
            done.append(
                outcome(
                    entry["key"],
                    FAILED,
                    record=salesforce_record(sobject),
                    reason=f"not written: its {what} could not be written",
                )
            )
        else:
            kept.append(entry)
    return kept


def load(run: RunContext, plan: Plan, *, sf=None) -> AreaReport:
    """Write the plan: placeholder Opportunities, Invoice__c upserts (and deleted marks),
    Invoice_Item__c upserts, deletes of removed items, then the links. Every Invoice__c and
    Opportunity write is stamped with Last_Sync_Date__c (R-GEN-7). One outcome per record; a
    failure is a WARNING and its invoice is read again next run (R-GEN-5)."""
    done: list[dict] = []
    writes = (
        plan["placeholders"],
        plan["invoices"],
        plan["marks"],
        plan["item_creates"],
        plan["item_updates"],
        plan["item_deletes"],
        plan["links"],
    )
    if any(writes):
        sf = sf or salesforce_hook()
        stamp = now_stamp()
        opp_ids: dict[str, str] = {}
        failed_placeholders: set[str] = set()
        if plan["placeholders"]:
            results = _upsert(sf, "Opportunity", plan["placeholders"], rules.EXT_TXN, done, stamp)
            for invoice_id, result in results.items():
                if result.ok:
                    opp_ids[invoice_id] = result.id
                else:
                    failed_placeholders.add(invoice_id)
        failed: set[str] = set()
        for group in (plan["invoices"], plan["marks"]):
            if group:
                results = _upsert(sf, "Invoice__c", group, rules.EXT_INVOICE, done, stamp)
                failed |= {k for k, r in results.items() if not r.ok}
        for group in (plan["item_creates"], plan["item_updates"]):
            entries = _blocked(group, failed, "invoice", done, "Invoice_Item__c")
            if entries:
                _upsert(sf, "Invoice_Item__c", entries, rules.EXT_ITEM, done)
        deletes = _blocked(plan["item_deletes"], failed, "invoice", done, "Invoice_Item__c")
        if deletes:
            results = sf.delete([d["Id"] for d in deletes], bulk_sobject="Invoice_Item__c")
            key_of = {d["Id"]: d for d in deletes}
            for row in sf_outcomes(results, "Invoice_Item__c"):
                entry = key_of.get(row["key"])
                if row["action"] != FAILED:
                    row["action"] = DELETED
                    if entry:
                        log.info("%s: deleted %s: %s", rules.AREA, entry["key"], entry["reason"])
                row["key"] = entry["key"] if entry else row["key"]
                done.append(row)
        links = _blocked(
            plan["links"],
            failed | failed_placeholders,
            "invoice or placeholder",
            done,
            "Invoice_Opportunity_Link__c",
        )
        records = []
        for link in links:
            if link.get("placeholder"):
                opp = opp_ids[link["placeholder"]]
                link = {
                    **link,
                    "Opportunity__c": opp,
                    rules.EXT_LINK: rules.link_external_id(link["placeholder"], opp),
                }
            records.append(link)
        if records:
            _upsert(sf, "Invoice_Opportunity_Link__c", records, rules.EXT_LINK, done)
    return _report(plan, outcomes(done))


def _report(plan: Plan, frame: pd.DataFrame) -> AreaReport:
    skipped = plan["skips"]
    log_problems(log, rules.AREA, skipped, frame, names=plan.get("names"))
    notes = warnings_of(rules.AREA, plan["notes"], NOTE_KIND)
    for note in notes:
        named = {**note, "key": labelled(note["key"], plan.get("names")) if note["key"] else ""}
        log.warning("%s", warning_line(named))
    report = add_warnings(
        area_report(rules.AREA, skipped, frame, considered=plan.get("considered")), notes
    )
    undone = set(plan.get("retry") or [])
    undone |= {
        rules.invoice_id_of(k) for k in frame.loc[frame["action"] == FAILED, "key"].astype(str)
    }
    report["retry"] = {rules.INVOICE_STREAM: sorted(undone), rules.PAYMENT_STREAM: []}
    report["waiting"] = {rules.INVOICE_STREAM: plan.get("waiting") or {}}
    log.info(
        "invoices: %d invoices created, %d updated, %d failed",
        count(report, CREATED, SF_INVOICE),
        count(report, UPDATED, SF_INVOICE),
        count(report, FAILED, SF_INVOICE),
    )
    return report


def commit(
    run: RunContext, extracted: Extract, report: AreaReport, *, state=None
) -> dict[str, str]:
    """After a successful load: save the invoices waiting for an Account (those read in this
    run wait on what their plan says) and those to read again, then move the watermarks. With
    the area off nothing moves."""
    if not extracted.get("ran"):
        return {}
    state = state or sync_state()
    read = [*extracted["invoices"]["Id"].astype(str), *extracted.get("waited", [])]
    for stream, waiting in (report.get("waiting") or {}).items():
        state.save_waiting(stream, waiting, read=read, run_id=run["run_id"])
    return commit_area(run, extracted, report, state)
