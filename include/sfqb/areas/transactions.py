"""QuickBooks transactions back to their Opportunities (R-OPP-7): the pure rules.

An Opportunity is linked to a QuickBooks Invoice or Sales Receipt when its
External_Transaction_ID__c holds the transaction's Id (and its Transaction_Type__c says which of
the two). When the transaction changes in QuickBooks, the Opportunity follows it: the header
through the map ``transaction_to_opportunity``, each sales line (``SalesItemLineDetail``; other
detail types are not products) through ``transaction_line_to_opportunity_product``. Only values
that differ are written, so a value the sync wrote is never written again (R-GEN-4).

Lines are matched to Opportunity Products by External_Line_ID__c. That field is unique in the
org while QuickBooks Online numbers lines per transaction (and Invoice and Sales Receipt Ids can
meet), so it holds ``"<entity>:<transaction Id>:<line Id>"``: the opportunities area's
``line_external_id``, one format for both directions. A bare line Id is understood too and
rewritten. An Opportunity Product with no External Line ID is adopted by the first unmatched
line of the same Product (no duplicate after an interrupted link-back); one whose line is gone
is deleted; one whose line now has another item is replaced (Product2Id cannot change).

No I/O and no clock: the load stamps Last_Sync_Date__c (the plan leaves it None) and writes.
Values in the plan are JSON-ready: money and quantities as text (exact through XCom), dates as
ISO text, External_Line_Index__c as int.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from sfqb.areas.opportunities import CENT, EXT_TXN, ITEM_EXT, entity_types, line_external_id
from sfqb.areas.opportunities import DESKTOP_TYPES as ENTITY_BY_TYPE
from sfqb.frames import (
    isin,
    json_value,
    map_distinct,
    map_distinct_rows,
    missing,
    none_for_missing,
    plain_values,
    records,
)
from sfqb.mapping.coerce import fit
from sfqb.mapping.maps import FieldMap, apply_map, default_map
from sfqb.mapping.same import DATE, NUMBER, TEXT, Kind, Sameness, money, normalised
from sfqb.outcomes import SF_OPPORTUNITY, SF_OPPORTUNITY_PRODUCT, WARNING, empty_skips, skips

AREA = "transactions"
ENTITIES = tuple(entity_types(online=True).values())
DESKTOP_ENTITIES = tuple(entity_types(online=False).values())
"""QuickBooks Desktop has Sales Orders too (R-OPP-2; none on Pro: the adapter reads none)."""


def streams(online: bool) -> dict[str, str]:
    """One watermark per entity of the edition, named for the area that reads it (the invoices
    area reads the same entities for another purpose and keeps its own)."""
    return {e: f"quickbooks.{e}@opportunities" for e in entity_types(online).values()}


STREAMS = streams(online=True)
HEADER_MAP = "transaction_to_opportunity"
LINE_MAP = "transaction_line_to_opportunity_product"

EXT_LINE = "External_Line_ID__c"
LINE_INDEX = "External_Line_Index__c"
TYPE_BY_ENTITY = {entity: kind for kind, entity in ENTITY_BY_TYPE.items()}
# Header sources a Sales Receipt does not have: their targets are left alone for receipts.
NOT_ON_RECEIPTS = ("DueDate", "SalesTermRef.name")
CUSTOM_FIELD = "CustomField."
SALES_LINE = "SalesItemLineDetail"
ITEM = "SalesItemLineDetail.ItemRef.value"
ITEM_NAME = "SalesItemLineDetail.ItemRef.name"
QTY = "SalesItemLineDetail.Qty"
UNIT_PRICE = "SalesItemLineDetail.UnitPrice"
# Salesforce keeps OpportunityLineItem.Quantity as Number(12, 2) and UnitPrice as a currency
# field (2 decimals in a USD org): QuickBooks values are rounded the same way before comparing,
# else a 4-decimal QuickBooks price would be written again on every run.
QUANTITY_STEP = Decimal("0.01")
PRICE_STEP = Decimal("0.01")
DATE_FIELDS = frozenset({"Transaction_Date__c", "Due_Date__c", "Ship_Date__c"})
NUMBER_FIELDS = frozenset({"Quantity", "UnitPrice", LINE_INDEX})
PRODUCT_WRITES = ["Quantity", "UnitPrice", "Description", LINE_INDEX]

TRANSACTION_COLUMNS = [
    "entity",
    "Id",
    "SyncToken",
    "TotalAmt",
    "MetaData.LastUpdatedTime",
    *default_map(HEADER_MAP).source_fields,
]
LINE_COLUMNS = [
    "entity",
    "TxnId",
    "Id",
    "LineNum",
    "DetailType",
    "Amount",
    "Description",
    ITEM,
    ITEM_NAME,
    QTY,
    UNIT_PRICE,
]
OPPORTUNITY_COLUMNS = [
    "Id",
    "Name",
    "Transaction_Type__c",
    EXT_TXN,
    "Pricebook2Id",
    *default_map(HEADER_MAP).target_fields,
]
PRODUCT_COLUMNS = [
    "Id",
    "OpportunityId",
    "Product2Id",
    ITEM_EXT,
    "Quantity",
    "UnitPrice",
    "Description",
    EXT_LINE,
    LINE_INDEX,
    "SortOrder",
]
ITEM_PRODUCT_COLUMNS = ["item_id", "Product2Id", "PricebookEntryId"]


def read_columns(
    header_map: FieldMap, line_map: FieldMap
) -> tuple[list[str], list[str], list[str]]:
    """(transaction, Opportunity, Opportunity Product) columns to read: the defaults plus what
    the effective maps' custom rows name (their QuickBooks sources, their Salesforce targets)."""

    def more(base: list[str], extra) -> list[str]:
        return list(dict.fromkeys([*base, *extra]))

    return (
        more(TRANSACTION_COLUMNS, header_map.source_fields),
        more(OPPORTUNITY_COLUMNS, header_map.target_fields),
        more(PRODUCT_COLUMNS, line_map.target_fields),
    )


