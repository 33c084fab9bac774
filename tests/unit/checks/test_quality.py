"""Data-quality expectations on extracted records: WARNINGs naming the rows (R-GEN-5)."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from sfqb.checks.quality import customer_warnings, item_warnings

pytestmark = pytest.mark.unit


def test_given_customers_with_a_blank_and_case_twins_when_checked_then_each_problem_is_a_warning(
    caplog,
):
    """R-GEN-5, R-OPS-3: QuickBooks display names must be present and unique ignoring case; each
    offending record has its own WARNING (so it resolves when that record passes), and nothing
    stops."""
    customers = pd.DataFrame(
        {"Id": ["1", "2", "3", "4"], "DisplayName": ["Acme Inc", None, "ACME INC ", "Beta LLC"]}
    )
    with caplog.at_level(logging.WARNING, logger="sfqb.checks.quality"):
        found = customer_warnings("customers", customers)
    assert [(w["key"], w["reason"]) for w in found] == [
        (
            "QB:2",
            "data quality: the QuickBooks customer has no display name: its Account gets no name; give it "
            "a display name in QuickBooks",
        ),
        (
            "QB:1",
            "data quality: the QuickBooks customer's display name differs only in case or spaces from "
            "QB:3 ('ACME INC '): their Accounts will be hard to tell apart; rename one in QuickBooks",
        ),
        (
            "QB:3",
            "data quality: the QuickBooks customer's display name differs only in case or spaces from "
            "QB:1 ('Acme Inc'): their Accounts will be hard to tell apart; rename one in QuickBooks",
        ),
    ]
    assert {w["kind"] for w in found} == {"check"}
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"customers: {w['key']}: {w['reason']}" for w in found
    ]


def test_given_clean_or_no_customers_when_checked_then_there_is_no_warning():
    """R-GEN-5: clean data stays quiet; an empty extract is not even validated."""
    assert (
        customer_warnings("customers", pd.DataFrame({"Id": ["1"], "DisplayName": ["Acme"]})) == []
    )
    assert customer_warnings("customers", pd.DataFrame({"Id": [], "DisplayName": []})) == []


def test_given_items_with_a_negative_price_when_checked_then_the_item_is_named():
    """R-GEN-5, R-ITM-2: a negative base price reaches the price book; warn with the item."""
    items = pd.DataFrame(
        {
            "Id": ["7", "8"],
            "FullyQualifiedName": ["Widgets:Blue", "Widgets:Red"],
            "UnitPrice": ["-5.00", "12.50"],
        }
    )
    assert [(w["key"], w["reason"]) for w in item_warnings("items", items)] == [
        (
            "QB:7",
            "data quality: the QuickBooks item 'Widgets:Blue' has a negative price (-5.0): the standard "
            "price book gets it; check the item in QuickBooks",
        )
    ]
