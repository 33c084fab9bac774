"""When a value did not change (``sfqb.mapping.same``): the one comparison every plan uses."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from sfqb.frames import missing
from sfqb.mapping.same import (
    BOOLEAN,
    DATE,
    NUMBER,
    PLAIN_TEXT,
    STORED_TEXT,
    TEXT,
    ZERO,
    Kind,
    Sameness,
    money,
    normalised,
    number_kind,
    same,
)

pytestmark = pytest.mark.unit

CENT = Decimal("0.01")
NUMBERS = [
    Decimal("1.0"),
    Decimal("1.00"),
    Decimal("1.005"),
    1,
    1.0,
    0.0,
    -0.0,
    "1",
    "1.00",
    " 1 ",
    "",
    "  ",
    None,
    np.nan,
    pd.NA,
]
TEXTS = [
    "a",
    "a ",
    "A",
    "a\r\nb",
    "a\nb",
    "",
    "  ",
    "True",
    None,
    pd.NA,
    np.nan,
    pd.NaT,
    True,
    False,
    1,
    Decimal("1.0"),
    1.0,
    0.0,
    -0.0,
    ["a"],
]
DATES = ["2026-01-01", "2026-01-01T10:00:00Z", pd.Timestamp("2026-01-01"), None, "", np.nan, pd.NaT]
BOOLEANS = [True, False, 1, 0, "", "false", None, np.nan, pd.NA]
VALUES = {
    "text": (TEXT, TEXTS),
    "plain text": (PLAIN_TEXT, TEXTS),
    "stored text": (STORED_TEXT, TEXTS),
    "number": (NUMBER, NUMBERS),
    "number in cents": (number_kind(CENT), NUMBERS),
    "date": (DATE, DATES),
    "boolean": (BOOLEAN, BOOLEANS),
}


def test_given_text_fields_when_compared_then_line_ends_spaces_and_blank_text_are_no_change():
    """R-GEN-4, R-OPP-7: a QuickBooks value copied to a Salesforce text field comes back with
    ``\\r\\n`` line ends or surrounding spaces, or empty for missing: none of it is a change;
    other text is compared exactly, and a boolean equals no text."""
    assert same("a\nb", "a\r\nb", TEXT) and same(" a ", "a", TEXT)
    assert same(None, "", TEXT) and same(float("nan"), None, TEXT) and same(pd.NA, " ", TEXT)
    assert not same("a", "A", TEXT) and not same(None, "x", TEXT)
    assert not same(True, "True", TEXT) and normalised(True, TEXT) is True
    assert normalised(" a\r\nb ", TEXT) == "a\nb"


def test_given_number_fields_when_compared_then_equal_numbers_are_the_same_whatever_their_form():
    """R-GEN-4: a JSON number, a Decimal and their text are one number (10 == 10.0 == "10.00");
    missing and blank are no number."""
    assert same(Decimal("10"), 10.0, NUMBER) and same("2.00", Decimal("2.0"), NUMBER)
    assert same(None, "", NUMBER) and same(np.nan, pd.NA, NUMBER)
    assert not same("10.01", "10", NUMBER) and not same(0, None, NUMBER)
    assert normalised("10.50", NUMBER) == Decimal("10.50")


def test_given_a_number_field_with_a_scale_when_compared_then_values_are_rounded_half_up_first():
    """R-GEN-4, R-INV-1: Salesforce keeps Amount__c to the cent and Rate__c to 4 decimals while
    QuickBooks sends up to 7: a value equal once rounded half up is no change, and the form a
    plan writes is the rounded one."""
    cents, rate = number_kind(CENT), number_kind(Decimal("0.0001"))
    assert same("10.004", Decimal("10.00"), cents) and not same("10.006", Decimal("10.00"), cents)
    assert normalised("12.345", cents) == Decimal("12.35")
    assert normalised("1.00005", rate) == Decimal("1.0001")
    assert number_kind() is NUMBER and number_kind(CENT) == cents


def test_given_date_fields_when_compared_then_the_day_is_compared():
    """R-GEN-4, R-OPP-7: a Salesforce date field keeps the day of a QuickBooks date or datetime."""
    assert same("2026-01-15", "2026-01-15T00:00:00Z", DATE)
    assert same(pd.Timestamp("2026-01-15"), "2026-01-15", DATE)
    assert same(None, " ", DATE) and not same("2026-01-15", "2026-01-16", DATE)


def test_given_a_checkbox_when_compared_then_values_are_read_by_their_truth():
    """R-GEN-4, R-ITM-2: a Product's IsActive follows its item's Active: any true value is
    true and empty text false, while a missing value is a change from either."""
    assert same(True, 1, BOOLEAN) and same(False, "", BOOLEAN) and same(False, 0, BOOLEAN)
    assert not same(False, None, BOOLEAN) and not same(True, None, BOOLEAN)
    assert same(None, pd.NA, BOOLEAN)


def test_given_plain_text_when_compared_then_empty_is_missing_and_other_text_is_exact():
    """R-GEN-4, R-ITM-2: the Product fields an item fills are compared as both systems return
    them: empty text is no value, and a line end or space of difference is a change."""
    assert same("", None, PLAIN_TEXT) and same("Widget", "Widget", PLAIN_TEXT)
    assert not same("a\nb", "a\r\nb", PLAIN_TEXT) and not same(" a", "a", PLAIN_TEXT)
    assert not same("  ", None, PLAIN_TEXT)


def test_given_stored_text_when_compared_then_empty_text_is_a_value_apart_from_missing():
    """R-GEN-4, R-ACC-4, R-ACC-5: the customers area compares values as the two systems hold
    them: text exactly, empty text apart from a missing value, numbers by their text."""
    assert same(None, np.nan, STORED_TEXT) and same("", "", STORED_TEXT)
    assert not same("", None, STORED_TEXT) and not same(" a", "a", STORED_TEXT)
    assert not same(Decimal("1.0"), 1, STORED_TEXT) and same(Decimal("1.0"), "1.0", STORED_TEXT)


def test_given_money_when_read_then_it_is_an_exact_decimal_or_the_default_when_missing():
    """R-GEN-4, R-INV-1: money and quantities are read exactly, never through a float; a
    missing or blank value is the default (None unless given)."""
    assert money("12.345") == Decimal("12.345") and str(money(0.1)) == "0.1"
    assert str(money(Decimal("2.50"))) == "2.50" and money(3) == Decimal(3)
    assert money(None) is None and money(" ") is None and money(np.nan) is None
    assert money(pd.NA, ZERO) == 0 and money("", ZERO) is ZERO
    with pytest.raises(ArithmeticError):
        money("twelve")


def test_given_an_unknown_kind_name_when_made_then_it_is_refused():
    """R-GEN-4: a kind the comparison does not know would compare as nothing sensible."""
    with pytest.raises(ValueError, match="'money' is not one of"):
        Kind("money")


@pytest.mark.parametrize("name", list(VALUES))
def test_given_pairs_of_values_of_every_type_when_compared_by_sameness_then_it_answers_as_same(
    name,
):
    """R-GEN-4: the plans compare every field of every row with ``Sameness``, which skips
    normalising plainly equal values and remembers numbers; its answer must be ``same``'s for
    every pair, including values equal in Python but not as text (Decimal 1.0 and 1.00, 0.0 and
    -0.0, True and 1)."""
    kind, values = VALUES[name]
    alike = Sameness()

    for a in values:
        for b in values:
            assert alike(a, b, kind) == same(a, b, kind), (a, b)
            assert alike(a, b, kind) == same(a, b, kind), (a, b)  # and again, from its memo


@pytest.mark.parametrize("name", list(VALUES))
def test_given_columns_of_values_of_every_type_when_sameness_differ_then_each_pair_answers_as_same(
    name,
):
    """R-GEN-4: the plans compare a whole column of wanted values with the current ones at once
    (``Sameness.differ``: plainly equal pairs in numpy, missing values as None); each pair's
    answer must still be ``not same(a, b)``, including NaN against None, Decimal 1.0 against
    1.00, True against 1, and list values."""
    kind, values = VALUES[name]
    firsts = [a for a in values for _ in values]
    seconds = [b for _ in values for b in values]

    differs = Sameness().differ(firsts, seconds, kind)

    assert differs.tolist() == [not same(a, b, kind) for a, b in zip(firsts, seconds, strict=True)]
    assert Sameness().differ([], [], kind).tolist() == []
    with pytest.raises(ValueError, match="1 values against 2"):
        Sameness().differ(["a"], ["a", "b"], kind)


class _Label(str):
    """Text of a str subclass (numpy's ``str_`` is one): text to pandas' type inference."""


# Only text and missing values: ``Sameness.differ`` then compares every pair in numpy's loop
# without looking at types; the answers must not change.
ONLY_TEXT = {
    "text": ["a", "A", " a ", "a\r\nb", "a\nb", "", "  ", _Label("a"), _Label(" ")],
    "number": ["1", "1.0", " 1.00 ", "2", "10.004", "10.00", "", "  ", _Label("1")],
    "date": ["2026-12-08", "2026-12-08T10:00:00Z", "2026-12-09", "", " ", _Label("2026-12-08")],
}


@pytest.mark.parametrize("name", list(VALUES))
def test_given_columns_of_only_text_when_sameness_differ_then_each_pair_answers_as_same(name):
    """R-GEN-4: most columns a plan compares hold only text and missing values (a million cells
    each); ``Sameness.differ`` compares them without a type per cell. Every kind reads them as
    ``same`` does: blank and empty text, line ends, surrounding spaces, a str subclass, and
    missing values of every sort against text."""
    kind = VALUES[name][0]
    values = [*ONLY_TEXT.get(kind.name, ONLY_TEXT["text"]), None, np.nan, pd.NA]
    firsts = [a for a in values for _ in values]
    seconds = [b for _ in values for b in values]

    differs = Sameness().differ(firsts, seconds, kind)

    assert differs.tolist() == [not same(a, b, kind) for a, b in zip(firsts, seconds, strict=True)]
    assert differs.any() and not differs.all()


def _items_reading(a, b) -> bool:
    """How the items plan compared a Product field before this module (kept here as the
    reference the kinds must answer like)."""
    if missing(a) or a == "":
        return missing(b) or b == ""
    if missing(b):
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    return str(a) == str(b)


def _customers_reading(a, b) -> bool:
    """How the customers plan compared a field before this module (the reference)."""
    if missing(a) and missing(b):
        return True
    if missing(a) or missing(b):
        return False
    return str(a) == str(b)


def test_given_the_items_and_customers_values_when_compared_then_the_kinds_answer_as_those_areas_did():
    """R-GEN-4, R-ITM-2, R-ACC-5: moving the items and customers comparisons here changed no
    answer. Items: text fields (PLAIN_TEXT) for every pair of text or missing values, IsActive
    (BOOLEAN) for the item's True or False against any value. Customers (STORED_TEXT) for every
    pair but a boolean against its Python text ("True"), which neither system stores."""
    texts = ["a", "a ", "A", "a\r\nb", "a\nb", "", "  ", "1", "1.0", None, pd.NA, np.nan, pd.NaT]
    for a in texts:
        for b in texts:
            assert same(a, b, PLAIN_TEXT) == _items_reading(a, b), (a, b)
    for active in (True, False):
        for b in [*BOOLEANS, "true", "x"]:
            assert same(active, b, BOOLEAN) == _items_reading(active, b), (active, b)
    stored = [*texts, True, False, 1, 0, 1.0, -0.0, Decimal("1.0"), Decimal("1.00"), ["a"]]
    for a in stored:
        for b in stored:
            assert same(a, b, STORED_TEXT) == _customers_reading(a, b), (a, b)
