"""QuickBooks Invoices and payments -> Salesforce: the pure rules (docs/rules.md, R-INV-1..7).

Each changed QuickBooks invoice becomes (or updates) one ``Invoice__c``, upserted by
External_Invoice_ID__c (the invoice Id), with one ``Invoice_Item__c`` per sales line, upserted
by External_Invoice_Line_ID__c = ``line_external_id("Invoice", invoice Id, line Id)`` (the field
is unique in the org, QuickBooks numbers lines per invoice). Header fields come from the fixed
map ``invoice_to_invoice`` (R-MAP-4), line fields from ``invoice_line_to_invoice_item``; the
rules add the Account (External_Account_ID__c = CustomerRef; a project's invoice takes the
Account of its nearest ancestor that has one, R-INV-7: ``billing``), the Product (ProductCode =
the item's FullyQualifiedName, ``ItemRef.name`` in QBO), the status and Is Paid. An invoice left
without an Account waits on the customers that could give it one (``InvoicePlan.waiting``).

Links (R-INV-2, many-to-many through ``Invoice_Opportunity_Link__c``, External_ID__c =
``"<invoice Id>:<Opportunity Id>"``): an Opportunity of Transaction Type "Invoice" whose External
Transaction ID is the invoice's Id, and the Opportunities of Transaction Type "Sales Order" whose
External Transaction ID is a Sales Order the invoice links to (``LinkedTxn`` of TxnType
"SalesOrder": QuickBooks Desktop; QBO has no sales orders). An invoice nothing traces gets a
placeholder Opportunity when ``create_missing_opportunities`` is on (R-INV-3): Stage "Migrated",
Transaction Type "Invoice", External Transaction ID = the invoice Id, upserted by that External
ID so a retry or rerun can never make two; it is then linked like any Invoice-type Opportunity.

Status (QuickBooks owns these records, R-INV-6): "Deleted" for an invoice CDC reports deleted
(balance 0; the record stays in Salesforce, marked), "Voided" for a voided one (QuickBooks
answers amounts 0 and PrivateNote "Voided", Desktop a memo starting "VOID:"; balance 0), else
"Paid" when the balance is 0 and "Open" otherwise. Is_Paid__c is true for "Paid" only: a voided
or deleted invoice is not paid.

Change detection compares the mapped values with Salesforce's current ones (R-GEN-4), so a rerun
writes nothing and a value edited in Salesforce is written back (R-INV-6). No I/O and no clock:
the load stamps Last_Sync_Date__c (the plan leaves it None). Plan values are JSON-ready: money
and quantities as text, dates as ISO text.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from sfqb.areas.opportunities import CENT, EXT_TXN, line_external_id
from sfqb.frames import (
    dict_rows,
    isin,
    json_value,
    json_values,
    map_distinct,
    map_distinct_rows,
    map_like,
    missing,
    plain_values,
    records,
)
from sfqb.mapping.maps import FieldMap, apply_map, default_map
from sfqb.mapping.same import (
    DATE,
    TEXT,
    ZERO,
    Kind,
    Sameness,
    money,
    normalised,
    number_kind,
)
from sfqb.outcomes import (
    INFO,
    SF_INVOICE,
    SF_INVOICE_ITEM,
    SF_INVOICE_LINK,
    WARNING,
    empty_skips,
    skips,
)

AREA = "invoices"
ENTITY = "Invoice"
# One watermark per entity, named for this area (the transactions area reads Invoice changes
# for another purpose and keeps its own, ``quickbooks.Invoice@opportunities``).
STREAMS = {entity: f"quickbooks.{entity}@invoices" for entity in ("Invoice", "Payment")}
INVOICE_STREAM = STREAMS["Invoice"]
PAYMENT_STREAM = STREAMS["Payment"]
HEADER_MAP = "invoice_to_invoice"
LINE_MAP = "invoice_line_to_invoice_item"

EXT_INVOICE = "External_Invoice_ID__c"
EXT_ITEM = "External_Invoice_Line_ID__c"
EXT_LINK = "External_ID__c"
OPEN, PAID, VOIDED, DELETED = "Open", "Paid", "Voided", "Deleted"
INVOICE_TYPE, SALES_ORDER_TYPE = "Invoice", "Sales Order"
PLACEHOLDER_STAGE = "Migrated"
VOID_NOTE = "Voided"
DESKTOP_VOID_NOTE = "VOID:"
"""QuickBooks Desktop's mark: a voided transaction's memo starts with it (api-notes 8.7)."""
SALES_LINE = "SalesItemLineDetail"
ITEM_NAME = "SalesItemLineDetail.ItemRef.name"
QTY = "SalesItemLineDetail.Qty"
UNIT_PRICE = "SalesItemLineDetail.UnitPrice"

# How Salesforce keeps the numbers (SFDX metadata): currency and Quantity__c with 2 decimals,
# Rate__c with 4. QuickBooks values are rounded the same way before comparing, else a value with
# more decimals would be written again on every run.
STEPS = {
    "Subtotal__c": CENT,
    "Outstanding_Balance__c": CENT,
    "Amount__c": CENT,
    "Quantity__c": Decimal("0.01"),
    "Rate__c": Decimal("0.0001"),
}
DATE_FIELDS = frozenset({"Invoice_Date__c", "Due_Date__c", "Ship_Date__c"})
# Fields the rules compute (not in the maps), written with the mapped ones.
COMPUTED_HEADER = ["Name", "Account__c", "Status__c", "Is_Paid__c", "Sync_Me__c"]
COMPUTED_ITEM = ["Product__c"]

INVOICE_COLUMNS = [
    "Id",
    "status",
    "CustomerRef.value",
    "PrivateNote",
    "MetaData.LastUpdatedTime",
    *default_map(HEADER_MAP).source_fields,
]
LINE_COLUMNS = [
    "TxnId",
    "Id",
    "LineNum",
    "DetailType",
    *default_map(LINE_MAP).source_fields,
    "SalesItemLineDetail.ItemRef.value",
    ITEM_NAME,
]
SALES_ORDER_COLUMNS = ["invoice_id", "sales_order_id"]
SF_INVOICE_COLUMNS = ["Id", EXT_INVOICE, *COMPUTED_HEADER, *default_map(HEADER_MAP).target_fields]
SF_ITEM_COLUMNS = [
    "Id",
    "Invoice__c",
    EXT_ITEM,
    *COMPUTED_ITEM,
    *default_map(LINE_MAP).target_fields,
]
SF_LINK_COLUMNS = ["Id", EXT_LINK, "Invoice__c", "Opportunity__c"]
ACCOUNT_COLUMNS = ["Id", "External_Account_ID__c"]
# The QuickBooks customers of invoices that have no Account, and their ancestors (R-INV-7).
CUSTOMER_COLUMNS = ["Id", "DisplayName", "Active", "IsProject", "ParentRef.value"]
# QuickBooks Online nests customers at most this many levels below a top-level one.
MAX_LEVELS = 5
PRODUCT_COLUMNS = ["Id", "ProductCode"]
OPPORTUNITY_COLUMNS = ["Id", "Name", "Transaction_Type__c", "StageName", EXT_TXN]


# --- values ------------------------------------------------------------------------------------


def invoice_key(invoice_id) -> str:
    """How outcomes and log lines name an invoice: ``QB:Invoice:130``."""
    return f"QB:{ENTITY}:{invoice_id}"


def item_external_id(invoice_id, line_id) -> str:
    """External_Invoice_Line_ID__c: ``Invoice:<invoice Id>:<line Id>``."""
    return line_external_id(ENTITY, invoice_id, line_id)


def link_external_id(invoice_id, opportunity_id) -> str:
    """External_ID__c of an Invoice_Opportunity_Link__c (R-INV-2)."""
    return f"{invoice_id}:{opportunity_id}"


def invoice_id_of(key: str) -> str:
    """The invoice Id an outcome key names: ``QB:Invoice:130 line 2`` -> ``130``."""
    return key.split(":", 2)[2].split()[0]


# Each Invoice__c and Invoice_Item__c field's kind (R-GEN-4): numbers at their scale (STEPS).
FIELD_KINDS = {
    **{f: DATE for f in DATE_FIELDS},
    **{f: number_kind(step) for f, step in STEPS.items()},
}


def kind_of(sf_field: str) -> Kind:
    """How an Invoice__c or Invoice_Item__c field is compared and written (R-GEN-4)."""
    return FIELD_KINDS.get(sf_field, TEXT)


def sf_value(value, sf_field: str):
    """A QuickBooks value as Salesforce keeps it in ``sf_field`` (normalised; numbers rounded
    half up to the field's scale), None when missing."""
    return normalised(value, kind_of(sf_field))


def is_voided(total, balance, private_note) -> bool:
    """QuickBooks Online answers a voided invoice with amounts 0 and PrivateNote "Voided"
    (api-notes 2.6.4); QuickBooks Desktop with amounts 0 and "VOID:" before its memo (the
    PrivateNote of the Desktop reads, api-notes 8.7)."""
    return _voided(void_noted(private_note), total, balance)


def void_noted(private_note) -> bool:
    """Whether an invoice's PrivateNote marks it voided (``is_voided``'s test of the note)."""
    note = "" if missing(private_note) else str(private_note).strip()
    return note.startswith((VOID_NOTE, DESKTOP_VOID_NOTE))


def _voided(noted: bool, total, balance) -> bool:
    return noted and money(total, ZERO) == 0 and money(balance, ZERO) == 0


def invoice_status(deleted: bool, total, balance, private_note) -> str:
    """Status__c of an invoice: Deleted, Voided, Paid (balance 0) or Open."""
    if deleted:
        return DELETED
    return live_status(total, balance, void_noted(private_note))


def live_status(total, balance, noted: bool) -> str:
    """``invoice_status`` of a live invoice whose note is ``noted`` voided or not."""
    if _voided(noted, total, balance):
        return VOIDED
    return PAID if money(balance, ZERO) == 0 else OPEN


# --- links (R-INV-2) ---------------------------------------------------------------------------


def opportunity_links(
    invoice_ids, sales_orders: pd.DataFrame, opportunities: pd.DataFrame
) -> pd.DataFrame:
    """The Opportunities each invoice traces to: frame[invoice_id, opportunity_id, via].

    ``via`` is ``"invoice"`` for the Invoice-type Opportunity whose External Transaction ID is
    the invoice's Id, or ``"sales order <Id>"`` for a Sales Order-type Opportunity whose External
    Transaction ID is a sales order the invoice links to (``sales_orders``: frame[invoice_id,
    sales_order_id] from the invoices' LinkedTxn). Many-to-many: several invoices of one sales
    order (partial invoicing) all link its Opportunity; an invoice of several sales orders
    (consolidated invoicing) links each of their Opportunities. Each pair appears once."""
    ids = pd.Series([str(i) for i in invoice_ids], dtype="object")
    opps = opportunities.dropna(subset=[EXT_TXN])
    opps = opps.assign(ext=opps[EXT_TXN].astype(str))
    direct = opps[opps["Transaction_Type__c"] == INVOICE_TYPE]
    direct = pd.DataFrame({"invoice_id": ids}).merge(
        direct[["ext", "Id"]], left_on="invoice_id", right_on="ext", how="inner"
    )
    direct = direct.assign(via="invoice")
    orders = opps[opps["Transaction_Type__c"] == SALES_ORDER_TYPE]
    linked = sales_orders.assign(
        invoice_id=sales_orders["invoice_id"].astype(str),
        sales_order_id=sales_orders["sales_order_id"].astype(str),
    )
    linked = linked[isin(linked["invoice_id"], set(ids))]
    via_orders = linked.merge(
        orders[["ext", "Id"]], left_on="sales_order_id", right_on="ext", how="inner"
    )
    via_orders = via_orders.assign(via="sales order " + via_orders["sales_order_id"])
    out = pd.concat(
        [direct[["invoice_id", "Id", "via"]], via_orders[["invoice_id", "Id", "via"]]],
        ignore_index=True,
    ).rename(columns={"Id": "opportunity_id"})
    return (
        out.drop_duplicates(["invoice_id", "opportunity_id"])
        .reset_index(drop=True)
        .astype("object")
    )


# --- the Account (R-INV-1, R-INV-7) ------------------------------------------------------------

# How a warning about a missing Account ends (the invoice is read again once it has one).
LEFT_AS_IT_IS = "; the Invoice's Account is left as it is and filled in when that customer gets one"


@dataclass(frozen=True)
class Billing:
    """Whose Account the invoices of one QuickBooks customer take.

    ``customer``: the customer whose Account it is: the invoice's own customer when an Account
    has its Id, else, for a project (a job: not synced, R-ACC-3), its nearest ancestor an
    Account has (R-INV-7: jobs are billed through their parent); None when there is none.
    Then ``reason`` names the real reason and ``waits_on`` the customers of the chain (none
    has an Account) of which the first to get one gives the invoice its Account."""

    customer: str | None
    reason: str | None = None
    waits_on: tuple[str, ...] = ()


NO_CUSTOMER = Billing(
    None, "the QuickBooks invoice names no customer: it is loaded without an Account"
)


def billing(customer_ids, customers: pd.DataFrame, linked) -> dict[str, Billing]:
    """The ``Billing`` of each distinct customer Id in ``customer_ids`` that no Account has (an
    Account that has the customer's Id is the invoice's: those customers are not listed).

    ``customers``: CUSTOMER_COLUMNS of the customers that have no Account and of their
    ancestors, as the extract reads them; ``linked``: the customer Ids Accounts have as
    External Account ID. A customer absent from ``customers`` is looked up by its own Id only."""
    linked = set(_texts(linked))
    unlinked = [c for c in dict.fromkeys(_texts(customer_ids)) if c not in linked]
    if not unlinked:
        return {}
    known = (
        {str(r["Id"]): r for r in records(customers, CUSTOMER_COLUMNS)} if len(customers) else {}
    )
    return {c: _billing(c, known, linked) for c in unlinked}


def _texts(values) -> list[str]:
    """Ids as text, missing ones left out (a column or any iterable of them), a column at a time."""
    values = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype="object")
    return values.dropna().astype(str).tolist()


