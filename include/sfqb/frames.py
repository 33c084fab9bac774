"""Records -> typed DataFrames: one normalisation for every area.

QuickBooks JSON is flattened to dotted columns (``BillAddr.City``, ``ParentRef.value``);
Salesforce records lose their ``attributes`` and keep parent fields dotted
(``Parent.External_Account_ID__c``). Text is stripped and empty text becomes missing, so both
systems' "nothing" compare equal. Money stays ``decimal.Decimal``: never a float.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import numpy as np
import pandas as pd

ADDRESS_LINES = ("Line1", "Line2", "Line3", "Line4", "Line5")


def _flatten(record: dict, prefix: str = "", out: dict | None = None) -> dict:
    out = {} if out is None else out
    for key, value in record.items():
        if key == "attributes":
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict) and "records" not in value:
            _flatten(value, f"{name}.", out)
        else:
            out[name] = value
    return out


def missing(value) -> bool:
    """None, pd.NA, NaN or NaT (scalars only: lists and dicts are values)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def records(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> list[dict]:
    """``frame[columns].to_dict("records")``, the same Python values, a column at a time:
    ``to_dict`` boxes every cell on its own (most of a plan's time at a million rows)."""
    names = list(frame.columns if columns is None else columns)
    if len(set(names)) != len(names):
        raise ValueError(
            f"records: duplicate columns {sorted(n for n in set(names) if names.count(n) > 1)}"
        )
    return dict_rows(names, [plain_values(frame[name]) for name in names], len(frame))


def plain_values(column: pd.Series) -> list:
    """A column's values as ``to_dict`` gives them: Python scalars, pd.NA as None."""
    values = column.tolist()
    if column.dtype == object:
        if not any(issubclass(t, np.generic) or t is _NA_TYPE for t in set(map(type, values))):
            return values  # the common case: nothing to box (a type check per value, in C)
        return [_box(v) if isinstance(v, np.generic) or v is pd.NA else v for v in values]
    if getattr(column.dtype, "na_value", None) is pd.NA:
        return [None if v is pd.NA else v for v in values]
    return values


def json_records(frame: pd.DataFrame, columns: Iterable[str]) -> list[dict]:
    """``records(frame, columns)`` JSON-ready (``json_values`` of every column)."""
    names = list(columns)
    return dict_rows(names, [json_values(frame[name]) for name in names], len(frame))


def dict_rows(names: list[str], columns: list[list], length: int) -> list[dict]:
    """One dict per row of ``length`` rows: ``names[i]`` -> ``columns[i][row]`` (equally long
    lists), built in one pass, so a plan's records are made once rather than merged from
    several dicts per row. A name given twice keeps its first place and its last value, as in
    a dict literal."""
    if not names:
        return [{} for _ in range(length)]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def json_value(value):
    """A plan value JSON-ready (XCom carries no Decimal): missing as None, Decimal as its exact
    text, anything else as it is."""
    if missing(value):
        return None
    return str(value) if isinstance(value, Decimal) else value


def none_for_missing(values) -> np.ndarray:
    """Values (a list, an array or any sequence) as a new 1-d object array, each kept whole (a
    list value stays one cell), every missing one (None, NaN, NaT, pd.NA) None: found in
    numpy's loop rather than a ``missing`` call per cell."""
    if not isinstance(values, list):  # a list is read as it is (fromiter copies it)
        values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    cells = np.fromiter(values, dtype=object, count=len(values))
    cells[pd.isna(cells)] = None
    return cells


def present_values(column: pd.Series) -> np.ndarray:
    """A column's values as ``plain_values`` gives them, every missing one None (an object
    array: ``none_for_missing``)."""
    return none_for_missing(plain_values(column))


def json_values(column: pd.Series) -> list:
    """``json_value`` of each of a column's values, a column at a time (as ``plain_values``
    gives them, missing found and Decimals told apart in numpy's loops)."""
    cells = present_values(column)
    decimals = np.flatnonzero(types_of(cells) == Decimal)
    if len(decimals):
        cells[decimals] = [str(v) for v in cells[decimals].tolist()]
    return cells.tolist()


def distinct_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, list]:
    """Per value of ``values``, the number of its distinct value, and the distinct values (one
    each). Values are told apart by type and ``repr`` (so Decimal 1.0 and 1, or True and 1, or
    two NaNs of one kind are apart or alike as their text says): text, booleans and integers
    (most cells) are numbered by pandas' hash table a type at a time, floats by their bits
    (``_numbers_distinct``, as is a column of numpy numbers), the rest (Decimals, dates, lists)
    a type at a time by their ``repr``."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "biuf":  # numpy numbers
        return _numbers_distinct(np.asarray(values))
    cells = np.fromiter(values.tolist(), dtype=object, count=len(values))
    codes = np.empty(len(cells), dtype=np.intp)
    # The cells of each type together (types are numbered by identity: comparing an array with
    # some classes, pd.NA's among them, answers one False rather than one answer per cell).
    kind_codes, kinds = pd.factorize(types_of(cells))
    out: list = []
    for n, kind in enumerate(kinds.tolist()):
        where = np.flatnonzero(kind_codes == n)
        if kind in _HASHED_BY_VALUE:  # one type at a time (True == 1 across types)
            found, distinct = pd.factorize(cells[where])
            distinct = distinct.tolist()
        elif kind is float:  # by their bits, as their text tells them apart
            found, distinct = _numbers_distinct(np.array(cells[where].tolist(), dtype=np.float64))
        elif kind is type(None) or kind is _NA_TYPE:  # one value, however many cells
            found, distinct = np.zeros(len(where), dtype=np.intp), [cells[where[0]]]
        else:  # Decimals, dates, lists: by their text
            found, _ = pd.factorize(_REPR(cells[where]))
            distinct = cells[where[np.unique(found, return_index=True)[1]]].tolist()
        codes[where] = found + len(out)
        out += distinct
    return codes, out


def _numbers_distinct(numbers: np.ndarray) -> tuple[np.ndarray, list]:
    """``distinct_codes`` of a numpy array of booleans, integers or floats (its cells are one
    Python type): equal integers and booleans have one text, and floats are told apart by their
    bits, every NaN as one (0.0 and -0.0 read differently, every NaN reads "nan")."""
    keys = numbers
    if numbers.dtype.kind == "f":
        keys = numbers.view(f"i{numbers.dtype.itemsize}").copy()
        nan = np.flatnonzero(np.isnan(numbers))
        if len(nan):  # every NaN as the first one
            keys[nan] = keys[nan[0]]
    codes, distinct = pd.factorize(keys)  # first-seen order, as the cells one by one
    firsts = np.unique(codes, return_index=True)[1] if len(distinct) else codes
    return codes.astype(np.intp), numbers[firsts].tolist()


def map_distinct(values: pd.Series, convert) -> pd.Series:
    """``values.map(convert)`` (object dtype) with ``convert`` called once per distinct value
    (``distinct_codes``): a million invoices or lines repeat few terms, dates and amounts."""
    codes, distinct = distinct_codes(values)
    converted = np.empty(len(distinct), dtype=object)
    for n, value in enumerate(distinct):  # one cell each, whatever convert gives (a tuple too)
        converted[n] = convert(value)
    return pd.Series(converted[codes], index=values.index, dtype="object")


def map_like(values: pd.Series, convert) -> pd.Series:
    """``values.map(convert)``, the same values and dtype, with ``convert`` called once per
    distinct value (``distinct_codes``): pandas maps the distinct values, then takes them for
    every row. A column of mostly distinct values (ids, names) is mapped as it is."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.map(convert)
    codes, distinct = distinct_codes(values)
    if len(distinct) * 2 > len(values):
        return values.map(convert)
    mapped = pd.Series(distinct, dtype=values.dtype).map(convert)
    return pd.Series(mapped.array.take(codes), index=values.index, name=values.name)