def custom_line_writes(line_map: FieldMap) -> list[str]:
    """Opportunity Product fields custom rows add to the ones the area always writes."""
    return [t for t in line_map.target_fields if t not in PRODUCT_WRITES and t != EXT_LINE]


# --- values ------------------------------------------------------------------------------------


def txn_key(entity: str, txn_id) -> str:
    """How outcomes and log lines name a transaction: ``QB:Invoice:130``."""
    return f"QB:{entity}:{txn_id}"


def line_ids_of(external_ids: list, prefixes: list[str]) -> list[str | None]:
    """The QuickBooks line Id each External_Line_ID__c names on its transaction (``prefixes``:
    each value's ``line_external_id(entity, txn_id, "")``): the part after the prefix, or a bare
    line Id as it is; None for no value or empty text. A value that names another transaction
    comes back whole, so it matches no line of this one. Lists, not a call per value: a second
    run reads a million Opportunity Products."""
    out: list[str | None] = []
    for value, prefix in zip(none_for_missing(external_ids).tolist(), prefixes, strict=True):
        text = value if value is None or type(value) is str else str(value)
        out.append(None if not text else text[len(prefix) :] if text.startswith(prefix) else text)
    return out


def kind_of(sf_field: str) -> Kind:
    """How an Opportunity or Opportunity Product field is compared and written (R-GEN-4)."""
    return DATE if sf_field in DATE_FIELDS else NUMBER if sf_field in NUMBER_FIELDS else TEXT


def line_amounts(qty, unit_price, amount) -> tuple[Decimal, Decimal]:
    """(Quantity, UnitPrice) for Salesforce from a QuickBooks line, rounded as Salesforce keeps
    them. A line with only an amount (no or zero quantity, which QuickBooks allows) is one unit
    at that amount; a quantity without a price is priced at amount / quantity."""
    qty, unit_price, amount = money(qty), money(unit_price), money(amount) or Decimal(0)
    if not qty:
        qty, unit_price = Decimal(1), amount
    elif unit_price is None or (unit_price == 0 and amount != 0):
        unit_price = amount / qty
    return (
        qty.quantize(QUANTITY_STEP, ROUND_HALF_UP),
        unit_price.quantize(PRICE_STEP, ROUND_HALF_UP),
    )


def line_amount_texts(qty: pd.Series, unit_price: pd.Series, amount: pd.Series) -> tuple:
    """``line_amounts`` of each line (three aligned columns) as text, (Quantity, UnitPrice)
    lists: computed once per distinct (quantity, price, amount) (``map_distinct_rows``)."""
    texts = map_distinct_rows(
        lambda q, p, a: tuple(str(v) for v in line_amounts(q, p, a)), qty, unit_price, amount
    )
    return [q for q, _ in texts], [p for _, p in texts]


# --- the plan ----------------------------------------------------------------------------------