def _true(value) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_project(customer: dict) -> bool:
    """A QuickBooks customer record (or row) that is a project: a job, never synced (R-ACC-3)."""
    return _true(customer.get("IsProject"))


def _named(customer: str, record: dict) -> str:
    name = record.get("DisplayName")
    return f"{customer}" if missing(name) else f'{customer} "{name}"'


def _no_account(customer: str, record: dict | None) -> str:
    """Why no Account has the customer's Id (R-ACC-2, the customers area's warnings)."""
    if record is None:
        return (
            f"no Account has External Account ID {customer}, and QuickBooks has no customer "
            f"{customer}"
        )
    if not _true(record.get("Active")):
        return (
            f"customer {_named(customer, record)} is inactive in QuickBooks, so no Account is "
            f"synced for it (R-ACC-2: none has External Account ID {customer}); making it "
            "active again gives it one"
        )
    return (
        f"customer {_named(customer, record)} is active in QuickBooks but no Account is linked to "
        f"it (External Account ID {customer}): see the customers and matching warnings about "
        "it, or link its Account by setting that External Account ID"
    )


def _billing(customer: str, known: dict[str, dict], linked: set[str]) -> Billing:
    if customer in linked:
        return Billing(customer)
    record = known.get(customer)
    if record is None or not is_project(record):
        return Billing(None, _no_account(customer, record) + LEFT_AS_IT_IS, (customer,))
    # A project: up its ParentRef chain to the nearest customer an Account has.
    chain = [customer]
    parent = record.get("ParentRef.value")
    while not missing(parent) and str(parent) not in chain and len(chain) <= MAX_LEVELS:
        parent = str(parent)
        if parent in linked:
            return Billing(parent)
        chain.append(parent)
        parent = (known.get(parent) or {}).get("ParentRef.value")
    project = f"the invoice's QuickBooks customer is project {_named(customer, record)}"
    above = [c for c in chain[1:] if not is_project(known.get(c) or {})]
    if not above:
        return Billing(
            None,
            f"{project}, which is not synced (R-ACC-3) and has no parent customer "
            f"with an Account{LEFT_AS_IT_IS}",
            tuple(chain),
        )
    nearest, *rest = above
    further = f"; nor has any customer above it an Account ({', '.join(rest)})" if rest else ""
    return Billing(
        None,
        f"{project}, billed through its parent (R-INV-7: projects are not synced), and "
        f"{_no_account(nearest, known.get(nearest))}{further}{LEFT_AS_IT_IS}",
        tuple(chain),
    )


