"""A small, pure builder for QuickBooks Online queries: every value goes through ``literal``.

Why: the QBO query language has no bind parameters, so a name like ``O'Brien \\ Sons`` must be
escaped by hand (``\\'`` for a quote, ``\\\\`` for a backslash, as the service's parser reads
them), and date-times must carry an explicit offset (a naive one means "company local time",
which silently shifts windows). Building queries only from these helpers keeps f-string
queries (and their injection bugs) out of the project.

Every condition is a ``Condition``: the QBO text it renders to, which is what the Online hook
sends, and its parts (property, operator, value), which is what another edition reads: the
steps state what they want once, and QuickBooks Desktop's adapter will translate the same
conditions into qbXML filters (``sfqb.hooks.interface``).

Reference: api-notes 2.5 (grammar, escapes, paging, ``Active`` filter), 2.9 (CDC).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

MAX_RESULTS = 1000
"""The largest MAXRESULTS QBO accepts (more is fault 4001)."""

DEFAULT_ORDER = "Metadata.LastUpdatedTime"
"""Paging needs a stable order; by last update it also lets a caller advance a watermark."""

LAST_UPDATED = "MetaData.LastUpdatedTime"


class Condition(str):
    """One condition of a query: the QBO text (it is a ``str``, ``DisplayName = 'O\\'Brien'``)
    that keeps its parts: ``prop`` (``MetaData.LastUpdatedTime``), ``op`` (one of
    ``=  <  >  <=  >=  IN  LIKE``) and ``value`` (a tuple of values for ``IN``)."""

    prop: str
    op: str
    value: object

    def __new__(cls, text: str, prop: str, op: str, value: object) -> Condition:
        made = super().__new__(cls, text)
        made.prop, made.op, made.value = prop, op, value
        return made

    def __reduce__(self):  # pickles (and copies) with its parts
        return (Condition, (str(self), self.prop, self.op, self.value))


_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_OPERATORS = ("=", "<", ">", "<=", ">=", "IN", "LIKE")


def name(identifier: str) -> str:
    """Check that ``identifier`` is an entity or property name (``MetaData.LastUpdatedTime``)."""
    if not isinstance(identifier, str) or not _IDENTIFIER.match(identifier):
        raise ValueError(f"not a QBO entity or property name: {identifier!r}")
    return identifier


def quote(value: str) -> str:
    """``value`` as a quoted QBO string literal: backslash first (so the escapes added for
    quotes are not doubled), then the single quote. ``%`` is a wildcard only inside LIKE and
    QBO has no escape for it, so it is left as is."""
    if not isinstance(value, str):
        raise TypeError(f"quote() takes a str, not {type(value).__name__}")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def format_datetime(value: dt.datetime) -> str:
    """ISO ``YYYY-MM-DDTHH:MM:SS+HH:MM``, whole seconds (floored; QBO stores whole seconds).
    Naive datetimes are refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no timezone; pass an aware one")
    return value.replace(microsecond=0).isoformat()


def literal(value: object) -> str:
    """Any supported Python value as a QBO literal (strings quoted and escaped; booleans
    ``true``/``false``; numbers as written; dates ``'YYYY-MM-DD'``; date-times with offset)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, dt.datetime):
        return quote(format_datetime(value))
    if isinstance(value, dt.date):
        return quote(value.isoformat())
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        return format(value, "f")
    raise TypeError(f"no QBO literal for {type(value).__name__}: {value!r}")


def condition(prop: str, op: str, value: object) -> Condition:
    """One condition: ``DisplayName = 'O\\'Brien'``; ``IN`` takes an iterable of values."""
    op = op.upper()
    if op not in _OPERATORS:
        raise ValueError(f"unsupported QBO operator {op!r}; one of {_OPERATORS}")
    if op == "IN":
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise TypeError("IN takes an iterable of values")
        values = tuple(value)
        literals = [literal(v) for v in values]
        if not literals:
            raise ValueError(f"IN needs at least one value for {prop}")
        return Condition(f"{name(prop)} IN ({', '.join(literals)})", prop, op, values)
    if op == "LIKE" and not isinstance(value, str):
        raise TypeError("LIKE takes a string pattern")
    return Condition(f"{name(prop)} {op} {literal(value)}", prop, op, value)


def equals(prop: str, value: object) -> Condition:
    return condition(prop, "=", value)


def in_(prop: str, values: Iterable[object]) -> Condition:
    return condition(prop, "IN", values)


def active_any() -> Condition:
    """Name-list queries return only active records unless asked (api-notes 2.5)."""
    return condition("Active", "IN", (True, False))


def window_conditions(start: dt.datetime | None, end: dt.datetime | None) -> list[Condition]:
    """``[start, end)`` on the last-update time; an open side is left out.

    QBO keeps whole seconds, so a record changed at 12:00:04.5 reads 12:00:04. The start is
    floored and the end rounded *up* to the next whole second: a record changed in the same
    second as the run's upper bound is read now (and perhaps again next run: harmless, loads
    are idempotent) instead of falling between two windows."""
    out = []
    if start is not None:
        out.append(condition(LAST_UPDATED, ">=", start))
    if end is not None:
        if end.microsecond:
            end = end.replace(microsecond=0) + dt.timedelta(seconds=1)
        out.append(condition(LAST_UPDATED, "<", end))
    return out


def where_clause(conditions: Sequence[str]) -> str:
    """``WHERE a AND b`` (QBO has only AND), or an empty string."""
    conditions = [c for c in conditions if c]
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def select(
    entity: str,
    where: Sequence[str] = (),
    *,
    order_by: str | None = DEFAULT_ORDER,
    descending: bool = False,
    start_position: int | None = None,
    max_results: int | None = None,
) -> str:
    """``SELECT * FROM Entity [WHERE ...] [ORDERBY ...] [STARTPOSITION n] [MAXRESULTS m]``.

    Conditions are made by ``condition``/``window_conditions``/``active_any``.
    STARTPOSITION is 1-based; MAXRESULTS at most 1000 (api-notes 2.5)."""
    text = f"SELECT * FROM {name(entity)}{where_clause(where)}"
    if order_by:
        text += f" ORDERBY {name(order_by)}{' DESC' if descending else ''}"
    if start_position is not None:
        if start_position < 1:
            raise ValueError("STARTPOSITION is 1-based")
        text += f" STARTPOSITION {int(start_position)}"
    if max_results is not None:
        if not 1 <= max_results <= MAX_RESULTS:
            raise ValueError(f"MAXRESULTS must be 1..{MAX_RESULTS}, got {max_results}")
        text += f" MAXRESULTS {int(max_results)}"
    return text


def count(entity: str, where: Sequence[str] = ()) -> str:
    """``SELECT COUNT(*) FROM Entity [WHERE ...]``; the answer is ``QueryResponse.totalCount``."""
    return f"SELECT COUNT(*) FROM {name(entity)}{where_clause(where)}"
