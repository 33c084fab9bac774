"""When a value did not change (R-GEN-4): the one comparison every area's plan uses.

The sync writes only what changed, so a plan compares the value a field should get with the one
it has, each as the field keeps it: ``normalised(value, kind)`` is that form, and two values are
the same when their forms are equal (``same``). The field's ``Kind`` says how to read it: text,
a number (rounded to the field's scale when it has one), a date or a checkbox; two named options
of text keep the readings of the customers and items areas (``STORED_TEXT``, ``PLAIN_TEXT``).
``Sameness`` gives ``same``'s answers for many pairs at once (a plan compares every field of
every row), and ``money`` reads a money value as an exact Decimal for every area.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import overload

import numpy as np
from pandas.api.types import infer_dtype

from sfqb.frames import distinct_codes, missing, none_for_missing, types_of

KINDS = ("text", "number", "date", "boolean")
ZERO = Decimal(0)


@dataclass(frozen=True)
class Kind:
    """How the values of one field are read before they are compared.

    - ``name``: ``text``; ``number`` (read exactly, as ``money``: 10 is 10.0 and "10.00");
      ``date`` (ISO ``YYYY-MM-DD`` text: a Salesforce date field keeps the day of a datetime);
      ``boolean`` (a checkbox, read by its truth). Missing values (None, NaN, pd.NA, NaT) are
      all the same missing value, and for text, numbers and dates so is blank text.
    - ``step``: a number field's scale: values are rounded half up to it first, as Salesforce
      keeps them. R-INV-1: Invoice__c and Invoice_Item__c currency and quantity fields keep
      2 decimals and Rate__c 4, while QuickBooks sends up to 7; unrounded, a QuickBooks value
      with more decimals would differ from its own copy and be written on every run.
    - ``tidy`` (text): surrounding spaces are dropped and ``\\r\\n`` line ends read as ``\\n``,
      so the Address Block and Description text a Salesforce text area gives back equals what
      QuickBooks sent (R-OPP-7, R-INV-1). Off, text is compared exactly.
    - ``empty_is_value`` (text, without ``tidy``): ``""`` is a value of its own, not a missing
      one.

    A ``True`` or ``False`` in a text field stays a boolean: it equals no text.
    """

    name: str = "text"
    step: Decimal | None = None
    tidy: bool = True
    empty_is_value: bool = False

    def __post_init__(self) -> None:
        if self.name not in KINDS:
            raise ValueError(f"Kind: {self.name!r} is not one of {KINDS}")


# QuickBooks values copied to Salesforce text fields (the transactions and invoices areas).
TEXT = Kind("text")
NUMBER = Kind("number")
DATE = Kind("date")
# A checkbox. R-ITM-2: a Product's IsActive follows its item's Active.
BOOLEAN = Kind("boolean")
# R-ITM-2: the Product fields an item fills (Name, ProductCode, Description) are compared as
# both systems return them, with no tidying; empty text is no value. Both sides come through
# ``sfqb.frames.records_frame``, which strips text and makes empty text missing, so this equals
# TEXT on what the extracts give; it is kept apart so that the items plan stays exactly as it
# was (a text area's ``\r\n`` inside a Description is a difference here).
PLAIN_TEXT = Kind("text", tidy=False)
# R-ACC-4, R-ACC-5, R-ACC-8: the customers area decides whether a customer, an Account or a
# billing Contact is written, and whether a pair changed on both sides, on the values exactly as
# the two systems hold them: text as it is, and an empty text a value apart from a missing one
# (a sparse QuickBooks update clears a field by sending ""). Like PLAIN_TEXT, kept apart so that
# the customers plan stays exactly as it was.
STORED_TEXT = Kind("text", tidy=False, empty_is_value=True)


def number_kind(step: Decimal | None = None) -> Kind:
    """A number field, with the scale it keeps (``Kind.step``) when it has one."""
    return NUMBER if step is None else Kind("number", step=step)


@overload
def money(value: object) -> Decimal | None: ...
@overload
def money(value: object, default: Decimal) -> Decimal: ...
def money(value, default=None):
    """A money value or quantity (a JSON number, a Decimal or text) as an exact Decimal, never
    through a float; ``default`` (None) when it is missing or blank text."""
    if missing(value) or (isinstance(value, str) and value.strip() == ""):
        return default
    return Decimal(str(value))


def normalised(value, kind: Kind = TEXT):
    """``value`` as a field of ``kind`` keeps it (what ``same`` compares), None when it has no
    value; a number as Decimal, a date as ISO text. Plans write this form (JSON-ready through
    ``sfqb.frames.json_value``), so what they write is what they compare."""
    if missing(value):
        return None
    name = kind.name
    if name == "boolean":
        return bool(value)
    if name == "number":
        number = money(value)
        if number is None or kind.step is None:
            return number
        return number.quantize(kind.step, ROUND_HALF_UP)
    if isinstance(value, str):
        if kind.tidy or name == "date":
            if value.strip() == "":
                return None
        elif value == "" and not kind.empty_is_value:
            return None
    if name == "date":
        return str(value)[:10]
    if isinstance(value, bool):
        return value
    text = str(value)
    return text.replace("\r\n", "\n").strip() if kind.tidy else text


def same(a, b, kind: Kind = TEXT) -> bool:
    """R-GEN-4: ``a`` and ``b`` are one value to a field of ``kind``."""
    return normalised(a, kind) == normalised(b, kind)


# Types whose equal values stay equal after ``normalised`` of any kind (not Decimal or float:
# Decimal 1.0 == 1.00 and float 0.0 == -0.0 are equal but read differently as text).
_PLAIN = frozenset({str, int, bool})


class Sameness:
    """``same`` for many pairs at once (a plan compares every field of every row): the same value
    on both sides is not normalised at all, and a number is normalised once however often it
    repeats. Gives exactly ``same``'s answers; one instance per plan (its memo of numbers
    grows)."""

    def __init__(self) -> None:
        self._numbers: dict[Kind, dict] = {}

    def __call__(self, a, b, kind: Kind = TEXT) -> bool:
        if a is b or (type(a) is type(b) and type(a) in _PLAIN and a == b):
            return True
        if kind.name == "number":
            memo = self._memo(kind)
            return self._number(a, kind, memo) == self._number(b, kind, memo)
        return normalised(a, kind) == normalised(b, kind)

    def differ(self, a, b, kind: Kind = TEXT) -> np.ndarray:
        """``not self(a[i], b[i], kind)`` for each pair of two equally long sequences, as a bool
        array. Missing values (None, NaN, pd.NA, NaT) are taken as None first: the
        normalisation gives them all the same answer. Pairs of one plain type (text, int, bool,
        None) that are equal are then told apart in numpy's loops; only the others are
        normalised (most of a second run's values are plainly equal)."""
        a, b = none_for_missing(a), none_for_missing(b)
        if len(a) != len(b):
            raise ValueError(f"Sameness.differ: {len(a)} values against {len(b)}")
        if _texts_only(a) and _texts_only(b):  # no type to check: text equals only text
            out = np.asarray(a != b, dtype=bool)
        else:
            types_a, types_b = types_of(a), types_of(b)
            candidates = np.flatnonzero((types_a == types_b) & _IS_PLAIN(types_a).astype(bool))
            out = np.ones(len(a), dtype=bool)
            out[candidates] = a[candidates] != b[candidates]
        rest = np.flatnonzero(out)
        if kind.name == "text" and len(rest):
            rest = _text_settled(a[rest], b[rest], rest, kind, out)
        if kind.name == "number":
            out[rest] = self._numbers_of(a[rest], kind) != self._numbers_of(b[rest], kind)
            return out
        pairs = zip(a[rest].tolist(), b[rest].tolist(), strict=True)
        out[rest] = [normalised(x, kind) != normalised(y, kind) for x, y in pairs]
        return out

    def _numbers_of(self, cells: np.ndarray, kind: Kind) -> np.ndarray:
        """Each cell as the number ``self`` compares (``_number``), normalised once per distinct
        value (``distinct_codes``: a value and its representative have one type and text)."""
        codes, distinct = distinct_codes(cells)
        memo, numbers = self._memo(kind), np.empty(len(distinct), dtype=object)
        for n, value in enumerate(distinct):
            numbers[n] = self._number(value, kind, memo)
        return numbers[codes]

    def _memo(self, kind: Kind) -> dict:
        memo = self._numbers.get(kind)
        if memo is None:
            memo = self._numbers[kind] = {}
        return memo

    @staticmethod
    def _number(value, kind: Kind, memo: dict):
        # Keyed by type too: 1, 1.0 and True hash alike.
        try:
            key = (type(value), value)
            hit = memo.get(key, _NOTHING)
        except TypeError:  # an unhashable value
            return normalised(value, kind)
        if hit is _NOTHING:
            hit = memo[key] = normalised(value, kind)
        return hit


_NOTHING = object()
_NONE, _TEXT = type(None), str  # compared with arrays of types (types_of)


def _text_settled(x, y, rest, kind: Kind, out: np.ndarray) -> np.ndarray:
    """``Sameness.differ`` of a text kind, for the pairs ``rest`` not plainly equal (their
    values ``x`` and ``y``): settles in ``out`` those of two texts (untidy kinds) or a text and
    None, and returns the others. What ``normalised`` gives: an untidy kind keeps a text as it
    is, "" as None unless empty text is a value (so two unequal texts differ); a tidy kind makes
    a blank text None and keeps any other non-empty. A text against None therefore differs
    unless the text becomes None."""
    types_x, types_y = types_of(x), types_of(y)
    text_a, text_b = types_x == _TEXT, types_y == _TEXT
    with_none = (text_a & (types_y == _NONE)) | ((types_x == _NONE) & text_b)
    texts = np.where(text_a, x, y)[with_none].tolist()
    if kind.tidy:
        settled = with_none
        out[rest[settled]] = [bool(t.strip()) for t in texts]
        return rest[~settled]
    settled = with_none | (text_a & text_b)
    differs = np.ones(len(rest), dtype=bool)
    if not kind.empty_is_value:
        differs[np.flatnonzero(with_none)] = [t != "" for t in texts]
    out[rest[settled]] = differs[settled]
    return rest[~settled]


# Equal values of these types are the same after any normalisation (None is None).
_IS_PLAIN = np.frompyfunc((_PLAIN | {type(None)}).__contains__, 1, 1)


def _texts_only(cells: np.ndarray) -> bool:
    """Whether every cell of an object array is text or None (pandas' type inference, one C
    loop; a str subclass is text): equal values of such arrays are then plainly equal."""
    return infer_dtype(cells, skipna=True) in ("string", "empty")