def positions_by(values: pd.Series) -> dict:
    """``frame.groupby(values, sort=False).indices`` for one column: each value (missing ones
    left out) -> the positions holding it, ascending; numbered by ``pd.factorize`` and split
    once, where pandas indexes its Arrow-backed text once per group."""
    distinct, order, ends = grouped_positions(values)
    if not distinct:
        return {}
    return dict(zip(distinct, np.split(order, ends[:-1]), strict=True))


def grouped_positions(values: pd.Series) -> tuple[list, np.ndarray, np.ndarray]:
    """``positions_by`` unsplit: (the distinct values in first-seen order, missing ones left
    out; every position holding one, grouped by value and ascending within a group; where each
    group ends in that order). A caller that only walks the groups needs no array per group."""
    codes, distinct = pd.factorize(values)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes[codes >= 0], minlength=len(distinct))
    order = order[len(order) - counts.sum() :]  # the missing (-1) sort first
    return distinct.tolist(), order, np.cumsum(counts)


def per_distinct(convert):
    """``convert`` called once per distinct value (told apart as ``distinct_codes`` tells
    them), for a loop that converts only some of its rows (a value never asked for is never
    converted, so a conversion that would fail on a skipped row does not fail)."""
    done: dict = {}

    def once(value):
        key = value if type(value) is str else (type(value), repr(value))
        if key not in done:
            done[key] = convert(value)
        return done[key]

    return once


