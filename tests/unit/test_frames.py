"""Frame helpers the plans are built on (pure)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from sfqb.frames import (
    dict_rows,
    distinct_codes,
    grouped_positions,
    isin,
    json_records,
    map_distinct,
    map_distinct_rows,
    map_like,
    positions_by,
    records,
)

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


MIXED = [
    None,
    "a",
    pd.NA,
    1,
    1.0,
    True,
    Decimal("1.0"),
    Decimal("1.00"),
    "a",
    None,
    np.nan,
    0.0,
    -0.0,
]


def test_given_values_of_every_type_when_numbered_then_only_same_type_and_text_share_a_number():
    """The plans convert a value once per distinct value: 1, 1.0 and True, or Decimal 1.0 and
    1.00, are apart (they write differently); equal text, and every None, are one."""
    codes, distinct = distinct_codes(pd.Series(MIXED, dtype=object))

    assert [f"{type(distinct[c]).__name__}:{distinct[c]!r}" for c in codes] == [
        f"{type(v).__name__}:{v!r}" for v in MIXED
    ]
    assert len(distinct) == len(MIXED) - 2
    assert map_distinct(pd.Series(MIXED, dtype=object), repr).tolist() == [repr(v) for v in MIXED]


def test_given_values_told_apart_by_their_text_when_numbered_then_equal_text_shares_a_number():
    """Decimals, dates, lists and dicts are numbered by their text, a type at a time: Decimal
    1.0 and 1.00 apart, equal lists and dicts (unhashable) and every Decimal NaN together."""
    values = [
        Decimal("1.0"), [1, 2], Decimal("1.00"), dt.date(2026, 1, 1), [1, 2], {"a": 1},
        Decimal("1.0"), dt.date(2026, 1, 1), Decimal("NaN"), Decimal("NaN"), {"a": 1}, pd.NA,
    ]  # fmt: skip

    codes, distinct = distinct_codes(pd.Series(values, dtype=object))

    assert [(type(distinct[c]), repr(distinct[c])) for c in codes] == [
        (type(v), repr(v)) for v in values
    ]
    assert len(distinct) == 7


@pytest.mark.parametrize(
    "numbers",
    [
        np.array([1.0, -0.0, 0.0, np.nan, -np.nan, 2.5, np.nan, 0.0, np.inf]),
        np.array([1.5, 1.5, np.nan], dtype=np.float32),
        np.array([3, 1, 3, -2, 1]),
        np.array([True, False, True]),
        np.array([], dtype=float),
    ],
    ids=["float64", "float32", "int", "bool", "empty"],
)
def test_given_a_column_of_numbers_when_numbered_then_as_the_same_values_as_objects(numbers):
    """A numpy column of numbers is numbered at once, with the answer its values get one by
    one as Python objects: 0.0 and -0.0 apart (their text differs), every NaN one value, in
    first-seen order."""
    codes, distinct = distinct_codes(pd.Series(numbers))
    as_objects = distinct_codes(pd.Series(numbers.tolist(), dtype=object))

    assert codes.tolist() == as_objects[0].tolist()
    assert [(type(v), repr(v)) for v in distinct] == [(type(v), repr(v)) for v in as_objects[1]]


def test_given_columns_when_mapped_per_distinct_row_then_each_row_gets_its_own_answer():
    """``map_distinct_rows`` answers as the plain loop over the rows does, and calls the
    function once per distinct row."""
    calls = []

    def convert(a, b):
        calls.append((a, b))
        return (repr(a), repr(b))

    rows = list(zip(MIXED * 2, MIXED[::-1] * 2, strict=True))  # every row twice
    firsts = pd.Series([a for a, _ in rows], dtype=object)
    seconds = pd.Series([b for _, b in rows], dtype=object)

    got = map_distinct_rows(convert, firsts, seconds)

    assert got == [(repr(a), repr(b)) for a, b in rows]
    assert len(calls) == len(MIXED)
    assert map_distinct_rows(convert, pd.Series([], dtype=object)) == []


LIKE = [
    lambda v: v is True or (isinstance(v, str) and v.lower() == "true"),
    lambda v: pd.NA if v is None or v is pd.NA or v != v else str(v).strip().lower(),
    lambda v: None if v is None or v is pd.NA or v != v else str(v),
    lambda v: pd.NA,
    lambda v: len(str(v)),
    repr,
]


@pytest.mark.parametrize("convert", LIKE)
@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["a", None, "True", "a", " B ", None] * 3, dtype="str"),
        pd.Series(["a", None, "True", "a", " B ", None] * 3, dtype="string"),
        pd.Series(MIXED * 3, dtype=object),
        pd.Series([None] * 6, dtype=object),
        pd.Series([1.5, np.nan, 1.5, 2.0] * 3),
        pd.Series([True, False] * 4, index=range(10, 18), name="flag"),
        pd.Series([], dtype="str"),
        pd.Series(["x", "y"], dtype=object),  # mostly distinct: mapped as it is
    ],
)
def test_given_a_column_when_mapped_like_pandas_then_the_same_series_with_fewer_calls(
    values, convert
):
    """R-GEN-4 (the plans' conversions stay what they were): ``map_like`` gives exactly what
    ``Series.map`` gives (values, dtype, index, name) for text, Arrow text, mixed objects,
    numbers and booleans, calling ``convert`` once per distinct value."""
    calls = []

    def counted(v):
        calls.append(v)
        return convert(v)

    got = map_like(values, counted)

    pd.testing.assert_series_equal(got, values.map(convert))
    if len(values) > 2:
        assert len(calls) <= len(distinct_codes(values)[1])


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_given_a_column_when_positions_by_value_then_as_groupby_indices(dtype):
    """``positions_by`` is ``groupby(sort=False).indices``: values in first-seen order, missing
    values left out, positions ascending."""
    values = pd.Series(["b", None, "a", "b", None, "a", "c"], dtype=dtype)

    got = positions_by(values)

    expected = pd.DataFrame({"k": values}).groupby("k", sort=False).indices
    assert list(got) == list(expected) == ["b", "a", "c"]
    assert all(got[k].tolist() == expected[k].tolist() for k in expected)
    assert positions_by(pd.Series([None], dtype=dtype)) == {}


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_given_a_column_when_grouped_positions_then_each_group_is_a_run_of_one_order(dtype):
    """``grouped_positions`` is ``positions_by`` unsplit: the groups' positions one after the
    other in one array, each group ending where ``ends`` says."""
    values = pd.Series(["b", None, "a", "b", None, "a", "c", "b"], dtype=dtype)

    distinct, order, ends = grouped_positions(values)

    assert distinct == ["b", "a", "c"]
    assert order.tolist() == [0, 3, 7, 2, 5, 6] and ends.tolist() == [3, 5, 6]
    empty = grouped_positions(pd.Series([None, None], dtype=dtype))
    assert empty[0] == [] and len(empty[1]) == 0 and len(empty[2]) == 0


def test_given_names_and_columns_when_made_into_rows_then_a_repeated_name_acts_as_in_a_literal():
    """One dict per row; a name given twice keeps its first place and its last value."""
    assert dict_rows(["a", "b", "a"], [[1, 2], [3, 4], [5, 6]], 2) == [
        {"a": 5, "b": 3},
        {"a": 6, "b": 4},
    ]
    assert dict_rows([], [], 2) == [{}, {}]
