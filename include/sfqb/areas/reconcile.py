"""Reconciliation: do both systems agree on what the sync owns? The pure rules.

Frames in (as ``sfqb.steps.reconcile`` reads them: one query per object), a ``Reconciliation``
out: counts per check and, per check that found something, the keys of the differing records
(each naming the record and what differs, so a person can open it).

What the sync owns, and so what is compared (``Scope``):
- customers both ways (R-ACC-1..3): every linked Account, and every active QuickBooks customer
  that is not a project (jobs are not synced, R-ACC-3) and is linked, or changed inside the
  synced span (after the install date, R-GEN-6, and before the run's upper bound);
- won opportunities (R-OPP-1/9) that the opportunities area itself finds eligible
  (``sfqb.areas.opportunities.eligibility``, reused) and that were won or changed in the span,
  plus every opportunity that names a QuickBooks transaction;
- QuickBooks invoices (R-INV-1/4/5) that are in Salesforce or changed in the span;
- Products (R-ITM-2) when items sync.
Records queued for retry by their area (``sfqb.retry.*``: held back with a warning, to be
synced next run) are counted as ``pending_retry``, not as differences; QuickBooks records
changed at or after the run's upper bound belong to the next run (``changed_after_run``).
An area turned off in the preferences is not checked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pandas as pd

from sfqb.areas.invoices import CUSTOMER_COLUMNS, billing
from sfqb.areas.opportunities import EXT_TXN, eligibility, entity_types, marker
from sfqb.frames import is_true, isin, isna, missing

AREA = "reconcile"
ACCOUNT_EXT_ID = "External_Account_ID__c"
ITEM_EXT_ID = "External_Item_ID__c"
EXT_INVOICE = "External_Invoice_ID__c"
BALANCE, SUBTOTAL, STATUS = "Outstanding_Balance__c", "Subtotal__c", "Status__c"
DELETED_STATUS = "Deleted"
UPDATED = "MetaData.LastUpdatedTime"
CENT = Decimal("0.01")
MARKER_PREFIX = marker("")
# Record names listed per warning line; the rest are counted ("and N more").
LISTED = 20

# Check name -> what a difference means (warning lines, docs/reconciliation.md).
CHECKS = {
    "accounts_without_customer": "linked Accounts whose QuickBooks customer does not exist",
    "customers_without_account": (
        "active QuickBooks customers the sync owns that no Account is linked to"
    ),
    "customers_linked_twice": "QuickBooks customers linked from more than one Account",
    "duplicate_customer_names": (
        "QuickBooks customer names used by more than one customer (ignoring case and surrounding "
        "spaces)"
    ),
    "opportunities_without_transaction": (
        "eligible won opportunities with no QuickBooks transaction"
    ),
    "opportunities_missing_transaction": (
        "opportunities naming a QuickBooks transaction that does not exist"
    ),
    "duplicate_transactions": "opportunities with more than one QuickBooks transaction",
    "invoice_balances": (
        "Invoice__c records whose balance or total differs from their QuickBooks invoice"
    ),
    "invoices_missing_in_quickbooks": (
        "Invoice__c records whose QuickBooks invoice does not exist (and that are not marked "
        "Deleted)"
    ),
    "invoices_missing_in_salesforce": "QuickBooks invoices the sync owns that have no Invoice__c",
    "customer_balances": "customers whose open balance (sum of open invoice balances) differs",
    "duplicate_products": "Products sharing a QuickBooks item (External Item ID or ProductCode)",
}


@dataclass
class Reconciliation:
    """``counts``: per check, the records compared and the differences found (0 when equal),
    plus ``pending_retry`` and ``changed_after_run``; ``differences``: check -> the keys of the
    differing records, only for checks that found any (empty: both systems agree)."""

    counts: dict[str, int] = field(default_factory=dict)
    differences: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.differences.values())

    def add(self, check: str, keys: list[str], compared: int = 0) -> None:
        self.counts[check] = len(keys)
        self.counts[f"{check}_compared"] = compared
        if keys:
            self.differences[check] = sorted(keys)

    def count(self, name: str, value: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + int(value)

    def findings(self) -> list[dict]:
        """One warning per differing record (``outcomes.warning``, kind ``check``): its identity
        is the record and the check, so a difference that persists is one standing warning and a
        new one is new (R-OPS-3)."""
        from sfqb.records import CHECK_KIND, warning

        return [
            warning(AREA, key, f"{check}: {CHECKS.get(check, check)}", CHECK_KIND)
            for check, keys in self.differences.items()
            for key in keys
        ]

    def warnings(self, listed: int = LISTED) -> list[str]:
        """One WARNING line per check with differences: what it means, then at most ``listed``
        record keys and "and N more"."""
        out = []
        for check, keys in self.differences.items():
            shown = "; ".join(keys[:listed]) + (
                f"; and {len(keys) - listed} more" if len(keys) > listed else ""
            )
            out.append(f"{AREA}: {check}: {len(keys)} {CHECKS.get(check, check)}: {shown}")
        return out


@dataclass(frozen=True)
class Scope:
    """What the run owns: the synced span ``[install_date, upper_bound)`` (None: open side),
    the ids each area queued for retry, and the areas that are on (and selected)."""

    install_date: dt.datetime | None = None
    upper_bound: dt.datetime | None = None
    retries: dict[str, frozenset[str]] = field(default_factory=dict)
    online: bool = True
    customers: bool = True
    opportunities: bool = True
    invoices: bool = True
    items: bool = True

    def pending(self, stream: str) -> frozenset[str]:
        return self.retries.get(stream, frozenset())


# --- helpers -----------------------------------------------------------------------------------


def instants(values: pd.Series) -> pd.Series:
    """Salesforce / QuickBooks timestamps as UTC datetimes (NaT when missing or unreadable)."""
    return pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")


def in_span(stamps: pd.Series, scope: Scope) -> pd.Series:
    """Changed inside the synced span (R-GEN-6): at or after the install date, before the bound."""
    when = instants(stamps)
    mask = pd.Series(True, index=stamps.index)
    if scope.install_date is not None:
        mask &= when >= pd.Timestamp(scope.install_date)
    if scope.upper_bound is not None:
        mask &= when < pd.Timestamp(scope.upper_bound)
    return mask.fillna(False).astype(bool)


def after_run(stamps: pd.Series, scope: Scope) -> pd.Series:
    """Changed at or after the run's upper bound: the next run's business."""
    if scope.upper_bound is None:
        return pd.Series(False, index=stamps.index)
    return (instants(stamps) >= pd.Timestamp(scope.upper_bound)).fillna(False).astype(bool)


def cents(values: pd.Series) -> pd.Series:
    """Money rounded to the cent as Salesforce keeps it: half up, 12.345 -> 12.35 (missing
    counts as 0)."""

    def one(value):
        if missing(value) or value == "":
            return Decimal(0).quantize(CENT)
        try:
            return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)
        except InvalidOperation:
            return Decimal(0).quantize(CENT)

    return values.map(one).astype("object")


def whole_cents(values: pd.Series) -> pd.Series:
    """Money as whole cents (int64), so sums over many invoices are vectorised and exact."""
    return cents(values).map(lambda d: int(d.scaleb(2))).astype("int64")


def named(kind: str, ids: pd.Series, names: pd.Series) -> pd.Series:
    """``Account 001.. "Acme"``: how a record is named in a key."""
    shown = names.map(lambda n: f' "{n}"' if not missing(n) else "")
    return kind + " " + ids.astype(str) + shown


def repeated(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """The rows whose ``column`` value occurs more than once (missing values never repeat):
    duplicates are rare, so only these few are grouped."""
    return frame[frame[column].duplicated(keep=False).astype(bool) & frame[column].notna()]


def _text(values: pd.Series) -> pd.Series:
    return values.map(lambda v: None if missing(v) else str(v)).astype("object")


# --- customers <-> accounts ----------------------------------------------------------------------


def reconcile_customers(
    accounts: pd.DataFrame, customers: pd.DataFrame, scope: Scope, result: Reconciliation
) -> None:
    """R-ACC-1..3, R-PRE-1: linked Accounts have their customer; owned active customers have
    exactly one Account; no two customers share a name (case-insensitive). A linked customer
    made inactive in QuickBooks is not a difference (R-ACC-2: the sync leaves it alone by
    design); those are counted as ``inactive_in_quickbooks``.

    ``accounts``: frame[Id, Name, External_Account_ID__c] (the linked ones);
    ``customers``: frame[Id, DisplayName, Active, IsProject, MetaData.LastUpdatedTime] (all)."""
    links = accounts[~isna(accounts[ACCOUNT_EXT_ID])].assign(
        qb_id=lambda f: _text(f[ACCOUNT_EXT_ID])
    )
    qb = customers.assign(qb_id=_text(customers["Id"]))
    active = is_true(qb["Active"])
    by_id = qb.set_index("qb_id")
    pending_accounts = links["Id"].astype(str).isin(scope.pending("salesforce.Account"))
    found = isin(links["qb_id"], by_id.index)
    is_active = isin(links["qb_id"], set(qb.loc[active, "qb_id"]))
    late = after_run(links["qb_id"].map(by_id[UPDATED]), scope)
    bad = ~found & ~pending_accounts & ~late
    keys = (
        named("Account", links["Id"], links["Name"])
        + " -> QuickBooks customer "
        + links["qb_id"]
        + " (missing)"
    )[bad]
    result.add("accounts_without_customer", list(keys), len(links))
    result.count("inactive_in_quickbooks", int((found & ~is_active).sum()))

    owned = active & ~is_true(qb["IsProject"])
    linked_ids = set(links["qb_id"])
    window = in_span(qb[UPDATED], scope)
    pending = isin(qb["qb_id"], scope.pending("quickbooks.Customer"))
    late_qb = after_run(qb[UPDATED], scope)
    orphan = owned & ~isin(qb["qb_id"], linked_ids) & window & ~pending
    result.add(
        "customers_without_account",
        list(named("QuickBooks customer", qb["qb_id"], qb["DisplayName"])[orphan]),
        int((owned & (isin(qb["qb_id"], linked_ids) | window)).sum()),
    )
    result.count(
        "pending_retry",
        int((owned & pending & ~isin(qb["qb_id"], linked_ids)).sum())
        + int((~found & pending_accounts).sum()),
    )
    result.count(
        "changed_after_run",
        int((owned & late_qb & ~isin(qb["qb_id"], linked_ids)).sum())
        + int((~found & ~pending_accounts & late).sum()),
    )

    twice = repeated(links, "qb_id")
    result.add(
        "customers_linked_twice",
        [
            f"QuickBooks customer {qb_id}: Accounts {', '.join(sorted(group['Id'].astype(str)))}"
            for qb_id, group in twice.groupby("qb_id")
        ],
        len(linked_ids),
    )

    names = qb[active & ~isna(qb["DisplayName"])].assign(
        folded=lambda f: f["DisplayName"].astype(str).str.casefold()
    )
    mine = isin(names["qb_id"], linked_ids) | in_span(names[UPDATED], scope)
    groups = names.groupby("folded")
    sizes, touched = (
        groups["qb_id"].transform("size"),
        mine.groupby(names["folded"]).transform("any"),
    )
    dupes = names[(sizes > 1) & touched.astype(bool)]
    result.add(
        "duplicate_customer_names",
        [
            f'"{group["DisplayName"].iloc[0]}": QuickBooks customers '
            f"{', '.join(sorted(group['qb_id']))}"
            for _, group in dupes.groupby("folded")
        ],
        int(mine.sum()),
    )


# --- won opportunities -> transactions -----------------------------------------------------------


def reconcile_opportunities(
    opportunities: pd.DataFrame, transactions: pd.DataFrame, scope: Scope, result: Reconciliation
) -> None:
    """R-OPP-1/2/6/9, R-GEN-3: each eligible won opportunity has exactly one QuickBooks
    transaction, and the one it names exists.

    ``opportunities``: frame[Id, Name, AccountId, Account.External_Account_ID__c, IsWon,
    Transaction_Type__c, External_Transaction_ID__c, HasOpportunityLineItem, SystemModstamp];
    ``transactions``: frame[entity, Id, DocNumber, PrivateNote] (Invoices and Sales Receipts)."""
    opps = opportunities.assign(key=_text(opportunities["Id"]))
    linked = ~isna(opps[EXT_TXN])
    # The area's own rule (R-OPP-1/2), as if the opportunity had no transaction yet.
    lines = pd.DataFrame({"OpportunityId": opps.loc[is_true(opps["HasOpportunityLineItem"]), "Id"]})
    blocked = eligibility(opps.assign(**{EXT_TXN: pd.NA}), lines, online=scope.online)
    eligible = ~isin(opps["key"], set(blocked["key"]))
    pending = isin(opps["key"], scope.pending("salesforce.Opportunity"))
    owned = eligible & in_span(opps["SystemModstamp"], scope)
    late = eligible & ~linked & after_run(opps["SystemModstamp"], scope)
    txns = transactions.assign(txn_id=_text(transactions["Id"]))
    entity = opps["Transaction_Type__c"].map(entity_types(scope.online))
    names = named("Opportunity", opps["key"], opps["Name"])

    waiting = owned & ~linked & ~pending
    result.add(
        "opportunities_without_transaction", list(names[waiting]), int((owned | linked).sum())
    )
    result.count("pending_retry", int((owned & ~linked & pending).sum()))
    result.count("changed_after_run", int(late.sum()))

    existing = set(zip(txns["entity"], txns["txn_id"], strict=True))
    wanted = list(zip(entity, _text(opps[EXT_TXN]), strict=True))
    gone = (
        linked & pd.Series([pair not in existing for pair in wanted], index=opps.index) & ~pending
    )
    what = (
        entity.fillna(opps["Transaction_Type__c"].astype(str))
        + " "
        + _text(opps[EXT_TXN]).fillna("")
    )
    result.add(
        "opportunities_missing_transaction",
        list((names + " -> QuickBooks " + what)[gone]),
        int(linked.sum()),
    )

    marked = txns[
        txns["PrivateNote"]
        .map(lambda n: isinstance(n, str) and n.startswith(MARKER_PREFIX))
        .astype(bool)
    ]
    marked = marked.assign(
        key=marked["PrivateNote"].str.slice(len(MARKER_PREFIX)),
        label=marked["entity"] + " " + marked["txn_id"],
    )
    links = opps[linked].assign(label=names[linked], link=what[linked])
    name_of = dict(zip(opps["key"], names, strict=True))
    keys = [
        f"{name_of.get(k, 'Opportunity ' + k)}: QuickBooks {', '.join(sorted(group['label']))}"
        for k, group in repeated(marked, "key").groupby("key")
    ]
    keys += [
        f"QuickBooks {link} is named by {', '.join(sorted(group['label']))}"
        for link, group in repeated(links, "link").groupby("link")
    ]
    result.add("duplicate_transactions", keys, len(marked) + int(linked.sum()))


# --- invoices and balances -----------------------------------------------------------------------


def reconcile_invoices(
    sf_invoices: pd.DataFrame,
    qb_invoices: pd.DataFrame,
    accounts: pd.DataFrame,
    scope: Scope,
    result: Reconciliation,
    customers: pd.DataFrame | None = None,
) -> None:
    """R-INV-1/4/5/6/7: each Invoice__c's balance and total equal its QuickBooks invoice's; each
    owned QuickBooks invoice is in Salesforce; per customer, the open balances add up the same
    (a project's invoices count for the ancestor whose Account they take, R-INV-7).

    ``sf_invoices``: frame[Id, Name, External_Invoice_ID__c, Account__c, Outstanding_Balance__c,
    Subtotal__c, Status__c]; ``qb_invoices``: frame[Id, DocNumber, CustomerRef.value, Balance,
    TotalAmt, MetaData.LastUpdatedTime]; ``accounts``: frame[Id, Name, External_Account_ID__c];
    ``customers``: frame[Id, DisplayName, Active, IsProject, ParentRef.value] (all; None: each
    invoice counts for its own customer)."""
    pending_ids = scope.pending("quickbooks.Invoice@invoices")
    sf = sf_invoices[~isna(sf_invoices[EXT_INVOICE])].assign(qb_id=lambda f: _text(f[EXT_INVOICE]))
    qb = qb_invoices.assign(qb_id=_text(qb_invoices["Id"]))
    late = after_run(qb[UPDATED], scope) | isin(qb["qb_id"], pending_ids)
    result.count("changed_after_run", int(after_run(qb[UPDATED], scope).sum()))
    result.count("pending_retry", int(isin(qb["qb_id"], pending_ids).sum()))
    skipped_ids = set(qb.loc[late, "qb_id"]) | set(pending_ids)
    current = qb[~late].set_index("qb_id")

    check_invoice_amounts(sf, current, result)
    gone = check_missing_in_quickbooks(sf, set(qb["qb_id"]), pending_ids, skipped_ids, result)
    owned = check_missing_in_salesforce(set(sf["qb_id"]), current, scope, result)
    # Per linked customer: the open balances of the invoices compared above (and of those one
    # side lacks): QuickBooks by CustomerRef, Salesforce by the Account the Invoice__c names.
    sf_side = sf[
        ~isin(sf["qb_id"], skipped_ids)
        & (isin(sf["qb_id"], owned.index) | isin(sf.index, gone.index))
    ]
    check_customer_balances(sf_side, owned, accounts, customers, result)


def check_invoice_amounts(sf: pd.DataFrame, current: pd.DataFrame, result: Reconciliation) -> None:
    """R-INV-1/4: each Invoice__c (``sf``, with ``qb_id``) whose QuickBooks invoice is compared
    (``current``, by Id) has its balance and total, to the cent (``invoice_balances``)."""
    both = sf[isin(sf["qb_id"], current.index)]
    theirs = current.loc[both["qb_id"]]
    sf_balance, qb_balance = (
        cents(both[BALANCE]),
        pd.Series(cents(theirs["Balance"]).to_numpy(), index=both.index),
    )
    sf_total, qb_total = (
        cents(both[SUBTOTAL]),
        pd.Series(cents(theirs["TotalAmt"]).to_numpy(), index=both.index),
    )
    differs = (sf_balance != qb_balance) | (sf_total != qb_total)
    label = (
        named("Invoice__c", both["Id"], both["Name"])
        + " (QuickBooks invoice "
        + both["qb_id"]
        + ")"
    )
    detail = (
        ": balance Salesforce "
        + sf_balance.astype(str)
        + ", QuickBooks "
        + qb_balance.astype(str)
        + "; total Salesforce "
        + sf_total.astype(str)
        + ", QuickBooks "
        + qb_total.astype(str)
    )
    result.add("invoice_balances", list((label + detail)[differs]), len(both))


def check_missing_in_quickbooks(
    sf: pd.DataFrame,
    qb_ids: set[str],
    pending_ids: frozenset[str],
    skipped_ids: set[str],
    result: Reconciliation,
) -> pd.DataFrame:
    """R-INV-6: an Invoice__c whose QuickBooks invoice is not among ``qb_ids`` is marked
    Deleted, unless that invoice waits for a retry (``invoices_missing_in_quickbooks``); returns
    those that are not."""
    gone = sf[
        ~isin(sf["qb_id"], qb_ids)
        & (sf[STATUS].astype(str) != DELETED_STATUS)
        & ~isin(sf["qb_id"], pending_ids)
    ]
    result.add(
        "invoices_missing_in_quickbooks",
        list(
            named("Invoice__c", gone["Id"], gone["Name"])
            + " -> QuickBooks invoice "
            + gone["qb_id"]
        ),
        int((~isin(sf["qb_id"], skipped_ids)).sum()),
    )
    return gone


def check_missing_in_salesforce(
    in_sf: set[str], current: pd.DataFrame, scope: Scope, result: Reconciliation
) -> pd.DataFrame:
    """R-INV-1/5: every QuickBooks invoice the sync owns (in Salesforce, ``in_sf``, or changed in
    the synced span) has an Invoice__c (``invoices_missing_in_salesforce``); returns the owned."""
    owned = current[isin(current.index, in_sf) | in_span(current[UPDATED], scope).to_numpy()]
    absent = owned[~isin(owned.index, in_sf)]
    result.add(
        "invoices_missing_in_salesforce",
        [
            f"QuickBooks invoice {i}" + (f" (No. {d})" if not missing(d) else "")
            for i, d in zip(absent.index, absent["DocNumber"], strict=True)
        ],
        len(owned),
    )
    return owned


def check_customer_balances(
    sf_side: pd.DataFrame,
    owned: pd.DataFrame,
    accounts: pd.DataFrame,
    customers: pd.DataFrame | None,
    result: Reconciliation,
) -> None:
    """R-INV-4/7: per linked customer, the open balances add up the same: Salesforce's by the
    Account each Invoice__c (``sf_side``) names, QuickBooks' (``owned``) by the customer whose
    Account the invoice takes (a project's: its ancestor's, ``billing``)
    (``customer_balances``)."""
    customer_of = dict(
        zip(accounts["Id"].astype(str), _text(accounts[ACCOUNT_EXT_ID]), strict=True)
    )
    sf_sums = (
        pd.DataFrame(
            {
                "customer": sf_side["Account__c"].map(lambda a: customer_of.get(str(a))),
                "amount": whole_cents(sf_side[BALANCE]),
            }
        )
        .dropna(subset=["customer"])
        .groupby("customer")["amount"]
        .sum()
    )
    qb_sums = quickbooks_balances(owned, customers, set(customer_of.values()))
    table = (
        pd.concat([sf_sums.rename("sf"), qb_sums.rename("qb")], axis=1).fillna(0).astype("int64")
    )
    off = table[table["sf"] != table["qb"]]
    account_of = {c: a for a, c in customer_of.items() if c is not None}
    name_of = dict(zip(accounts["Id"].astype(str), accounts["Name"], strict=True))
    result.add(
        "customer_balances",
        [
            f'QuickBooks customer {c} / Account {account_of[c]} "{name_of[account_of[c]]}": '
            f"open balance Salesforce {Decimal(int(row.sf)).scaleb(-2)}, QuickBooks "
            f"{Decimal(int(row.qb)).scaleb(-2)}"
            for c, row in off.iterrows()
        ],
        len(table),
    )


def quickbooks_balances(
    owned: pd.DataFrame, customers: pd.DataFrame | None, linked: set
) -> pd.Series:
    """R-INV-7: the open balance (whole cents) of the ``owned`` QuickBooks invoices per customer
    they count for: their own when it is ``linked`` to an Account, else the ancestor whose
    Account they take (``billing``; none: not counted)."""
    billed = billing(
        owned["CustomerRef.value"],
        customers if customers is not None else pd.DataFrame(columns=CUSTOMER_COLUMNS),
        linked,
    )
    qb_customer = _text(owned["CustomerRef.value"]).map(
        lambda c: c if c is None or c in linked else billed[c].customer
    )
    return (
        pd.DataFrame({"customer": qb_customer, "amount": whole_cents(owned["Balance"])})
        .dropna(subset=["customer"])
        .groupby("customer")["amount"]
        .sum()
    )


# --- products ------------------------------------------------------------------------------------


def reconcile_products(products: pd.DataFrame, result: Reconciliation) -> None:
    """R-ITM-2, R-PRE-2: no two Products carry the same QuickBooks item, by External Item ID or
    by ProductCode (the item's full name) where one of them is linked to an item.

    ``products``: frame[Id, Name, ProductCode, External_Item_ID__c]."""
    items = products.assign(
        item=_text(products[ITEM_EXT_ID]),
        code=_text(products["ProductCode"]),
        label=named("Product2", products["Id"], products["Name"]),
    )
    keys = [
        f"External Item ID {item}: {', '.join(sorted(group['label']))}"
        for item, group in repeated(items[items["item"].notna()], "item").groupby("item")
    ]
    keys += [
        f'ProductCode "{code}": {", ".join(sorted(group["label"]))}'
        for code, group in repeated(items[items["code"].notna()], "code").groupby("code")
        if group["item"].notna().any()
    ]
    result.add("duplicate_products", keys, int(items["item"].notna().sum()))


def reconcile(frames: dict[str, pd.DataFrame], scope: Scope) -> Reconciliation:
    """Every check of the areas in ``scope`` over the frames ``sfqb.steps.reconcile`` reads:
    ``accounts``, ``customers``, ``opportunities``, ``transactions``, ``sf_invoices``,
    ``qb_invoices``, ``products`` (a frame an area that is off does not need may be absent)."""
    result = Reconciliation(counts={"pending_retry": 0, "changed_after_run": 0})
    if scope.customers:
        reconcile_customers(frames["accounts"], frames["customers"], scope, result)
    if scope.opportunities:
        reconcile_opportunities(frames["opportunities"], frames["transactions"], scope, result)
    if scope.invoices:
        reconcile_invoices(
            frames["sf_invoices"],
            frames["qb_invoices"],
            frames["accounts"],
            scope,
            result,
            frames.get("customers"),
        )
    if scope.items:
        reconcile_products(frames["products"], result)
    return result
