"""Pure rules: won Opportunities -> QuickBooks Invoices, Sales Receipts (docs/rules.md section 3).

The plan decides, per changed opportunity, whether it becomes a QuickBooks transaction now
(R-OPP-1, R-OPP-2, R-OPP-9), and builds that transaction: header fields from the default map
``opportunity_to_transaction`` with Terms and Class resolved to QuickBooks references and dates
defaulting to the sync date (R-OPP-4), the primary Contact's addresses on creation (R-OPP-5), and
one line per Opportunity Product with the item found by External Item ID, else ProductCode =
FullyQualifiedName (R-OPP-3). Invoices and Sales Receipts are never changed from Salesforce once
created (R-OPP-6); Sales Orders do not exist in QuickBooks Online.

Every transaction carries ``PrivateNote = "Salesforce Opportunity <Id>"``: the load finds by it
what an interrupted earlier attempt created, so an opportunity never gets two (R-GEN-3).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from sfqb.frames import (
    grouped_positions,
    is_true,
    isin,
    isna,
    map_like,
    missing,
    plain_values,
    positions_by,
    present_values,
    records,
)
from sfqb.mapping.coerce import fit
from sfqb.mapping.maps import FieldMap, apply_map, default_map
from sfqb.mapping.same import money
from sfqb.outcomes import INFO, QB_TRANSACTION, WARNING, empty_skips, skips

AREA = "opportunities"
SF_STREAM = "salesforce.Opportunity"
EXT_TXN = "External_Transaction_ID__c"
TXN_NUMBER = "External_Transaction_Number__c"
ACCOUNT_EXT = "Account.External_Account_ID__c"
ITEM_EXT = "Product2.External_Item_ID__c"
EXT_LINE = "External_Line_ID__c"
# Transaction_Type__c -> QuickBooks entity (R-OPP-2); Sales Order is QuickBooks Desktop only,
# and not on Desktop Pro (R-QBD-5).
ONLINE_TYPES = {"Invoice": "Invoice", "Sales Receipt": "SalesReceipt"}
DESKTOP_ONLY = {"Sales Order"}
DESKTOP_TYPES = {**ONLINE_TYPES, "Sales Order": "SalesOrder"}
NO_SALES_ORDERS = "pro"
"""The Desktop edition without Sales Orders (``sfqb.qbwc.qbxml.HostCompany.edition``)."""
# Header fields a Sales Receipt does not have.
NOT_ON_RECEIPTS = ("DueDate", "SalesTermRef")
MEMO_LIMIT = 1000  # CustomerMemo: QuickBooks keeps at most 1000 characters
CENT = Decimal("0.01")

OPPORTUNITY_FIELDS = [
    "Id",
    "Name",
    "AccountId",
    ACCOUNT_EXT,
    "IsWon",
    "StageName",
    "Transaction_Type__c",
    EXT_TXN,
    TXN_NUMBER,
    "Sync_Me__c",
    "Description",
    "Transaction_Date__c",
    "Due_Date__c",
    "Ship_Date__c",
    "Terms__c",
    "Class__c",
    "Shipping_Method__c",
    "PO_Number__c",
    "Sales_Rep__c",
    "SystemModstamp",
]
LINE_FIELDS = [
    "Id",
    "OpportunityId",
    "Product2Id",
    "Product2.Name",
    "Product2.ProductCode",
    ITEM_EXT,
    "Quantity",
    "UnitPrice",
    "Description",
    "SortOrder",
    EXT_LINE,
]
CONTACT_FIELDS = [
    "OpportunityId",
    "ContactId",
    *(
        f"Contact.{kind}{part}"
        for kind in ("Mailing", "Other")
        for part in ("Street", "City", "State", "PostalCode", "Country")
    ),
]
HEADER_MAP = "opportunity_to_transaction"
LINE_MAP = "opportunity_product_to_line"
PRIMARY = "PrimaryContact."


def read_fields(header_map: FieldMap, line_map: FieldMap) -> tuple[list[str], list[str], list[str]]:
    """(Opportunity, Opportunity Product, OpportunityContactRole) fields to read: the defaults
    plus every source the effective maps name (custom ``__c`` fields, primary Contact fields)."""
    header = [s for s in header_map.source_fields if not s.startswith(PRIMARY)]
    contact = [
        "Contact." + s.removeprefix(PRIMARY)
        for s in header_map.source_fields
        if s.startswith(PRIMARY)
    ]
    return (
        list(dict.fromkeys([*OPPORTUNITY_FIELDS, *header])),
        list(dict.fromkeys([*LINE_FIELDS, *line_map.source_fields])),
        list(dict.fromkeys([*CONTACT_FIELDS, *contact])),
    )


def source_of(field_map: FieldMap, target: str) -> str | None:
    """The source of the row that fills ``target`` (the last one), or None."""
    return next((row.source for row in reversed(field_map.rows) if row.target == target), None)


def marker(opportunity_id: str) -> str:
    """The PrivateNote that ties a QuickBooks transaction to its opportunity (R-GEN-3)."""
    return f"Salesforce Opportunity {opportunity_id}"


def line_amount(qty: Decimal, price: Decimal) -> Decimal:
    """A line's Amount as QuickBooks computes it: Qty x UnitPrice, rounded half up to the cent."""
    return (qty * price).quantize(CENT, rounding=ROUND_HALF_UP)


