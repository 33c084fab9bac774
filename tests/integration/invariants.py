"""The three invariants of a sync (docs/simulation.md), over both sandbox servers' data and state.

- **No duplicates** (R-GEN-3): no two QuickBooks customers, items or transactions for one
  Salesforce record, no two Accounts, Products or Invoice__c for one QuickBooks record.
- **Nothing lost** (R-GEN-5): every record a test (or a simulation) made is synced now, or is
  kept for the next run (see the third).
- **No watermark past unloaded data** (R-GEN-2): a record that is not synced yet is either in
  its stream's retry list (``sfqb.retry.<stream>``) or still inside the stream's next window
  (changed at or after its watermark minus the lookback).

``snapshot(sf, qb)`` reads both systems once (a few queries: cheap at the tiny seed, fine at
small); ``duplicates(snapshot)`` are compared against a baseline snapshot taken before the
sync (the seed has deliberate duplicates, e.g. two Accounts with one name);
``orphans(before, after)`` (copies the sync made and lost track of: unlinked new customers,
marked transactions no opportunity links), ``unsynced(snapshot, expected)`` and
``watermark_violations(state, snapshot, unsynced)`` return what is wrong, empty when all is
well. ``check(...)`` does all of them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sfqb import soql
from sfqb.areas.customers import ACCOUNT_EXT_ID
from sfqb.areas.customers import QB_STREAM as CUSTOMER_STREAM
from sfqb.areas.customers import SF_STREAM as ACCOUNT_STREAM
from sfqb.areas.invoices import EXT_INVOICE, INVOICE_STREAM
from sfqb.areas.items import EXT_ID as ITEM_EXT_ID
from sfqb.areas.items import QB_STREAM as ITEM_STREAM
from sfqb.areas.opportunities import EXT_TXN, marker
from sfqb.areas.opportunities import SF_STREAM as OPPORTUNITY_STREAM

TRANSACTIONS = ("Invoice", "SalesReceipt")
MARKER_PREFIX = marker("")


@dataclass
class Snapshot:
    """Both systems, as the invariants need them: per object, Id -> record (empty when not read)."""

    accounts: dict[str, dict] = field(default_factory=dict)
    products: dict[str, dict] = field(default_factory=dict)
    entries: dict[str, dict] = field(default_factory=dict)  # standard price book entries
    opportunities: dict[str, dict] = field(default_factory=dict)
    invoice_records: dict[str, dict] = field(default_factory=dict)
    customers: dict[str, dict] = field(default_factory=dict)
    items: dict[str, dict] = field(default_factory=dict)
    transactions: dict[tuple[str, str], dict] = field(
        default_factory=dict
    )  # (entity, Id) -> record


# What each area's invariants read (all of them by default).
PARTS = {
    "customers": ("accounts", "customers"),
    "items": ("products", "entries", "items"),
    "opportunities": ("opportunities", "transactions"),
    "invoices": ("invoice_records", "transactions"),
}
# The streams (watermarks, retry lists) of each area's expected records.
STREAMS = {
    "customers": (ACCOUNT_STREAM, CUSTOMER_STREAM),
    "items": (ITEM_STREAM,),
    "opportunities": (OPPORTUNITY_STREAM,),
    "invoices": (INVOICE_STREAM,),
}
ALL_PARTS = tuple(dict.fromkeys(p for parts in PARTS.values() for p in parts))


def snapshot(sf, qb, parts=ALL_PARTS) -> Snapshot:
    """Read ``parts`` (Snapshot field names, e.g. ``PARTS["customers"]``) of both systems."""

    def by_id(rows) -> dict[str, dict]:
        return {str(r["Id"]): r for r in rows}

    readers = {
        "accounts": lambda: by_id(
            sf.query(soql.select("Account", ["Id", "Name", ACCOUNT_EXT_ID, "SystemModstamp"]))
        ),
        "products": lambda: by_id(
            sf.query(soql.select("Product2", ["Id", "Name", "ProductCode", ITEM_EXT_ID]))
        ),
        "entries": lambda: by_id(
            sf.query(
                soql.select(
                    "PricebookEntry",
                    ["Id", "Product2Id"],
                    where=soql.eq("Pricebook2.IsStandard", True),
                )
            )
        ),
        "opportunities": lambda: by_id(
            sf.query(
                soql.select(
                    "Opportunity",
                    ["Id", "Name", "IsWon", EXT_TXN, "Transaction_Type__c", "SystemModstamp"],
                )
            )
        ),
        "invoice_records": lambda: by_id(sf.query(soql.select("Invoice__c", ["Id", EXT_INVOICE]))),
        "customers": lambda: by_id(qb.query_all("Customer", include_inactive=True)),
        "items": lambda: by_id(qb.query_all("Item", include_inactive=True)),
        "transactions": lambda: {
            (entity, str(r["Id"])): r for entity in TRANSACTIONS for r in qb.query_all(entity)
        },
    }
    return Snapshot(**{part: readers[part]() for part in parts})


def _groups(pairs) -> dict[str, list[str]]:
    """key -> ids, for the keys shared by more than one id (blank keys ignored)."""
    out: dict[str, list[str]] = defaultdict(list)
    for key, id_ in pairs:
        if key not in (None, ""):
            out[key].append(id_)
    return {k: sorted(v) for k, v in out.items() if len(v) > 1}


def _name(value: str | None) -> str | None:
    return value.strip().casefold() if value else None


def duplicates(snap: Snapshot) -> dict[str, list[str]]:
    """``"what: key" -> ids`` for every key two records share where one is wanted."""
    groups = {
        "Accounts with External_Account_ID__c": _groups(
            (a.get(ACCOUNT_EXT_ID), i) for i, a in snap.accounts.items()
        ),
        "Accounts named": _groups((_name(a.get("Name")), i) for i, a in snap.accounts.items()),
        "Products with External_Item_ID__c": _groups(
            (p.get(ITEM_EXT_ID), i) for i, p in snap.products.items()
        ),
        "Products with ProductCode": _groups(
            (_name(p.get("ProductCode")), i) for i, p in snap.products.items()
        ),
        "standard price book entries of Product": _groups(
            (e.get("Product2Id"), i) for i, e in snap.entries.items()
        ),
        "Invoice__c with External_Invoice_ID__c": _groups(
            (r.get(EXT_INVOICE), i) for i, r in snap.invoice_records.items()
        ),
        "Opportunities linked to transaction": _groups(
            (f"{o.get('Transaction_Type__c')}:{o[EXT_TXN]}" if o.get(EXT_TXN) else None, i)
            for i, o in snap.opportunities.items()
        ),
        "QuickBooks customers named": _groups(
            (_name(c.get("DisplayName")), i) for i, c in snap.customers.items()
        ),
        "QuickBooks items named": _groups(
            (_name(c.get("FullyQualifiedName")), i) for i, c in snap.items.items()
        ),
        "QuickBooks transactions of": _groups(
            (
                t.get("PrivateNote")
                if (t.get("PrivateNote") or "").startswith(MARKER_PREFIX)
                else None,
                f"{entity}:{id_}",
            )
            for (entity, id_), t in snap.transactions.items()
        ),
    }
    return {f"{what}: {key}": ids for what, found in groups.items() for key, ids in found.items()}


def new_duplicates(before: Snapshot, after: Snapshot) -> dict[str, list[str]]:
    """Duplicates in ``after`` that ``before`` did not have (or that grew)."""
    old = duplicates(before)
    return {k: ids for k, ids in duplicates(after).items() if len(ids) > len(old.get(k, []))}


@dataclass
class Expected:
    """What a test made that the sync must carry over (ids in the system they were made in)."""

    accounts: set[str] = field(default_factory=set)  # SF Account -> its QB customer
    customers: set[str] = field(default_factory=set)  # QB Customer -> an Account
    items: set[str] = field(default_factory=set)  # QB Item -> a Product
    opportunities: set[str] = field(default_factory=set)  # won SF Opportunity -> one QB transaction
    invoices: set[str] = field(default_factory=set)  # QB Invoice -> an Invoice__c


def unsynced(snap: Snapshot, expected: Expected) -> dict[str, set[str]]:
    """stream -> ids of expected records not (or not correctly) synced yet."""
    linked_customers = {a.get(ACCOUNT_EXT_ID) for a in snap.accounts.values()}
    linked_items = {p.get(ITEM_EXT_ID) for p in snap.products.values()}
    loaded_invoices = {r.get(EXT_INVOICE) for r in snap.invoice_records.values()}
    txn_ids = {id_ for _, id_ in snap.transactions}
    marked = defaultdict(int)
    for t in snap.transactions.values():
        marked[t.get("PrivateNote")] += 1
    out = {
        ACCOUNT_STREAM: {
            a
            for a in expected.accounts
            if (snap.accounts.get(a) or {}).get(ACCOUNT_EXT_ID) not in snap.customers
        },
        CUSTOMER_STREAM: {c for c in expected.customers if c not in linked_customers},
        ITEM_STREAM: {i for i in expected.items if i not in linked_items},
        OPPORTUNITY_STREAM: {
            o
            for o in expected.opportunities
            if (snap.opportunities.get(o) or {}).get(EXT_TXN) not in txn_ids
            or marked[marker(o)] != 1
        },
        INVOICE_STREAM: {i for i in expected.invoices if i not in loaded_invoices},
    }
    return {stream: ids for stream, ids in out.items() if ids}


def orphans(before: Snapshot, after: Snapshot) -> dict[str, set[str]]:
    """What the sync made that nothing links (a second copy it lost track of): QuickBooks
    customers new since ``before`` that no Account names, transactions new since ``before``
    marked for an opportunity that does not link them. A run that failed may leave these for
    the next run to adopt; after a clean run there must be none."""
    linked = {a.get(ACCOUNT_EXT_ID) for a in after.accounts.values()}
    txn_of = {o.get(EXT_TXN) for o in after.opportunities.values()}
    out = {
        "QuickBooks customers no Account links": {
            i for i in set(after.customers) - set(before.customers) if i not in linked
        },
        "QuickBooks transactions no Opportunity links": {
            f"{e}:{i}"
            for (e, i), t in after.transactions.items()
            if (e, i) not in before.transactions
            and (t.get("PrivateNote") or "").startswith(MARKER_PREFIX)
            and i not in txn_of
        },
    }
    return {what: ids for what, ids in out.items() if ids}


def _changed_at(snap: Snapshot, stream: str, id_: str) -> dt.datetime | None:
    if stream in (ACCOUNT_STREAM, OPPORTUNITY_STREAM):
        record = (snap.accounts if stream == ACCOUNT_STREAM else snap.opportunities).get(id_)
        stamp = record and record.get("SystemModstamp")
        return dt.datetime.fromisoformat(stamp.replace("+0000", "+00:00")) if stamp else None
    records = {
        CUSTOMER_STREAM: snap.customers,
        ITEM_STREAM: snap.items,
        INVOICE_STREAM: {i: t for (e, i), t in snap.transactions.items() if e == "Invoice"},
    }[stream]
    record = records.get(id_)
    stamp = record and (record.get("MetaData") or {}).get("LastUpdatedTime")
    return dt.datetime.fromisoformat(stamp) if stamp else None


def watermark_violations(
    state,
    snap: Snapshot,
    pending: dict[str, set[str]],
    lookback: dt.timedelta = dt.timedelta(minutes=10),
) -> list[str]:
    """Unsynced records the next run would not read: not in the stream's retry list and
    changed before the stream's next window starts (watermark - lookback)."""
    out = []
    for stream, ids in pending.items():
        mark = state.watermark(stream)
        retry = set(state.retries(stream))
        for id_ in sorted(ids - retry):
            changed = _changed_at(snap, stream, id_)
            if mark is not None and (changed is None or changed < mark - lookback):
                out.append(
                    f"{stream}: {id_} (changed {changed}) is not synced, not to be retried, "
                    f"and the watermark is {mark}"
                )
    return out


def check(
    state,
    before: Snapshot,
    sf,
    qb,
    expected: Expected,
    *,
    synced: bool,
    lookback: dt.timedelta = dt.timedelta(minutes=10),
    parts=ALL_PARTS,
) -> Snapshot:
    """All three invariants after a run; ``synced``: every expected record must be synced now
    (else it may still be pending, as long as the next run reads it). Returns the snapshot."""
    after = snapshot(sf, qb, parts)
    dupes = new_duplicates(before, after)
    assert not dupes, f"duplicates: {dupes}"
    pending = unsynced(after, expected)
    if synced:
        assert not pending, f"not synced: {pending}"
        lost_track = orphans(before, after)
        assert not lost_track, f"made twice (unlinked copies): {lost_track}"
    violations = watermark_violations(state, after, pending, lookback)
    assert not violations, violations
    return after