@dataclass
class TransactionInputs:
    """What the extract read (normalised frames).

    - ``transactions``: changed QuickBooks Invoices and Sales Receipts, TRANSACTION_COLUMNS
      (``entity`` says which; TotalAmt as text).
    - ``lines``: their lines, LINE_COLUMNS (``entity`` + ``TxnId`` name the transaction).
    - ``opportunities``: the Opportunities whose External_Transaction_ID__c is one of their Ids.
    - ``products``: those Opportunities' Opportunity Products, PRODUCT_COLUMNS.
    - ``item_products``: per QuickBooks item on the lines, its Product (External Item ID) and
      that Product's active standard PricebookEntry (missing when it has none).
    - ``standard_pricebook``: the standard Pricebook2 Id.
    - ``own_type_exists``: ``"<entity>:<Id>"`` of transactions that exist with an Id another
      changed transaction shares, in the entity an Opportunity linked to that Id names: that
      changed transaction is someone else's, not a type mismatch.
    """

    transactions: pd.DataFrame
    lines: pd.DataFrame
    opportunities: pd.DataFrame
    products: pd.DataFrame
    item_products: pd.DataFrame
    standard_pricebook: str | None = None
    own_type_exists: frozenset[str] = frozenset()


@dataclass
class TransactionPlan:
    """Salesforce writes for one run, each with the ``key`` its outcome is reported under.

    - ``opportunities``: ``{key, Id, <changed header fields>, Last_Sync_Date__c: None}``, for
      each Opportunity with a changed field or product (the load stamps the time, R-GEN-7).
    - ``line_updates``: ``{key, opportunity, Id, <changed product fields>}``.
    - ``line_deletes``: ``{key, opportunity, Id, reason}``; run before the creates (a replaced
      line's External Line ID is taken over by its replacement).
    - ``line_creates``: ``{key, opportunity, replaces, OpportunityId, PricebookEntryId,
      Quantity, UnitPrice, Description, External_Line_ID__c, External_Line_Index__c}``;
      ``replaces``: the Opportunity Product deleted for it (an item change), or None.
    - ``skips`` (not written, with reason and level), ``notes`` (written, with a warning).
    - ``retry``: ``"<entity>:<Id>"`` of transactions with something left undone that a later
      run can finish without the transaction changing again (a Product created meanwhile).
    """

    opportunities: list[dict] = field(default_factory=list)
    line_updates: list[dict] = field(default_factory=list)
    line_deletes: list[dict] = field(default_factory=list)
    line_creates: list[dict] = field(default_factory=list)
    skips: pd.DataFrame = field(default_factory=empty_skips)
    notes: pd.DataFrame = field(default_factory=empty_skips)
    retry: list[str] = field(default_factory=list)


