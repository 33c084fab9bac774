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