# --- the plan ----------------------------------------------------------------------------------


@dataclass
class InvoiceInputs:
    """What the extract read (normalised frames).

    - ``invoices``: the QuickBooks invoices to sync, INVOICE_COLUMNS; ``status`` is "Deleted"
      for an invoice CDC reported deleted (its other columns are then empty).
    - ``lines``: their lines, LINE_COLUMNS (``TxnId`` = the invoice Id).
    - ``sales_orders``: SALES_ORDER_COLUMNS, the invoices' LinkedTxn of TxnType "SalesOrder".
    - ``sf_invoices``: the Invoice__c whose External_Invoice_ID__c is one of theirs.
    - ``sf_items``: those Invoice__c's Invoice_Item__c, SF_ITEM_COLUMNS.
    - ``sf_links``: those Invoice__c's Invoice_Opportunity_Link__c, SF_LINK_COLUMNS.
    - ``accounts``: Accounts whose External_Account_ID__c is one of the invoices' customers or
      of the ``customers``.
    - ``products``: Products whose ProductCode is one of the lines' item names.
    - ``opportunities``: Opportunities whose External Transaction ID is one of the invoices'
      Ids or of the sales orders they link to.
    - ``customers``: CUSTOMER_COLUMNS of the QuickBooks customers that have no Account and
      their ancestors (through ParentRef): whose Account a project's invoice takes (R-INV-7),
      and why a customer has none. Empty: only the customer's own Account is looked up.
    """

    invoices: pd.DataFrame
    lines: pd.DataFrame
    sales_orders: pd.DataFrame
    sf_invoices: pd.DataFrame
    sf_items: pd.DataFrame
    sf_links: pd.DataFrame
    accounts: pd.DataFrame
    products: pd.DataFrame
    opportunities: pd.DataFrame
    customers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CUSTOMER_COLUMNS))


