"""Frame helpers the plans are built on (pure)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from sfqb.areas.transactions import Sameness, normalised, same
from sfqb.frames import isin, json_records, records

pytestmark = pytest.mark.unit


def _every_kind_of_column() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "float": [1.5, np.nan, 0.0],
            "int": [1, 2, 3],
            "bool": [True, False, True],
            "decimal": pd.Series([Decimal("1.0"), None, Decimal("-0.00")], dtype=object),
            "text": ["a", None, ""],
            "date": pd.to_datetime(pd.Series(["2026-01-01", None, "2026-02-03"])),
            "utc": pd.to_datetime(
                pd.Series(["2026-01-01T00:00:00Z", None, "2026-02-03T04:05:06Z"])
            ),
            "Int64": pd.Series([1, None, 3], dtype="Int64"),
            "boolean": pd.Series([True, None, False], dtype="boolean"),
            "Float64": pd.Series([1.5, None, 2.0], dtype="Float64"),
            "string": pd.Series(["x", None, "z"], dtype="string"),
            "object NA": pd.Series([pd.NA, 1, "t"], dtype=object),
            "numpy scalars": pd.Series(
                [np.int64(3), np.float64(2.5), np.bool_(True)], dtype=object
            ),
            "numpy dates": pd.Series(
                [np.datetime64("2026-01-01"), np.timedelta64(5, "s"), None], dtype=object
            ),
            "nested": pd.Series([{"value": "1"}, ["a"], None], dtype=object),
        }
    )


def test_given_columns_of_every_kind_when_turned_into_records_then_each_value_is_what_to_dict_gives():
    """Speed rule behind the plans (the transforms run on 1M rows): ``records`` replaces
    ``to_dict("records")`` in the plans, so every value must be the same Python value of the
    same type, missing values included (pd.NA becomes None, numpy scalars Python scalars)."""
    frame = _every_kind_of_column()

    got, expected = records(frame), frame.to_dict("records")

    assert [list(r) for r in got] == [list(r) for r in expected]
    for mine, theirs in zip(got, expected, strict=True):
        for column in theirs:
            assert type(mine[column]) is type(theirs[column]), column
            assert repr(mine[column]) == repr(theirs[column]), column


def test_given_chosen_columns_or_none_when_turned_into_records_then_only_those_keys_in_that_order():
    """Plans read a few columns of wide frames: ``columns`` picks them (a repeated one is a
    programming error, not a silently merged key)."""
    frame = _every_kind_of_column()

    picked = records(frame, ["int", "text"])
    assert [list(r) for r in picked] == [["int", "text"]] * 3
    assert [r["int"] for r in picked] == [1, 2, 3] and picked[2]["text"] == ""
    assert records(frame, []) == [{}, {}, {}]
    assert records(frame.iloc[:0]) == []
    with pytest.raises(ValueError, match="duplicate columns"):
        records(frame, ["int", "int"])


@pytest.mark.parametrize("kind", ["text", "number", "date"])
def test_given_pairs_of_values_of_every_type_when_compared_by_sameness_then_it_answers_as_same(
    kind,
):
    """R-GEN-4 (write only what changed): the transactions and invoices plans compare every field
    of every row with ``Sameness``, which skips normalising plainly equal values and remembers
    numbers; its answer must be ``same``'s for every pair, including the values that are equal
    in Python but not as text (Decimal 1.0 and 1.00, 0.0 and -0.0, True and 1)."""
    numbers = [
        Decimal("1.0"),
        Decimal("1.00"),
        1,
        1.0,
        0.0,
        -0.0,
        "1",
        "1.00",
        " 1 ",
        None,
        np.nan,
        pd.NA,
    ]
    texts = [
        "a",
        "a ",
        "A",
        "a\r\nb",
        "a\nb",
        "",
        "  ",
        None,
        pd.NA,
        np.nan,
        True,
        1,
        Decimal("1.0"),
        1.0,
    ]
    dates = ["2026-01-01", "2026-01-01T10:00:00Z", pd.Timestamp("2026-01-01"), None, ""]
    values = {"number": numbers, "text": texts, "date": dates}[kind]
    alike = Sameness()

    for a in values:
        for b in values:
            assert alike(a, b, kind) == same(a, b, kind), (a, b)
            assert alike(a, b, kind) == same(a, b, kind), (a, b)  # and again, from its memo


@pytest.mark.parametrize("kind", ["text", "number", "date"])
def test_given_columns_of_values_of_every_type_when_sameness_differ_then_each_pair_answers_as_same(
    kind,
):
    """R-GEN-4 (write only what changed): the invoices plan compares a whole column of wanted
    values with Salesforce's current ones at once (``Sameness.differ``: plainly equal pairs in
    numpy, missing values as None); each pair's answer must still be ``not same(a, b)``,
    including NaN against None, Decimal 1.0 against 1.00, True against 1, and list values."""
    numbers = [
        Decimal("1.0"),
        Decimal("1.00"),
        1,
        1.0,
        0.0,
        -0.0,
        "1",
        "1.00",
        " 1 ",
        None,
        np.nan,
        pd.NA,
    ]
    texts = [
        "a",
        "a ",
        "A",
        "a\r\nb",
        "a\nb",
        "",
        "  ",
        None,
        pd.NA,
        np.nan,
        True,
        1,
        Decimal("1.0"),
        1.0,
        0.0,
        -0.0,
        ["a"],
        pd.NaT,
    ]
    dates = [
        "2026-01-01",
        "2026-01-01T10:00:00Z",
        pd.Timestamp("2026-01-01"),
        None,
        "",
        np.nan,
        pd.NaT,
    ]
    values = {"number": numbers, "text": texts, "date": dates}[kind]
    firsts = [a for a in values for _ in values]
    seconds = [b for _ in values for b in values]

    differs = Sameness().differ(firsts, seconds, kind)

    assert differs.tolist() == [not same(a, b, kind) for a, b in zip(firsts, seconds, strict=True)]
    assert Sameness().differ([], [], kind).tolist() == []
    with pytest.raises(ValueError, match="1 values against 2"):
        Sameness().differ(["a"], ["a", "b"], kind)


def test_given_a_field_scale_when_compared_by_a_sameness_of_that_normalisation_then_it_answers_as_it():
    """The invoices plan compares with its own normalisation (numbers rounded to each field's
    scale): ``Sameness(normalise, numeric)`` keeps that normalisation's answers, per kind."""

    def cents(value, kind):
        value = normalised(value, "number" if kind == "Amount" else "text")
        return value.quantize(Decimal("0.01")) if isinstance(value, Decimal) else value

    alike = Sameness(cents, numeric=frozenset({"Amount"}))

    assert alike("10.004", Decimal("10.00"), "Amount")
    assert not alike("10.006", Decimal("10.00"), "Amount")
    assert not alike("10.004", "10.00", "Name")


