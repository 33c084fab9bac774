"""A small, pure SOQL builder: every value that reaches a query goes through ``literal``.

Why: SOQL has no bind parameters, so a name like ``O'Brien \\ Sons`` must be escaped by hand,
and datetimes must be unquoted UTC (a quoted datetime is an INVALID_FIELD error). Building
queries only from these helpers keeps f-string SOQL (and injection) out of the project.

Reference: api-notes 3.3 (SOQL subset, escapes, date formats).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from urllib.parse import quote_plus

MAX_SOQL_LENGTH = 100_000
"""Salesforce's limit on the length of one SOQL statement (characters)."""

MAX_QUERY_URL_LENGTH = 15_000
"""Budget for the URL-encoded SOQL of one REST query: the query travels in the GET URI, and
URIs much above 16 KB are refused (HTTP 414) by Salesforce's front ends and by most servers."""

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
# Backslash first, so the backslashes the other escapes add are not doubled.
_ESCAPES = (
    ("\\", "\\\\"),
    ("'", "\\'"),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
    ("\b", "\\b"),
    ("\f", "\\f"),
)


def blank(value: object) -> bool:
    """None, NaN, pd.NA or NaT: a value no query should ask for (without importing pandas)."""
    return (
        value is None
        or (isinstance(value, float) and value != value)
        or type(value).__name__ in ("NAType", "NaTType")
    )


def field(name: str) -> str:
    """Check that ``name`` is a field or relationship path (``Account.Owner.Name``)."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"not a SOQL field or object name: {name!r}")
    return name


def quote(value: str, *, like: bool = False) -> str:
    """``value`` as a quoted SOQL string literal. With ``like=True``, ``%`` and ``_`` are
    escaped too, so they match literally inside a LIKE pattern (they are only wildcards there;
    in ``=`` comparisons they are plain characters and must not be escaped)."""
    if not isinstance(value, str):
        raise TypeError(f"quote() takes a str, not {type(value).__name__}")
    for raw, escaped in _ESCAPES:
        value = value.replace(raw, escaped)
    if like:
        value = value.replace("%", "\\%").replace("_", "\\_")
    return f"'{value}'"


def sf_datetime(value: dt.datetime) -> str:
    """A datetime as a Salesforce record field takes it (UTC, milliseconds, ``Z``): what the
    sync writes into Last_Sync_Date__c and other datetime fields. Naive datetimes are refused,
    as in ``format_datetime``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: pass an aware one")
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def format_datetime(value: dt.datetime) -> str:
    """UTC ``YYYY-MM-DDTHH:MM:SSZ`` (unquoted in SOQL). Naive datetimes are refused: their
    meaning depends on the machine's zone, which is how watermarks silently drift."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no timezone; pass an aware one")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def literal(value: object) -> str:
    """Any supported Python value as a SOQL literal.

    str -> quoted and escaped; bool -> true/false; None -> null; int and Decimal -> plain
    digits (never exponent notation); datetime -> UTC ``...Z``; date -> ``YYYY-MM-DD``.
    Floats are refused: money is Decimal in this project, and a float's repr is not exact.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"no SOQL literal for {type(value).__name__}: {value!r}")


_OPERATORS = frozenset({"=", "!=", "<", "<=", ">", ">="})


def compare(name: str, op: str, value: object) -> str:
    """``name op literal(value)``, e.g. ``compare("Name", "=", "O'Brien")``."""
    if op not in _OPERATORS:
        raise ValueError(f"unsupported operator {op!r}")
    return f"{field(name)} {op} {literal(value)}"


def eq(name: str, value: object) -> str:
    return compare(name, "=", value)


def like(name: str, pattern: str) -> str:
    """``name LIKE '<pattern>'``: ``pattern`` is used as written (``%``/``_`` are wildcards);
    build literal parts with ``quote(part, like=True)[1:-1]`` or use ``contains``."""
    return f"{field(name)} LIKE {quote(pattern)}"


def contains(name: str, text: str) -> str:
    """``name LIKE '%text%'`` with ``text`` matched literally (its ``%`` and ``_`` escaped)."""
    return f"{field(name)} LIKE '%{quote(text, like=True)[1:-1]}%'"


def in_list(name: str, values: Iterable[object]) -> str:
    """``name IN (v1, v2, ...)``; an empty list is refused (SOQL has no empty IN)."""
    items = [literal(v) for v in values]
    if not items:
        raise ValueError(f"IN list for {name} is empty")
    return f"{field(name)} IN ({', '.join(items)})"


def in_select(
    name: str, sobject: str, selected: str, where: Sequence[str] | str | None = None
) -> str:
    """A semi-join: ``name IN (SELECT selected FROM sobject [WHERE ...])`` (``selected`` an Id or
    reference field), e.g. the Accounts that have a won Opportunity."""
    inner = select(sobject, [selected], where)
    return f"{field(name)} IN ({inner})"


def window(start: dt.datetime, end: dt.datetime, field_name: str = "SystemModstamp") -> str:
    """The half-open window ``[start, end)`` on a datetime field.

    SOQL datetimes carry whole seconds, so ``start`` is rounded down and ``end`` up: the window
    may grow by under a second on each side (re-reading a record is harmless, as loads are
    idempotent), but it never shrinks (a record between two windows is never missed).
    """
    if end <= start:
        raise ValueError(f"empty window: end {end.isoformat()} <= start {start.isoformat()}")
    low = start.replace(microsecond=0)
    high = end if end.microsecond == 0 else end.replace(microsecond=0) + dt.timedelta(seconds=1)
    name = field(field_name)
    return f"{name} >= {format_datetime(low)} AND {name} < {format_datetime(high)}"


