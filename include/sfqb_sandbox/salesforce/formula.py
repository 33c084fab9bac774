"""The part of Salesforce's formula language that validation rules of the package use.

A validation rule's ``errorConditionFormula`` is parsed once, when the sandbox loads the
package, and evaluated on every save of a record of its object: true refuses the save with
the rule's message (FIELD_CUSTOM_VALIDATION_EXCEPTION). Strict like the rest of the sandbox: a
function or an operator it does not model fails the load, naming it, rather than evaluating to
something Salesforce would not.

Modelled: field names (case-insensitive), text in double or single quotes, numbers, TRUE,
FALSE, NULL, ``=``/``==``, ``<>``/``!=``, ``&&``, ``||``, parentheses, and the functions AND,
OR, NOT, ISBLANK, ISNULL, ISNEW, ISCHANGED, PRIORVALUE, ISPICKVAL, TEXT. As in Salesforce,
ISCHANGED and PRIORVALUE see the record as it was before the save (on a create, ISCHANGED is
false and PRIORVALUE is the new value), and blank text equals NULL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<name>[A-Za-z][A-Za-z0-9_.]*)
      | (?P<op>&&|\|\||==|<>|!=|=|\(|\)|,)
    )""",
    re.VERBOSE,
)


class FormulaError(ValueError):
    """A formula the sandbox cannot read (a syntax error, or something it does not model)."""


@dataclass(frozen=True)
class Record:
    """What a formula sees: the record as it will be saved, and as it was (None: a create)."""

    now: dict
    before: dict | None

    def get(self, name: str, *, prior: bool = False) -> Any:
        source = self.before if prior and self.before is not None else self.now
        return value_of(source, name)


def value_of(record: dict, name: str) -> Any:
    """A field's value, the name matched case-insensitively (as the org matches it)."""
    if name in record:
        return record[name]
    lowered = name.lower()
    return next((v for k, v in record.items() if k.lower() == lowered), None)


def _blank(value: Any) -> bool:
    return value is None or value == ""


def equal(a: Any, b: Any) -> bool:
    """Salesforce's equality of two field values: blank text is NULL, a checkbox compares as
    true/false, numbers as numbers, the rest as text."""
    if _blank(a) or _blank(b):
        return _blank(a) and _blank(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) is bool(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return str(a) == str(b)


Node = Callable[[Record], Any]


def _field(name: str) -> Node:
    return lambda r: r.get(name)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# Each function takes its argument nodes (fields where a function needs the field itself).
_FUNCTIONS: dict[str, Callable[..., Node]] = {
    "AND": lambda *a: lambda r: all(bool(x(r)) for x in a),
    "OR": lambda *a: lambda r: any(bool(x(r)) for x in a),
    "NOT": lambda a: lambda r: not a(r),
    "ISBLANK": lambda a: lambda r: _blank(a(r)),
    "ISNULL": lambda a: lambda r: _blank(a(r)),
    "TEXT": lambda a: lambda r: _text(a(r)),
    "ISPICKVAL": lambda f, v: lambda r: equal(f(r), v(r)),
}
_OF_FIELD = {"ISCHANGED", "PRIORVALUE"}  # these take a field name, not a value


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        text = text.strip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise FormulaError(f"cannot read the formula at {text[position:][:20]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
            while position < len(text) and text[position].isspace():
                position += 1
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise FormulaError(
                f"expected {value or 'more'}, found {token[1] if token else 'the end'}"
            )
        self.at += 1
        return token

    def formula(self) -> Node:
        node = self.disjunction()
        if self.peek() is not None:
            raise FormulaError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.peek() == ("op", "||"):
            self.take()
            left, right = node, self.conjunction()
            node = lambda r, a=left, b=right: bool(a(r)) or bool(b(r))  # noqa: E731
        return node

    def conjunction(self) -> Node:
        node = self.comparison()
        while self.peek() == ("op", "&&"):
            self.take()
            left, right = node, self.comparison()
            node = lambda r, a=left, b=right: bool(a(r)) and bool(b(r))  # noqa: E731
        return node

    def comparison(self) -> Node:
        node = self.term()
        token = self.peek()
        if token and token[1] in ("=", "==", "<>", "!="):
            self.take()
            left, right = node, self.term()
            if token[1] in ("=", "=="):
                return lambda r: equal(left(r), right(r))
            return lambda r: not equal(left(r), right(r))
        return node

    def term(self) -> Node:
        kind, value = self.take()
        if kind == "string":
            text = re.sub(r"\\(.)", r"\1", value[1:-1])
            return lambda r: text
        if kind == "number":
            number = float(value)
            return lambda r: number
        if value == "(":
            node = self.disjunction()
            self.take(")")
            return node
        if kind != "name":
            raise FormulaError(f"unexpected {value!r}")
        upper = value.upper()
        if self.peek() != ("op", "("):
            constants = {"TRUE": True, "FALSE": False, "NULL": None}
            if upper in constants:
                constant = constants[upper]
                return lambda r: constant
            return _field(value)
        self.take("(")
        if upper in _OF_FIELD:
            kind, name = self.take()
            if kind != "name":
                raise FormulaError(f"{upper} takes a field, not {name!r}")
            self.take(")")
            if upper == "ISCHANGED":
                return lambda r: (
                    r.before is not None and not equal(r.get(name), r.get(name, prior=True))
                )
            return lambda r: r.get(name, prior=True)
        if upper == "ISNEW":
            self.take(")")
            return lambda r: r.before is None
        if upper not in _FUNCTIONS:
            raise FormulaError(f"the sandbox does not model the formula function {upper}")
        args = [self.disjunction()]
        while self.peek() == ("op", ","):
            self.take()
            args.append(self.disjunction())
        self.take(")")
        try:
            return _FUNCTIONS[upper](*args)
        except TypeError:
            raise FormulaError(f"{upper} does not take {len(args)} arguments") from None


def compile_formula(text: str) -> Callable[[dict, dict | None], bool]:
    """``text`` as a function of (the record to save, the record before or None) -> bool."""
    node = _Parser(text).formula()
    return lambda now, before: bool(node(Record(now, before)))
