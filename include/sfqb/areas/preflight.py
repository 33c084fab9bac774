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


def match_accounts_to_customers(sf_accounts: pd.DataFrame, qb_customers: pd.DataFrame):
    """R-PRE-1: Account Name == Customer DisplayName."""
    return match_exact(
        sf_accounts,
        qb_customers,
        sf_key="Name",
        sf_link="External_Account_ID__c",
        qb_key="DisplayName",
    )


def match_products_to_items(sf_products: pd.DataFrame, qb_items: pd.DataFrame):
    """R-PRE-2: Product ProductCode == Item FullyQualifiedName."""
    return match_exact(
        sf_products,
        qb_items,
        sf_key="ProductCode",
        sf_link="External_Item_ID__c",
        qb_key="FullyQualifiedName",
    )