def link_transactions(
    transactions: pd.DataFrame,
    opportunities: pd.DataFrame,
    own_type_exists: frozenset[str] = frozenset(),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pair each changed transaction with its Opportunity.

    Returns (pairs, skips): ``pairs`` holds the transaction's columns and the Opportunity's
    prefixed ``sf.`` plus ``key``; transactions linked to no Opportunity are left out without
    a word (the invoices area handles them). A transaction whose type is not the Opportunity's
    Transaction Type is a WARNING and not synced, unless the Opportunity's own type has a
    transaction with the same Id (the Ids of two entities can meet): then it is not its own."""
    tx = transactions.assign(Id=transactions["Id"].astype(str))
    opps = opportunities.dropna(subset=[EXT_TXN]).drop_duplicates(EXT_TXN)
    opps = opps.assign(**{EXT_TXN: opps[EXT_TXN].astype(str)}).add_prefix("sf.")
    pairs = tx.merge(opps, left_on="Id", right_on=f"sf.{EXT_TXN}", how="inner")
    pairs["key"] = pd.Series(
        [
            txn_key(e, i)
            for e, i in zip(pairs["entity"].tolist(), pairs["Id"].tolist(), strict=True)
        ],
        index=pairs.index,
        dtype="object",
    )
    own = pairs["sf.Transaction_Type__c"].map(
        lambda t: ENTITY_BY_TYPE.get(t) if not missing(t) else None
    )
    matches = (own == pairs["entity"]).astype(bool)
    changed = set(tx["entity"] + ":" + tx["Id"])
    elsewhere = pd.Series(
        [
            f"{o}:{i}" in own_type_exists or f"{o}:{i}" in changed
            for o, i in zip(own.tolist(), pairs["Id"].tolist(), strict=True)
        ],
        index=pairs.index,
        dtype=bool,
    )
    wrong = pairs[~matches & ~elsewhere]
    reasons = [
        f"linked to Opportunity {o} ({n}), whose Transaction Type is "
        f"{'not set' if missing(t) else repr(t)}, not {TYPE_BY_ENTITY[e]!r}: not synced back; "
        "correct the Transaction Type or the External Transaction ID (R-OPP-2, R-OPP-7)"
        for o, n, t, e in zip(
            wrong["sf.Id"],
            wrong["sf.Name"],
            wrong["sf.Transaction_Type__c"],
            wrong["entity"],
            strict=True,
        )
    ]
    return pairs[matches].reset_index(drop=True), skips(
        wrong["key"], pd.Series(reasons, dtype="object"), WARNING, record=SF_OPPORTUNITY
    )


def own_type_candidates(
    transactions: pd.DataFrame, opportunities: pd.DataFrame
) -> dict[str, set[str]]:
    """Ids to look up in the entity an Opportunity's Transaction Type names, where the changed
    transaction with its External Transaction ID is of the other entity (Invoice and Sales
    Receipt Ids can meet): if the Opportunity's own transaction exists, the changed one is not
    its own and is no type mismatch (``TransactionInputs.own_type_exists``)."""
    changed = set(transactions["entity"] + ":" + transactions["Id"].astype(str))
    out: dict[str, set[str]] = {}
    for txn_id, kind in zip(
        opportunities[EXT_TXN], opportunities["Transaction_Type__c"], strict=True
    ):
        own = ENTITY_BY_TYPE.get(kind) if not missing(kind) else None
        if missing(txn_id) or own is None or f"{own}:{txn_id}" in changed:
            continue
        if any(f"{other}:{txn_id}" in changed for other in DESKTOP_ENTITIES if other != own):
            out.setdefault(own, set()).add(str(txn_id))
    return out


def header_changes(pairs: pd.DataFrame, header_map: FieldMap) -> list[dict]:
    """Per pair, the Opportunity fields whose mapped QuickBooks value differs (R-GEN-4).

    Sales Receipts have no due date or terms: those targets are left alone for them. A
    custom-field row writes only a value the transaction carries (the company may not define
    that field; an empty one is not carried by QuickBooks Online either)."""
    wanted = apply_map(pairs, header_map)
    receipt_only_skip = {r.target for r in header_map.rows if r.source in NOT_ON_RECEIPTS}
    carried_only = {r.target for r in header_map.rows if r.source.startswith(CUSTOM_FIELD)}
    # Whole columns read once (their cells as ``.at`` gives them), not a scalar look-up per cell.
    targets = header_map.target_fields
    wanted_cells = {t: list(wanted[t].values) for t in targets}
    current_cells = {
        t: list(pairs[f"sf.{t}"].values) if f"sf.{t}" in pairs.columns else None for t in targets
    }
    receipts = [entity == "SalesReceipt" for entity in pairs["entity"].values]
    out: list[dict] = [{} for _ in receipts]
    alike = Sameness()
    # Field by field (each row's dict still fills in target order).
    for target in targets:
        kind, values, currents = kind_of(target), wanted_cells[target], current_cells[target]
        receipt_skip, carried = target in receipt_only_skip, target in carried_only
        differs = alike.differ(values, [None] * len(values) if currents is None else currents, kind)
        for n in np.flatnonzero(differs).tolist():
            value = values[n]
            if (receipt_skip and receipts[n]) or (carried and missing(value)):
                continue
            out[n][target] = json_value(normalised(value, kind))
    return out


def wanted_lines(
    pairs: pd.DataFrame, lines: pd.DataFrame, item_products: pd.DataFrame, line_map: FieldMap
) -> pd.DataFrame:
    """The Opportunity Products the paired transactions' sales lines call for.

    Returns frame[key, line_key, OpportunityId, line_id, LineNum, item_id, item_name, Product2Id,
    PricebookEntryId, Amount, <line map targets>] with Quantity/UnitPrice as Salesforce keeps
    them and External_Line_ID__c qualified by the transaction."""
    sales = lines[lines["DetailType"] == SALES_LINE]
    sales = sales.assign(TxnId=sales["TxnId"].astype(str), Id=sales["Id"].astype(str))
    sales = sales.merge(
        pairs[["entity", "Id", "key", "sf.Id"]].rename(columns={"Id": "TxnId"}),
        on=["entity", "TxnId"],
        how="inner",
    ).reset_index(drop=True)
    out = apply_map(sales, line_map)
    out["Quantity"], out["UnitPrice"] = line_amount_texts(
        sales[QTY], sales[UNIT_PRICE], sales["Amount"]
    )
    out[EXT_LINE] = [
        line_external_id(e, t, i)
        for e, t, i in zip(
            sales["entity"].tolist(), sales["TxnId"].tolist(), sales["Id"].tolist(), strict=True
        )
    ]
    # Once per distinct value: a million lines repeat a few line numbers.
    out[LINE_INDEX] = map_distinct(out[LINE_INDEX], lambda n: None if missing(n) else int(n))
    out["key"] = sales["key"]
    out["line_key"] = pd.Series(
        [f"{k} line {i}" for k, i in zip(sales["key"].tolist(), sales["Id"].tolist(), strict=True)],
        index=out.index,
        dtype="object",
    )
    out["OpportunityId"] = sales["sf.Id"]
    out["line_id"] = sales["Id"]
    out["LineNum"] = pd.to_numeric(sales["LineNum"], errors="coerce")
    out["item_id"] = sales[ITEM].map(lambda v: None if missing(v) else str(v))
    out["item_name"] = sales[ITEM_NAME]
    out["Amount"] = sales["Amount"]
    known = item_products.assign(item_id=item_products["item_id"].astype(str)).drop_duplicates(
        "item_id"
    )
    return out.merge(known[ITEM_PRODUCT_COLUMNS], on="item_id", how="left")


def _item_text(row) -> str:
    name = "" if missing(row["item_name"]) else f" ({row['item_name']})"
    return f"item {row['item_id']}{name}"


def plan_lines(
    pairs: pd.DataFrame,
    want: pd.DataFrame,
    products: pd.DataFrame,
    standard_pricebook: str | None,
    extra_writes: tuple[str, ...] = (),
) -> TransactionPlan:
    """Updates, creates and deletes of Opportunity Products so they match the sales lines
    (R-OPP-7), in this order: lines matched to their Opportunity Product by External Line ID
    (``LineWrites.update_matched``, ``LineWrites.replace_changed_items``), Opportunity Products
    whose line is gone or that repeat a line (``LineWrites.delete_gone``), new lines adopting an
    Opportunity Product with no External Line ID (``_adopt``), then the rest created
    (``LineWrites.add_new``) and unlinked Opportunity Products left with a warning
    (``LineWrites.warn_unlinked``).

    Every write carries ``opportunity`` (its Opportunity Id) besides the fields to send;
    ``extra_writes``: fields custom rows of the line map fill (``custom_line_writes``)."""
    txn_of = dict(zip(pairs["sf.Id"], zip(pairs["entity"], pairs["Id"], strict=True), strict=True))
    writes = LineWrites(
        fields=[*PRODUCT_WRITES, *extra_writes],
        extra_writes=extra_writes,
        key_of=dict(zip(pairs["sf.Id"], pairs["key"], strict=True)),
        book_of=dict(zip(pairs["sf.Id"], pairs["sf.Pricebook2Id"], strict=True)),
        standard_pricebook=standard_pricebook,
    )
    prefix_of = {opp: line_external_id(entity, txn, "") for opp, (entity, txn) in txn_of.items()}
    current = products[isin(products["OpportunityId"], set(txn_of))]  # copied on write
    current["line_id"] = pd.Series(
        line_ids_of(
            current[EXT_LINE].tolist(), [prefix_of[o] for o in current["OpportunityId"].tolist()]
        ),
        index=current.index,
        dtype="object",
    )
    has_line = current["line_id"].notna()
    twice = has_line & current.duplicated(["OpportunityId", "line_id"])
    linked, unlinked = current[has_line & ~twice], current[~has_line]
    merged = want.merge(
        linked.add_prefix("sf.").rename(
            columns={"sf.OpportunityId": "OpportunityId", "sf.line_id": "line_id"}
        ),
        on=["OpportunityId", "line_id"],
        how="outer",
        indicator=True,
    )
    both = merged[merged["_merge"] == "both"]
    writes.update_matched(both)
    writes.replace_changed_items(both)
    writes.delete_gone(merged[merged["_merge"] == "right_only"], current[twice])
    adopted, left_new, left_unlinked = _adopt(merged[merged["_merge"] == "left_only"], unlinked)
    for row in records(writes.changed(adopted)):
        writes.update(row)
    writes.add_new(left_new)
    writes.warn_unlinked(left_unlinked)
    frames = [f for f in writes.found if len(f)]
    writes.plan.skips = pd.concat(frames, ignore_index=True) if frames else empty_skips()
    return writes.plan


@dataclass
class LineWrites:
    """The Opportunity Product writes of one ``plan_lines``, step by step (R-OPP-7): the plan
    they fill, the WARNING skips they find, and what every step needs."""

    fields: list[str]  # what a line writes: PRODUCT_WRITES and the custom rows' targets
    extra_writes: tuple[str, ...]
    key_of: dict  # Opportunity Id -> its transaction's outcome key
    book_of: dict  # Opportunity Id -> its Pricebook2Id
    standard_pricebook: str | None
    plan: TransactionPlan = field(default_factory=TransactionPlan)
    found: list[pd.DataFrame] = field(default_factory=list)
    alike: Sameness = field(default_factory=Sameness)

    def warn(self, rows: pd.DataFrame, reason: str | list[str]) -> None:
        """Lines left undone until a person acts: the transaction is read again next run."""
        if len(rows):
            self.found.append(
                skips(
                    rows["line_key"],
                    reason if isinstance(reason, str) else pd.Series(reason, dtype="object"),
                    WARNING,
                    record=SF_OPPORTUNITY_PRODUCT,
                )
            )
            self.plan.retry.extend(retry_id(k) for k in rows["key"])

    def delete(self, opp_id: str, product_id: str, reason: str) -> None:
        self.plan.line_deletes.append(
            {
                "key": f"{self.key_of[opp_id]} Opportunity Product {product_id}",
                "Id": product_id,
                "opportunity": opp_id,
                "reason": reason,
            }
        )

    def changed(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows ``update`` may write (column by column: most lines are unchanged, and a
        million of them are not turned into dicts only to find that out; R-GEN-4)."""
        keep = np.zeros(len(rows), dtype=bool)
        for f in self.fields:
            keep |= self.alike.differ(rows[f].tolist(), rows[f"sf.{f}"].tolist(), kind_of(f))
        pairs_of = zip(rows[EXT_LINE].tolist(), rows[f"sf.{EXT_LINE}"].tolist(), strict=True)
        keep |= np.array(
            [not (type(a) is str and type(b) is str and a == b) for a, b in pairs_of], dtype=bool
        )
        return rows[keep]

    def update(self, row) -> None:
        """The fields of one matched line that differ from its Opportunity Product (R-GEN-4)."""
        changes = {
            f: json_value(row[f])
            for f in self.fields
            if not self.alike(row[f], row[f"sf.{f}"], kind_of(f))
        }
        if row[EXT_LINE] != row[f"sf.{EXT_LINE}"]:
            changes[EXT_LINE] = row[EXT_LINE]
        if changes:
            self.plan.line_updates.append(
                {
                    "key": row["line_key"],
                    "Id": row["sf.Id"],
                    "opportunity": row["OpportunityId"],
                    **changes,
                }
            )

    def create(self, row, replaces=None) -> str | None:
        """An Opportunity Product for one line, or why it cannot be made: new lines take the
        standard price book's entry, so an Opportunity on another price book gets none."""
        book = self.book_of.get(row["OpportunityId"])
        if not missing(book) and self.standard_pricebook and book != self.standard_pricebook:
            return (
                f"{_item_text(row)}: not added, the Opportunity uses price book {book} and new "
                "lines take the standard price book's entry"
            )
        self.plan.line_creates.append(
            {
                "key": row["line_key"],
                "opportunity": row["OpportunityId"],
                "replaces": replaces,
                "OpportunityId": row["OpportunityId"],
                "PricebookEntryId": row["PricebookEntryId"],
                "Quantity": row["Quantity"],
                "UnitPrice": row["UnitPrice"],
                "Description": json_value(row["Description"]),
                EXT_LINE: row[EXT_LINE],
                LINE_INDEX: json_value(row[LINE_INDEX]),
                **{f: json_value(row[f]) for f in self.extra_writes},
            }
        )
        return None

    def update_matched(self, both: pd.DataFrame) -> None:
        """Lines matched to their Opportunity Product: a line whose item has no Product is left
        with a warning; one whose Product is the Opportunity Product's gets its changed fields."""
        no_product = both[both["Product2Id"].isna()]
        self.warn(
            no_product,
            [
                f"{_item_text(r)} has no Product in Salesforce (External Item ID {r['item_id']}): "
                f"Opportunity Product {r['sf.Id']} is left as it is"
                for _, r in no_product.iterrows()
            ],
        )
        # Plain records, not ``iterrows`` (a Series built per row: minutes at 1M lines).
        same_product = both["Product2Id"].notna() & (both["Product2Id"] == both["sf.Product2Id"])
        for row in records(self.changed(both[same_product])):
            self.update(row)

    def replace_changed_items(self, both: pd.DataFrame) -> None:
        """A matched line whose item now has another Product: the Product of an Opportunity
        Product cannot change, so a new one is created and the old one deleted (or, without an
        active standard price or on another price book, left with a warning)."""
        other = both["Product2Id"].notna() & (both["Product2Id"] != both["sf.Product2Id"])
        for row in records(both[other]):
            if missing(row["PricebookEntryId"]):
                self.warn(
                    pd.DataFrame([row]),
                    f"now has {_item_text(row)}, whose Product has no active standard price: "
                    f"Opportunity Product {row['sf.Id']} is left as it is",
                )
                continue
            problem = self.create(row, replaces=row["sf.Id"])
            if problem:
                self.warn(pd.DataFrame([row]), problem)
                continue
            self.delete(
                row["OpportunityId"],
                row["sf.Id"],
                f"line {row['line_id']} now has {_item_text(row)}: the Product "
                "of an Opportunity Product cannot change, so it is replaced",
            )

    def delete_gone(self, gone: pd.DataFrame, second: pd.DataFrame) -> None:
        """Opportunity Products whose line is no longer on the transaction (``gone``: matched
        rows with ``sf.*`` columns), and second ones for the same line (``second``)."""
        for row in records(gone):
            self.delete(
                row["OpportunityId"],
                row["sf.Id"],
                f"line {row['line_id']} is no longer on {self.key_of[row['OpportunityId']]}",
            )
        for row in records(second):
            self.delete(
                row["OpportunityId"],
                row["Id"],
                f"a second Opportunity Product for line {row['line_id']}",
            )

    def add_new(self, new: pd.DataFrame) -> None:
        """Lines no Opportunity Product holds: created, unless their item has no Product or
        that Product no active standard price (a warning each)."""
        no_item = new[new["Product2Id"].isna()]
        self.warn(
            no_item,
            [
                f"{_item_text(r)} has no Product in Salesforce (External Item ID {r['item_id']}): "
                "this line is not added to the Opportunity"
                for _, r in no_item.iterrows()
            ],
        )
        unpriced = new[new["Product2Id"].notna() & new["PricebookEntryId"].isna()]
        self.warn(
            unpriced,
            [
                f"{_item_text(r)}: its Product {r['Product2Id']} has no active standard price: "
                "this line is not added to the Opportunity"
                for _, r in unpriced.iterrows()
            ],
        )
        for row in records(new[new["PricebookEntryId"].notna()]):
            problem = self.create(row)
            if problem:
                self.warn(pd.DataFrame([row]), problem)

    def warn_unlinked(self, unlinked: pd.DataFrame) -> None:
        """Opportunity Products with no External Line ID that no line adopted: left as they
        are, with a warning."""
        for _, row in unlinked.iterrows():
            key = self.key_of[row["OpportunityId"]]
            self.found.append(
                skips(
                    [f"{key} Opportunity Product {row['Id']}"],
                    f"Opportunity Product {row['Id']} (Product {row['Product2Id']}) has no "
                    f"External Line ID and no line of {key} has its Product: left as it is "
                    "(delete it, or add the line in QuickBooks)",
                    WARNING,
                    record=SF_OPPORTUNITY_PRODUCT,
                )
            )


def retry_id(key: str) -> str:
    """The transaction an outcome key names: ``QB:Invoice:130 line 2`` -> ``Invoice:130``."""
    _, entity, rest = key.split(":", 2)
    return f"{entity}:{rest.split()[0]}"


def _adopt(
    new: pd.DataFrame, unlinked: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Pair new lines with Opportunity Products that have no External Line ID, by Product, in
    line order: (adopted rows with ``sf.*`` columns, new lines left, unlinked products left)."""
    new = new.drop(columns=[c for c in new.columns if c.startswith("sf.") or c == "_merge"])
    ranked_new = new.sort_values(["OpportunityId", "LineNum"], kind="stable")
    ranked_new = ranked_new.assign(
        _rank=ranked_new.groupby(["OpportunityId", "Product2Id"], dropna=False).cumcount()
    )
    sort_cols = [c for c in ("OpportunityId", "SortOrder", "Id") if c in unlinked.columns]
    ranked_old = unlinked.sort_values(sort_cols, kind="stable", na_position="last")
    ranked_old = ranked_old.assign(
        _rank=ranked_old.groupby(["OpportunityId", "Product2Id"], dropna=False).cumcount()
    )
    ranked_old = ranked_old[ranked_old["Product2Id"].notna()]
    old = (
        ranked_old.drop(columns=["line_id"])
        .add_prefix("sf.")
        .rename(
            columns={
                "sf.OpportunityId": "OpportunityId",
                "sf.Product2Id": "Product2Id",
                "sf._rank": "_rank",
            }
        )
    )
    paired = ranked_new[ranked_new["Product2Id"].notna()].merge(
        old, on=["OpportunityId", "Product2Id", "_rank"], how="inner"
    )
    left_new = ranked_new[~isin(ranked_new["line_key"], paired["line_key"])]
    left_old = unlinked[~isin(unlinked["Id"], paired["sf.Id"])]
    return paired, left_new, left_old


def amount_notes(pairs: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """R-OPP-7 and the money rule: when the sales lines do not add up to the transaction total
    (QuickBooks tax, discounts, non-item lines), the Opportunity Amount (the sum of its
    products, computed by Salesforce) will differ: a WARNING naming both amounts."""
    sales = lines[lines["DetailType"] == SALES_LINE]
    totals: dict[tuple[str, str], Decimal] = {}
    for entity, txn, amount in zip(
        sales["entity"].tolist(),
        sales["TxnId"].astype(str).tolist(),
        map_distinct(sales["Amount"], lambda v: money(v) or Decimal(0)).tolist(),
        strict=True,
    ):
        totals[(entity, txn)] = totals.get((entity, txn), Decimal(0)) + amount
    keys: list[str] = []
    reasons: list[str] = []
    if not len(pairs):  # TotalAmt is read only when there are pairs
        return skips(keys, pd.Series(reasons, dtype="object"), WARNING, record=SF_OPPORTUNITY)
    rounded = map_distinct(pairs["TotalAmt"], lambda v: (money(v) or Decimal(0)).quantize(CENT))
    sums = np.empty(len(pairs), dtype=object)  # each transaction's lines, to the cent
    sums[:] = [
        totals.get(txn, Decimal(0)).quantize(CENT)
        for txn in zip(plain_values(pairs["entity"]), plain_values(pairs["Id"]), strict=True)
    ]
    differ = np.flatnonzero(sums != rounded.to_numpy())  # the few that do not add up, named
    needed = [
        c for c in ("entity", "Id", "TotalAmt", "key", "sf.Id", "sf.Name") if c in pairs.columns
    ]
    for row, lines_sum, total in zip(
        records(pairs.iloc[differ], needed),
        sums[differ].tolist(),
        rounded.iloc[differ].tolist(),
        strict=True,
    ):
        keys.append(row["key"])
        reasons.append(
            f"Opportunity {row['sf.Id']} ({row['sf.Name']}): its QuickBooks sales lines add up "
            f"to {lines_sum} but the {TYPE_BY_ENTITY[row['entity']]} total is {total} (tax, "
            "discounts or lines without an item): the Opportunity Amount, the sum of its "
            "products, will not equal the QuickBooks total (R-OPP-7)"
        )
    return skips(keys, pd.Series(reasons, dtype="object"), WARNING, record=SF_OPPORTUNITY)


def plan_transactions(
    inputs: TransactionInputs,
    header_map: FieldMap | None = None,
    line_map: FieldMap | None = None,
    limits: dict | None = None,
) -> TransactionPlan:
    """Everything one run writes to Salesforce for the changed QuickBooks transactions.

    ``header_map`` / ``line_map``: the effective maps (defaults when absent); ``limits``: pair
    -> its custom targets' kinds and lengths: a transaction with a value its Opportunity field
    cannot take whole is not written back (WARNING, retried; ``sfqb.mapping.coerce``)."""
    header_map = header_map or default_map(HEADER_MAP)
    line_map = line_map or default_map(LINE_MAP)
    limits = limits or {}
    pairs, type_skips = link_transactions(
        inputs.transactions, inputs.opportunities, inputs.own_type_exists
    )
    # A value that does not fit holds back the whole transaction (header and lines): a line
    # left out would read as a line deleted in QuickBooks.
    _, unfit = fit(apply_map(pairs, header_map), limits.get(HEADER_MAP, {}))
    want = wanted_lines(pairs, inputs.lines, inputs.item_products, line_map)
    _, line_unfit = fit(want, limits.get(LINE_MAP, {}))
    unfit_skips = pd.concat(
        [
            skips(
                pairs.loc[unfit.notna(), "key"],
                unfit[unfit.notna()],
                WARNING,
                record=SF_OPPORTUNITY,
            ),
            skips(
                want.loc[line_unfit.notna(), "line_key"],
                line_unfit[line_unfit.notna()],
                WARNING,
                record=SF_OPPORTUNITY_PRODUCT,
            ),
        ],
        ignore_index=True,
    )
    held = set(pairs.loc[unfit.notna(), "key"]) | set(want.loc[line_unfit.notna(), "key"])
    pairs = pairs[~isin(pairs["key"], held)]
    want = want[~isin(want["key"], held)]
    plan = plan_lines(
        pairs, want, inputs.products, inputs.standard_pricebook, tuple(custom_line_writes(line_map))
    )
    plan.retry.extend(retry_id(k) for k in sorted(held))
    touched = {r["opportunity"] for r in plan.line_creates + plan.line_updates + plan.line_deletes}
    for opp_id, key, changes in zip(
        pairs["sf.Id"].values, pairs["key"].values, header_changes(pairs, header_map), strict=True
    ):
        if changes or opp_id in touched:
            plan.opportunities.append(
                {"key": key, "Id": opp_id, **changes, "Last_Sync_Date__c": None}
            )
    plan.skips = pd.concat(
        [f for f in (type_skips, plan.skips, unfit_skips) if len(f)] or [empty_skips()],
        ignore_index=True,
    )
    plan.notes = amount_notes(pairs, inputs.lines)
    plan.retry = sorted(set(plan.retry) | {retry_id(k) for k in type_skips["key"]})
    return plan