def line_external_id(entity: str, txn_id: object, line_id: object) -> str:
    """External_Line_ID__c of an Opportunity Product: unique in the org, while QuickBooks line
    Ids are only unique inside one transaction (and Ids repeat across transaction types)."""
    return f"{entity}:{txn_id}:{line_id}"


@dataclass(frozen=True)
class OpportunityInputs:
    """What the extract read: the changed won opportunities and what their transactions need.

    ``items``: QuickBooks items the lines may use, frame[Id, FullyQualifiedName, Active, Type];
    ``terms`` / ``classes``: QuickBooks name -> Id; ``custom_fields``: sales-form custom field
    name -> DefinitionId (the company's definitions); ``inactive_customers``: Ids of the
    opportunities' QuickBooks customers that are inactive (QuickBooks refuses a transaction for
    them)."""

    opportunities: pd.DataFrame
    lines: pd.DataFrame
    contacts: pd.DataFrame
    items: pd.DataFrame
    terms: dict[str, str] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    custom_fields: dict[str, str] = field(default_factory=dict)
    inactive_customers: frozenset[str] = frozenset()


UPDATE_COLUMNS = ["key", "entity", "payload", "line_ids", "new_line_ids"]
"""A Sales Order update (R-OPP-6): ``payload`` the sparse SalesOrderMod (JSON text), ``line_ids``
the Opportunity Products in line order, ``new_line_ids`` those that become new lines."""


@dataclass
class OpportunityPlan:
    """``creates``: one row per transaction to create: key (Opportunity Id), entity, customer_id,
    payload (JSON text) and line_ids (JSON list of the Opportunity Product Ids, in line order).
    ``retry``: opportunities to read again next run even if unchanged (blocked by something
    outside them: a missing item, term or class, an Account not synced yet)."""

    creates: pd.DataFrame
    skips: pd.DataFrame = field(default_factory=empty_skips)
    retry: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    updates: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=UPDATE_COLUMNS))


CREATE_COLUMNS = ["key", "entity", "customer_id", "payload", "line_ids"]
SALES_ORDER = "Sales Order"


def entity_types(online: bool) -> dict[str, str]:
    """R-OPP-2: Transaction_Type__c -> QuickBooks entity of the edition."""
    return ONLINE_TYPES if online else DESKTOP_TYPES


def sales_order_limit(online: bool, desktop_edition: str | None) -> str | None:
    """R-OPP-2, R-QBD-5: why this company cannot have a Sales Order (None when it can): QuickBooks
    Online has none, nor has Desktop Pro (the edition the company file reports). An unknown
    Desktop edition is let through: QuickBooks itself refuses a Sales Order Pro cannot keep."""
    if online:
        return (
            "Transaction Type is Sales Order, which QuickBooks Online does not have (QuickBooks "
            "Desktop only): choose Invoice or Sales Receipt (R-OPP-2)"
        )
    if (desktop_edition or "").lower() == NO_SALES_ORDERS:
        return (
            "Transaction Type is Sales Order, which QuickBooks Desktop Pro does not have "
            "(Premier and Enterprise only): choose Invoice or Sales Receipt (R-OPP-2, R-QBD-5)"
        )
    return None