def _condition(text: str) -> str:
    """Parenthesise a condition that contains OR, so joining with AND never mixes the two
    operators at one level (SOQL rejects that as MALFORMED_QUERY)."""
    return f"({text})" if re.search(r"\sOR\s", text, flags=re.IGNORECASE) else text


def select(
    sobject: str,
    fields: Sequence[str],
    where: Sequence[str] | str | None = None,
    order_by: Sequence[str] | str | None = None,
    limit: int | None = None,
) -> str:
    """``SELECT f1, f2 FROM sobject [WHERE c1 AND c2] [ORDER BY ...] [LIMIT n]``.

    ``where`` items are conditions from the helpers above (``eq``, ``window``, ``in_list``...);
    they are joined with AND. ``order_by`` items are field names, optionally followed by
    ``ASC``/``DESC`` and ``NULLS FIRST``/``NULLS LAST``.
    """
    if not fields:
        raise ValueError("select() needs at least one field")
    fields_text = ", ".join("COUNT()" if f == "COUNT()" else field(f) for f in fields)
    parts = [f"SELECT {fields_text} FROM {field(sobject)}"]
    conditions = [where] if isinstance(where, str) else list(where or [])
    if conditions:
        parts.append("WHERE " + " AND ".join(_condition(c) for c in conditions))
    orders = [order_by] if isinstance(order_by, str) else list(order_by or [])
    if orders:
        parts.append("ORDER BY " + ", ".join(_order(o) for o in orders))
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise ValueError(f"LIMIT must be a non-negative int, not {limit!r}")
        parts.append(f"LIMIT {limit}")
    return " ".join(parts)


def count(sobject: str, where: Sequence[str] | str | None = None) -> str:
    """``SELECT COUNT() FROM sobject [WHERE ...]``: the answer's totalSize is the count."""
    return select(sobject, ["COUNT()"], where=where)


_ORDER_WORDS = re.compile(r"^(ASC|DESC)?(\s+NULLS\s+(FIRST|LAST))?$", re.IGNORECASE)


def _order(item: str) -> str:
    name, _, rest = item.strip().partition(" ")
    if not _ORDER_WORDS.match(rest.strip()):
        raise ValueError(f"bad ORDER BY item: {item!r}")
    return " ".join([field(name), *rest.split()]).strip()


def _chunks(head: str, tail: str, items: list[str], sep: str, max_url_length: int) -> Iterator[str]:
    """``head + sep.join(chunk) + tail`` for consecutive chunks of ``items``, each within
    ``max_url_length`` characters once URL-encoded (and never above SOQL's 100k)."""
    fixed = len(quote_plus(head)) + len(quote_plus(tail))
    limit = min(max_url_length, MAX_SOQL_LENGTH)  # encoded length >= raw length
    chunk: list[str] = []
    size = fixed
    for item in items:
        cost = len(quote_plus(item))
        if fixed + cost > limit:
            raise ValueError(f"one value alone is longer than the query budget: {item[:40]}...")
        if chunk:
            cost += len(quote_plus(sep))
        if chunk and size + cost > limit:
            yield head + sep.join(chunk) + tail
            chunk, size = [], fixed
            cost = len(quote_plus(item))
        chunk.append(item)
        size += cost
    if chunk:
        yield head + sep.join(chunk) + tail


def select_in_chunks(
    sobject: str,
    fields: Sequence[str],
    in_field: str,
    values: Iterable[object],
    where: Sequence[str] | str | None = None,
    order_by: Sequence[str] | str | None = None,
    max_url_length: int = MAX_QUERY_URL_LENGTH,
) -> Iterator[str]:
    """Queries ``SELECT ... WHERE <where> AND in_field IN (...)`` covering every value once,
    each short enough to travel in a REST query URL (``max_url_length`` characters once
    URL-encoded, and never above SOQL's 100k).

    For thousands of ids: 18-character ids fit about 500 to a query at the default budget.
    Duplicate values are sent once; an empty ``values`` yields no query.
    """
    base = [where] if isinstance(where, str) else list(where or [])
    unique = list(dict.fromkeys(literal(v) for v in values))
    if not unique:
        return
    prefix = select(sobject, fields, where=[*base, f"{field(in_field)} IN (X)"], order_by=order_by)
    head, tail = prefix.split(" IN (X)", 1)
    yield from _chunks(head + " IN (", ")" + tail, unique, ", ", max_url_length)


def select_any_of_chunks(
    sobject: str,
    fields: Sequence[str],
    conditions: Iterable[str],
    where: Sequence[str] | str | None = None,
    max_url_length: int = MAX_QUERY_URL_LENGTH,
) -> Iterator[str]:
    """Queries ``SELECT ... WHERE <where> AND (c1 OR c2 ...)`` covering every condition once,
    each short enough to travel in a REST query URL (as ``select_in_chunks``): for conditions
    an ``IN`` list cannot say, such as ``LIKE`` patterns."""
    base = [where] if isinstance(where, str) else list(where or [])
    unique = list(dict.fromkeys(conditions))
    if not unique:
        return
    head, tail = select(sobject, fields, where=[*base, "(X)"]).split("(X)", 1)
    yield from _chunks(head + "(", ")" + tail, unique, " OR ", max_url_length)