def test_given_cells_of_every_kind_when_made_json_ready_then_missing_is_none_and_decimals_are_text():
    """R-INV-1 (the invoices plan writes JSON-ready values through XCom): ``json_records`` gives
    each cell as the per-value rule would, a column at a time: every missing value None, a
    Decimal its exact text, other values (text, int, bool, a list) unchanged."""
    frame = pd.DataFrame(
        {
            "money": pd.Series([Decimal("10.50"), None, np.nan, Decimal("-0.00")], dtype="object"),
            "other": pd.Series(["a", pd.NA, 3, ["x"]], dtype="object"),
            "flag": pd.Series([True, False, pd.NA, True], dtype="boolean"),
        }
    )

    rows = json_records(frame, ["money", "other", "flag"])

    assert rows == [
        {"money": "10.50", "other": "a", "flag": True},
        {"money": None, "other": None, "flag": False},
        {"money": None, "other": 3, "flag": None},
        {"money": "-0.00", "other": ["x"], "flag": True},
    ]
    assert json_records(frame, []) == [{}, {}, {}, {}]


@pytest.mark.parametrize("wanted", [{"a"}, {"a", None}, ["b", np.nan], ("c",), frozenset()])
@pytest.mark.parametrize("dtype", ["str", "object"])
def test_given_text_with_missing_values_when_isin_then_it_answers_as_pandas_isin(wanted, dtype):
    """R-GEN-4 (plans pick their rows by id sets): ``frames.isin`` answers exactly as pandas'
    ``isin`` for text columns, Arrow-backed or not, a Series or an Index, whatever holds the
    wanted ids (a set, a list, a Series, dict keys), a missing value found when missing is wanted."""
    values = pd.Series(["a", None, "b", "c"], dtype=dtype)
    for other in (wanted, pd.Series(list(wanted), dtype="object"), dict.fromkeys(wanted).keys()):
        assert isin(values, other).tolist() == values.isin(list(wanted)).tolist(), other
    index = pd.Index(values)
    assert isin(index, wanted).tolist() == index.isin(list(wanted)).tolist()