@dataclass
class InvoicePlan:
    """Salesforce writes for one run, each with the ``key`` its outcome is reported under.

    - ``placeholders``: Opportunities to upsert by External_Transaction_ID__c (R-INV-3).
    - ``invoices``: Invoice__c to upsert by External_Invoice_ID__c, every header field (one
      column set, so a Bulk API job can carry them), ``Last_Sync_Date__c: None``.
    - ``marks``: deleted invoices' Invoice__c to upsert (Status, balance, Is Paid, stamp).
    - ``item_creates``: Invoice_Item__c that do not exist yet: every field plus the parent by
      ``Invoice__r: {External_Invoice_ID__c}`` (a master-detail is set on creation only).
    - ``item_updates``: existing Invoice_Item__c whose fields differ (every field, no parent).
    - ``item_deletes``: ``{key, Id, reason}`` of items whose line is gone from the invoice.
    - ``links``: Invoice_Opportunity_Link__c to create (upsert by External_ID__c):
      ``Invoice__r`` by the invoice's External ID and ``Opportunity__c``, or ``placeholder``
      (the invoice Id whose placeholder's Id the load fills in).
    - ``skips`` (not written, with reason and level), ``notes`` (written, with a warning).
    - ``retry``: invoice Ids to read again next run even if unchanged (a missing Product that
      a later run can fill in).
    - ``waiting``: QuickBooks customer Id -> the invoice Ids that have no Account until that
      customer has one (``Billing.waits_on``): read again once it has, not every run.
    """

    placeholders: list[dict] = field(default_factory=list)
    invoices: list[dict] = field(default_factory=list)
    marks: list[dict] = field(default_factory=list)
    item_creates: list[dict] = field(default_factory=list)
    item_updates: list[dict] = field(default_factory=list)
    item_deletes: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)
    skips: pd.DataFrame = field(default_factory=empty_skips)
    notes: pd.DataFrame = field(default_factory=empty_skips)
    retry: list[str] = field(default_factory=list)
    waiting: dict[str, list[str]] = field(default_factory=dict)


