"""First-run matching (R-PRE-1, R-PRE-2)."""

from __future__ import annotations

import pandas as pd
import pytest

from sfqb.areas.preflight import match_accounts_to_customers, match_products_to_items

pytestmark = pytest.mark.unit


def accounts(*rows):
    return pd.DataFrame(rows, columns=["Id", "Name", "External_Account_ID__c"]).astype("object")


def customers(*rows):
    return pd.DataFrame(rows, columns=["Id", "DisplayName"]).astype("object")


def test_given_exact_names_when_matched_then_pairs_are_linked_and_near_misses_are_not():
    """R-PRE-1: exact Name == DisplayName; different case or a trailing space is not exact."""
    links, ambiguous = match_accounts_to_customers(
        accounts(
            ("001A", "Acme Inc", None), ("001B", "acme inc", None), ("001C", "Blue Co ", None)
        ),
        customers(("1", "Acme Inc"), ("2", "Blue Co"), ("3", "Zed")),
    )
    assert links.to_dict("records") == [{"sf_id": "001A", "qb_id": "1", "key": "Acme Inc"}]
    assert ambiguous.empty


def test_given_two_accounts_with_one_name_when_matched_then_neither_is_linked_and_both_are_reported():
    """R-PRE-1: ambiguous matches are a warning listing the candidates, and are not linked."""
    links, ambiguous = match_accounts_to_customers(
        accounts(("001A", "Twin Co", None), ("001B", "Twin Co", None), ("001C", "Solo", None)),
        customers(("7", "Twin Co"), ("8", "Solo")),
    )
    assert links[["sf_id", "qb_id"]].values.tolist() == [["001C", "8"]]
    assert ambiguous.to_dict("records") == [
        {"key": "Twin Co", "sf_ids": ["001A", "001B"], "qb_ids": ["7"]}
    ]


def test_given_records_already_linked_when_matched_then_they_are_left_alone():
    """R-PRE-1: an account linked earlier (External Account ID set) is not matched again, and its
    customer is not offered to another account of the same name."""
    links, _ = match_accounts_to_customers(
        accounts(("001A", "Acme", "1"), ("001B", "Acme", None)),
        customers(("1", "Acme")),
    )
    assert links.empty


def desktop_accounts(*rows):
    columns = ["Id", "Name", "External_Account_ID__c", "ParentId"]
    return pd.DataFrame(rows, columns=columns).astype("object")


def desktop_customers(*rows):
    return pd.DataFrame(rows, columns=["Id", "DisplayName", "ParentRef.value"]).astype("object")


def test_given_desktop_sub_customers_sharing_a_name_when_matched_then_the_parent_tells_them_apart():
    """R-PRE-1 on QuickBooks Desktop (a name is unique only under one parent): two "Main
    Office" sub-customers, of Acme and of Beta, and two "Main Office" Accounts, under Acme's
    Account (linked in this pass) and under none; the one under Acme's Account links to Acme's
    sub-customer, and two levels down too; what the parent cannot tell apart stays a warning.
    Online (no ``by_parent``) the shared name stays ambiguous as before."""
    sf = desktop_accounts(
        ("001ACME", "Acme", None, None),
        ("001MAIN", "Main Office", None, "001ACME"),
        ("001LOOSE", "Main Office", None, None),
        ("001DESK", "Front Desk", None, "001MAIN"),
        ("001DESK2", "Front Desk", None, "001LOOSE"),
    )
    qb = desktop_customers(
        ("10", "Acme", None),
        ("20", "Beta", None),
        ("11", "Main Office", "10"),
        ("21", "Main Office", "20"),
        ("12", "Front Desk", "11"),
        ("22", "Front Desk", "21"),
    )

    links, ambiguous = match_accounts_to_customers(sf, qb, by_parent=True)

    pairs = sorted(map(tuple, links[["sf_id", "qb_id"]].values.tolist()))
    assert pairs == [("001ACME", "10"), ("001DESK", "12"), ("001MAIN", "11")]
    # Beta's sub-customer and the loose Account share a name but not a parent: still a warning.
    assert ambiguous.to_dict("records") == [
        {"key": "Front Desk", "sf_ids": ["001DESK2"], "qb_ids": ["22"]},
        {"key": "Main Office", "sf_ids": ["001LOOSE"], "qb_ids": ["21"]},
    ]
    online, online_ambiguous = match_accounts_to_customers(sf, qb)
    assert online["sf_id"].tolist() == ["001ACME"] and len(online_ambiguous) == 2


def test_given_a_shared_name_left_on_one_side_when_told_apart_then_it_is_no_longer_ambiguous():
    """R-PRE-1 on Desktop: one "Main Office" Account under Acme's (already linked) Account and
    sub-customers of that name under Acme and Beta: Acme's links; Beta's has no Account left
    to be confused with, so nothing is reported for it (the customer sync gives it one)."""
    sf = desktop_accounts(
        ("001ACME", "Acme", "10", None), ("001MAIN", "Main Office", None, "001ACME")
    )
    qb = desktop_customers(
        ("10", "Acme", None), ("11", "Main Office", "10"), ("21", "Main Office", "20")
    )
    links, ambiguous = match_accounts_to_customers(sf, qb, by_parent=True)
    assert links[["sf_id", "qb_id"]].values.tolist() == [["001MAIN", "11"]]
    assert ambiguous.empty


def test_given_product_codes_when_matched_then_fully_qualified_names_link():
    """R-PRE-2: ProductCode == Item FullyQualifiedName (colons included)."""
    products = pd.DataFrame(
        [("01tA", "Hardware:Widgets:Blue", None), ("01tB", "Blue", None)],
        columns=["Id", "ProductCode", "External_Item_ID__c"],
    ).astype("object")
    items = pd.DataFrame(
        [("21", "Hardware:Widgets:Blue")], columns=["Id", "FullyQualifiedName"]
    ).astype("object")
    links, _ = match_products_to_items(products, items)
    assert links[["sf_id", "qb_id"]].values.tolist() == [["01tA", "21"]]


def test_given_100k_by_100k_records_when_matched_then_exactly_the_overlap_links():
    """R-PRE-1 at scale: half of 100k names overlap, and exactly those link (timing is the
    benchmark's job, not this test's)."""
    n = 100_000
    sf = accounts(*((f"001{i:012d}", f"Company {i}", None) for i in range(n)))
    qb = customers(*((str(i), f"Company {i + n // 2}") for i in range(n)))
    links, ambiguous = match_accounts_to_customers(sf, qb)
    assert len(links) == n // 2 and ambiguous.empty
    assert set(links["key"]) == {f"Company {i}" for i in range(n // 2, n)}