def eligibility(
    opportunities: pd.DataFrame,
    lines: pd.DataFrame,
    *,
    online: bool,
    inactive_customers: frozenset[str] = frozenset(),
    desktop_edition: str | None = None,
) -> pd.DataFrame:
    """R-OPP-1/2/6: a frame[key, reason, level, retry] of the opportunities that are not synced
    now, indexed as ``opportunities`` (vectorised; the first failing condition gives the
    reason). An Account whose QuickBooks
    customer is inactive (``inactive_customers``) holds its opportunities back with a WARNING.
    ``desktop_edition``: on Desktop, the company file's edition (Pro has no Sales Orders)."""
    opps = opportunities
    customer = opps[ACCOUNT_EXT].astype("string")
    kind = opps["Transaction_Type__c"]
    no_orders = sales_order_limit(online, desktop_edition)
    known = "Invoice or Sales Receipt" if online else "Invoice, Sales Receipt or Sales Order"
    with_lines = isin(opps["Id"], set(lines["OpportunityId"].tolist()))
    conditions = [
        (~is_true(opps["IsWon"]), "is not closed/won (R-OPP-1)", INFO, False),
        (
            ~isna(opps[EXT_TXN]),
            lambda rows: (
                "already has QuickBooks transaction "
                + opps.loc[rows, EXT_TXN].astype(str)
                + ": Invoices and Sales Receipts are never changed from Salesforce; clear External "
                "Transaction ID after deleting it in QuickBooks to create a new one (R-OPP-6)"
            ),
            INFO,
            False,
        ),
        (
            isna(kind),
            "has no Transaction Type: set Invoice or Sales Receipt to sync it (R-OPP-1)",
            INFO,
            False,
        ),
        (
            kind == "None",
            'its Transaction Type is "None", which means it is never synced: choose Invoice or '
            "Sales Receipt to sync it",
            INFO,
            False,
        ),
        (
            kind.isin(DESKTOP_ONLY) if no_orders else pd.Series(False, index=opps.index),
            no_orders or "",
            WARNING,
            False,
        ),
        (
            ~kind.isin([*ONLINE_TYPES, *DESKTOP_ONLY, "None"]) & ~isna(kind),
            lambda rows: (
                "Transaction Type "
                + kind[rows].astype(str).map(repr)
                + f" is not {known} (R-OPP-2)"
            ),
            WARNING,
            False,
        ),
        (~with_lines, "has no Opportunity Products (R-OPP-1)", INFO, False),
        (
            isna(opps[ACCOUNT_EXT]),
            lambda rows: (
                "its Account "
                + opps.loc[rows, "AccountId"].astype(str)
                + " is not synced to QuickBooks yet (no External "
                "Account ID); it syncs once the Account does (R-OPP-1)"
            ),
            INFO,
            True,
        ),
        (
            customer.isin(inactive_customers).fillna(False).astype(bool),
            lambda rows: (
                "its Account's QuickBooks customer "
                + customer[rows].fillna("")
                + " is inactive, and QuickBooks "
                "makes no transaction for an inactive customer: make the customer active again in "
                "QuickBooks (R-OPP-1)"
            ),
            WARNING,
            True,
        ),
    ]
    out = pd.DataFrame(
        {"key": opps["Id"].astype(str), "reason": pd.NA, "level": pd.NA, "retry": False},
        index=opps.index,
    ).astype({"reason": "object", "level": "object"})
    for mask, reason, level, retry in conditions:  # a reason's text made for its rows only
        fresh = mask & out["reason"].isna()
        text = reason(fresh) if callable(reason) else reason
        out.loc[fresh, "reason"] = text
        out.loc[fresh, "level"] = level
        out.loc[fresh, "retry"] = retry
    return out[out["reason"].notna()]


def resolve_items(lines: pd.DataFrame, items: pd.DataFrame) -> pd.Series:
    """R-OPP-3, R-ITM-5: the QuickBooks item Id of each line (missing when there is none): the
    Product's External Item ID when that item exists and is active, else the active item whose
    FullyQualifiedName equals the ProductCode."""
    active = items[
        map_like(items["Active"], lambda v: v is not False).astype(bool)
    ]  # bool: an empty mask selects no columns
    ids = active["Id"].astype(str)
    named = ~isna(active["FullyQualifiedName"])
    by_fqn = dict(  # the last item of a name wins, as a dict built from every row keeps it
        zip(active.loc[named, "FullyQualifiedName"].tolist(), ids[named].tolist(), strict=True)
    )
    # A column at a time (a Python call per line costs seconds at a million lines): the linked
    # item where it is active, else the item named by the Product Code; None where neither.
    ext = present_values(lines[ITEM_EXT])
    out = np.full(len(lines), None, dtype=object)
    given = np.flatnonzero(pd.notna(ext))
    texts = pd.Series([str(v) for v in ext[given].tolist()], dtype=object)
    linked = given[np.asarray(isin(texts, set(ids.tolist())), dtype=bool)]
    out[linked] = [str(v) for v in ext[linked].tolist()]
    codes = present_values(lines["Product2.ProductCode"])
    rest = np.flatnonzero(pd.isna(out) & pd.notna(codes))
    out[rest] = [by_fqn.get(v) for v in codes[rest].tolist()]
    return pd.Series(out, index=lines.index, dtype=object)


QTY, UNIT_PRICE = "SalesItemLineDetail.Qty", "SalesItemLineDetail.UnitPrice"


