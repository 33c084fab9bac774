"""Salesforce record ids: 15-character case-sensitive ids and their 18-character case-safe form.

The last three characters of an 18-character id encode, for each 5-character chunk of the
15-character id, which positions hold an upper-case letter. Clients compare ids in either form,
so the server always answers with 18 characters and accepts both.
"""

from __future__ import annotations

import re

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
ORG_ID = "00D5g000004Sbx1EAC"


def checksum(id15: str) -> str:
    out = []
    for chunk in range(3):
        bits = 0
        for pos, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << pos
        out.append(_SUFFIX_ALPHABET[bits])
    return "".join(out)


def to18(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when it is not a valid id."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return None
    id15 = value[:15]
    full = id15 + checksum(id15)
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


def make_id(prefix: str, n: int) -> str:
    """The n-th id of an object: key prefix, pod ``5g``, reserved ``0``, base-62 counter."""
    digits = []
    for _ in range(9):
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    id15 = f"{prefix}5g0" + "".join(reversed(digits))
    return id15 + checksum(id15)
