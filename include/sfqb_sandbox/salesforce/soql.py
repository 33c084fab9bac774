"""SOQL: parse a query, resolve it against the schema, and run it over the in-memory records.

The subset is api-notes 3.3: field lists with parent relationship paths and child subqueries,
WHERE with AND/OR/NOT and parentheses, comparison/IN/LIKE/null, date and datetime literals and
date functions, ORDER BY, LIMIT, OFFSET, COUNT(). Conditions compile to Python closures once
per query, so large tables filter quickly. Errors are raised as ``SFError`` with the codes and
wording Salesforce uses (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import SFError
from .ids import to18

TEXT_TYPES = frozenset(
    {
        "string",
        "textarea",
        "phone",
        "url",
        "email",
        "picklist",
        "multipicklist",
        "combobox",
        "encryptedstring",
        "address",
    }
)
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent", "long"})
ID_TYPES = frozenset({"id", "reference"})

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w:]))
  | (?P<number>-?\d+(?:\.\d+)?(?![\w]))
  | (?P<op>!=|<>|<=|>=|=|<|>|\(|\)|,|:)
  | (?P<name>[A-Za-z_][\w.]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "NULL",
    "TRUE",
    "FALSE",
    "GROUP",
    "HAVING",
    "INCLUDES",
    "EXCLUDES",
    "FOR",
    "WITH",
    "USING",
}
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
    "%": "\\%",
    "_": "\\_",
}


def malformed(message: str) -> SFError:
    return SFError("MALFORMED_QUERY", message)


@dataclass
class Token:
    kind: str
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()


def tokenize(text: str) -> list[Token]:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise malformed(f"line 1:{pos} no viable alternative at character '{text[pos]}'")
        kind = m.lastgroup
        if kind != "ws":
            out.append(Token(kind, m.group(), pos))
        pos = m.end()
    out.append(Token("eof", "", len(text)))
    return out


def unquote(literal: str) -> str:
    body = literal[1:-1]
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt == "u" and re.match(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt not in _ESCAPES:
                raise malformed(
                    f"Invalid string literal '{body}'. Illegal character sequence '\\{nxt}'"
                )
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


# --- syntax tree -------------------------------------------------------------------------


@dataclass
class Value:
    kind: str  # string, number, bool, null, date, datetime, dateliteral
    value: Any
    text: str = ""


@dataclass
class FieldRef:
    path: list[str]
    text: str


@dataclass
class SubQuery:
    query: Query


@dataclass
class Aggregate:
    func: str
    ref: FieldRef | None
    alias: str | None


@dataclass
class Cond:
    op: str  # AND, OR, NOT, CMP, IN, NOTIN, LIKE
    parts: list = field(default_factory=list)
    ref: FieldRef | None = None
    cmp: str = ""
    values: list[Value] = field(default_factory=list)


@dataclass
class Order:
    ref: FieldRef
    desc: bool
    nulls_first: bool


@dataclass
class Query:
    items: list
    sobject: str
    where: Cond | None = None
    order: list[Order] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    count_only: bool = False
    text: str = ""


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "name" and self.tok.upper in words

    def expect_kw(self, word: str) -> None:
        if not self.is_kw(word):
            self.unexpected()
        self.take()

    def expect_op(self, op: str) -> None:
        if self.tok.kind != "op" or self.tok.text != op:
            self.unexpected()
        self.take()

    def unexpected(self):
        tok = self.tok
        shown = tok.text or "<EOF>"
        raise malformed(
            f"\n{self.text}\n{' ' * tok.pos}^\nERROR at Row:1:Column:{tok.pos + 1}\n"
            f"unexpected token: '{shown}'"
        )

    def parse(self) -> Query:
        query = self.query()
        if self.tok.kind != "eof":
            self.unexpected()
        return query

    def query(self) -> Query:
        start = self.tok.pos
        self.expect_kw("SELECT")
        items: list = []
        count_only = False
        while True:
            if self.tok.kind == "op" and self.tok.text == "(":
                self.take()
                items.append(SubQuery(self.query()))
                self.expect_op(")")
            elif self.is_kw("COUNT", "COUNT_DISTINCT", "SUM", "MIN", "MAX", "AVG") and (
                self.tokens[self.i + 1].text == "("
            ):
                func = self.take().upper
                self.take()
                ref = None if self.tok.text == ")" else self.field_ref()
                self.expect_op(")")
                alias = None
                if self.tok.kind == "name" and self.tok.upper not in _KEYWORDS:
                    alias = self.take().text
                if func == "COUNT" and ref is None:
                    count_only = True
                items.append(Aggregate(func, ref, alias))
            else:
                items.append(self.field_ref())
            if self.tok.text == ",":
                self.take()
                continue
            break
        if count_only and len(items) > 1:
            raise malformed("COUNT() and other fields cannot be combined")
        self.expect_kw("FROM")
        if self.tok.kind != "name" or self.tok.upper in _KEYWORDS:
            self.unexpected()
        sobject = self.take().text
        query = Query(items=items, sobject=sobject, count_only=count_only)
        if self.tok.kind == "name" and self.tok.upper not in _KEYWORDS:
            self.take()  # object alias, unused
        if self.is_kw("WHERE"):
            self.take()
            query.where = self.condition()
        if self.is_kw("GROUP", "HAVING"):
            raise malformed("GROUP BY is not supported by the sandbox")
        if self.is_kw("ORDER"):
            self.take()
            self.expect_kw("BY")
            while True:
                ref = self.field_ref()
                desc = False
                if self.is_kw("ASC", "DESC"):
                    desc = self.take().upper == "DESC"
                nulls_first = not desc
                if self.is_kw("NULLS"):
                    self.take()
                    if not self.is_kw("FIRST", "LAST"):
                        self.unexpected()
                    nulls_first = self.take().upper == "FIRST"
                query.order.append(Order(ref, desc, nulls_first))
                if self.tok.text != ",":
                    break
                self.take()
        if self.is_kw("LIMIT"):
            self.take()
            query.limit = self.integer()
        if self.is_kw("OFFSET"):
            self.take()
            query.offset = self.integer()
        if self.is_kw("FOR", "WITH"):
            raise malformed(f"{self.tok.upper} clauses are not supported by the sandbox")
        query.text = self.text[start : self.tok.pos]
        return query

    def integer(self) -> int:
        if self.tok.kind != "number" or not self.tok.text.isdigit():
            self.unexpected()
        return int(self.take().text)

    def field_ref(self) -> FieldRef:
        tok = self.tok
        if tok.kind != "name" or tok.upper in _KEYWORDS - {"FIRST", "LAST"}:
            self.unexpected()
        self.take()
        return FieldRef(tok.text.split("."), tok.text)

    def condition(self) -> Cond:
        parts = [self.term()]
        joiner = None
        while self.is_kw("AND", "OR"):
            word = self.take().upper
            if joiner and word != joiner:
                raise malformed(
                    f"\n{self.text}\nunexpected token: '{word}': mixing AND and OR "
                    "requires parentheses"
                )
            joiner = word
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else Cond(joiner, parts)

    def term(self) -> Cond:
        if self.is_kw("NOT"):
            self.take()
            return Cond("NOT", [self.term()])
        if self.tok.text == "(":
            self.take()
            inner = self.condition()
            self.expect_op(")")
            return inner
        ref = self.field_ref()
        if self.is_kw("NOT") and self.tokens[self.i + 1].upper == "IN":
            self.take()
            self.take()
            return Cond("NOTIN", ref=ref, values=self.value_list())
        if self.is_kw("IN"):
            self.take()
            return Cond("IN", ref=ref, values=self.value_list())
        if self.is_kw("LIKE"):
            self.take()
            value = self.value()
            if value.kind != "string":
                raise malformed("LIKE requires a quoted string")
            return Cond("LIKE", ref=ref, values=[value])
        if self.tok.kind != "op" or self.tok.text not in ("=", "!=", "<>", "<", ">", "<=", ">="):
            self.unexpected()
        op = self.take().text
        return Cond("CMP", ref=ref, cmp="!=" if op == "<>" else op, values=[self.value()])

    def value_list(self) -> list[Value]:
        self.expect_op("(")
        if self.is_kw("SELECT"):  # semi-join: Id IN (SELECT AccountId FROM Opportunity ...)
            sub = self.query()
            self.expect_op(")")
            return [Value("semijoin", sub, sub.text)]
        values = [self.value()]
        while self.tok.text == ",":
            self.take()
            values.append(self.value())
        self.expect_op(")")
        return values

    def value(self) -> Value:
        tok = self.tok
        if tok.kind == "string":
            self.take()
            return Value("string", unquote(tok.text), tok.text)
        if tok.kind == "number":
            self.take()
            return Value("number", float(tok.text), tok.text)
        if tok.kind == "date":
            self.take()
            try:
                dt.date.fromisoformat(tok.text)
            except ValueError:
                raise malformed(f"line 1:{tok.pos} invalid date: {tok.text}") from None
            return Value("date", tok.text, tok.text)
        if tok.kind == "datetime":
            self.take()
            return Value("datetime", format_datetime(parse_datetime(tok.text)), tok.text)
        if tok.kind == "name":
            word = tok.upper
            if word == "NULL":
                self.take()
                return Value("null", None, tok.text)
            if word in ("TRUE", "FALSE"):
                self.take()
                return Value("bool", word == "TRUE", tok.text)
            if word in DATE_LITERALS or word.split(":")[0] in N_DATE_LITERALS:
                self.take()
                n = None
                if word in N_DATE_LITERALS:
                    self.expect_op(":")
                    n = self.integer()
                return Value("dateliteral", (word, n), tok.text)
        self.unexpected()


# --- dates --------------------------------------------------------------------------------

DATE_LITERALS = {
    "YESTERDAY",
    "TODAY",
    "TOMORROW",
    "LAST_WEEK",
    "THIS_WEEK",
    "NEXT_WEEK",
    "LAST_MONTH",
    "THIS_MONTH",
    "NEXT_MONTH",
    "LAST_90_DAYS",
    "NEXT_90_DAYS",
    "THIS_YEAR",
    "LAST_YEAR",
    "NEXT_YEAR",
    "THIS_QUARTER",
}
N_DATE_LITERALS = {
    "LAST_N_DAYS",
    "NEXT_N_DAYS",
    "N_DAYS_AGO",
    "LAST_N_WEEKS",
    "NEXT_N_WEEKS",
    "LAST_N_MONTHS",
    "NEXT_N_MONTHS",
}


def parse_datetime(text: str) -> dt.datetime:
    value = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", value):
        value = value[:-2] + ":" + value[-2:]
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise malformed(f"invalid datetime: {text}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def format_datetime(value: dt.datetime) -> str:
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def _month_start(d: dt.date, delta: int) -> dt.date:
    month = d.month - 1 + delta
    return dt.date(d.year + month // 12, month % 12 + 1, 1)


def date_range(word: str, n: int | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The inclusive (first day, last day) a date literal covers, in UTC."""
    day = dt.timedelta(days=1)
    week_start = today - dt.timedelta(days=(today.weekday() + 1) % 7)  # weeks start on Sunday
    table = {
        "YESTERDAY": (today - day, today - day),
        "TODAY": (today, today),
        "TOMORROW": (today + day, today + day),
        "LAST_WEEK": (week_start - 7 * day, week_start - day),
        "THIS_WEEK": (week_start, week_start + 6 * day),
        "NEXT_WEEK": (week_start + 7 * day, week_start + 13 * day),
        "LAST_MONTH": (_month_start(today, -1), _month_start(today, 0) - day),
        "THIS_MONTH": (_month_start(today, 0), _month_start(today, 1) - day),
        "NEXT_MONTH": (_month_start(today, 1), _month_start(today, 2) - day),
        "LAST_90_DAYS": (today - 90 * day, today),
        "NEXT_90_DAYS": (today + day, today + 90 * day),
        "THIS_YEAR": (dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)),
        "LAST_YEAR": (dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)),
        "NEXT_YEAR": (dt.date(today.year + 1, 1, 1), dt.date(today.year + 1, 12, 31)),
    }
    if word == "THIS_QUARTER":
        q = (today.month - 1) // 3 * 3
        start = dt.date(today.year, q + 1, 1)
        return start, _month_start(start, 3) - day
    if word in table:
        return table[word]
    n = n or 0
    if word == "LAST_N_DAYS":
        return today - (n - 1) * day if n else today, today
    if word == "NEXT_N_DAYS":
        return today + day, today + n * day
    if word == "N_DAYS_AGO":
        return today - n * day, today - n * day
    if word == "LAST_N_WEEKS":
        return week_start - 7 * n * day, week_start - day
    if word == "NEXT_N_WEEKS":
        return week_start + 7 * day, week_start + (7 * n + 6) * day
    if word == "LAST_N_MONTHS":
        return _month_start(today, -n), _month_start(today, 0) - day
    if word == "NEXT_N_MONTHS":
        return _month_start(today, 1), _month_start(today, n + 1) - day
    raise malformed(f"unknown date literal {word}")