def _line_payload(values: dict, item_id: str) -> tuple[dict, str]:
    """One sales line from its mapped values (``opportunity_product_to_line``), or ({}, reason)."""
    values = {k: v for k, v in values.items() if not missing(v)}
    qty, price = money(values.pop(QTY, None)), money(values.pop(UNIT_PRICE, None))
    if qty is None or price is None:
        return {}, "an Opportunity Product has no quantity or unit price"
    payload = _nest(values)
    payload.setdefault("SalesItemLineDetail", {}).update(
        {"ItemRef": {"value": item_id}, "Qty": qty, "UnitPrice": price}
    )
    if "Description" in payload:
        payload["Description"] = str(payload["Description"])
    return {"DetailType": "SalesItemLineDetail", "Amount": line_amount(qty, price), **payload}, ""


def _nest(values: dict) -> dict:
    """Dotted target paths -> nested JSON (``BillAddr.City`` -> ``{"BillAddr": {"City": ...}}``)."""
    out: dict = {}
    for path, value in values.items():
        *parents, leaf = path.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def named_id(name, ids: dict[str, str]) -> str | None:
    """The Id of the QuickBooks term or class ``name`` (None when missing or unknown). QuickBooks
    names are unique whatever their case, so "net 30" is the term "Net 30"; surrounding spaces
    do not count either."""
    if name is None:
        return None
    if name in ids:
        return ids[name]
    folded = {str(k).strip().casefold(): v for k, v in ids.items()}
    return folded.get(str(name).strip().casefold())


def desktop_fields(custom: dict[str, str]) -> dict:
    """R-OPP-4 on Desktop: the sales-form custom field values (name -> text) that are fields of
    a Desktop transaction: PO Number -> PONumber, Sales Rep -> SalesRepRef by the rep's
    initials. Other names have no place on Desktop and are not sent."""
    out: dict = {}
    if custom.get("PO Number") is not None:
        out["PONumber"] = custom["PO Number"]
    if custom.get("Sales Rep") is not None:
        out["SalesRepRef"] = {"name": custom["Sales Rep"]}
    return out


def _header(
    opp: dict,
    values: dict,
    entity: str,
    inputs: OpportunityInputs,
    today: dt.date,
    online: bool = True,
) -> tuple[dict, str]:
    """The header of one transaction, or ("", reason) when it cannot be built."""
    values = {k: v for k, v in values.items() if not missing(v)}
    custom = {
        k.split(".", 1)[1]: str(values.pop(k)) for k in list(values) if k.startswith("CustomField.")
    }
    term, klass = values.pop("SalesTermRef.name", None), values.pop("ClassRef.name", None)
    term_id, class_id = named_id(term, inputs.terms), named_id(klass, inputs.classes)
    if term is not None and entity != "SalesReceipt" and term_id is None:
        return (
            {},
            f"Terms {term!r} is not a QuickBooks term "
            f"({', '.join(sorted(inputs.terms)) or 'none'}) (R-OPP-4)",
        )
    if klass is not None and class_id is None:
        return {}, f"Class {klass!r} is not a QuickBooks class (R-OPP-4)"
    memo = values.get("CustomerMemo.value")
    if memo is not None and len(str(memo)) > MEMO_LIMIT:
        return {}, (
            f"Description has {len(str(memo))} characters; a QuickBooks customer memo takes at "
            f"most {MEMO_LIMIT}: shorten it (nothing is cut silently)"
        )
    for name in ("TxnDate", "DueDate", "ShipDate"):
        values[name] = str(values.get(name) or today.isoformat())  # R-OPP-4: sync date by default
    if "ShipMethodRef.value" in values:
        values["ShipMethodRef.name"] = values["ShipMethodRef.value"]
    header = _nest(values)
    if term_id is not None:
        header["SalesTermRef"] = {"value": term_id}
    if class_id is not None:
        header["ClassRef"] = {"value": class_id}
    if entity == "SalesReceipt":
        for name in NOT_ON_RECEIPTS:
            header.pop(name, None)
    if not online:
        header.update(desktop_fields(custom))
        if entity == "SalesReceipt":
            header.pop("PONumber", None)  # a Desktop sales receipt has no PO number
        custom = {}
    fields = [
        {"DefinitionId": inputs.custom_fields[n], "Name": n, "Type": "StringType", "StringValue": v}
        for n, v in sorted(custom.items())
        if n in inputs.custom_fields
    ]
    if fields:
        header["CustomField"] = fields
    header["CustomerRef"] = {"value": str(opp[ACCOUNT_EXT])}
    header["PrivateNote"] = marker(str(opp["Id"]))
    return header, ""