class Current:
    """The Salesforce records of ``frame`` whose ``column`` (as text) is each of ``keys``, a column
    at a time (the first record of a value wins): ``found[i]`` tells whether ``keys[i]`` has one,
    ``values(field)[i]`` is that record's field (None when it has none). No record is made a dict:
    a million of them mostly only to learn they are unchanged."""

    def __init__(self, frame: pd.DataFrame, column: str, keys) -> None:
        rows = frame.dropna(subset=[column])
        rows = rows.assign(**{column: rows[column].astype(str)}).drop_duplicates(column)
        self._rows = rows
        self._at = pd.Index(rows[column]).get_indexer(pd.Index(keys, dtype="object"))
        self.found = self._at >= 0

    def values(self, field: str) -> np.ndarray:
        if field not in self._rows.columns:
            return np.full(len(self._at), None, dtype=object)
        cells = plain_values(self._rows[field])
        column = np.fromiter([*cells, None], dtype=object, count=len(cells) + 1)
        return column[self._at]  # -1 (no record) takes the None at the end

    def kept(self, field: str) -> list:
        """``field`` of each key's record, None when it has none or the field is missing."""
        return [None if missing(v) else v for v in self.values(field).tolist()]


def _stale(frame: pd.DataFrame, current: Current, fields: list[str], same: Sameness) -> np.ndarray:
    """Per row of ``frame``: True when it has no current record (``current``, aligned with the
    rows) or its record differs in a field (compared a column at a time). The wanted values
    are compared as they are: ``same`` reads a Decimal and its JSON text alike, so ``json_value`` is
    left for the rows that are written."""
    stale = ~current.found
    for f in fields:
        rows = np.flatnonzero(~stale)
        wanted = np.fromiter(plain_values(frame[f]), dtype=object, count=len(frame))
        stale[rows[same.differ(wanted[rows], current.values(f)[rows], kind_of(f))]] = True
    return stale


def wanted_invoices(
    invoices: pd.DataFrame,
    accounts: pd.DataFrame,
    header_map: FieldMap,
    billed: dict[str, Billing] | None = None,
) -> pd.DataFrame:
    """Per live (not deleted) invoice, the Invoice__c fields QuickBooks calls for, in Salesforce
    form (JSON-ready). ``Account__c``: the Account that has the invoice's customer's Id, else
    that of the customer ``billed`` names for it (``billing``), missing when none."""
    alive = map_like(invoices["status"], lambda s: missing(s) or s != DELETED).astype(bool)
    live = invoices[alive].reset_index(drop=True)
    out = apply_map(live, header_map)
    for target in out.columns:
        out[target] = map_distinct(out[target], lambda v, t=target: json_value(sf_value(v, t)))
    # Once per distinct (total, balance, voided note): notes are mostly distinct, their test not.
    noted = pd.Series([void_noted(n) for n in live["PrivateNote"].tolist()], dtype=bool)
    status = map_distinct_rows(live_status, live["TotalAmt"], live["Balance"], noted)
    out["Status__c"] = pd.Series(status, index=out.index, dtype="object")
    # A voided invoice owes nothing, whatever Balance says.
    out.loc[out["Status__c"] == VOIDED, "Outstanding_Balance__c"] = "0.00"
    out["Is_Paid__c"] = (out["Status__c"] == PAID).astype(bool).astype("object")
    out["Name"] = [
        f"Invoice {i if missing(n) else n}"
        for i, n in zip(live["Id"].tolist(), live["DocNumber"].tolist(), strict=True)
    ]
    account_of = {
        str(e): i
        for e, i in zip(
            accounts["External_Account_ID__c"].tolist(), accounts["Id"].tolist(), strict=True
        )
        if not missing(e)
    }
    if billed is None:
        billed = billing(
            live["CustomerRef.value"], pd.DataFrame(columns=CUSTOMER_COLUMNS), account_of
        )
    account = {
        **account_of,
        **{c: account_of[b.customer] for c, b in billed.items() if b.customer is not None},
    }
    out["Account__c"] = [
        None if missing(c) else account.get(str(c)) for c in live["CustomerRef.value"].tolist()
    ]
    out["Sync_Me__c"] = False
    out[EXT_INVOICE] = live["Id"].astype(str)
    out["customer_id"] = live["CustomerRef.value"]
    return out


def wanted_items(lines: pd.DataFrame, products: pd.DataFrame, line_map: FieldMap) -> pd.DataFrame:
    """Per sales line, the Invoice_Item__c fields (JSON-ready) plus ``invoice_id``, ``line_key``,
    ``item_name``; ``Product__c`` missing when no Product has the item's name as ProductCode."""
    sales = lines[lines["DetailType"] == SALES_LINE].reset_index(drop=True)
    out = apply_map(sales, line_map)
    for target in out.columns:
        out[target] = map_distinct(out[target], lambda v, t=target: json_value(sf_value(v, t)))
    product_of = {
        str(c): i
        for c, i in zip(products["ProductCode"].tolist(), products["Id"].tolist(), strict=True)
        if not missing(c)
    }
    out["item_name"] = sales[ITEM_NAME]
    # Whole columns, not Series iteration (it boxes each cell of Arrow-backed text).
    out["Product__c"] = [
        None if missing(n) else product_of.get(str(n)) for n in sales[ITEM_NAME].tolist()
    ]
    out["invoice_id"] = sales["TxnId"].astype(str)
    txn_ids, line_ids = sales["TxnId"].tolist(), sales["Id"].tolist()
    out[EXT_ITEM] = [item_external_id(t, i) for t, i in zip(txn_ids, line_ids, strict=True)]
    out["line_key"] = [f"{invoice_key(t)} line {i}" for t, i in zip(txn_ids, line_ids, strict=True)]
    return out