def map_distinct_rows(convert, *columns: pd.Series) -> list:
    """``[convert(*row) for row in zip(*columns)]`` (equally long columns) with ``convert``
    called once per distinct row, each value told apart as ``distinct_codes`` tells them."""
    if not columns:
        raise ValueError("map_distinct_rows: no columns")
    combined = np.zeros(len(columns[0]), dtype=np.intp)
    for column in columns:  # renumbered after each column: the numbers stay below the length
        codes, distinct = distinct_codes(column)
        combined = np.unique(combined * len(distinct) + codes, return_inverse=True)[1]
    _, first, back = np.unique(combined.reshape(-1), return_index=True, return_inverse=True)
    firsts = [  # each cell whole (a list value stays one cell)
        np.fromiter(column.tolist(), dtype=object, count=len(column))[first].tolist()
        for column in columns
    ]
    results = np.empty(len(first), dtype=object)
    for n, row in enumerate(zip(*firsts, strict=True)):
        results[n] = convert(*row)
    return results[back.reshape(-1)].tolist()


def types_of(cells: np.ndarray) -> np.ndarray:
    """The type of each cell of an object array (an object array of types), in numpy's loop."""
    return _TYPE_OF(cells)


_TYPE_OF = np.frompyfunc(type, 1, 1)
_REPR = np.frompyfunc(repr, 1, 1)
_NA_TYPE = type(pd.NA)
# Types whose equal values have the same text (not Decimal 1.0 == 1.00, nor float 0.0 == -0.0):
# ``distinct_codes`` numbers them by value in pandas' hash table.
_HASHED_BY_VALUE = (str, bool, int)


def _box(value):
    if value is pd.NA:
        return None
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value)
    if isinstance(value, np.timedelta64):
        return pd.Timedelta(value)
    return value.item()


def isin(values: pd.Series | pd.Index, wanted) -> pd.Series | np.ndarray:
    """``values.isin(wanted)``, the same answer (a missing value is in ``wanted`` when ``wanted``
    holds a missing value), also fast for pandas' Arrow-backed text: its own ``isin`` turns every
    wanted value into an Arrow scalar first (4 s for a million ids; as objects, 0.7 s)."""
    if not isinstance(values.dtype, pd.StringDtype):
        return values.isin(wanted)
    if isinstance(wanted, (pd.Series, pd.Index)):
        wanted = wanted.astype(object)
    elif not isinstance(wanted, (set, frozenset, list, np.ndarray)):
        wanted = list(wanted)
    found = values.astype(object).isin(wanted)
    if len(wanted) and pd.isna(np.fromiter(wanted, dtype=object, count=len(wanted))).any():
        found = found | values.isna()
    return found