# --- resolution and execution ---------------------------------------------------------------


def no_such_column(name: str, sobject: str, text: str = "") -> SFError:
    prefix = f"\n{text}\n" if text else ""
    return SFError(
        "INVALID_FIELD",
        f"{prefix}No such column '{name}' on entity '{sobject}'. If you are attempting to use a "
        "custom field, be sure to append the '__c' after the custom field name. Please "
        "reference your WSDL or the describe call for the appropriate names.",
    )


def bad_relationship(name: str) -> SFError:
    return SFError(
        "INVALID_FIELD",
        f"Didn't understand relationship '{name}' in field path. If you are attempting to use a "
        "custom relationship, be sure to append the '__r' after the custom relationship name. "
        "Please reference your WSDL or the describe call for the appropriate names.",
    )


@dataclass
class Resolved:
    """A field path resolved to (reference field, target object) hops and the final field."""

    hops: list  # [(FieldDef of the reference, ObjectDef of the target)]
    field: Any  # FieldDef
    names: list[str]  # canonical names along the path (relationship names, then the field)


class Engine:
    """Runs parsed queries over a ``Store`` using a ``Schema``."""

    def __init__(self, schema, store, today: Callable[[], dt.date], api_version: str = "59.0"):
        self.schema = schema
        self.store = store
        self.today = today
        self.api_version = api_version

    # resolution
    def obj(self, name: str):
        obj = self.schema.object(name)
        if obj is None:
            raise SFError(
                "INVALID_TYPE",
                f"\n{name}\nsObject type '{name}' is not supported. If you are attempting to use "
                "a custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )
        return obj

    def relationship(self, obj, name: str):
        low = name.lower()
        for f in obj.fields.values():
            if f.type == "reference" and f.relationship_name and f.relationship_name.lower() == low:
                target = self.schema.object(f.reference_to[0]) if f.reference_to else None
                if target is not None:
                    return f, target
        raise bad_relationship(name)

    def resolve(self, obj, ref: FieldRef, text: str = "") -> Resolved:
        hops = []
        names = []
        current = obj
        path = ref.path
        if len(path) > 1 and path[0].lower() == obj.name.lower():
            path = path[1:]  # "Account.Name" written with the object's own name
        for part in path[:-1]:
            ref_field, current = self.relationship(current, part)
            hops.append((ref_field, current))
            names.append(ref_field.relationship_name)
        f = current.field(path[-1])
        if f is None:
            raise no_such_column(path[-1], current.name, text)
        names.append(f.name)
        return Resolved(hops, f, names)

    def getter(self, resolved: Resolved) -> Callable[[dict], Any]:
        name = resolved.field.name
        if not resolved.hops:
            return lambda rec: rec.get(name)
        hops = [(f.name, target.name) for f, target in resolved.hops]
        tables = self.store.tables

        def get(rec: dict) -> Any:
            for ref_name, target in hops:
                ref_id = rec.get(ref_name)
                if ref_id is None:
                    return None
                rec = tables.get(target, {}).get(ref_id)
                if rec is None:
                    return None
            return rec.get(name)

        return get

    # conditions
    def compile(self, obj, cond: Cond, text: str) -> Callable[[dict], bool]:
        if cond.op in ("AND", "OR"):
            parts = [self.compile(obj, c, text) for c in cond.parts]
            if cond.op == "AND":
                return lambda rec: all(p(rec) for p in parts)
            return lambda rec: any(p(rec) for p in parts)
        if cond.op == "NOT":
            inner = self.compile(obj, cond.parts[0], text)
            return lambda rec: not inner(rec)
        resolved = self.resolve(obj, cond.ref, text)
        if not resolved.field.filterable:
            raise SFError(
                "INVALID_FIELD",
                f"field '{resolved.field.name}' can not be filtered in a query call",
            )
        get = self.getter(resolved)
        ftype = resolved.field.type
        if cond.op == "LIKE":
            if ftype not in TEXT_TYPES and ftype not in ID_TYPES:
                raise SFError(
                    "INVALID_FIELD",
                    f"\n{text}\ninvalid operator on {ftype} field: {resolved.field.name}",
                )
            pattern = like_regex(cond.values[0].value)
            return lambda rec: (v := get(rec)) is not None and pattern.match(str(v)) is not None
        if cond.op in ("IN", "NOTIN") and cond.values[0].kind == "semijoin":
            keys = self.semijoin(resolved.field, cond.values[0].value, text)
            if cond.op == "IN":
                return lambda rec: get(rec) in keys
            return lambda rec: get(rec) not in keys
        if cond.op in ("IN", "NOTIN"):
            keys = set()
            for value in cond.values:
                if value.kind == "null":
                    keys.add(None)
                else:
                    keys.add(self.operand(resolved.field, value, text))
            norm = self.normaliser(ftype)
            if cond.op == "IN":
                return lambda rec: norm(get(rec)) in keys
            return lambda rec: norm(get(rec)) not in keys
        value = cond.values[0]
        op = cond.cmp
        if value.kind == "null":
            if op == "=":
                return lambda rec: get(rec) is None
            if op == "!=":
                return lambda rec: get(rec) is not None
            raise malformed("null can only be used with = and !=")
        if value.kind == "dateliteral":
            return self.date_condition(resolved.field, get, op, value, text)
        operand = self.operand(resolved.field, value, text)
        norm = self.normaliser(ftype)
        if op == "=":
            return lambda rec: norm(get(rec)) == operand
        if op == "!=":
            return lambda rec: norm(get(rec)) != operand
        compare = {
            "<": lambda a, b: a < b,
            ">": lambda a, b: a > b,
            "<=": lambda a, b: a <= b,
            ">=": lambda a, b: a >= b,
        }[op]

        def test(rec: dict) -> bool:
            v = norm(get(rec))
            return v is not None and compare(v, operand)

        return test

    def semijoin(self, f, sub: Query, text: str) -> set:
        """The id values an inner ``SELECT <one id field> FROM ...`` returns."""
        if f.type not in ID_TYPES:
            raise SFError(
                "INVALID_FIELD", f"\n{text}\nsemi join sub-selects are only allowed on id fields"
            )
        if len(sub.items) != 1 or not isinstance(sub.items[0], FieldRef) or sub.order:
            raise malformed(f"\n{text}\nsemi join sub-selects must select exactly one id field")
        inner = self.obj(sub.sobject)
        resolved = self.resolve(inner, sub.items[0], text)
        if resolved.field.type not in ID_TYPES:
            raise SFError("INVALID_FIELD", f"\n{text}\nsemi join sub-select field must be an id")
        get = self.getter(resolved)
        rows = self.filter(inner, sub, sub.text, None, False)
        if sub.limit is not None:
            rows = rows[: sub.limit]
        return {v for v in (get(r) for r in rows) if v is not None}

    @staticmethod
    def normaliser(ftype: str) -> Callable[[Any], Any]:
        if ftype in TEXT_TYPES:
            return lambda v: v.lower() if isinstance(v, str) else v
        if ftype in NUMBER_TYPES:
            return lambda v: float(v) if v is not None else None
        return lambda v: v

    def operand(self, f, value: Value, text: str) -> Any:
        """The literal converted to the field's comparable form, or the error Salesforce gives."""
        ftype = f.type
        kind = value.kind
        if ftype in TEXT_TYPES:
            if kind != "string":
                raise SFError(
                    "INVALID_FIELD",
                    f"\n{text}\nvalue of filter criterion for field "
                    f"'{f.name}' must be of type string and should be enclosed in quotes",
                )
            return value.value.lower()
        if ftype in ID_TYPES:
            if kind != "string":
                raise SFError(
                    "INVALID_FIELD",
                    f"\n{text}\nvalue of filter criterion for field "
                    f"'{f.name}' must be of type id and should be enclosed in quotes",
                )
            full = to18(value.value)
            if full is None:
                raise SFError(
                    "INVALID_QUERY_FILTER_OPERATOR", f"\n{text}\ninvalid ID field: {value.value}"
                )
            return full
        if ftype == "boolean":
            if kind != "bool":
                raise SFError(
                    "INVALID_FIELD",
                    f"\n{text}\nvalue of filter criterion for field "
                    f"'{f.name}' must be of type boolean and should not be enclosed in "
                    "quotes",
                )
            return value.value
        if ftype in NUMBER_TYPES:
            if kind != "number":
                raise SFError(
                    "INVALID_FIELD",
                    f"\n{text}\nvalue of filter criterion for field "
                    f"'{f.name}' must be of type {ftype} and should not be enclosed in "
                    "quotes",
                )
            return value.value
        if ftype in ("date", "datetime"):
            if kind != ftype:
                raise SFError(
                    "INVALID_FIELD",
                    f"\n{text}\nvalue of filter criterion for field "
                    f"'{f.name}' must be of type {'dateTime' if ftype == 'datetime' else 'date'}"
                    " and should not be enclosed in quotes",
                )
            return value.value
        return value.value

    def date_condition(self, f, get, op: str, value: Value, text: str):
        if f.type not in ("date", "datetime"):
            raise SFError(
                "INVALID_FIELD",
                f"\n{text}\nvalue of filter criterion for field "
                f"'{f.name}' must be of type {f.type}",
            )
        first, last = date_range(*value.value, self.today())
        if f.type == "date":
            lo, hi = first.isoformat(), last.isoformat()
            inside = lambda v: lo <= v <= hi  # noqa: E731
            before = lambda v: v < lo  # noqa: E731
            after = lambda v: v > hi  # noqa: E731
        else:
            lo = first.isoformat() + "T00:00:00.000+0000"
            hi = (last + dt.timedelta(days=1)).isoformat() + "T00:00:00.000+0000"
            inside = lambda v: lo <= v < hi  # noqa: E731
            before = lambda v: v < lo  # noqa: E731
            after = lambda v: v >= hi  # noqa: E731
        tests = {
            "=": inside,
            "!=": lambda v: not inside(v),
            "<": before,
            ">": after,
            "<=": lambda v: not after(v),
            ">=": lambda v: not before(v),
        }
        test = tests[op]
        if op == "!=":
            return lambda rec: (v := get(rec)) is None or test(v)
        return lambda rec: (v := get(rec)) is not None and test(v)

    # execution
    def run(self, text: str, *, include_deleted: bool = False, allow_subqueries: bool = True):
        """Return (total, rows) for a query: rows are rendered records (or [] for COUNT())."""
        query = Parser(text).parse()
        obj = self.obj(query.sobject)
        rows = self.select(obj, query, text, include_deleted, allow_subqueries)
        return query, rows

    def select(
        self, obj, query: Query, text: str, include_deleted: bool, allow_subqueries: bool
    ) -> list:
        if query.offset is not None and query.offset > 2000:
            raise SFError(
                "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is 2000: {query.offset}"
            )
        renderers = self.renderers(obj, query, text, include_deleted, allow_subqueries)
        rows = self.filter(obj, query, text, None, include_deleted)
        rows = self.order_and_cut(obj, query, text, rows)
        if query.count_only:
            return rows
        aggregates = [i for i in query.items if isinstance(i, Aggregate)]
        if aggregates:
            return [self.aggregate(obj, aggregates, rows, text)]
        children = self.child_rows(renderers, rows)
        return [self.render(obj, r, renderers, children) for r in rows]

    def filter(self, obj, query: Query, text: str, candidates, include_deleted: bool) -> list:
        test = self.compile(obj, query.where, text) if query.where else None
        if candidates is None:
            candidates = self.store.table(obj.name).values()
            if query.where is not None:
                candidates = self.indexed(obj, query.where, candidates)
        return [
            r
            for r in candidates
            if (include_deleted or not r.get("IsDeleted")) and (test is None or test(r))
        ]

    def indexed(self, obj, where: Cond, candidates):
        """Narrow a scan with an index when the WHERE (or one of its AND parts) is
        ``Field = 'x'`` or ``Field IN (...)`` on an id, lookup, unique or name field. The compiled
        condition still runs on what comes back, so this only saves time."""
        for cond in where.parts if where.op == "AND" else [where]:
            if cond.op not in ("CMP", "IN") or (cond.op == "CMP" and cond.cmp != "="):
                continue
            path = cond.ref.path
            if len(path) == 2 and path[0].lower() == obj.name.lower():
                path = path[1:]
            f = obj.field(path[0]) if len(path) == 1 else None
            if f is None or not (f.type in ID_TYPES or f.external_id or f.unique or f.name_field):
                continue
            if any(v.kind != "string" for v in cond.values):
                continue
            table = self.store.table(obj.name)
            found: dict[str, dict] = {}
            for value in cond.values:
                if f.type in ID_TYPES:
                    key = to18(value.value)
                    if key is None:
                        continue
                    if f.name == "Id":
                        if key in table:
                            found[key] = table[key]
                        continue
                    rows = self.store.lookup(obj.name, f.name, key)
                else:
                    rows = self.store.lookup(
                        obj.name, f.name, value.value, f.type in TEXT_TYPES and not f.case_sensitive
                    )
                for row in rows:
                    found[row["Id"]] = row
            return list(found.values())
        return candidates

    def order_and_cut(self, obj, query: Query, text: str, rows: list) -> list:
        for order in reversed(query.order):
            resolved = self.resolve(obj, order.ref, text)
            get = self.getter(resolved)
            norm = self.normaliser(resolved.field.type)
            present = [r for r in rows if get(r) is not None]
            missing = [r for r in rows if get(r) is None]
            present.sort(key=lambda r, g=get, n=norm: n(g(r)), reverse=order.desc)
            rows = missing + present if order.nulls_first else present + missing
        if query.offset:
            rows = rows[query.offset :]
        if query.limit is not None:
            rows = rows[: query.limit]
        return rows

    def child_rows(self, renderers: list, rows: list) -> dict:
        """For each child subquery: parent id -> rendered child records (one pass per child
        table)."""
        out = {}
        if not rows:
            return out
        parent_ids = {r["Id"] for r in rows}
        for kind, data in renderers:
            if kind != "child":
                continue
            rel, child_obj, sub = data
            table = self.store.table(child_obj.name)
            if len(parent_ids) * 20 < len(table):  # few parents: the lookup index is cheaper
                candidates = [
                    c
                    for pid in parent_ids
                    for c in self.store.lookup(child_obj.name, rel.field, pid)
                ]
            else:
                candidates = [c for c in table.values() if c.get(rel.field) in parent_ids]
            matched = self.filter(child_obj, sub, sub.text, candidates, False)
            groups: dict[str, list] = {}
            for c in matched:
                groups.setdefault(c[rel.field], []).append(c)
            sub_renderers = self.renderers(child_obj, sub, sub.text, False, False)
            rendered = {}
            for parent_id, group in groups.items():
                group = self.order_and_cut(child_obj, sub, sub.text, group)
                rendered[parent_id] = [self.render(child_obj, c, sub_renderers, {}) for c in group]
            out[rel.relationship_name] = rendered
        return out

    def aggregate(self, obj, aggregates: list[Aggregate], rows: list, text: str) -> dict:
        out: dict = {"attributes": {"type": "AggregateResult"}}
        for n, agg in enumerate(aggregates):
            key = agg.alias or f"expr{n}"
            get = self.getter(self.resolve(obj, agg.ref, text))
            values = [v for v in (get(r) for r in rows) if v is not None]
            if agg.func == "COUNT":
                out[key] = len(values)
            elif agg.func == "COUNT_DISTINCT":
                out[key] = len(set(values))
            elif not values:
                out[key] = None
            elif agg.func == "SUM":
                out[key] = sum(values)
            elif agg.func == "AVG":
                out[key] = sum(values) / len(values)
            elif agg.func == "MIN":
                out[key] = min(values)
            else:
                out[key] = max(values)
        return out

    def renderers(
        self, obj, query: Query, text: str, include_deleted: bool, allow_subqueries: bool
    ) -> list:
        """A list of (kind, data) describing how to build each output record."""
        out = []
        for item in query.items:
            if isinstance(item, FieldRef):
                resolved = self.resolve(obj, item, text)
                out.append(("field", resolved))
            elif isinstance(item, SubQuery):
                if not allow_subqueries:
                    raise malformed("subqueries are not supported here")
                sub = item.query
                rel = None
                for child in obj.child_relationships:
                    if (
                        child.relationship_name
                        and child.relationship_name.lower() == sub.sobject.lower()
                    ):
                        rel = child
                if rel is None:
                    raise SFError(
                        "INVALID_TYPE",
                        f"\n{text}\nDidn't understand relationship '{sub.sobject}' in FROM part of "
                        "query call. If you are attempting to use a custom relationship, be sure "
                        "to append the '__r' after the custom relationship name. Please reference "
                        "your WSDL or the describe call for the appropriate names.",
                    )
                if sub.offset:
                    raise malformed("OFFSET is not allowed in a subquery")
                child_obj = self.obj(rel.child_sobject)
                # validate the subquery now, so errors surface even when no parent matches
                self.renderers(child_obj, sub, text, include_deleted, False)
                if sub.where:
                    self.compile(child_obj, sub.where, text)
                out.append(("child", (rel, child_obj, sub)))
        return out

    def attributes(self, sobject: str, record_id: str) -> dict:
        return {
            "type": sobject,
            "url": f"/services/data/v{self.api_version}/sobjects/{sobject}/{record_id}",
        }

    def render(self, obj, rec: dict, renderers: list, children: dict) -> dict:
        out: dict = {"attributes": self.attributes(obj.name, rec["Id"])}
        for kind, data in renderers:
            if kind == "field":
                self.put_field(out, rec, data)
            else:
                rel = data[0]
                rows = children.get(rel.relationship_name, {}).get(rec["Id"])
                out[rel.relationship_name] = (
                    {"totalSize": len(rows), "done": True, "records": rows} if rows else None
                )
        return out

    def put_field(self, out: dict, rec: dict, resolved: Resolved) -> None:
        target = out
        current = rec
        for (ref_field, target_obj), rel_name in zip(resolved.hops, resolved.names, strict=False):
            if current is not None:
                ref_id = current.get(ref_field.name)
                current = self.store.get(target_obj.name, ref_id) if ref_id else None
            if current is None:
                if rel_name not in target:
                    target[rel_name] = None
                return
            nested = target.get(rel_name)
            if nested is None:
                nested = {"attributes": self.attributes(target_obj.name, current["Id"])}
                target[rel_name] = nested
            target = nested
        target[resolved.field.name] = current.get(resolved.field.name)


def like_regex(pattern: str) -> re.Pattern:
    """SOQL LIKE: ``%`` any run, ``_`` one character, ``\\%``/``\\_`` literal; case-insensitive."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z", re.IGNORECASE | re.DOTALL)