def plan_invoices(
    inputs: InvoiceInputs,
    *,
    create_missing_opportunities: bool = False,
    link_opportunities: bool = True,
    header_map: FieldMap | None = None,
    line_map: FieldMap | None = None,
) -> InvoicePlan:
    """Everything one run writes to Salesforce for the given QuickBooks invoices.

    ``link_opportunities`` off (the historical migration, R-MIG-2) links no existing
    Opportunity; placeholders then come from ``create_missing_opportunities`` alone."""
    header_map = header_map or default_map(HEADER_MAP)
    line_map = line_map or default_map(LINE_MAP)
    plan = InvoicePlan()
    compare = Sameness()
    invoices = inputs.invoices.assign(Id=inputs.invoices["Id"].astype(str))
    found = [mark_deleted(plan, invoices, inputs.sf_invoices, compare)]
    want, current, header_notes = invoice_headers(plan, invoices, inputs, header_map)
    live_ids = set(want[EXT_INVOICE].tolist())
    items, existing_items, item_notes, no_product = invoice_items(inputs, line_map, live_ids)
    write_changed_invoices(
        plan, want, current, [*header_map.target_fields, *COMPUTED_HEADER], compare
    )
    write_changed_items(
        plan, items, existing_items, [*line_map.target_fields, *COMPUTED_ITEM], compare
    )
    parent_of = _parents(inputs.sf_invoices)  # Invoice__c Id -> QuickBooks invoice Id
    delete_gone_items(plan, inputs.sf_items, parent_of, live_ids, set(items[EXT_ITEM].tolist()))

    _plan_links(
        plan, inputs, want, parent_of, found, create_missing_opportunities, link_opportunities
    )
    frames = [f for f in found if len(f)]
    plan.skips = pd.concat(frames, ignore_index=True) if frames else empty_skips()
    frames = [f for f in (header_notes, item_notes) if len(f)]
    plan.notes = pd.concat(frames, ignore_index=True) if frames else empty_skips()
    plan.retry = sorted(no_product)
    plan.waiting = {c: sorted(set(ids)) for c, ids in sorted(plan.waiting.items())}
    return plan


def mark_deleted(
    plan: InvoicePlan, invoices: pd.DataFrame, sf_invoices: pd.DataFrame, compare: Sameness
) -> pd.DataFrame:
    """R-INV-6: an invoice QuickBooks reports deleted (CDC) is marked in Salesforce (Status
    Deleted, balance 0, not paid: ``plan.marks``, unless it is marked already), never silently
    left; one that was never synced has nothing to mark (the INFO skips returned)."""
    deleted = invoices.loc[(invoices["status"] == DELETED).astype(bool), "Id"].tolist()
    marked = Current(sf_invoices, EXT_INVOICE, deleted)
    mark = {"Status__c": DELETED, "Outstanding_Balance__c": "0.00", "Is_Paid__c": False}
    marks = pd.DataFrame({f: [v] * len(deleted) for f, v in mark.items()}, dtype="object")
    for invoice_id in itertools.compress(
        deleted, _stale(marks, marked, list(mark), compare) & marked.found
    ):
        plan.marks.append(
            {
                "key": invoice_key(invoice_id),
                EXT_INVOICE: invoice_id,
                **mark,
                "Last_Sync_Date__c": None,
            }
        )
    gone = list(itertools.compress(deleted, ~marked.found))
    return skips(
        [invoice_key(i) for i in gone],
        "deleted in QuickBooks before it was ever synced: nothing to mark in Salesforce",
        INFO,
        record=SF_INVOICE,
    )


def invoice_headers(
    plan: InvoicePlan, invoices: pd.DataFrame, inputs: InvoiceInputs, header_map: FieldMap
) -> tuple[pd.DataFrame, Current, pd.DataFrame]:
    """The Invoice__c each live invoice calls for (``wanted_invoices``), the current ones
    (``Current``), and WARNING notes of the invoices left without an Account (R-INV-7): such an
    invoice keeps the Account__c it has, and is read again once a customer it waits on has an
    Account (``plan.waiting``), not every run."""
    billed = billing(
        invoices["CustomerRef.value"], inputs.customers, inputs.accounts["External_Account_ID__c"]
    )  # the customers no Account has
    want = wanted_invoices(invoices, inputs.accounts, header_map, billed)
    current = Current(inputs.sf_invoices, EXT_INVOICE, want[EXT_INVOICE])
    no_account = want[want["Account__c"].isna()]
    want.loc[no_account.index, "Account__c"] = pd.Series(
        current.kept("Account__c"), index=want.index, dtype="object"
    )[no_account.index]
    unbilled = [NO_CUSTOMER if missing(c) else billed[str(c)] for c in no_account["customer_id"]]
    notes = skips(
        [invoice_key(i) for i in no_account[EXT_INVOICE]],
        pd.Series([b.reason for b in unbilled], dtype="object"),
        WARNING,
        record=SF_INVOICE,
    )
    for invoice_id, bill in zip(no_account[EXT_INVOICE].tolist(), unbilled, strict=True):
        for customer in bill.waits_on:
            plan.waiting.setdefault(customer, []).append(invoice_id)
    return want, current, notes


