"""Data-quality expectations on extracted records: WARNINGs naming the rows (R-GEN-5)."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from sfqb.checks.quality import customer_warnings, item_warnings

pytestmark = pytest.mark.unit


def test_given_customers_with_a_blank_and_case_twins_when_checked_then_each_problem_is_a_warning(caplog):
    """R-GEN-5: QuickBooks display names must be present and unique ignoring case; offenders
    are named in a WARNING, and nothing stops."""
    customers = pd.DataFrame({"Id": ["1", "2", "3", "4"],
                              "DisplayName": ["Acme Inc", None, "ACME INC ", "Beta LLC"]})
    with caplog.at_level(logging.WARNING, logger="sfqb.checks.quality"):
        lines = customer_warnings("customers", customers)
    assert lines == [
        "customers: data quality: QuickBooks customers without a display name: QB:2: their Accounts get no "
        "name; give each customer a display name in QuickBooks",
        "customers: data quality: QuickBooks customers whose display names differ only in case or spaces: "
        "QB:1 ('Acme Inc'), QB:3 ('ACME INC '): their Accounts will be hard to tell apart; rename one in "
        "QuickBooks",
    ]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == lines


def test_given_clean_or_no_customers_when_checked_then_there_is_no_warning():
    """R-GEN-5: clean data stays quiet; an empty extract is not even validated."""
    assert customer_warnings("customers", pd.DataFrame({"Id": ["1"], "DisplayName": ["Acme"]})) == []
    assert customer_warnings("customers", pd.DataFrame({"Id": [], "DisplayName": []})) == []


def test_given_items_with_a_negative_price_when_checked_then_the_item_is_named():
    """R-GEN-5, R-ITM-2: a negative base price reaches the price book; warn with the item."""
    items = pd.DataFrame({"Id": ["7", "8"], "FullyQualifiedName": ["Widgets:Blue", "Widgets:Red"],
                          "UnitPrice": ["-5.00", "12.50"]})
    assert item_warnings("items", items) == [
        "items: data quality: QuickBooks items with a negative price: QB:7 ('Widgets:Blue'): the standard "
        "price book gets the negative price; check the items in QuickBooks"
    ]