def isna(values: pd.Series) -> pd.Series:
    """Boolean mask of missing values (always bool dtype, also for empty frames); vectorised:
    the same answer as ``missing`` per value (lists and dicts are values)."""
    return values.isna().astype(bool)


def is_true(values: pd.Series) -> pd.Series:
    """Boolean mask of values that are True (JSON true or the text "true")."""
    return map_like(
        values, lambda v: v is True or (isinstance(v, str) and v.lower() == "true")
    ).astype(bool)


def as_text(values: pd.Series) -> pd.Series:
    """Values as text, missing kept missing: exact numbers (Decimal) and ids through XCom,
    whose Parquet cannot carry Decimal."""
    return values.map(lambda v: None if missing(v) else str(v)).astype("object")


def text_numbers(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """``as_text`` on the given columns of ``frame`` that exist (in place; returns the frame)."""
    for column in columns:
        if column in frame.columns:
            frame[column] = as_text(frame[column])
    return frame


def clean_text(values: pd.Series) -> pd.Series:
    """Strip text; empty text and None become missing (pd.NA). Non-text values pass through."""

    def one(value):
        if missing(value):
            return pd.NA
        if isinstance(value, str):
            value = value.strip()
            return value if value else pd.NA
        return value

    return values.map(one).astype("object")


def records_frame(records: Iterable[dict], columns: Iterable[str] = ()) -> pd.DataFrame:
    """Flatten records (QuickBooks or Salesforce) into a frame that has at least ``columns``."""
    rows = [_flatten(r) for r in records]
    frame = pd.DataFrame(rows)
    for column in columns:
        if column not in frame.columns:
            frame[column] = pd.NA
    for column in frame.columns:
        if pd.api.types.is_object_dtype(frame[column]) or pd.api.types.is_string_dtype(
            frame[column]
        ):
            frame[column] = clean_text(frame[column])
    return frame


def add_address_columns(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Derive ``{prefix}.Street`` (lines joined by newlines) and ``{prefix}.Block`` (the whole
    address as the read-only Address Block fields show it) from a QuickBooks address."""

    def col(name: str) -> pd.Series:
        key = f"{prefix}.{name}"
        return (
            frame[key]
            if key in frame.columns
            else pd.Series(pd.NA, index=frame.index, dtype="object")
        )

    lines = [col(line) for line in ADDRESS_LINES]
    city, state, postal, country = (
        col(n) for n in ("City", "CountrySubDivisionCode", "PostalCode", "Country")
    )

    def join(parts, sep):
        kept = [str(p) for p in parts if not missing(p) and str(p) != ""]
        return sep.join(kept) if kept else pd.NA

    street = [join(parts, "\n") for parts in zip(*lines, strict=True)]
    last_line = [
        join([join([c, join([s, p], " ")], ", ")], "")
        for c, s, p in zip(city, state, postal, strict=True)
    ]
    block = [
        join([st, ll, co], "\n") for st, ll, co in zip(street, last_line, country, strict=True)
    ]
    frame[f"{prefix}.Street"] = pd.Series(street, index=frame.index, dtype="object")
    frame[f"{prefix}.Block"] = pd.Series(block, index=frame.index, dtype="object")
    return frame


def split_street(street) -> dict[str, str]:
    """A Salesforce street (lines separated by newlines) as QuickBooks Line1..Line5."""
    if missing(street) or street == "":
        return {}
    lines = [line.strip() for line in str(street).splitlines() if line.strip()]
    if len(lines) > len(ADDRESS_LINES):
        lines = [*lines[: len(ADDRESS_LINES) - 1], ", ".join(lines[len(ADDRESS_LINES) - 1 :])]
    return {name: line for name, line in zip(ADDRESS_LINES, lines, strict=False)}