def invoice_items(
    inputs: InvoiceInputs, line_map: FieldMap, live_ids: set[str]
) -> tuple[pd.DataFrame, Current, pd.DataFrame, set[str]]:
    """The Invoice_Item__c each sales line of a live invoice calls for (``wanted_items``), the
    current ones (``Current``), WARNING notes of the lines whose item has no Product by Product
    Code (R-INV-1: such an item is loaded with the Product it has, or none), and the invoices of
    those lines: read again next run (``InvoicePlan.retry``), when a Product may be there."""
    items = wanted_items(inputs.lines, inputs.products, line_map)
    items = items[isin(items["invoice_id"], live_ids)].copy()
    existing_items = Current(inputs.sf_items, EXT_ITEM, items[EXT_ITEM])
    no_product = items[items["Product__c"].isna()]
    items.loc[no_product.index, "Product__c"] = pd.Series(
        existing_items.kept("Product__c"), index=items.index, dtype="object"
    )[no_product.index]
    notes = skips(
        no_product["line_key"],
        pd.Series(
            [
                f"item {'with no name' if missing(n) else repr(n)} has no Product with that "
                "Product Code in Salesforce: the Invoice Item is loaded without a Product"
                for n in no_product["item_name"]
            ],
            dtype="object",
        ),
        WARNING,
        record=SF_INVOICE_ITEM,
    )
    return items, existing_items, notes, set(no_product["invoice_id"])


def write_changed_invoices(
    plan: InvoicePlan, want: pd.DataFrame, current: Current, fields: list[str], compare: Sameness
) -> None:
    """R-GEN-4: ``plan.invoices`` gets the Invoice__c that are new or differ in a field (only
    those rows become records: most are unchanged every run)."""
    written = want[_stale(want, current, fields, compare)]
    ids = written[EXT_INVOICE].tolist()
    plan.invoices += dict_rows(
        ["key", EXT_INVOICE, *fields, "Last_Sync_Date__c"],
        [
            [invoice_key(i) for i in ids],
            ids,
            *(json_values(written[f]) for f in fields),
            [None] * len(ids),
        ],
        len(ids),
    )


def write_changed_items(
    plan: InvoicePlan, items: pd.DataFrame, existing: Current, fields: list[str], compare: Sameness
) -> None:
    """R-GEN-4: ``plan.item_creates`` gets the Invoice_Item__c that do not exist yet (with their
    parent), ``plan.item_updates`` those that differ in a field."""
    stale = _stale(items, existing, fields, compare)
    exists = existing.found[stale]
    names = ["key", "invoice_id", EXT_ITEM, *fields]
    for rows, creates in ((items[stale][~exists], True), (items[stale][exists], False)):
        columns = [
            plain_values(rows["line_key"]),
            plain_values(rows["invoice_id"]),
            plain_values(rows[EXT_ITEM]),
            *(json_values(rows[f]) for f in fields),
        ]
        if creates:
            parents = [{EXT_INVOICE: i} for i in columns[1]]
            plan.item_creates += dict_rows([*names, "Invoice__r"], [*columns, parents], len(rows))
        else:
            plan.item_updates += dict_rows(names, columns, len(rows))


def delete_gone_items(
    plan: InvoicePlan,
    sf_items: pd.DataFrame,
    parent_of: dict[str, str],
    live_ids: set[str],
    item_ext_ids: set[str],
) -> None:
    """R-INV-1: ``plan.item_deletes`` gets the Invoice_Item__c of a live invoice whose line is
    gone from it (a deleted invoice keeps its items)."""
    parents = pd.Series(
        [parent_of.get(str(i)) for i in sf_items["Invoice__c"].tolist()],
        index=sf_items.index,
        dtype="object",
    )
    gone_lines = isin(parents, live_ids) & ~isin(sf_items[EXT_ITEM], item_ext_ids)
    for row, invoice_id in zip(
        records(sf_items[gone_lines]), parents[gone_lines].tolist(), strict=True
    ):
        plan.item_deletes.append(
            {
                "key": f"{invoice_key(invoice_id)} Invoice Item {row['Id']}",
                "Id": row["Id"],
                "invoice_id": invoice_id,
                "reason": f"its line ({row[EXT_ITEM]}) is no longer on the QuickBooks invoice",
            }
        )


def _parents(sf_invoices: pd.DataFrame) -> dict[str, str]:
    """Invoice__c Id -> its External_Invoice_ID__c (the QuickBooks invoice Id), both as text."""
    known = sf_invoices.dropna(subset=[EXT_INVOICE])
    return dict(
        zip(known["Id"].astype(str).tolist(), known[EXT_INVOICE].astype(str).tolist(), strict=True)
    )