def plan_opportunities(
    inputs: OpportunityInputs,
    *,
    online: bool,
    today: dt.date,
    header_map: FieldMap | None = None,
    line_map: FieldMap | None = None,
    limits: dict | None = None,
    desktop_edition: str | None = None,
    orders: dict[str, dict] | None = None,
    modify: bool = False,
) -> OpportunityPlan:
    """R-OPP-1..6: the transactions to create and the skips, with reasons.

    ``header_map`` / ``line_map``: the effective maps (defaults when absent); ``limits``: pair ->
    its custom targets' kinds and lengths (a value that does not fit holds the opportunity back
    with a WARNING, to retry; ``sfqb.mapping.coerce``). ``online`` False: QuickBooks Desktop,
    whose Sales Orders exist unless ``desktop_edition`` is Pro (R-QBD-5); an Opportunity linked
    to one is updated (``plan_sales_order_updates``: ``orders`` the linked Sales Orders as
    QuickBooks has them, ``modify`` allow_salesforce_to_modify_quickbooks)."""
    header_map = header_map or default_map(HEADER_MAP)
    line_map = line_map or default_map(LINE_MAP)
    limits = limits or {}
    linked = linked_sales_orders(inputs.opportunities, online)
    updates, found, retry = plan_sales_order_updates(
        inputs.opportunities[linked],
        inputs,
        (header_map, line_map),
        limits,
        today,
        orders=orders or {},
        modify=modify,
    )
    opps = inputs.opportunities[~linked]
    if not opps.index.is_unique:  # the blocked rows are told apart by their index below
        opps = opps.reset_index(drop=True)
    blocked = eligibility(
        opps,
        inputs.lines,
        online=online,
        inactive_customers=frozenset(inputs.inactive_customers),
        desktop_edition=desktop_edition,
    )
    found += [
        skips(group["key"], group["reason"], level, record=QB_TRANSACTION)
        for level, group in blocked.groupby("level")
    ]
    retry += list(blocked.loc[blocked["retry"].astype(bool), "key"])
    ready = opps[~opps.index.isin(blocked.index)]

    lines = lines_to_send(inputs.lines, ready, inputs.items)
    notes = unsent_custom_fields(ready, inputs.custom_fields) if online else []
    rows, problems = transactions_to_create(
        ready, lines, inputs, (header_map, line_map), limits, today, online=online
    )
    found += _problem_skips(problems)
    retry += [k for k, _ in problems]
    return OpportunityPlan(
        creates=pd.DataFrame(rows, columns=CREATE_COLUMNS),
        skips=pd.concat([f for f in found if len(f)], ignore_index=True)
        if any(len(f) for f in found)
        else empty_skips(),
        retry=sorted(set(retry)),
        notes=notes,
        updates=pd.DataFrame(updates, columns=UPDATE_COLUMNS),
    )


