"""First-run matching (R-PRE-1, R-PRE-2): link records that already exist on both sides.

"Exact" means exact: names are compared as stored, case and spaces included ("Acme" does not
match "acme" or "Acme "), because a wrong link silently merges two companies' books while a
missed one only costs a duplicate that a person can see and merge. Records already linked on
either side are left alone. A name shared by several unlinked records on one side is ambiguous:
nothing is linked for it and the candidates are reported. Vectorised: one merge, no loops.
"""

from __future__ import annotations

import pandas as pd

from sfqb.frames import isin, isna


def match_exact(
    sf: pd.DataFrame,
    qb: pd.DataFrame,
    *,
    sf_key: str,
    sf_link: str,
    qb_key: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Match unlinked Salesforce rows to unlinked QuickBooks rows on equal keys.

    Args:
        sf: frame[Id, <sf_key>, <sf_link>] (sf_link: the External ID field holding the QB Id).
        qb: frame[Id, <qb_key>].
        sf_key / qb_key: the compared columns (Name / DisplayName, ProductCode /
            FullyQualifiedName).
    Returns:
        (links, ambiguous): links frame[sf_id, qb_id, key]; ambiguous frame[key, sf_ids, qb_ids]
        (lists of candidate Ids) for keys held by more than one unlinked record on a side.
    """
    linked_qb = set(sf.loc[~isna(sf[sf_link]), sf_link].astype(str))
    sf_free = sf.loc[isna(sf[sf_link]) & ~isna(sf[sf_key]), ["Id", sf_key]]
    qb_free = qb.loc[~isin(qb["Id"].astype(str), linked_qb) & ~isna(qb[qb_key]), ["Id", qb_key]]
    sf_free = sf_free.rename(columns={"Id": "sf_id", sf_key: "key"}).astype({"key": "object"})
    qb_free = qb_free.rename(columns={"Id": "qb_id", qb_key: "key"}).astype({"key": "object"})

    pairs = sf_free.merge(qb_free, on="key", how="inner")
    per_key = pairs.groupby("key", sort=False).agg(
        sf_n=("sf_id", "nunique"), qb_n=("qb_id", "nunique")
    )
    unique_keys = per_key.index[(per_key["sf_n"] == 1) & (per_key["qb_n"] == 1)]
    links = pairs[isin(pairs["key"], unique_keys)][["sf_id", "qb_id", "key"]].reset_index(drop=True)

    ambiguous_keys = per_key.index.difference(unique_keys)
    amb = pairs[isin(pairs["key"], ambiguous_keys)]
    ambiguous = (
        amb.groupby("key", sort=True)
        .agg(sf_ids=("sf_id", lambda s: sorted(set(s))), qb_ids=("qb_id", lambda s: sorted(set(s))))
        .reset_index()
    )
    return links, ambiguous


ACCOUNT_LINK = "External_Account_ID__c"
MAX_SUBLEVELS = 5  # QuickBooks Desktop nests customers at most five levels below the top


def match_accounts_to_customers(
    sf_accounts: pd.DataFrame, qb_customers: pd.DataFrame, *, by_parent: bool = False
):
    """R-PRE-1: Account Name == Customer DisplayName. With ``by_parent`` (QuickBooks Desktop,
    where a name is unique only among one parent's sub-customers): a name several records
    share is told apart by the parent (``tell_apart_by_parent``); ``sf_accounts`` then has
    ``ParentId`` and ``qb_customers`` ``ParentRef.value``."""
    links, ambiguous = match_exact(
        sf_accounts, qb_customers, sf_key="Name", sf_link=ACCOUNT_LINK, qb_key="DisplayName"
    )
    if by_parent and not ambiguous.empty:
        return tell_apart_by_parent(links, ambiguous, sf_accounts, qb_customers)
    return links, ambiguous


def tell_apart_by_parent(
    links: pd.DataFrame, ambiguous: pd.DataFrame, sf: pd.DataFrame, qb: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """R-PRE-1 on QuickBooks Desktop: among the Accounts and customers sharing a name, an
    Account and a customer are a pair when the Account's parent Account is the one linked to
    the customer's parent (both top level counts too), and neither has another such partner.
    A parent linked in this pass lets its sub-customers be told apart in the next (at most
    five levels). What stays shared is still ambiguous; a name left with candidates on one
    side only is no longer ambiguous (nothing else to link it to)."""
    parent_of_account = {
        str(i): (None if p is None or pd.isna(p) else str(p))
        for i, p in zip(sf["Id"], sf["ParentId"], strict=True)
    }
    parent_of_customer = {
        str(i): (None if p is None or pd.isna(p) else str(p))
        for i, p in zip(qb["Id"], qb["ParentRef.value"], strict=True)
    }
    account_of = {
        str(q): str(a) for a, q in zip(sf["Id"], sf[ACCOUNT_LINK], strict=True) if not pd.isna(q)
    }
    account_of.update(zip(links["qb_id"].astype(str), links["sf_id"].astype(str), strict=True))
    found = [links]
    for _ in range(MAX_SUBLEVELS + 1):
        pairs = ambiguous.explode("sf_ids").explode("qb_ids").dropna(subset=["sf_ids", "qb_ids"])
        pairs = pairs.rename(columns={"sf_ids": "sf_id", "qb_ids": "qb_id"}).reset_index(drop=True)
        fit = [
            parent_of_account.get(str(a))
            == (account_of.get(str(c)) if (c := parent_of_customer.get(str(q))) else None)
            and (c is None or c in account_of)
            for a, q in zip(pairs["sf_id"], pairs["qb_id"], strict=True)
        ]
        fits = pairs[pd.Series(fit, index=pairs.index, dtype=bool)]
        once = ~fits["sf_id"].duplicated(keep=False) & ~fits["qb_id"].duplicated(keep=False)
        told = fits[once][["sf_id", "qb_id", "key"]].reset_index(drop=True)
        if told.empty:
            break
        found.append(told)
        account_of.update(zip(told["qb_id"].astype(str), told["sf_id"].astype(str), strict=True))
        done_sf, done_qb = set(told["sf_id"]), set(told["qb_id"])
        ambiguous = ambiguous.assign(
            sf_ids=[[i for i in ids if i not in done_sf] for ids in ambiguous["sf_ids"]],
            qb_ids=[[i for i in ids if i not in done_qb] for ids in ambiguous["qb_ids"]],
        )
        left = [
            bool(a) and bool(b)
            for a, b in zip(ambiguous["sf_ids"], ambiguous["qb_ids"], strict=True)
        ]
        ambiguous = ambiguous[left].reset_index(drop=True)
    return pd.concat(found, ignore_index=True), ambiguous


def match_products_to_items(sf_products: pd.DataFrame, qb_items: pd.DataFrame):
    """R-PRE-2: Product ProductCode == Item FullyQualifiedName."""
    return match_exact(
        sf_products,
        qb_items,
        sf_key="ProductCode",
        sf_link="External_Item_ID__c",
        qb_key="FullyQualifiedName",
    )