def _plan_links(
    plan: InvoicePlan,
    inputs: InvoiceInputs,
    want: pd.DataFrame,
    parent_of: dict[str, str],
    found: list[pd.DataFrame],
    create_missing: bool,
    link_opportunities: bool,
) -> None:
    """Links to the Opportunities each live invoice traces to, and placeholders (R-INV-2/3)."""
    ids = want[EXT_INVOICE].tolist()
    traced = (
        opportunity_links(ids, inputs.sales_orders, inputs.opportunities)
        if link_opportunities
        else pd.DataFrame(columns=["invoice_id", "opportunity_id", "via"])
    )
    has_link = {parent_of.get(str(i)) for i in inputs.sf_links["Invoice__c"].dropna()}
    plan.links += new_traced_links(traced, inputs.sf_links)
    if not create_missing:
        return
    holder = transaction_id_holders(inputs.opportunities)
    linked = set(traced["invoice_id"]) | has_link
    taken_keys, taken_reasons = [], []
    for row in records(want):
        invoice_id = row[EXT_INVOICE]
        if invoice_id in linked or row["Status__c"] == VOIDED:
            continue
        if invoice_id in holder:
            link, reason = held_by_opportunity(invoice_id, holder[invoice_id], link_opportunities)
            if link is not None:
                plan.links.append(link)
            else:
                taken_keys.append(invoice_key(invoice_id))
                taken_reasons.append(reason)
            continue
        placeholder, link = placeholder_for(row)
        plan.placeholders.append(placeholder)
        plan.links.append(link)
    found.append(
        skips(taken_keys, pd.Series(taken_reasons, dtype="object"), WARNING, record=SF_INVOICE_LINK)
    )


def new_traced_links(traced: pd.DataFrame, sf_links: pd.DataFrame) -> list[dict]:
    """R-INV-2: a link for each invoice and Opportunity it traces to (``traced``:
    ``opportunity_links``) that Salesforce does not hold yet (``sf_links``, by External ID)."""
    existing = set(sf_links[EXT_LINK].dropna().astype(str))
    links = []
    for row in records(traced):
        ext = link_external_id(row["invoice_id"], row["opportunity_id"])
        if ext not in existing:
            links.append(
                {
                    "key": f"{invoice_key(row['invoice_id'])} Opportunity {row['opportunity_id']}",
                    "invoice_id": row["invoice_id"],
                    "reason": f"traced through the {row['via']}",
                    EXT_LINK: ext,
                    "Invoice__r": {EXT_INVOICE: row["invoice_id"]},
                    "Opportunity__c": row["opportunity_id"],
                }
            )
    return links


def transaction_id_holders(opps: pd.DataFrame) -> dict[str, tuple]:
    """R-INV-3: External Transaction ID -> (Id, Transaction Type, Stage) of the Opportunity that
    holds it (a placeholder for that invoice can then not be created)."""
    stages = (
        opps["StageName"]
        if "StageName" in opps
        else pd.Series([None] * len(opps), index=opps.index)
    )
    return {
        str(e): (i, t, st)
        for e, i, t, st in zip(
            opps[EXT_TXN], opps["Id"], opps["Transaction_Type__c"], stages, strict=True
        )
        if not missing(e)
    }


def held_by_opportunity(
    invoice_id: str, holder: tuple, link_opportunities: bool
) -> tuple[dict | None, str]:
    """R-INV-3, R-MIG-2: an invoice whose Id an Opportunity (``holder``: Id, Transaction Type,
    Stage) holds as External Transaction ID: (its link, "") when that is the invoice's own
    placeholder, made by an earlier attempt; else (None, why no placeholder is created)."""
    opp_id, kind, stage = holder
    if not missing(stage) and kind == INVOICE_TYPE and stage == PLACEHOLDER_STAGE:
        # This invoice's own placeholder, made by an attempt that stopped before its
        # link (an interrupted migration): link it, never make a second one.
        return {
            "key": f"{invoice_key(invoice_id)} Opportunity {opp_id}",
            "invoice_id": invoice_id,
            "reason": "its placeholder Opportunity, made by an earlier attempt",
            EXT_LINK: link_external_id(invoice_id, opp_id),
            "Invoice__r": {EXT_INVOICE: invoice_id},
            "Opportunity__c": opp_id,
        }, ""
    if kind == INVOICE_TYPE and not link_opportunities:
        # The migration links no existing Opportunity (R-MIG-2), nor overwrites one.
        return None, (
            f"Opportunity {opp_id} already has this invoice's Id as External Transaction "
            "ID: no placeholder is created and it is not linked (R-MIG-2)"
        )
    return None, (
        f"Opportunity {opp_id} (Transaction Type "
        f"{'not set' if missing(kind) else repr(kind)}) holds this invoice's Id as "
        "External Transaction ID, which is unique: no placeholder Opportunity can be "
        "created; correct that Opportunity's External Transaction ID or Type (R-INV-3)"
    )


def placeholder_for(row: dict) -> tuple[dict, dict]:
    """R-INV-3: the placeholder Opportunity (Stage "Migrated") of an invoice that traces to no
    Opportunity, and its link (the load fills in the placeholder's Id)."""
    invoice_id = row[EXT_INVOICE]
    placeholder = {
        "key": invoice_key(invoice_id),
        EXT_TXN: invoice_id,
        "Name": row["Name"],
        "StageName": PLACEHOLDER_STAGE,
        "CloseDate": json_value(row["Invoice_Date__c"]),
        "AccountId": json_value(row["Account__c"]),
        "Transaction_Type__c": INVOICE_TYPE,
        "External_Transaction_Number__c": json_value(row["Invoice_Number__c"]),
        "Last_Sync_Date__c": None,
    }
    link = {
        "key": f"{invoice_key(invoice_id)} placeholder Opportunity",
        "invoice_id": invoice_id,
        "reason": "placeholder Opportunity (create_missing_opportunities)",
        EXT_LINK: None,
        "Invoice__r": {EXT_INVOICE: invoice_id},
        "Opportunity__c": None,
        "placeholder": invoice_id,
    }
    return placeholder, link