def lines_to_send(lines: pd.DataFrame, ready: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """R-OPP-3: the ready opportunities' lines in line order, each with its QuickBooks item
    (``item_id``, ``resolve_items``; missing when there is none)."""
    lines = lines[isin(lines["OpportunityId"], set(ready["Id"].tolist()))]
    lines["item_id"] = resolve_items(lines, items) if len(lines) else pd.Series(dtype="object")
    return lines.sort_values(["OpportunityId", "SortOrder", "Id"], na_position="last")


def unsent_custom_fields(ready: pd.DataFrame, custom_fields: dict[str, str]) -> list[str]:
    """R-OPP-4: one note per run when the company has no sales-form custom field for PO Number or
    Sales Rep (those fields are then not sent)."""
    unused = sorted({"PO Number", "Sales Rep"} - set(custom_fields))
    if unused and len(ready):
        return [
            "QuickBooks defines no sales-form custom field named "
            f"{' or '.join(map(repr, unused))}: those Opportunity fields are not sent (R-OPP-4)"
        ]
    return []


def with_primary_contact(
    ready: pd.DataFrame, contacts: pd.DataFrame, header_map: FieldMap
) -> pd.DataFrame:
    """R-OPP-5: the ready opportunities with their primary Contact Role's fields that the header
    map reads (``PrimaryContact.<field>``, missing when the opportunity has none)."""
    contacts = contacts.drop_duplicates("OpportunityId").set_index("OpportunityId")
    wanted = set(header_map.source_fields)
    frame = ready.copy()
    for column in (c for c in wanted if c.startswith(PRIMARY)):
        source = "Contact." + column.split(".", 1)[1]
        frame[column] = frame["Id"].map(contacts[source]) if source in contacts.columns else pd.NA
    return frame


def _problem_skips(problems: list[tuple[str, str]]) -> list[pd.DataFrame]:
    """The opportunities whose transaction cannot be built yet ((key, reason) pairs, from
    ``transactions_to_create``) as WARNING skips: none, or one frame."""
    if not problems:
        return []
    keys, reasons = zip(*problems, strict=True)
    return [skips(list(keys), pd.Series(reasons), WARNING, record=QB_TRANSACTION)]


def transactions_to_create(
    ready: pd.DataFrame,
    lines: pd.DataFrame,
    inputs: OpportunityInputs,
    maps: tuple[FieldMap, FieldMap],
    limits: dict,
    today: dt.date,
    *,
    online: bool = True,
) -> tuple[list[dict], list[tuple[str, str]]]:
    """R-OPP-3/4/5: per ready opportunity, the transaction to create (a CREATE_COLUMNS row) or
    why it cannot be built yet (key, reason), from its header and ``lines`` mapped by ``maps``
    (header map, line map) and fitted to ``limits``."""
    header_map, line_map = maps
    # The first reason an opportunity waits, a line with no item, needs only those lines: the
    # opportunities that have one are decided from them, and only the others are mapped and
    # built (most of a second run's ready opportunities wait for an item).
    waiting = _waiting_for_items(lines)
    if waiting:
        everyone = [str(i) for i in ready["Id"].tolist()]
        ready = ready[~isin(ready["Id"], set(waiting))]
        lines = lines[~isin(lines["OpportunityId"], set(waiting))]
    frame = with_primary_contact(ready, inputs.contacts, header_map)
    header_values, header_unfit = fit(apply_map(frame, header_map), limits.get(HEADER_MAP, {}))
    line_values, line_unfit = fit(apply_map(lines, line_map), limits.get(LINE_MAP, {}))
    rows, problems = [], []
    # One pass over plain records: each opportunity's lines by position (grouped once, in line
    # order), not a boolean mask over every line per opportunity (quadratic at 1M rows).
    line_rows = records(lines, ["Id", "item_id", "Product2.Name", "Product2.ProductCode"])
    line_value_rows = records(line_values)
    line_unfit_rows = line_unfit.tolist()
    by_opportunity = positions_by(lines["OpportunityId"]) if len(lines) else {}
    header_unfit_rows = header_unfit.tolist()
    header_value_rows = records(header_values)
    for n, opp in enumerate(records(ready, ["Id", "Transaction_Type__c", ACCOUNT_EXT])):
        own = by_opportunity.get(opp["Id"], ())
        row, reason = transaction_for(
            opp,
            header_value_rows[n],
            [header_unfit_rows[n], *(line_unfit_rows[i] for i in own)],
            [(line_rows[i], line_value_rows[i]) for i in own],
            inputs,
            today,
            online=online,
        )
        if reason is None:
            rows.append(row)
        else:
            problems.append((str(opp["Id"]), reason))
    if waiting:  # in the ready opportunities' order, as they were met
        built = dict(problems)
        problems = [
            (key, waiting[key] if key in waiting else built[key])
            for key in everyone
            if key in waiting or key in built
        ]
    return rows, problems


def _waiting_for_items(lines: pd.DataFrame) -> dict[str, str]:
    """R-OPP-3: opportunity Id (as text) -> why it waits (``lines_without_item``), for the
    opportunities of ``lines`` (``lines_to_send``: in line order, with ``item_id``) that have a
    line with no QuickBooks item."""
    unresolved = lines[isna(lines["item_id"])] if len(lines) else lines
    if not len(unresolved):
        return {}
    # Each line's words once, then one text per opportunity from its lines in line order.
    columns = (plain_values(unresolved[c]) for c in ("Id", "Product2.Name", "Product2.ProductCode"))
    words = [_line_without_item(*line) for line in zip(*columns, strict=True)]
    opportunities, order, ends = grouped_positions(unresolved["OpportunityId"])
    words = [words[i] for i in order.tolist()]
    starts = [0, *ends[:-1].tolist()]
    return {
        str(opp): _waiting_reason("; ".join(words[start:end]))
        for opp, start, end in zip(opportunities, starts, ends.tolist(), strict=True)
    }


def transaction_for(
    opp: dict,
    header_values: dict,
    unfit: list,
    own: list[tuple[dict, dict]],
    inputs: OpportunityInputs,
    today: dt.date,
    *,
    online: bool = True,
) -> tuple[dict, str | None]:
    """R-OPP-3/4: one opportunity's transaction (a CREATE_COLUMNS row; reason None), or ({}, why
    not): a line with no item, a value that does not fit (``unfit``: header's, then lines'), a
    header or line that cannot be built, a negative total; the first of them, in that order.
    ``own``: its lines, each (line record, mapped line values), in line order."""
    reason = lines_without_item([line for line, _ in own])
    if reason is not None:
        return {}, reason
    if any(not missing(u) for u in unfit):
        return {}, "; ".join(str(u) for u in unfit if not missing(u))
    entity = entity_types(online)[opp["Transaction_Type__c"]]
    header, reason = _header(opp, header_values, entity, inputs, today, online)
    made = [_line_payload(values, line["item_id"]) for line, values in own]
    reason = reason or next((r for _, r in made if r), "")
    if reason:
        return {}, reason
    total = sum((payload["Amount"] for payload, _ in made), Decimal(0))
    if total < 0:
        return {}, negative_total(total, entity)
    header["Line"] = [payload for payload, _ in made]
    return {
        "key": str(opp["Id"]),
        "entity": entity,
        "customer_id": str(opp[ACCOUNT_EXT]),
        "payload": json.dumps(header, default=str),
        "line_ids": json.dumps([str(line["Id"]) for line, _ in own]),
    }, None


def lines_without_item(own_lines: list[dict]) -> str | None:
    """R-OPP-3: why an opportunity waits when some of its lines have no active QuickBooks item
    (None when every line has one)."""
    missing_items = [r for r in own_lines if missing(r["item_id"])]
    if not missing_items:
        return None
    return _waiting_reason(
        "; ".join(
            _line_without_item(r["Id"], r["Product2.Name"], r["Product2.ProductCode"])
            for r in missing_items
        )
    )


def _line_without_item(line_id, product_name, product_code) -> str:
    """How ``lines_without_item`` names one line with no item."""
    code = "no Product Code" if missing(product_code) else f"code {product_code!r}"
    return f"{line_id} ({product_name}, {code})"


def _waiting_reason(lines: str) -> str:
    """``lines_without_item``'s reason, around the named lines."""
    return (
        f"Opportunity Products with no QuickBooks item: {lines}: link the Product "
        "(External Item ID) or give it the item's full name as Product Code; an item "
        "made inactive in QuickBooks counts as none: make it active again (R-OPP-3)"
    )


def negative_total(total: Decimal, entity: str) -> str:
    """R-OPP-3: why an opportunity whose products total less than zero is not sent."""
    return (
        f"its products total {total}: a QuickBooks {entity} cannot be negative; "
        "correct the quantities or prices, or record the refund as a credit memo in "
        "QuickBooks (R-OPP-3)"
    )


# --- Sales Orders after creation (R-OPP-6, R-QBD-6) ---------------------------------------------

DATES = ("TxnDate", "DueDate", "ShipDate")
# Header references compared by the part each side knows: Ids for terms and classes, the name for
# the shipping method and the sales rep (initials).
ORDER_REFS = (
    ("SalesTermRef", "value"),
    ("ClassRef", "value"),
    ("ShipMethodRef", "name"),
    ("SalesRepRef", "name"),
)


def linked_sales_orders(opps: pd.DataFrame, online: bool) -> pd.Series:
    """R-OPP-6: the won Opportunities linked to a QuickBooks Desktop Sales Order (the only
    transactions Salesforce may change after creation); none on Online."""
    if online:
        return pd.Series(False, index=opps.index)
    return (
        is_true(opps["IsWon"])
        & ~isna(opps[EXT_TXN])
        & (opps["Transaction_Type__c"] == SALES_ORDER).fillna(False).astype(bool)
    )


def _order_line_id(external_id, txn_id) -> str | None:
    """The TxnLineID an External_Line_ID__c names on Sales Order ``txn_id`` (None: another)."""
    if missing(external_id) or not str(external_id):
        return None
    prefix = line_external_id("SalesOrder", txn_id, "")
    text = str(external_id)
    return text[len(prefix) :] if text.startswith(prefix) else None


def _line_differs(want: dict, have: dict) -> bool:
    w, h = want.get("SalesItemLineDetail") or {}, have.get("SalesItemLineDetail") or {}
    if str((w.get("ItemRef") or {}).get("value")) != str((h.get("ItemRef") or {}).get("value")):
        return True
    if money(w.get("Qty")) != money(h.get("Qty")):
        return True
    if money(w.get("UnitPrice")) != money(h.get("UnitPrice")):
        return True
    wanted = want.get("Description")
    return wanted is not None and str(wanted) != str(have.get("Description") or "")


def sales_order_mod(
    wanted: dict, product_ids: list[str], external: dict[str, object], order: dict, unset: set
) -> tuple[dict | None, list[str]]:
    """R-OPP-6: the sparse SalesOrderMod that brings Sales Order ``order`` (as QuickBooks has
    it) to ``wanted`` (the transaction the Opportunity would make, lines in ``product_ids``
    order, each product's External_Line_ID__c in ``external``), or None when they already
    agree; and the products that become new lines, in order.

    Compared: the dates the Opportunity sets (``unset``: those it leaves empty), PO Number,
    Terms, Class, Shipping Method, Sales Rep, and each line's item, quantity, rate and
    description. Addresses are never sent again (R-OPP-5). A line QuickBooks has that no
    product names is kept as it is: nothing in QuickBooks is deleted from Salesforce."""
    mod: dict = {}
    for name in (*DATES, "PONumber"):
        value = wanted.get(name)
        if value is not None and name not in unset and str(value) != str(order.get(name) or ""):
            mod[name] = value
    for ref, part in ORDER_REFS:
        want = (wanted.get(ref) or {}).get(part)
        have = (order.get(ref) or {}).get(part)
        if want is not None and str(want).strip().casefold() != str(have or "").casefold():
            mod[ref] = wanted[ref]
    qb_lines = [
        line
        for line in order.get("Line") or []
        if line.get("DetailType", "SalesItemLineDetail") == "SalesItemLineDetail"
    ]
    known = {str(line.get("Id")) for line in qb_lines}
    matched: dict[str, dict] = {}
    new_lines, new_ids = [], []
    for product_id, line in zip(product_ids, wanted.get("Line") or [], strict=True):
        line_id = _order_line_id(external.get(product_id), order["Id"])
        if line_id in known and line_id not in matched:
            matched[line_id] = line
        else:
            new_lines.append(line)
            new_ids.append(product_id)
    kept, changed = [], bool(new_lines)
    for line in qb_lines:
        line_id = str(line.get("Id"))
        want = matched.get(line_id)
        if want is not None and _line_differs(want, line):
            kept.append({**want, "Id": line_id})
            changed = True
        else:
            kept.append({"Id": line_id})
    if changed:
        mod["Line"] = kept + new_lines
    if not mod:
        return None, []
    return {"Id": str(order["Id"]), "SyncToken": order.get("SyncToken"), **mod}, new_ids


def plan_sales_order_updates(
    linked: pd.DataFrame,
    inputs: OpportunityInputs,
    maps: tuple[FieldMap, FieldMap],
    limits: dict,
    today: dt.date,
    *,
    orders: dict[str, dict],
    modify: bool,
) -> tuple[list[dict], list[pd.DataFrame], list[str]]:
    """R-OPP-6, R-QBD-6: (update rows of UPDATE_COLUMNS, skip frames, keys to retry) for the
    Opportunities ``linked`` to Desktop Sales Orders (``orders``: Id -> the Sales Order as
    QuickBooks has it). A Sales Order is changed only while ``modify``
    (allow_salesforce_to_modify_quickbooks) is on and it is not fully invoiced (nor closed);
    only what differs is sent."""
    found: list[pd.DataFrame] = []
    if linked.empty:
        return [], found, []
    keys = linked["Id"].astype(str)
    txn = linked[EXT_TXN].astype(str)
    order_of = [orders.get(t) for t in txn]
    reasons = pd.Series(pd.NA, index=linked.index, dtype="object")
    for index, t, order in zip(linked.index, txn, order_of, strict=True):
        if not modify:
            reasons[index] = (
                f"is linked to QuickBooks Sales Order {t}; allow_salesforce_to_modify_quickbooks "
                "is off, so its changes are not sent to QuickBooks (R-OPP-6)"
            )
        elif order is None:
            reasons[index] = (
                f"its QuickBooks Sales Order {t} was not found: clear External Transaction ID "
                "after deleting it in QuickBooks to create a new one (R-OPP-6)"
            )
        elif (invoiced := order.get("IsFullyInvoiced") in (True, "true")) or order.get(
            "IsManuallyClosed"
        ) in (True, "true"):
            state = "fully invoiced" if invoiced else "closed"
            reasons[index] = (
                f"its QuickBooks Sales Order {order.get('DocNumber') or t} is {state}: it is no "
                "longer changed from Salesforce (R-OPP-6, R-QBD-6)"
            )
    blocked = reasons.notna()
    if blocked.any():
        found.append(skips(keys[blocked], reasons[blocked], INFO, record=QB_TRANSACTION))
    ready = linked[~blocked]
    if ready.empty:
        return [], found, []
    header_map, _ = maps
    lines = lines_to_send(inputs.lines, ready, inputs.items)
    links = lines[EXT_LINE] if EXT_LINE in lines.columns else pd.Series(pd.NA, index=lines.index)
    external = dict(zip(lines["Id"].astype(str), links, strict=True))
    rows, problems = transactions_to_create(ready, lines, inputs, maps, limits, today, online=False)
    found += _problem_skips(problems)
    by_key = {str(r["Id"]): r for r in records(ready)}
    updates = []
    for row in rows:
        opp = by_key[row["key"]]
        order = orders[str(opp[EXT_TXN])]
        unset = {
            target
            for target in DATES
            if (source := source_of(header_map, target)) is None or missing(opp.get(source))
        }
        product_ids = json.loads(row["line_ids"])
        mod, new_ids = sales_order_mod(
            json.loads(row["payload"]), product_ids, external, order, unset
        )
        if mod is not None:
            updates.append(
                {
                    "key": row["key"],
                    "entity": "SalesOrder",
                    "payload": json.dumps(mod, default=str),
                    "line_ids": row["line_ids"],
                    "new_line_ids": json.dumps(new_ids),
                }
            )
    return updates, found, [k for k, _ in problems]
